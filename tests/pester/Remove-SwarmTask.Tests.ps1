BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'AgentTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'TaskTestHelpers.ps1')
    Initialize-TestEnvironment
    Initialize-AgentTestEnvironment
    New-SwarmEnvironment -Ticket 'RMT-1' | Out-Null
}
AfterAll { Reset-TestEnvironment }

Describe 'Remove-SwarmTask' {
    It 'removes piped tasks without a prompt with -Confirm:$false' {
        $task = Add-SwarmTask -Title 'Gone' -Prompt 'x' -Ticket 'RMT-1'
        $task | Remove-SwarmTask -Confirm:$false | Should -BeNullOrEmpty
        Get-SwarmTask -Id $task.Id -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'refuses an unfinished task that others depend on, and removes it with -Force' {
        $first = Add-SwarmTask -Title 'Needed' -Prompt 'x' -Ticket 'RMT-1'
        $second = Add-SwarmTask -Title 'Needs it' -Prompt 'x' -Ticket 'RMT-1' -DependsOn $first.Id
        Remove-SwarmTask -Id $first.Id -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidState*'
        $err[0].TargetObject | Should -Be $first.Id
        (Get-SwarmTask -Id $first.Id).Status | Should -Be 'Queued'
        Remove-SwarmTask -Id $first.Id -Force
        Get-SwarmTask -Id $first.Id -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Remove-SwarmTask -Id $second.Id -Force
    }

    It 'removes a cancelled task that others depended on' {
        $first = Add-SwarmTask -Title 'Cancelled' -Prompt 'x' -Ticket 'RMT-1'
        Add-SwarmTask -Title 'Skipped' -Prompt 'x' -Ticket 'RMT-1' -DependsOn $first.Id | Out-Null
        Stop-SwarmTask -Id $first.Id
        Remove-SwarmTask -Id $first.Id -Confirm:$false
        Get-SwarmTask -Id $first.Id -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'removes nothing with -WhatIf, even with -Force' {
        $task = Add-SwarmTask -Title 'Stays' -Prompt 'x' -Ticket 'RMT-1'
        Remove-SwarmTask -Id $task.Id -Force -WhatIf
        (Get-SwarmTask -Id $task.Id).Id | Should -Be $task.Id
    }

    It 'writes TaskNotFound for an unknown id' {
        Remove-SwarmTask -Id 't-00000000' -Force -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'TaskNotFound*'
    }

    It 'completes task ids' {
        $task = Add-SwarmTask -Title 'Complete' -Prompt 'x' -Ticket 'RMT-1'
        Get-CompletionText 'Remove-SwarmTask -Id t-' | Should -Contain $task.Id
    }
}
