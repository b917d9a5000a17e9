BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'AgentTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'TaskTestHelpers.ps1')
    Initialize-TestEnvironment
    Initialize-AgentTestEnvironment
    $script:Start = Get-Date
    New-SwarmEnvironment -Ticket 'EVT-1' | Out-Null
    $script:Task = Add-SwarmTask -Title 'evented' -Prompt 'x' -Ticket 'EVT-1'
    Stop-SwarmTask -Id $script:Task.Id
}
AfterAll { Reset-TestEnvironment }

Describe 'Get-SwarmEvent' {
    It 'returns the state changes, oldest first' {
        $events = Get-SwarmEvent
        $events | Should -BeOfType ([SwarmPS.Core.SwarmEvent])
        $events.Kind | Should -Contain 'environment'
        $events.Kind | Should -Contain 'task'
        ($events.Id | Sort-Object) | Should -Be $events.Id
        $cancel = $events | Where-Object { $_.Subject -eq $script:Task.Id -and $_.NewStatus -eq 'Cancelled' }
        $cancel | Should -HaveCount 1
        $cancel.OldStatus | Should -Be 'Queued'
    }

    It 'filters by kind, time and id' {
        (Get-SwarmEvent -Kind task).Kind | Select-Object -Unique | Should -Be 'task'
        (Get-SwarmEvent -Kind 'Environment').Kind | Select-Object -Unique | Should -Be 'environment'
        Get-SwarmEvent -Since (Get-Date).AddHours(1) | Should -BeNullOrEmpty
        @(Get-SwarmEvent -Since $script:Start.AddSeconds(-5)).Count | Should -Be @(Get-SwarmEvent).Count
        $all = Get-SwarmEvent
        (Get-SwarmEvent -AfterId $all[0].Id).Id | Should -Be ($all | Select-Object -Skip 1).Id
    }

    It 'follows new events until the pipeline has enough' {
        $known = @(Get-SwarmEvent).Count
        # A separate process appends the events, as another session would.
        $job = Start-Job -ScriptBlock {
            param($ModulePath, $SwarmHome)
            $env:SWARMPS_HOME = $SwarmHome
            Import-Module $ModulePath
            Start-Sleep -Seconds 2
            $t = Add-SwarmTask -Title 'later' -Prompt 'x' -Ticket 'EVT-1'
            Stop-SwarmTask -Id $t.Id
        } -ArgumentList $script:ModulePath, $env:SWARMPS_HOME
        try {
            $watch = [System.Diagnostics.Stopwatch]::StartNew()
            $events = Get-SwarmEvent -Kind task -Follow | Where-Object NewStatus -EQ 'Cancelled' | Select-Object -First 2
            $watch.Elapsed.TotalSeconds | Should -BeLessThan 120
            $events | Should -HaveCount 2
            $events[1].Subject | Should -BeLike 't-*'
            $events[1].Subject | Should -Not -Be $script:Task.Id
        }
        finally {
            $job | Wait-Job -Timeout 120 | Out-Null
            $job | Remove-Job -Force
        }
        @(Get-SwarmEvent).Count | Should -BeGreaterThan $known
    }

    It 'rejects an unknown kind' {
        { Get-SwarmEvent -Kind 'nope' } | Should -Throw -ErrorId 'ParameterArgumentValidationError,SwarmPS.Cmdlets.Commands.GetSwarmEventCommand'
    }

    It 'formats as a table and as a list' {
        Get-SwarmEvent -Kind task | Format-Table | Out-String -Width 120 | Should -Match 'Queued -> Cancelled'
        Get-SwarmEvent -Kind task | Select-Object -First 1 | Format-List | Out-String -Width 120 | Should -Match 'Subject'
    }
}
