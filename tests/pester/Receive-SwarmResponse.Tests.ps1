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

Describe 'Receive-SwarmResponse' {
    It 'reports an unknown swarm as SwarmNotFound' {
        Receive-SwarmResponse -SwarmId 'no-such-swarm' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SwarmNotFound,*'
    }

    Context 'with a running swarm' {
        BeforeAll { if ($script:HasSlurm) { $script:S = Start-TestSwarm -Nodes 2 } }

        It 'streams one response per node for a piped injection' {
            Assert-TestBackend -Name slurm -Available $script:HasSlurm -Because 'no Slurm controller answers sinfo'
            $r = Send-SwarmPrompt -SwarmId $script:S.SwarmId -Prompt 'ping' -Confirm:$false | Receive-SwarmResponse -Wait -Timeout 120
            $r | Should -HaveCount 2
            $r[0] | Should -BeOfType ([SwarmPS.Core.Swarms.SwarmResponse])
            ($r.Node | Sort-Object) | Should -Be @(0, 1)
            $r | ForEach-Object { $_.ExitCode | Should -Be 0; $_.CostUsd | Should -Be 0; $_.Response | Should -Match 'answers: test system prompt' }
        }

        It 'reports an unknown injection as InjectionNotFound' {
            Assert-TestBackend -Name slurm -Available $script:HasSlurm -Because 'no Slurm controller answers sinfo'
            Receive-SwarmResponse -SwarmId $script:S.SwarmId -InjectionId 'nope' -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].FullyQualifiedErrorId | Should -BeLike 'InjectionNotFound,*'
        }
    }
}
