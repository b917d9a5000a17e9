BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'AgentTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'TaskTestHelpers.ps1')
    Initialize-TestEnvironment
    Initialize-AgentTestEnvironment
    New-SwarmEnvironment -Ticket 'STARTQ-1' | Out-Null
}
AfterAll {
    Stop-SwarmQueue -WarningAction SilentlyContinue -Confirm:$false
    Reset-TestEnvironment
}

Describe 'Start-SwarmQueue' {
    It 'starts nothing when the queue is empty, and says so' {
        $status = Start-SwarmQueue -WarningVariable warn -WarningAction SilentlyContinue
        $warn | Should -Not -BeNullOrEmpty
        $status | Should -BeOfType ([SwarmPS.Core.Tasks.SwarmQueueStatus])
        $status.Running | Should -BeFalse
    }

    It 'starts a detached scheduler that runs the queue and exits when it has drained' {
        $task = Add-SwarmTask -Title 'detached' -Prompt 'x' -Ticket 'STARTQ-1' -Profile command -Command (Get-FakeCommand)
        $status = Start-SwarmQueue -MaxParallel 2
        $status.Running | Should -BeTrue
        $status.ProcessId | Should -BeGreaterThan 0
        $status.ProcessId | Should -Not -Be $PID
        (Wait-TaskStatus -Id $task.Id -Status 'Succeeded').Status | Should -Be 'Succeeded'
        Wait-QueueStopped
    }

    It 'serves tasks added later with -Continuous, refuses a second scheduler, and stops on request' {
        $status = Start-SwarmQueue -MaxParallel 1 -Continuous
        try {
            $status.Running | Should -BeTrue
            $status.LogDirectory | Should -Not -BeNullOrEmpty
            { Start-SwarmQueue -Continuous -ErrorAction Stop } | Should -Throw -ErrorId 'SchedulerRunning,SwarmPS.Cmdlets.Commands.StartSwarmQueueCommand'
            { Invoke-SwarmQueue -ErrorAction Stop } | Should -Throw -ErrorId 'SchedulerRunning,SwarmPS.Cmdlets.Commands.InvokeSwarmQueueCommand'
            $later = Add-SwarmTask -Title 'added later' -Prompt 'x' -Ticket 'STARTQ-1' -Profile command -Command (Get-FakeCommand)
            (Wait-TaskStatus -Id $later.Id -Status 'Succeeded').Status | Should -Be 'Succeeded'
        }
        finally {
            Stop-SwarmQueue
        }
        (Stop-SwarmQueue -PassThru -WarningAction SilentlyContinue).Running | Should -BeFalse
    }

    It 'starts a new scheduler right after a stop, while the old one is still ending, and reports that one (issue 16)' {
        # Stop-SwarmQueue returns once the lease is released; the old pwsh is still exiting then. Its
        # supervisor's exit line must not reach the new start (which reported ProcessFailed and left the
        # new scheduler running) and only the new scheduler may serve.
        $seen = @{}
        try {
            foreach ($round in 1..5) {
                $status = Start-SwarmQueue -MaxParallel 1 -Continuous
                $status.Running | Should -BeTrue -Because "round $round"
                # ProcessId is the lease holder's; it must be the process this start launched (below).
                $seen.ContainsKey($status.LogDirectory) | Should -BeFalse -Because "round ${round}: each start has its own state folder"
                $seen[$status.LogDirectory] = $true
                # Its own status file names it (first line: command pid, supervisor pid), no exit line.
                $lines = @(Get-Content -LiteralPath (Join-Path $status.LogDirectory 'status'))
                $lines.Count | Should -Be 1 -Because "round ${round}: the new scheduler runs"
                ($lines[0] -split ' ')[0] | Should -Be $status.ProcessId
                Stop-SwarmQueue
            }
        }
        finally {
            Stop-SwarmQueue -WarningAction SilentlyContinue
        }
    }

    It 'formats the status as a table and as a list' {
        $status = Stop-SwarmQueue -PassThru -WarningAction SilentlyContinue
        $status | Format-Table | Out-String -Width 120 | Should -Match 'Running'
        $status | Format-List | Out-String -Width 120 | Should -Match 'LogDirectory'
    }

    It 'starts nothing with -WhatIf' {
        Add-SwarmTask -Title 'waits' -Prompt 'x' -Ticket 'STARTQ-1' -Profile command -Command (Get-FakeCommand) | Out-Null
        Start-SwarmQueue -WhatIf | Should -BeNullOrEmpty
        (Stop-SwarmQueue -PassThru -WarningAction SilentlyContinue).Running | Should -BeFalse
        Get-SwarmTask -Status Queued | Stop-SwarmTask
    }
}
