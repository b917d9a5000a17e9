BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'AgentTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'TaskTestHelpers.ps1')
    Initialize-TestEnvironment
    Initialize-AgentTestEnvironment
    New-SwarmEnvironment -Ticket 'STOPQ-1' | Out-Null
}
AfterAll {
    Stop-SwarmQueue -WarningAction SilentlyContinue -Confirm:$false
    Reset-TestEnvironment
}

Describe 'Stop-SwarmQueue' {
    It 'warns when no scheduler is running and returns nothing' {
        Stop-SwarmQueue -WarningVariable warn -WarningAction SilentlyContinue | Should -BeNullOrEmpty
        $warn | Should -Not -BeNullOrEmpty
    }

    It 'stops a detached scheduler between dispatches; the running agent keeps running' {
        $sleeper = Add-SwarmTask -Title 'sleeps' -Prompt 'x' -Ticket 'STOPQ-1' -Profile command -Command (Get-FakeCommand -Mode sleep)
        Start-SwarmQueue -MaxParallel 1 -Continuous | Out-Null
        Wait-TaskStatus -Id $sleeper.Id -Status 'Running' | Out-Null
        $status = Stop-SwarmQueue -PassThru
        $status | Should -BeOfType ([SwarmPS.Core.Tasks.SwarmQueueStatus])
        $status.Running | Should -BeFalse
        (Get-SwarmTask -Id $sleeper.Id).Status | Should -Be 'Running' -Because 'stopping the scheduler never kills agents'
        Stop-SwarmTask -Id $sleeper.Id
    }

    It 'changes nothing with -WhatIf' {
        Add-SwarmTask -Title 'waits' -Prompt 'x' -Ticket 'STOPQ-1' -Profile command -Command (Get-FakeCommand -Mode sleep) | Out-Null
        Start-SwarmQueue -MaxParallel 1 -Continuous | Out-Null
        try {
            (Stop-SwarmQueue -PassThru -WhatIf) | Should -BeNullOrEmpty
            { Start-SwarmQueue -Continuous -ErrorAction Stop } | Should -Throw -ErrorId 'SchedulerRunning,SwarmPS.Cmdlets.Commands.StartSwarmQueueCommand' -Because 'the scheduler still runs'
        }
        finally {
            Stop-SwarmQueue -PassThru | Select-Object -ExpandProperty Running | Should -BeFalse
            Get-SwarmTask -Status 'Queued', 'Running' | Stop-SwarmTask
        }
    }
}
