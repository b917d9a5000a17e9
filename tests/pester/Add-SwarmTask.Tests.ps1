BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'AgentTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'TaskTestHelpers.ps1')
    Initialize-TestEnvironment
    Initialize-AgentTestEnvironment
    New-SwarmEnvironment -Ticket 'ADD-1' | Out-Null
    New-SwarmEnvironment -Ticket 'ADD-2' | Out-Null
}
AfterAll { Reset-TestEnvironment }

Describe 'Add-SwarmTask' {
    It 'adds one task from the fields, Queued, with every field kept' {
        $task = Add-SwarmTask -Title 'Fix the cart' -Prompt 'Make the cart totals right' -Priority High -Ticket 'ADD-1' -Profile command -Command (Get-FakeCommand) -MaxAttempts 3 -RetryBackoffSeconds 5 -TimeoutSeconds 600 -Cleanup Keep -Name 'cart'
        $task | Should -BeOfType ([SwarmPS.Core.Tasks.SwarmTask])
        $task.Id | Should -BeLike 't-*-cart'
        $task.Status | Should -Be 'Queued'
        $task.Priority | Should -Be 'High'
        $task.Ticket | Should -Be 'ADD-1'
        $task.Profile | Should -Be 'command'
        $task.Command | Should -Be (Get-FakeCommand)
        $task.MaxAttempts | Should -Be 3
        $task.RetryBackoffSeconds | Should -Be 5
        $task.TimeoutSeconds | Should -Be 600
        $task.Cleanup | Should -Be 'Keep'
        (Get-SwarmTask -Id $task.Id).Prompt | Should -Be 'Make the cart totals right'
    }

    It 'makes a task that depends on an unfinished one Blocked' {
        $first = Add-SwarmTask -Title 'Schema' -Prompt 'x' -Ticket 'ADD-1' -Profile command -Command (Get-FakeCommand)
        $second = Add-SwarmTask -Title 'API' -Prompt 'y' -Ticket 'ADD-1' -Profile command -Command (Get-FakeCommand) -DependsOn $first.Id -RunAfterFailure
        $second.Status | Should -Be 'Blocked'
        $second.DependsOn | Should -Be @($first.Id)
        $second.RunAfterFailure | Should -BeTrue
    }

    It 'adds piped task specs as one batch, resolving their names to ids' {
        $specs = @(
            New-TestTaskSpec -Name 'schema' -Ticket 'ADD-1'
            New-TestTaskSpec -Name 'api' -DependsOn 'schema' -Ticket 'ADD-1'
            New-TestTaskSpec -Name 'smoke' -DependsOn 'api', 'schema' -Ticket 'ADD-1'
        )
        $added = $specs | Add-SwarmTask
        $added | Should -HaveCount 3
        $added[0].Status | Should -Be 'Queued'
        $added[1].DependsOn | Should -Be @($added[0].Id)
        $added[2].DependsOn | Should -Contain $added[1].Id
        $added[2].Status | Should -Be 'Blocked'
    }

    It 'rejects a cycle, names it, and adds nothing of the batch' {
        $before = @(Get-SwarmTask).Count
        $specs = @(
            New-TestTaskSpec -Name 'a' -DependsOn 'c' -Ticket 'ADD-1'
            New-TestTaskSpec -Name 'b' -DependsOn 'a' -Ticket 'ADD-1'
            New-TestTaskSpec -Name 'c' -DependsOn 'b' -Ticket 'ADD-1'
        )
        { $specs | Add-SwarmTask -ErrorAction Stop } | Should -Throw -ErrorId 'DependencyCycle,SwarmPS.Cmdlets.Commands.AddSwarmTaskCommand' -ExpectedMessage '*a -> c -> b -> a*'
        @(Get-SwarmTask).Count | Should -Be $before
    }

    It 'rejects an unknown dependency and adds nothing' {
        $before = @(Get-SwarmTask).Count
        { Add-SwarmTask -Title 'Orphan' -Prompt 'x' -Ticket 'ADD-1' -DependsOn 't-00000000' -Profile command -Command (Get-FakeCommand) } | Should -Throw -ErrorId 'TaskNotFound,SwarmPS.Cmdlets.Commands.AddSwarmTaskCommand'
        @(Get-SwarmTask).Count | Should -Be $before
    }

    It 'adds one task per piped environment' {
        $added = Get-SwarmEnvironment -Ticket 'ADD-*' | Add-SwarmTask -Title 'Run the tests' -Profile command -Command (Get-FakeCommand)
        $added | Should -HaveCount 2
        $added.Ticket | Sort-Object | Should -Be @('ADD-1', 'ADD-2')
    }

    It 'gives a task without a ticket the current location as its repository' {
        $task = Add-SwarmTask -Title 'New env' -Prompt 'x' -Profile command -Command (Get-FakeCommand)
        $task.Ticket | Should -BeNullOrEmpty
        $task.RepositoryPath | Should -Be (Get-Location).ProviderPath
    }

    It 'never changes the piped spec' {
        $spec = New-TestTaskSpec -Name 'untouched'
        $spec | Add-SwarmTask | Out-Null
        $spec.RepositoryPath | Should -BeNullOrEmpty
    }

    It 'adds nothing with -WhatIf' {
        $before = @(Get-SwarmTask).Count
        Add-SwarmTask -Title 'Not really' -Prompt 'x' -Ticket 'ADD-1' -WhatIf
        @(Get-SwarmTask).Count | Should -Be $before
    }

    It 'requires a prompt for agent profiles' {
        { Add-SwarmTask -Title 'No prompt' -Ticket 'ADD-1' -Profile claude } | Should -Throw -ErrorId 'InvalidArgument,SwarmPS.Cmdlets.Commands.AddSwarmTaskCommand'
    }

    It 'rejects an unknown profile and an unknown ticket' {
        { Add-SwarmTask -Title 'x' -Prompt 'x' -Ticket 'ADD-1' -Profile 'no-such-profile' } | Should -Throw -ErrorId 'ProfileNotFound,SwarmPS.Cmdlets.Commands.AddSwarmTaskCommand'
        { Add-SwarmTask -Title 'x' -Prompt 'x' -Ticket 'NOPE-1' } | Should -Throw -ErrorId 'EnvironmentNotFound,SwarmPS.Cmdlets.Commands.AddSwarmTaskCommand'
    }

    It 'completes task ids for -DependsOn' {
        $task = Add-SwarmTask -Title 'Complete me' -Prompt 'x' -Ticket 'ADD-1' -Name 'completeme'
        Get-CompletionText 'Add-SwarmTask -Title x -DependsOn t-' | Should -Contain $task.Id
    }
}
