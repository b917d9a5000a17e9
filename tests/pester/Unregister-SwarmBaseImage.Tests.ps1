BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    Initialize-TestEnvironment
    $script:HasQemuImg = Test-QemuImg
    $script:Disk = Join-Path $TestDrive 'base.qcow2'
    if ($script:HasQemuImg) { & qemu-img create -q -f qcow2 $script:Disk 16M }
}
AfterAll { Reset-TestEnvironment }

Describe 'Unregister-SwarmBaseImage' {
    It 'removes the registration and keeps the file' {
        Assert-TestBackend -Name libvirt -Available $script:HasQemuImg -Because 'qemu-img is not on PATH'
        Register-SwarmBaseImage -Name 'ub-one' -Path $script:Disk | Out-Null
        $removed = Unregister-SwarmBaseImage -Name 'ub-one' -PassThru -Confirm:$false
        $removed.Name | Should -Be 'ub-one'
        Get-SwarmBaseImage -Name 'ub-one' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Test-Path -LiteralPath $script:Disk | Should -BeTrue
    }

    It 'takes images from Get-SwarmBaseImage and honours -WhatIf' {
        Assert-TestBackend -Name libvirt -Available $script:HasQemuImg -Because 'qemu-img is not on PATH'
        Register-SwarmBaseImage -Name 'ub-two' -Path $script:Disk | Out-Null
        Get-SwarmBaseImage -Name 'ub-two' | Unregister-SwarmBaseImage -WhatIf
        (Get-SwarmBaseImage -Name 'ub-two').Name | Should -Be 'ub-two'
        Get-SwarmBaseImage -Name 'ub-two' | Unregister-SwarmBaseImage -Confirm:$false
        Get-SwarmBaseImage -Name 'ub-two' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'reports an unknown name as ImageNotFound' {
        Unregister-SwarmBaseImage -Name 'ub-none' -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ImageNotFound,*'
    }
}
