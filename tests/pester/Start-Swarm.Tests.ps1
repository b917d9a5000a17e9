BeforeDiscovery {
    # -Skip is evaluated while Pester discovers the tests, before BeforeAll runs: decide here.
    $script:HasSlurm = [bool](Get-Command sinfo -ErrorAction SilentlyContinue)
}
BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'SwarmSlurmHelpers.ps1')
    Initialize-TestEnvironment
}
AfterAll {
    Get-Swarm -Offline | Where-Object Status -ne 'Terminated' | Stop-Swarm -Confirm:$false -ErrorAction SilentlyContinue
    Reset-TestEnvironment
}

Describe 'Start-Swarm' {
    It 'creates nothing with -WhatIf' {
        Start-Swarm -Nodes 2 -Prompt 'p' -Profile command -Command 'true' -WhatIf
        Get-Swarm -Offline | Should -BeNullOrEmpty
    }

    It 'refuses the command profile without a command, creating nothing' {
        { Start-Swarm -Nodes 2 -Prompt 'p' -Profile command -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,*'
        Get-Swarm -Offline | Should -BeNullOrEmpty
    }

    It 'refuses a partition that looks like an option' {
        { Start-Swarm -Nodes 1 -Prompt 'p' -Profile command -Command 'true' -Partition '--wrap=x' -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidSlurmArgument,*'
    }

    It 'launches a job array and returns the swarm' {
        Assert-TestBackend -Name slurm -Available $script:HasSlurm -Because 'no Slurm controller answers sinfo'
        $s = Start-TestSwarm -Nodes 2
        $s | Should -BeOfType ([SwarmPS.Core.Swarms.Swarm])
        $s.NodeCount | Should -Be 2
        $s.JobId | Should -Match '^\d+$'
        $s.Status | Should -Be 'Pending'
        Test-Path -LiteralPath (Join-Path $s.Directory 'job.sbatch') | Should -BeTrue
        (Wait-TestSwarmRunning -SwarmId $s.SwarmId).Status | Should -Be 'Running'
    }
}
