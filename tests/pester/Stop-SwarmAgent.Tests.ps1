BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'AgentTestHelpers.ps1')
    Initialize-TestEnvironment
    Initialize-AgentTestEnvironment
    New-SwarmEnvironment -Ticket 'HALT-1' | Out-Null
}
AfterAll { Reset-TestEnvironment }

Describe 'Stop-SwarmAgent' {
    It 'stops what Get-SwarmAgent pipes in, kills the agent process and returns it with -PassThru' {
        $sleeper = Start-SwarmAgent -Ticket 'HALT-1' -Profile command -Command (Get-FakeCommand -Mode sleep) -Prompt 'x'
        $running = Get-SwarmAgent -Id $sleeper.Id
        $stopped = Get-SwarmAgent -Id $sleeper.Id | Stop-SwarmAgent -PassThru
        $stopped.Id | Should -Be $sleeper.Id
        $stopped.Status | Should -Be 'Stopped'
        (Get-SwarmAgent -Id $sleeper.Id).Status | Should -Be 'Stopped'
        if ($running.Pid) {
            Get-Process -Id $running.Pid -ErrorAction SilentlyContinue | Should -BeNullOrEmpty -Because 'the whole process tree is killed'
        }
    }

    It 'returns nothing without -PassThru and leaves a finished agent as it is' {
        $done = Start-SwarmAgent -Ticket 'HALT-1' -Profile command -Command (Get-FakeCommand) -Prompt 'x' | Wait-SwarmAgent -Timeout 120
        Stop-SwarmAgent -Id $done.Id | Should -BeNullOrEmpty
        (Get-SwarmAgent -Id $done.Id).Status | Should -Be 'Succeeded'
    }

    It 'changes nothing with -WhatIf' {
        $sleeper = Start-SwarmAgent -Ticket 'HALT-1' -Profile command -Command (Get-FakeCommand -Mode sleep) -Prompt 'x'
        try {
            Stop-SwarmAgent -Id $sleeper.Id -WhatIf
            "$((Get-SwarmAgent -Id $sleeper.Id).Status)" | Should -BeIn @('Starting', 'Running')
        }
        finally {
            Stop-SwarmAgent -Id $sleeper.Id
        }
    }

    It 'writes one AgentNotFound error per unknown id' {
        Stop-SwarmAgent -Id 'ag-0000000000', 'ag-0000000001' -ErrorVariable err -ErrorAction SilentlyContinue
        $err | Should -HaveCount 2
        $err.TargetObject | Should -Be @('ag-0000000000', 'ag-0000000001')
        $err[0].FullyQualifiedErrorId | Should -BeLike 'AgentNotFound*'
    }

    It 'rejects a malformed id' {
        { Stop-SwarmAgent -Id '../etc' } | Should -Throw -ErrorId 'InvalidArgument,SwarmPS.Cmdlets.Commands.StopSwarmAgentCommand'
    }

    It 'completes agent ids' {
        $agent = Get-SwarmAgent -Ticket 'HALT-1' | Select-Object -First 1
        Get-CompletionText 'Stop-SwarmAgent -Id ag-' | Should -Contain $agent.Id
    }
}
