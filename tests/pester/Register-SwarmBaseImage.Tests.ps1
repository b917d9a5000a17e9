BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    Initialize-TestEnvironment
    $script:HasQemuImg = Test-QemuImg
    $script:Disk = Join-Path $TestDrive 'base.qcow2'
    $script:Kernel = Join-Path $TestDrive 'vmlinuz'
    Set-Content -LiteralPath $script:Kernel -Value 'not really a kernel; only its existence is checked'
    if ($script:HasQemuImg) { & qemu-img create -q -f qcow2 $script:Disk 16M }
}
AfterAll {
    Get-SwarmBaseImage -ErrorAction SilentlyContinue | Unregister-SwarmBaseImage -Confirm:$false -ErrorAction SilentlyContinue
    Reset-TestEnvironment
}

Describe 'Register-SwarmBaseImage' {
    It 'registers a qcow2 file with direct kernel boot settings' {
        Assert-TestBackend -Name libvirt -Available $script:HasQemuImg -Because 'qemu-img is not on PATH'
        $i = Register-SwarmBaseImage -Name 'rb-tiny' -Path $script:Disk -Kernel $script:Kernel -KernelCommandLine 'console=ttyS0' -Cpus 1 -MemoryMb 256
        $i | Should -BeOfType 'SwarmPS.Core.Registry.SwarmBaseImage'
        $i.Provider | Should -Be 'kvm'
        $i.Path | Should -Be $script:Disk
        $i.KernelPath | Should -Be $script:Kernel
        $i.KernelCommandLine | Should -Be 'console=ttyS0'
        $i.SshUser | Should -Be 'root'
    }

    It 'refuses a second image with the same name (any case) as ImageExists' {
        Assert-TestBackend -Name libvirt -Available $script:HasQemuImg -Because 'qemu-img is not on PATH'
        Register-SwarmBaseImage -Name 'RB-TINY' -Path $script:Disk -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ImageExists,*'
    }

    It 'refuses -Initrd without -Kernel as InvalidArgument' {
        { Register-SwarmBaseImage -Name 'rb-bad' -Path $script:Kernel -Initrd $script:Kernel } | Should -Throw -ErrorId 'InvalidArgument,SwarmPS.Cmdlets.Commands.RegisterSwarmBaseImageCommand'
    }

    It 'reports a missing file as ImageNotFound' {
        Register-SwarmBaseImage -Name 'rb-missing' -Path (Join-Path $TestDrive 'nope.qcow2') -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ImageNotFound,*'
    }

    It 'registers nothing with -WhatIf' {
        Register-SwarmBaseImage -Name 'rb-whatif' -Path $script:Disk -WhatIf
        Get-SwarmBaseImage -Name 'rb-whatif' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'rejects a hostile name with ErrorId InvalidTicket' {
        { Register-SwarmBaseImage -Name '../etc' -Path $script:Disk } | Should -Throw -ErrorId 'InvalidTicket,SwarmPS.Cmdlets.Commands.RegisterSwarmBaseImageCommand'
    }
}
