BeforeDiscovery {
    # -Skip is evaluated while Pester discovers the tests, before BeforeAll runs: decide here.
    $script:HasSlurm = [bool](Get-Command sinfo -ErrorAction SilentlyContinue)
}
BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'SwarmSlurmHelpers.ps1')
    Initialize-TestEnvironment
}
AfterAll { Reset-TestEnvironment }

Describe 'Stop-Swarm' {
    It 'reports an unknown swarm as SwarmNotFound' {
        Stop-Swarm -SwarmId 'no-such-swarm' -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SwarmNotFound,*'
    }

    It 'scancels the job, leaves nothing in squeue and removes the directory' {
        Assert-TestBackend -Name slurm -Available $script:HasSlurm -Because 'no Slurm controller answers sinfo'
        $s = Start-TestSwarm -Nodes 2
        $null = Wait-TestSwarmRunning -SwarmId $s.SwarmId
        $stopped = $s | Stop-Swarm -PassThru -Confirm:$false
        $stopped.Status | Should -Be 'Terminated'
        $squeueArgs = @('--noheader', '--array', "--jobs=$($s.JobId)", '--format=%i')
        (& squeue @squeueArgs) | Should -BeNullOrEmpty
        Test-Path -LiteralPath $s.Directory | Should -BeFalse
        (Get-SwarmEvent -Kind swarm | Where-Object Subject -eq $s.SwarmId).NewStatus | Should -Contain 'Terminated'
    }

    It 'keeps the files with -KeepFiles' {
        Assert-TestBackend -Name slurm -Available $script:HasSlurm -Because 'no Slurm controller answers sinfo'
        $s = Start-TestSwarm -Nodes 1
        Stop-Swarm -SwarmId $s.SwarmId -KeepFiles -Confirm:$false
        Test-Path -LiteralPath $s.Directory | Should -BeTrue
    }
}
