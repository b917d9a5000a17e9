BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    Initialize-TestEnvironment
    New-SwarmEnvironment -Ticket 'HOST-1' | Out-Null
}
AfterAll {
    Remove-Item -LiteralPath (Join-Path $env:SWARMPS_HOME 'config.json') -ErrorAction SilentlyContinue
    Reset-TestEnvironment
}

Describe 'Get-SwarmHost' {
    It 'reports the host and the three resources' {
        $h = Get-SwarmHost
        $h | Should -BeOfType ([SwarmPS.Core.Host.SwarmHostInfo])
        $h.LogicalCpus | Should -BeGreaterThan 0
        $h.MemoryMb | Should -BeGreaterThan 0
        $h.Resources.Resource | Should -Be @('Cpu', 'Memory', 'Disk')
        $h.Disks.Count | Should -BeGreaterThan 0
    }

    It 'counts worktree environments but allocates nothing for them' {
        $h = Get-SwarmHost
        $h.Environments | Should -Be 1
        ($h.Resources | Measure-Object -Property Allocated -Sum).Sum | Should -Be 0
    }

    It 'shows the default ratios (cpu 4.0, memory 1.0, disk not checked)' {
        $r = (Get-SwarmHost).Resources
        ($r | Where-Object Resource -eq 'Cpu').Overcommit | Should -Be 4.0
        ($r | Where-Object Resource -eq 'Cpu').Limit | Should -Be ((Get-SwarmHost).LogicalCpus * 4)
        ($r | Where-Object Resource -eq 'Memory').Overcommit | Should -Be 1.0
        ($r | Where-Object Resource -eq 'Disk').Limit | Should -BeNullOrEmpty
    }

    It 'reads the ratios from config.json' {
        Set-Content -LiteralPath (Join-Path $env:SWARMPS_HOME 'config.json') -Value '{ "host": { "cpuOvercommit": 2.5, "diskOvercommit": 1.0 } }'
        $r = (Get-SwarmHost).Resources
        ($r | Where-Object Resource -eq 'Cpu').Overcommit | Should -Be 2.5
        ($r | Where-Object Resource -eq 'Disk').Overcommit | Should -Be 1.0
    }

    It 'refuses an invalid ratio with ConfigInvalid' {
        Set-Content -LiteralPath (Join-Path $env:SWARMPS_HOME 'config.json') -Value '{ "host": { "memoryOvercommit": 0 } }'
        { Get-SwarmHost -ErrorAction Stop } | Should -Throw -ErrorId 'ConfigInvalid*'
        Remove-Item -LiteralPath (Join-Path $env:SWARMPS_HOME 'config.json')
    }

    It 'lets New-SwarmEnvironment -Force create a worktree (which never oversubscribes)' {
        (New-SwarmEnvironment -Ticket 'HOST-2' -Force).Ticket | Should -Be 'HOST-2'
        (Get-SwarmHost).Environments | Should -Be 2
    }

    It 'uses the host table view' {
        (Get-SwarmHost | Out-String -Width 120) | Should -Match 'HostName\s+Envs\s+Cpu\s+Memory\s+Disk'
    }
}
