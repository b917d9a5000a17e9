BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'AgentTestHelpers.ps1')
    Initialize-TestEnvironment
    Initialize-AgentTestEnvironment
    New-SwarmEnvironment -Ticket 'SEND-1' | Out-Null
}
AfterAll { Reset-TestEnvironment }

Describe 'Send-SwarmAgentMessage' {
    It 'starts the next run of a finished agent and records it as run 2' {
        $agent = Start-SwarmAgent -Ticket 'SEND-1' -Profile command -Command (Get-FakeCommand) -Prompt 'first' | Wait-SwarmAgent -Timeout 120
        $followUp = "second `"prompt`"`nwith `$(newline) and ünïcødé"
        $sent = Send-SwarmAgentMessage -Id $agent.Id -Prompt $followUp
        $sent.Id | Should -Be $agent.Id
        $sent.Run | Should -Be 2
        $done = $sent | Wait-SwarmAgent -Timeout 120
        $done.Status | Should -Be 'Succeeded'
        $done.Run | Should -Be 2
        [System.Text.Encoding]::UTF8.GetString((Get-ReceivedPrompt -Agent $done -Run 2)) | Should -BeExactly $followUp
        [System.Text.Encoding]::UTF8.GetString((Get-ReceivedPrompt -Agent $done -Run 1)) | Should -BeExactly 'first'
    }

    It 'resumes the claude session and adds up the cost' {
        Skip-TestWithoutSh
        # Skipped on Windows: the fake claude is an sh script.
        $agent = Start-SwarmAgent -Ticket 'SEND-1' -Profile claude -Prompt 'first' | Wait-SwarmAgent -Timeout 120
        $done = $agent | Send-SwarmAgentMessage -Prompt 'and the docs' | Wait-SwarmAgent -Timeout 120
        $done.Status | Should -Be 'Succeeded'
        $done.SessionId | Should -Be $agent.SessionId
        $done.CostUsd | Should -Be 0.5
    }

    It 'refuses an agent that is still running with ErrorId InvalidState' {
        $sleeper = Start-SwarmAgent -Ticket 'SEND-1' -Profile command -Command (Get-FakeCommand -Mode sleep) -Prompt 'x'
        try {
            Send-SwarmAgentMessage -Id $sleeper.Id -Prompt 'too early' -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err | Should -HaveCount 1
            $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidState*'
            $err[0].TargetObject | Should -Be $sleeper.Id
        }
        finally {
            Stop-SwarmAgent -Id $sleeper.Id
        }
    }

    It 'changes nothing with -WhatIf' {
        $agent = Start-SwarmAgent -Ticket 'SEND-1' -Profile command -Command (Get-FakeCommand) -Prompt 'x' | Wait-SwarmAgent -Timeout 120
        Send-SwarmAgentMessage -Id $agent.Id -Prompt 'y' -WhatIf | Should -BeNullOrEmpty
        (Get-SwarmAgent -Id $agent.Id).Run | Should -Be 1
    }

    It 'writes AgentNotFound for an unknown id' {
        Send-SwarmAgentMessage -Id 'ag-0000000000' -Prompt 'x' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'AgentNotFound*'
    }

    It 'completes agent ids' {
        $agent = Get-SwarmAgent -Ticket 'SEND-1' | Select-Object -First 1
        Get-CompletionText 'Send-SwarmAgentMessage -Id ag-' | Should -Contain $agent.Id
    }
}
