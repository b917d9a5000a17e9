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

Describe 'Get-Swarm' {
    It 'returns nothing when there are no swarms' {
        Get-Swarm -Offline | Should -BeNullOrEmpty
    }

    It 'reports an unknown exact id as SwarmNotFound' {
        Get-Swarm -SwarmId 'no-such-swarm' -Offline -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SwarmNotFound,*'
    }

    It 'shows every node of a running swarm' {
        Assert-TestBackend -Name slurm -Available $script:HasSlurm -Because 'no Slurm controller answers sinfo'
        $s = Start-TestSwarm -Nodes 2
        $live = Wait-TestSwarmRunning -SwarmId $s.SwarmId
        $live | Should -BeOfType ([SwarmPS.Core.Swarms.Swarm])
        $live.Nodes | Should -HaveCount 2
        $live.Nodes | ForEach-Object { $_.JobState | Should -Be 'RUNNING'; $_.LastHeartbeat | Should -Not -BeNullOrEmpty }
        (Get-Swarm -SwarmId 'swarm-*').SwarmId | Should -Contain $s.SwarmId
        (Get-Swarm | Out-String -Width 120) | Should -Match 'SwarmId\s+Status\s+JobId'
    }
}
