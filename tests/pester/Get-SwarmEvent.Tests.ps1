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
        # The follow runs in its own runspace so that, should the events never come, the test fails after a
        # generous deadline instead of hanging the suite. A separate process appends the new event, as
        # another session would.
        $follower = [PowerShell]::Create()
        $null = $follower.AddScript({
                param($ModulePath)
                Import-Module $ModulePath
                Get-SwarmEvent -Kind task -Follow | Where-Object NewStatus -EQ 'Cancelled' | Select-Object -First 2
            }).AddArgument($script:ModulePath)
        $events = [System.Management.Automation.PSDataCollection[psobject]]::new()
        $following = $follower.BeginInvoke([System.Management.Automation.PSDataCollection[psobject]] $null, $events)
        $job = $null
        try {
            # The past Cancelled event comes first; only then is the new one made, so it must be followed.
            $deadline = [DateTime]::UtcNow.AddSeconds(120)
            while ($events.Count -lt 1 -and -not $following.IsCompleted -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
            # .Count only: enumerating an open PSDataCollection blocks until it is completed.
            $events.Count | Should -Be 1 -Because 'the follow first writes the Cancelled event that already exists'
            $job = Start-Job -ScriptBlock {
                param($ModulePath, $SwarmHome)
                $env:SWARMPS_HOME = $SwarmHome
                Import-Module $ModulePath
                $t = Add-SwarmTask -Title 'later' -Prompt 'x' -Ticket 'EVT-1'
                Stop-SwarmTask -Id $t.Id
            } -ArgumentList $script:ModulePath, $env:SWARMPS_HOME
            if (-not $following.AsyncWaitHandle.WaitOne([timespan]::FromSeconds(180))) {
                throw "Get-SwarmEvent -Follow saw no second Cancelled event within 180 s; job: $($job.State) $($job | Receive-Job -ErrorAction SilentlyContinue 2>&1)"
            }
            $null = $follower.EndInvoke($following)
            $got = @($events.ReadAll())
            $got | Should -HaveCount 2
            $got[1].Subject | Should -BeLike 't-*'
            $got[1].Subject | Should -Not -Be $script:Task.Id
        }
        finally {
            if ($following.IsCompleted) { $follower.Dispose() } else { $null = $follower.BeginStop($null, $null) }
            if ($job) {
                $job | Wait-Job -Timeout 120 | Out-Null
                $job | Remove-Job -Force
            }
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
