BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'AgentTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'TaskTestHelpers.ps1')
    Initialize-TestEnvironment
    Initialize-AgentTestEnvironment
    New-SwarmEnvironment -Ticket 'GETT-1' | Out-Null
    $script:Low = Add-SwarmTask -Title 'Low one' -Prompt 'x' -Priority Low -Ticket 'GETT-1' -Name 'low'
    $script:Critical = Add-SwarmTask -Title 'Critical one' -Prompt 'x' -Priority Critical -Ticket 'GETT-1' -Name 'critical'
    $script:Waiting = Add-SwarmTask -Title 'Waiting one' -Prompt 'x' -Ticket 'GETT-1' -Name 'waiting' -DependsOn $script:Low.Id
}
AfterAll { Reset-TestEnvironment }

Describe 'Get-SwarmTask' {
    It 'returns every task, in dispatch order' {
        $all = Get-SwarmTask
        $all | Should -HaveCount 3
        $all | Should -BeOfType ([SwarmPS.Core.Tasks.SwarmTask])
        $all[0].Id | Should -Be $script:Critical.Id -Because 'Critical dispatches before Low and Normal'
    }

    It 'gets tasks by id and by wildcard' {
        (Get-SwarmTask -Id $script:Low.Id).Title | Should -Be 'Low one'
        (Get-SwarmTask -Id '*-critical').Id | Should -Be $script:Critical.Id
        Get-SwarmTask -Id 't-*-nomatch*' | Should -BeNullOrEmpty
    }

    It 'filters by status' {
        (Get-SwarmTask -Status Blocked).Id | Should -Be @($script:Waiting.Id)
        (Get-SwarmTask -Status 'Queued', 'Blocked') | Should -HaveCount 3
        Get-SwarmTask -Id $script:Waiting.Id -Status Queued | Should -BeNullOrEmpty
    }

    It 'takes ids from the pipeline by property name' {
        ($script:Low, $script:Critical | Get-SwarmTask).Id | Should -Be @($script:Low.Id, $script:Critical.Id)
    }

    It 'writes one TaskNotFound error per unknown id and goes on' {
        $found = Get-SwarmTask -Id 't-00000000', $script:Low.Id -ErrorVariable err -ErrorAction SilentlyContinue
        $found.Id | Should -Be $script:Low.Id
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'TaskNotFound*'
        $err[0].TargetObject | Should -Be 't-00000000'
    }

    It 'rejects a malformed id' {
        { Get-SwarmTask -Id '../etc' } | Should -Throw -ErrorId 'InvalidArgument,SwarmPS.Cmdlets.Commands.GetSwarmTaskCommand'
    }

    It 'formats as a table and as a list' {
        Get-SwarmTask | Format-Table | Out-String -Width 120 | Should -Match 'Critical one'
        Get-SwarmTask -Id $script:Waiting.Id | Format-List | Out-String -Width 120 | Should -Match 'DependsOn\s*:\s*t-'
    }

    It 'completes task ids' {
        Get-CompletionText 'Get-SwarmTask -Id t-' | Should -Contain $script:Low.Id
    }
}
