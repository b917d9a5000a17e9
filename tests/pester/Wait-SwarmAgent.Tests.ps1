BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'AgentTestHelpers.ps1')
    Initialize-TestEnvironment
    Initialize-AgentTestEnvironment
    New-SwarmEnvironment -Ticket 'WAIT-1', 'WAIT-2' | Out-Null
}
AfterAll { Reset-TestEnvironment }

Describe 'Wait-SwarmAgent' {
    It 'waits for a piped agent and returns it finished' {
        $agent = Start-SwarmAgent -Ticket 'WAIT-1' -Profile command -Command (Get-FakeCommand) -Prompt 'x' | Wait-SwarmAgent -Timeout 120
        $agent.Status | Should -Be 'Succeeded'
        $agent.ExitCode | Should -Be 0
        $agent.EndedAt | Should -Not -BeNullOrEmpty
    }

    It 'waits for all piped agents together' {
        $ok = Start-SwarmAgent -Ticket 'WAIT-1' -Profile command -Command (Get-FakeCommand) -Prompt 'x'
        $bad = Start-SwarmAgent -Ticket 'WAIT-2' -Profile command -Command (Get-FakeCommand -Mode fail) -Prompt 'x'
        $done = $ok, $bad | Wait-SwarmAgent -Timeout 120
        $done | Should -HaveCount 2
        ($done | Where-Object Id -EQ $ok.Id).Status | Should -Be 'Succeeded'
        ($done | Where-Object Id -EQ $bad.Id).Status | Should -Be 'Failed'
    }

    It 'returns the first finished agent with -Any' {
        $sleeper = Start-SwarmAgent -Ticket 'WAIT-1' -Profile command -Command (Get-FakeCommand -Mode sleep) -Prompt 'x'
        $quick = Start-SwarmAgent -Ticket 'WAIT-2' -Profile command -Command (Get-FakeCommand) -Prompt 'x'
        try {
            $first = Wait-SwarmAgent -Id $sleeper.Id, $quick.Id -Any -Timeout 120
            $first.Id | Should -Be $quick.Id
        }
        finally {
            Stop-SwarmAgent -Id $sleeper.Id
        }
    }

    It 'writes a non-terminating Timeout error and leaves the agent running' {
        $sleeper = Start-SwarmAgent -Ticket 'WAIT-1' -Profile command -Command (Get-FakeCommand -Mode sleep) -Prompt 'x'
        try {
            $result = $sleeper | Wait-SwarmAgent -Timeout 1 -ErrorVariable err -ErrorAction SilentlyContinue
            $result | Should -BeNullOrEmpty
            $err | Should -HaveCount 1
            $err[0].FullyQualifiedErrorId | Should -BeLike 'Timeout*'
            "$((Get-SwarmAgent -Id $sleeper.Id).Status)" | Should -BeIn @('Starting', 'Running')
        }
        finally {
            Stop-SwarmAgent -Id $sleeper.Id
        }
    }

    It 'reports progress and completes it' {
        # The agent runs until released, so the wait is still going when its progress is checked.
        $gate = Join-Path $TestDrive 'progress-gate'
        $agent = Start-SwarmAgent -Ticket 'WAIT-2' -Profile command -Command (Get-FakeCommand -Mode gate -Gate $gate) -Prompt 'x'
        $ps = [PowerShell]::Create()
        try {
            $null = $ps.AddCommand('Import-Module').AddParameter('Name', $script:ModulePath).AddStatement()
            $null = $ps.AddCommand('Wait-SwarmAgent').AddParameter('Id', $agent.Id).AddParameter('Timeout', 300)
            $async = $ps.BeginInvoke()
            $deadline = [DateTime]::UtcNow.AddSeconds(120)
            while ($ps.Streams.Progress.Count -eq 0 -and -not $async.IsCompleted -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
            $async.IsCompleted | Should -BeFalse -Because 'the agent has not been released yet'
            $ps.Streams.Progress | Should -Not -BeNullOrEmpty -Because 'Wait-SwarmAgent shows progress while it waits'
            Set-Content -LiteralPath $gate -Value 'go'
            $out = $ps.EndInvoke($async)
            $out | Should -HaveCount 1
            "$($out[0].Status)" | Should -Be 'Succeeded'
            $ps.Streams.Progress | Should -Not -BeNullOrEmpty
            $ps.Streams.Progress[-1].RecordType | Should -Be 'Completed'
        }
        finally {
            $ps.Dispose()
        }
    }

    It 'writes AgentNotFound for an unknown id and still waits for the others' {
        $agent = Start-SwarmAgent -Ticket 'WAIT-1' -Profile command -Command (Get-FakeCommand) -Prompt 'x'
        $done = Wait-SwarmAgent -Id 'ag-0000000000', $agent.Id -Timeout 120 -ErrorVariable err -ErrorAction SilentlyContinue
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'AgentNotFound*'
        $done.Id | Should -Be $agent.Id
    }

    It 'completes agent ids' {
        $agent = Get-SwarmAgent -Ticket 'WAIT-1' | Select-Object -First 1
        Get-CompletionText "Wait-SwarmAgent -Id $($agent.Id.Substring(0, 5))" | Should -Contain $agent.Id
    }
}
