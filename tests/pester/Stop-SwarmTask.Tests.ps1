BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'AgentTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'TaskTestHelpers.ps1')
    Initialize-TestEnvironment
    Initialize-AgentTestEnvironment
    New-SwarmEnvironment -Ticket 'STOPT-1' | Out-Null
}
AfterAll {
    Stop-SwarmQueue -WarningAction SilentlyContinue -Confirm:$false
    Reset-TestEnvironment
}

Describe 'Stop-SwarmTask' {
    It 'cancels a queued task, skips its dependents, and returns it with -PassThru' {
        $first = Add-SwarmTask -Title 'First' -Prompt 'x' -Ticket 'STOPT-1' -Profile command -Command (Get-FakeCommand)
        $after = Add-SwarmTask -Title 'After' -Prompt 'x' -Ticket 'STOPT-1' -Profile command -Command (Get-FakeCommand) -DependsOn $first.Id
        $cancelled = $first | Stop-SwarmTask -PassThru
        $cancelled.Status | Should -Be 'Cancelled'
        $skipped = Get-SwarmTask -Id $after.Id
        $skipped.Status | Should -Be 'Skipped'
        $skipped.Error | Should -BeLike "*$($first.Id)*"
    }

    It 'keeps a dependent that runs after failure' {
        $first = Add-SwarmTask -Title 'First' -Prompt 'x' -Ticket 'STOPT-1' -Profile command -Command (Get-FakeCommand)
        $cleanup = Add-SwarmTask -Title 'Cleanup' -Prompt 'x' -Ticket 'STOPT-1' -Profile command -Command (Get-FakeCommand) -DependsOn $first.Id -RunAfterFailure
        Stop-SwarmTask -Id $first.Id
        (Get-SwarmTask -Id $cleanup.Id).Status | Should -Be 'Queued'
        Stop-SwarmTask -Id $cleanup.Id
    }

    It 'returns nothing without -PassThru and leaves a finished task as it is' {
        $task = Add-SwarmTask -Title 'Done' -Prompt 'x' -Ticket 'STOPT-1' -Profile command -Command (Get-FakeCommand)
        Stop-SwarmTask -Id $task.Id | Should -BeNullOrEmpty
        (Stop-SwarmTask -Id $task.Id -PassThru).Status | Should -Be 'Cancelled'
    }

    It 'changes nothing with -WhatIf' {
        $task = Add-SwarmTask -Title 'Stays' -Prompt 'x' -Ticket 'STOPT-1' -Profile command -Command (Get-FakeCommand)
        Stop-SwarmTask -Id $task.Id -WhatIf
        (Get-SwarmTask -Id $task.Id).Status | Should -Be 'Queued'
        Stop-SwarmTask -Id $task.Id
    }

    It 'stops the agent of a running task' {
        $task = Add-SwarmTask -Title 'Sleeper' -Prompt 'x' -Ticket 'STOPT-1' -Profile command -Command (Get-FakeCommand -Mode sleep)
        Start-SwarmQueue -MaxParallel 1 -Continuous | Out-Null
        $running = Wait-TaskStatus -Id $task.Id -Status 'Running'
        # Running is recorded before the agent id; wait (generously) for the id too.
        $deadline = [DateTime]::UtcNow.AddSeconds(120)
        while (-not (Get-SwarmTask -Id $task.Id).AgentIds) {
            if ([DateTime]::UtcNow -gt $deadline) { throw "Task $($task.Id) is Running but names no agent after 120 s." }
            Start-Sleep -Milliseconds 100
        }
        $cancelled = Stop-SwarmTask -Id $running.Id -PassThru
        $cancelled.Status | Should -Be 'Cancelled'
        $agent = Get-SwarmAgent -Id $cancelled.AgentIds[-1]
        "$($agent.Status)" | Should -BeIn @('Stopped', 'Failed') -Because 'the running agent is stopped'
        Stop-SwarmQueue
    }

    It 'writes TaskNotFound for an unknown id' {
        Stop-SwarmTask -Id 't-00000000' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'TaskNotFound*'
    }

    It 'completes task ids' {
        $task = Get-SwarmTask | Select-Object -First 1
        Get-CompletionText 'Stop-SwarmTask -Id t-' | Should -Contain $task.Id
    }
}
