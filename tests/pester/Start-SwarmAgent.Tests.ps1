BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'AgentTestHelpers.ps1')
    Initialize-TestEnvironment
    Initialize-AgentTestEnvironment
    New-SwarmEnvironment -Ticket 'START-A', 'START-B' | Out-Null
    # Quotes, newlines (LF and CRLF), shell and PowerShell syntax, cmd.exe syntax, non-ASCII.
    $script:Hostile = "it's `"quoted`"`n`$(whoami) ``backtick`` ; | & > < %PATH% !x! ^`r`nünïcødé 日本語 😀`ttab`n"
}
AfterAll { Reset-TestEnvironment }

Describe 'Start-SwarmAgent' {
    It 'returns the agent at once, before it has finished' {
        $agent = Start-SwarmAgent -Ticket 'START-A' -Profile command -Command (Get-FakeCommand -Mode sleep) -Prompt 'hello'
        $agent | Should -BeOfType ([SwarmPS.Core.Agents.SwarmAgent])
        $agent.Id | Should -Match '^ag-[0-9a-f]+$'
        $agent.Ticket | Should -Be 'START-A'
        $agent.Profile | Should -Be 'command'
        "$($agent.Status)" | Should -BeIn @('Starting', 'Running')
        $agent.Run | Should -Be 1
        $agent | Stop-SwarmAgent
    }

    It 'takes the Ticket of piped environments and nothing else' {
        $agents = Get-SwarmEnvironment -Ticket 'START-*' | Start-SwarmAgent -Profile command -Command (Get-FakeCommand) -Prompt 'piped'
        $agents | Should -HaveCount 2
        $agents.Ticket | Should -Be @('START-A', 'START-B')
        $agents | Wait-SwarmAgent -Timeout 120 | ForEach-Object { "$($_.Status)" } | Should -Be @('Succeeded', 'Succeeded')
    }

    It 'passes a hostile prompt byte-exact' {
        $agent = Start-SwarmAgent -Ticket 'START-A' -Profile command -Command (Get-FakeCommand) -Prompt $script:Hostile | Wait-SwarmAgent -Timeout 120
        $agent.Status | Should -Be 'Succeeded'
        $expected = [System.Text.UTF8Encoding]::new($false).GetBytes($script:Hostile)
        [Convert]::ToBase64String((Get-ReceivedPrompt -Agent $agent)) | Should -Be ([Convert]::ToBase64String($expected))
    }

    It 'reads -PromptPath relative to the current location, byte-exact without the BOM' {
        $dir = Join-Path $TestDrive 'prompts'
        New-Item -ItemType Directory -Path $dir -Force | Out-Null
        [System.IO.File]::WriteAllText((Join-Path $dir 'task.md'), $script:Hostile, [System.Text.UTF8Encoding]::new($true))
        Push-Location -LiteralPath $dir
        try {
            $agent = Start-SwarmAgent -Ticket 'START-B' -Profile command -Command (Get-FakeCommand) -PromptPath 'task.md' | Wait-SwarmAgent -Timeout 120
        }
        finally {
            Pop-Location
        }
        $expected = [System.Text.UTF8Encoding]::new($false).GetBytes($script:Hostile)
        [Convert]::ToBase64String((Get-ReceivedPrompt -Agent $agent)) | Should -Be ([Convert]::ToBase64String($expected))
    }

    It 'runs a profile defined in config.json' {
        $agent = Start-SwarmAgent -Ticket 'START-A' -Profile 'echo-file' -Prompt 'from config' | Wait-SwarmAgent -Timeout 120
        $agent.Status | Should -Be 'Succeeded'
        [System.Text.Encoding]::UTF8.GetString((Get-ReceivedPrompt -Agent $agent)) | Should -Be 'from config'
    }

    It 'parses the structured result of the claude profile' {
        Skip-TestWithoutSh
        # Skipped on Windows: the fake claude is an sh script.
        $agent = Start-SwarmAgent -Ticket 'START-A' -Profile claude -Prompt 'Fix it' | Wait-SwarmAgent -Timeout 120
        $agent.Status | Should -Be 'Succeeded'
        $agent.SessionId | Should -Not -BeNullOrEmpty
        $agent.CostUsd | Should -Be 0.25
        $agent.Result | Should -Be 'Done; tests pass.'
        $failed = Start-SwarmAgent -Ticket 'START-A' -Profile claude -Prompt 'please FAIL' | Wait-SwarmAgent -Timeout 120
        $failed.Status | Should -Be 'Failed' -Because 'is_error true is a failure even with exit code 0'
    }

    It 'changes nothing with -WhatIf' {
        $before = @(Get-SwarmAgent -Ticket 'START-B').Count
        Start-SwarmAgent -Ticket 'START-B' -Profile command -Command (Get-FakeCommand) -Prompt 'x' -WhatIf | Should -BeNullOrEmpty
        @(Get-SwarmAgent -Ticket 'START-B').Count | Should -Be $before
    }

    It 'rejects a hostile ticket with ErrorId InvalidTicket' {
        { Start-SwarmAgent -Ticket 'NUL' -Profile command -Command 'x' -Prompt 'x' } | Should -Throw -ErrorId 'InvalidTicket,SwarmPS.Cmdlets.Commands.StartSwarmAgentCommand'
    }

    It 'rejects an unknown profile with ErrorId ProfileNotFound' {
        { Start-SwarmAgent -Ticket 'START-A' -Profile 'no-such-agent' -Prompt 'x' } | Should -Throw -ErrorId 'ProfileNotFound,SwarmPS.Cmdlets.Commands.StartSwarmAgentCommand'
    }

    It 'requires -Command for the command profile' {
        { Start-SwarmAgent -Ticket 'START-A' -Profile command -Prompt 'x' } | Should -Throw -ErrorId 'InvalidArgument,SwarmPS.Cmdlets.Commands.StartSwarmAgentCommand'
    }

    It 'rejects a missing prompt file' {
        { Start-SwarmAgent -Ticket 'START-A' -Profile command -Command 'x' -PromptPath (Join-Path $TestDrive 'missing.txt') } | Should -Throw -ErrorId 'InvalidArgument,SwarmPS.Cmdlets.Commands.StartSwarmAgentCommand'
    }

    It 'writes one error per ticket without an environment and goes on' {
        $agents = Start-SwarmAgent -Ticket 'NOPE-1', 'START-B' -Profile command -Command (Get-FakeCommand) -Prompt 'x' -ErrorVariable err -ErrorAction SilentlyContinue
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'EnvironmentNotFound*'
        $err[0].TargetObject | Should -Be 'NOPE-1'
        $agents.Ticket | Should -Be 'START-B'
        $agents | Wait-SwarmAgent -Timeout 120 | Out-Null
    }

    It 'completes tickets and profile names' {
        Get-CompletionText 'Start-SwarmAgent -Ticket START-' | Should -Be @('START-A', 'START-B')
        Get-CompletionText 'Start-SwarmAgent -Ticket START-A -Profile ec' | Should -Be @('echo-file')
        Get-CompletionText 'Start-SwarmAgent -Ticket START-A -Profile cod' | Should -Be @('codex')
    }
}
