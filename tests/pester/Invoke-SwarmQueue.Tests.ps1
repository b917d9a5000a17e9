BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'AgentTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'TaskTestHelpers.ps1')
    Initialize-TestEnvironment
    Initialize-AgentTestEnvironment
    New-SwarmEnvironment -Ticket 'QUEUE-1' | Out-Null
}
AfterAll { Reset-TestEnvironment }

Describe 'Invoke-SwarmQueue' {
    It 'runs the queued tasks and writes each one as it finishes' {
        $added = 1..3 | ForEach-Object { Add-SwarmTask -Title "ok $_" -Prompt "prompt $_" -Ticket 'QUEUE-1' -Profile command -Command (Get-FakeCommand) }
        $finished = Invoke-SwarmQueue -MaxParallel 2
        $finished | Should -HaveCount 3
        $finished | Should -BeOfType ([SwarmPS.Core.Tasks.SwarmTask])
        $finished.Status | Select-Object -Unique | Should -Be 'Succeeded'
        ($finished.Id | Sort-Object) | Should -Be ($added.Id | Sort-Object)
        foreach ($t in $finished) {
            $t.Attempts | Should -Be 1
            $t.AgentIds | Should -HaveCount 1
            (Get-SwarmAgent -Id $t.AgentIds[0]).Ticket | Should -Be 'QUEUE-1'
        }
    }

    It 'retries a failing task, then fails it and skips its dependents; nothing waits forever' {
        $bad = Add-SwarmTask -Title 'fails' -Prompt 'x' -Ticket 'QUEUE-1' -Profile command -Command (Get-FakeCommand -Mode fail) -MaxAttempts 2 -RetryBackoffSeconds 0
        $dependent = Add-SwarmTask -Title 'never runs' -Prompt 'x' -Ticket 'QUEUE-1' -Profile command -Command (Get-FakeCommand) -DependsOn $bad.Id
        $cleanup = Add-SwarmTask -Title 'runs anyway' -Prompt 'x' -Ticket 'QUEUE-1' -Profile command -Command (Get-FakeCommand) -DependsOn $bad.Id -RunAfterFailure
        $finished = Invoke-SwarmQueue -MaxParallel 2
        $byId = @{}; $finished | ForEach-Object { $byId[$_.Id] = $_ }
        $byId[$bad.Id].Status | Should -Be 'Failed'
        $byId[$bad.Id].Attempts | Should -Be 2
        $byId[$dependent.Id].Status | Should -Be 'Skipped'
        $byId[$cleanup.Id].Status | Should -Be 'Succeeded'
    }

    It 'dispatches by priority, oldest first within a priority' {
        $low = Add-SwarmTask -Title 'low' -Prompt 'x' -Priority Low -Ticket 'QUEUE-1' -Profile command -Command (Get-FakeCommand)
        $normal = Add-SwarmTask -Title 'normal' -Prompt 'x' -Ticket 'QUEUE-1' -Profile command -Command (Get-FakeCommand)
        $critical = Add-SwarmTask -Title 'critical' -Prompt 'x' -Priority Critical -Ticket 'QUEUE-1' -Profile command -Command (Get-FakeCommand)
        $finished = Invoke-SwarmQueue -MaxParallel 1
        $finished.Id | Should -Be @($critical.Id, $normal.Id, $low.Id)
    }

    It 'creates an environment per task and removes it on success (KeepOnFailure)' {
        $task = Add-SwarmTask -Title 'own env' -Prompt 'x' -Profile command -Command (Get-FakeCommand)
        $done = Invoke-SwarmQueue -MaxParallel 1
        $done.Status | Should -Be 'Succeeded'
        $done.EnvironmentTicket | Should -Be $task.Id
        Get-SwarmEnvironment -Ticket $task.Id -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'writes a QueueRunSummary with -Summary' {
        Add-SwarmTask -Title 'summary' -Prompt 'x' -Ticket 'QUEUE-1' -Profile command -Command (Get-FakeCommand) | Out-Null
        $summary = Invoke-SwarmQueue -Summary
        $summary | Should -BeOfType ([SwarmPS.Core.Tasks.QueueRunSummary])
        $summary.Drained | Should -BeTrue
        $summary.Dispatched | Should -Be 1
        $summary.Counts[[SwarmPS.Core.Tasks.SwarmTaskStatus]::Queued] | Should -Be 0
        $summary | Format-Table | Out-String -Width 120 | Should -Match 'Succeeded'
        $summary | Format-List | Out-String -Width 120 | Should -Match 'Dispatched'
    }

    It 'returns at once when the queue is empty, and reports the counts verbosely' {
        $verbose = Invoke-SwarmQueue -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        ($verbose.Message -join "`n") | Should -Match 'Queue drained'
    }

    It 'runs nothing with -WhatIf' {
        $task = Add-SwarmTask -Title 'waits' -Prompt 'x' -Ticket 'QUEUE-1' -Profile command -Command (Get-FakeCommand)
        Invoke-SwarmQueue -WhatIf | Should -BeNullOrEmpty
        (Get-SwarmTask -Id $task.Id).Status | Should -Be 'Queued'
        Stop-SwarmTask -Id $task.Id
    }

    It 'never starts a cancelled task' {
        $task = Add-SwarmTask -Title 'cancelled' -Prompt 'x' -Ticket 'QUEUE-1' -Profile command -Command (Get-FakeCommand)
        Stop-SwarmTask -Id $task.Id
        Invoke-SwarmQueue | Where-Object Id -EQ $task.Id | Should -BeNullOrEmpty
        (Get-SwarmTask -Id $task.Id).AgentIds | Should -BeNullOrEmpty
    }

    It 'runs sh agents' {
        Skip-TestWithoutSh
        # Skipped on Windows: no sh.
        $ok = Add-SwarmTask -Title 'sh ok' -Prompt 'x' -Ticket 'QUEUE-1' -Profile command -Command (Get-ShCommand 'cat > /dev/null; exit 0')
        $fail = Add-SwarmTask -Title 'sh fail' -Prompt 'x' -Ticket 'QUEUE-1' -Profile command -Command (Get-ShCommand 'exit 7')
        $finished = Invoke-SwarmQueue -MaxParallel 2
        ($finished | Where-Object Id -EQ $ok.Id).Status | Should -Be 'Succeeded'
        ($finished | Where-Object Id -EQ $fail.Id).Status | Should -Be 'Failed'
    }

    It 'rejects -MaxParallel 0' {
        { Invoke-SwarmQueue -MaxParallel 0 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,SwarmPS.Cmdlets.Commands.InvokeSwarmQueueCommand'
    }
}
