BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    Initialize-TestEnvironment
    $script:HasQemuImg = Test-QemuImg
    if ($script:HasQemuImg) {
        $script:Disk = Join-Path $TestDrive 'base.qcow2'
        & qemu-img create -q -f qcow2 $script:Disk 16M
        Register-SwarmBaseImage -Name 'gb-one' -Path $script:Disk -OsNote 'first' | Out-Null
        Register-SwarmBaseImage -Name 'gb-two' -Path $script:Disk -OsNote 'second' | Out-Null
    }
}
AfterAll {
    Get-SwarmBaseImage -ErrorAction SilentlyContinue | Unregister-SwarmBaseImage -Confirm:$false -ErrorAction SilentlyContinue
    Reset-TestEnvironment
}

Describe 'Get-SwarmBaseImage' {
    It 'lists images by name and filters with wildcards' {
        Assert-TestBackend -Name libvirt -Available $script:HasQemuImg -Because 'qemu-img is not on PATH'
        (Get-SwarmBaseImage).Name | Should -Be @('gb-one', 'gb-two')
        (Get-SwarmBaseImage -Name '*two').OsNote | Should -Be 'second'
        (Get-SwarmBaseImage -Provider kvm).Count | Should -Be 2
    }

    It 'reports an exact unknown name as ImageNotFound' {
        Get-SwarmBaseImage -Name 'gb-none' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ImageNotFound,*'
    }

    It 'uses the base image table view' {
        Assert-TestBackend -Name libvirt -Available $script:HasQemuImg -Because 'qemu-img is not on PATH'
        (Get-SwarmBaseImage | Out-String -Width 120) | Should -Match 'Name\s+Provider\s+Cpus\s+MemoryMb\s+Boot'
    }
}
