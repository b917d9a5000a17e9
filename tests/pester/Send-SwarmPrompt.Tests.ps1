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

Describe 'Send-SwarmPrompt' {
    It 'reports an unknown swarm as SwarmNotFound' {
        Send-SwarmPrompt -SwarmId 'no-such-swarm' -Prompt 'x' -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SwarmNotFound,*'
    }

    Context 'with a running swarm' {
        BeforeAll { if ($script:HasSlurm) { $script:S = Start-TestSwarm -Nodes 2 } }

        It 'injects into every node and returns the injection id' {
            Assert-TestBackend -Name slurm -Available $script:HasSlurm -Because 'no Slurm controller answers sinfo'
            $i = $script:S | Send-SwarmPrompt -Prompt 'hello' -Confirm:$false
            $i | Should -BeOfType ([SwarmPS.Core.Swarms.SwarmInjection])
            $i.InjectionId | Should -Not -BeNullOrEmpty
            $i.Nodes | Should -Be @(0, 1)
        }

        It 'injects into one node with -Node and keeps a given id' {
            Assert-TestBackend -Name slurm -Available $script:HasSlurm -Because 'no Slurm controller answers sinfo'
            $i = Send-SwarmPrompt -SwarmId $script:S.SwarmId -Prompt 'only you' -Node 1 -InjectionId 'mine-1' -Confirm:$false
            $i.InjectionId | Should -Be 'mine-1'
            $i.Nodes | Should -Be @(1)
        }

        It 'refuses a duplicate injection id and a node out of range' {
            Assert-TestBackend -Name slurm -Available $script:HasSlurm -Because 'no Slurm controller answers sinfo'
            { Send-SwarmPrompt -SwarmId $script:S.SwarmId -Prompt 'again' -InjectionId 'MINE-1' -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'InjectionExists,*'
            { Send-SwarmPrompt -SwarmId $script:S.SwarmId -Prompt 'x' -Node 5 -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidNode,*'
        }
    }
}
