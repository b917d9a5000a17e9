BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'AgentTestHelpers.ps1')
    Initialize-TestEnvironment
    Initialize-AgentTestEnvironment
    New-SwarmEnvironment -Ticket 'RECV-1' | Out-Null
    $script:Done = Start-SwarmAgent -Ticket 'RECV-1' -Profile command -Command (Get-FakeCommand -Mode lines -Count 3) -Prompt 'x' | Wait-SwarmAgent -Timeout 120
}
AfterAll { Reset-TestEnvironment }

Describe 'Receive-SwarmAgentOutput' {
    It 'returns the output of a finished agent as objects' {
        $out = Receive-SwarmAgentOutput -Id $script:Done.Id
        $out | Should -BeOfType ([SwarmPS.Core.Agents.SwarmAgentOutput])
        $stdout = $out | Where-Object Stream -EQ 'stdout'
        $stdout.Text | Should -Contain 'line-1'
        $stdout.Text | Should -Contain 'line-3'
        $stdout[0].AgentId | Should -Be $script:Done.Id
        $stdout[0].Run | Should -Be 1
    }

    It 'returns the last objects with -Tail' {
        $all = Receive-SwarmAgentOutput -Id $script:Done.Id
        $tail = Receive-SwarmAgentOutput -Id $script:Done.Id -Tail 2
        $tail | Should -HaveCount 2
        $tail.Text | Should -Be ($all | Select-Object -Last 2).Text
    }

    It 'returns the log lines with -Raw' {
        $raw = Receive-SwarmAgentOutput -Id $script:Done.Id -Raw
        $raw.Kind | Select-Object -Unique | Should -Be 'raw'
        ($raw | Where-Object Stream -EQ 'stdout').Text | Should -Contain 'line-2'
    }

    It 'returns one run with -Run' {
        $agent = Start-SwarmAgent -Ticket 'RECV-1' -Profile command -Command (Get-FakeCommand) -Prompt 'x' | Wait-SwarmAgent -Timeout 120
        $agent | Send-SwarmAgentMessage -Prompt 'again' | Wait-SwarmAgent -Timeout 120 | Out-Null
        $second = Receive-SwarmAgentOutput -Id $agent.Id -Run 2
        $second.Run | Select-Object -Unique | Should -Be 2
        $second.Text | Should -Contain 'ticket RECV-1 run 2'
        (Receive-SwarmAgentOutput -Id $agent.Id).Run | Select-Object -Unique | Should -Be @(1, 2)
    }

    It 'follows a piped agent until it has finished' {
        $lines = Start-SwarmAgent -Ticket 'RECV-1' -Profile command -Command (Get-FakeCommand -Mode lines -Count 4) -Prompt 'x' |
            Receive-SwarmAgentOutput -Follow
        $text = ($lines | Where-Object Stream -EQ 'stdout').Text
        $text | Should -Contain 'line-1'
        $text | Should -Contain 'line-4'
        ($text | Where-Object { $_ -eq 'line-4' }) | Should -HaveCount 1 -Because 'each line is streamed once'
    }

    It 'stops following when the pipeline needs no more' {
        $sleeper = Start-SwarmAgent -Ticket 'RECV-1' -Profile command -Command (Get-FakeCommand -Mode sleep) -Prompt 'x'
        try {
            $first = Receive-SwarmAgentOutput -Id $sleeper.Id -Follow | Select-Object -First 1
            # The agent runs until stopped, so returning at all shows the follow ended with the pipeline.
            "$((Get-SwarmAgent -Id $sleeper.Id).Status)" | Should -BeIn @('Starting', 'Running') -Because 'the follow stops with the pipeline, not when the agent ends'
            $first.Text | Should -BeLike 'received*'
        }
        finally {
            Stop-SwarmAgent -Id $sleeper.Id
        }
    }

    It 'parses the claude stream-json messages' {
        Skip-TestWithoutSh
        # Skipped on Windows: the fake claude is an sh script.
        $agent = Start-SwarmAgent -Ticket 'RECV-1' -Profile claude -Prompt 'x' | Wait-SwarmAgent -Timeout 120
        $out = Receive-SwarmAgentOutput -Id $agent.Id
        $out.Kind | Should -Contain 'result'
        ($out | Where-Object Kind -EQ 'tool').Tool | Should -Contain 'Bash'
        (Receive-SwarmAgentOutput -Id $agent.Id -Raw | Select-Object -First 1).Text | Should -BeLike '{*'
    }

    It 'formats as a table and as a list' {
        Receive-SwarmAgentOutput -Id $script:Done.Id | Format-Table | Out-String -Width 120 | Should -Match 'line-1'
        Receive-SwarmAgentOutput -Id $script:Done.Id -Tail 1 | Format-List | Out-String -Width 120 | Should -Match 'AgentId'
    }

    It 'writes AgentNotFound for an unknown id' {
        Receive-SwarmAgentOutput -Id 'ag-0000000000' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'AgentNotFound*'
    }

    It 'completes agent ids' {
        Get-CompletionText 'Receive-SwarmAgentOutput -Id ag-' | Should -Contain $script:Done.Id
    }
}
