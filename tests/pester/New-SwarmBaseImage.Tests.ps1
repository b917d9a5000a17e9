BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    Initialize-TestEnvironment
    $script:HasLibvirt = Test-LibvirtBackend

    # A 1 MiB raw disk whose boot sector reports success on COM1 and powers off (ACPI PM1a_CNT 0x604): a
    # stand-in for a cloud image that ran the provisioning script.
    function New-BootSectorImage {
        param([Parameter(Mandatory)][string] $Path)
        $code = [System.Collections.Generic.List[byte]]::new()
        $code.AddRange([byte[]](0xBA, 0xF8, 0x03))
        foreach ($ch in "SWARMPS-PROVISION-EXIT=0`r`n".ToCharArray()) { $code.AddRange([byte[]](0xB0, [byte]$ch, 0xEE)) }
        $code.AddRange([byte[]](0xBA, 0x04, 0x06, 0xB8, 0x00, 0x20, 0xEF, 0xFA, 0xF4, 0xEB, 0xFD))
        $raw = [byte[]]::new(1048576)
        $code.CopyTo($raw)
        $raw[510] = 0x55; $raw[511] = 0xAA
        [System.IO.File]::WriteAllBytes($Path, $raw)
        $Path
    }
    $script:Source = Join-Path $TestDrive 'cloud.img'
    Set-Content -LiteralPath $script:Source -Value 'not really an image'
    $script:Setup = Join-Path $TestDrive 'provision.sh'
    Set-Content -LiteralPath $script:Setup -Value "#!/bin/sh`necho hello"
}
AfterAll { Reset-TestEnvironment }

Describe 'New-SwarmBaseImage' {
    It 'builds nothing with -WhatIf' {
        $out = New-SwarmBaseImage -Name 'img-whatif' -Provider Kvm -From $script:Source -WhatIf
        $out | Should -BeNullOrEmpty
        Test-Path -LiteralPath (Join-Path $env:SWARMPS_HOME 'logs/image-build-img-whatif-serial.log') | Should -BeFalse
    }

    It 'rejects a hostile name with InvalidTicket' {
        { New-SwarmBaseImage -Name '../evil' -Provider Kvm -From $script:Source } | Should -Throw -ErrorId 'InvalidTicket,SwarmPS.Cmdlets.Commands.NewSwarmBaseImageCommand'
    }

    It 'builds images for the kvm provider only' {
        { New-SwarmBaseImage -Name 'img-wt' -Provider worktree -From $script:Source } | Should -Throw -ErrorId 'InvalidArgument,SwarmPS.Cmdlets.Commands.NewSwarmBaseImageCommand'
    }

    It 'refuses a missing source (terminating InvalidArgument) and creates nothing' {
        $e = { New-SwarmBaseImage -Name 'img-missing' -Provider Kvm -From (Join-Path $TestDrive 'nope.qcow2') } | Should -Throw -ErrorId 'InvalidArgument,SwarmPS.Cmdlets.Commands.NewSwarmBaseImageCommand' -PassThru
        $e.TargetObject | Should -Be 'img-missing'
        Test-Path -LiteralPath (Join-Path $env:SWARMPS_HOME 'logs/image-build-img-missing-serial.log') | Should -BeFalse
    }

    It 'validates sizes before it starts' {
        { New-SwarmBaseImage -Name 'img-big' -Provider Kvm -From $script:Source -Cpus 0 } | Should -Throw
        { New-SwarmBaseImage -Name 'img-big' -Provider Kvm -From $script:Source -TimeoutMinutes 0 } | Should -Throw
    }

    It 'builds and registers an image from a relative path against real libvirt' {
        Assert-TestBackend -Name libvirt -Available $script:HasLibvirt -Because 'virsh cannot reach qemu:///system (or qemu-img is missing)'
        $img = New-BootSectorImage -Path (Join-Path $TestDrive 'bootsector.img')
        Push-Location -LiteralPath $TestDrive
        try {
            $before = (Get-FileHash -LiteralPath $img).Hash
            $built = New-SwarmBaseImage -Name 'img-real' -Provider Kvm -From './bootsector.img' -ProvisionScript './provision.sh' -DiskGb 1 -BuildMemoryMb 128 -TimeoutMinutes 3
            $built | Should -BeOfType ([SwarmPS.Core.Registry.SwarmBaseImage])
            $built.Name | Should -Be 'img-real'
            $built.Path | Should -BeLike '*swarmbase-*-img-real.qcow2'
            Test-Path -LiteralPath $built.Path | Should -BeTrue
            (Get-FileHash -LiteralPath $img).Hash | Should -Be $before
            (& virsh -q -c qemu:///system list --all --name) -join ' ' | Should -Not -Match 'swarmbuild-.*-img-real'
            ($built | Out-String -Width 120) | Should -Match 'Name\s+Provider\s+Cpus'
        }
        finally {
            Pop-Location
            if ($built) { Remove-Item -LiteralPath $built.Path -ErrorAction SilentlyContinue }
        }
    }
}
