BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    Initialize-TestEnvironment
}
AfterAll { Reset-TestEnvironment }

Describe 'Remove-SwarmEnvironment' {
    It 'removes the worktree, the branch and the row' {
        $env = New-SwarmEnvironment -Ticket 'RM-1'
        Remove-SwarmEnvironment -Ticket 'RM-1' -Confirm:$false | Should -BeNullOrEmpty
        Get-SwarmEnvironment -Ticket 'RM-1' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Test-Path -LiteralPath $env.WorkspacePath | Should -BeFalse
        Get-TestBranch -Ticket 'RM-1' | Should -BeNullOrEmpty
    }

    It 'keeps the branch with -KeepBranch' {
        New-SwarmEnvironment -Ticket 'RM-2' | Out-Null
        Remove-SwarmEnvironment -Ticket 'RM-2' -KeepBranch -Force
        Get-TestBranch -Ticket 'RM-2' | Should -Not -BeNullOrEmpty
    }

    It 'removes what the pipeline sends' {
        New-SwarmEnvironment -Ticket 'RM-P1', 'RM-P2' | Out-Null
        Get-SwarmEnvironment -Ticket 'RM-P*' | Remove-SwarmEnvironment -Force
        Get-SwarmEnvironment -Ticket 'RM-P*' | Should -BeNullOrEmpty
    }

    It 'removes nothing with -WhatIf, even with -Force' {
        New-SwarmEnvironment -Ticket 'RM-WHATIF' | Out-Null
        Remove-SwarmEnvironment -Ticket 'RM-WHATIF' -Force -WhatIf
        Get-SwarmEnvironment -Ticket 'RM-WHATIF' | Should -Not -BeNullOrEmpty
        Get-TestBranch -Ticket 'RM-WHATIF' | Should -Not -BeNullOrEmpty
    }

    It 'refuses uncommitted work without -Force (UncommittedChanges) and removes it with -Force' {
        $env = New-SwarmEnvironment -Ticket 'RM-DIRTY'
        Set-Content -LiteralPath (Join-Path $env.WorkspacePath 'app.txt') -Value 'changed'
        Remove-SwarmEnvironment -Ticket 'RM-DIRTY' -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'UncommittedChanges,*'
        $err[0].TargetObject | Should -Be 'RM-DIRTY'
        Get-SwarmEnvironment -Ticket 'RM-DIRTY' | Should -Not -BeNullOrEmpty
        Remove-SwarmEnvironment -Ticket 'RM-DIRTY' -Force
        Get-SwarmEnvironment -Ticket 'RM-DIRTY' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'rejects the hostile ticket <_> with ErrorId InvalidTicket' -ForEach @('..', 'x/../../y', 'COM1') {
        $hostile = $_
        { Remove-SwarmEnvironment -Ticket $hostile -Force } | Should -Throw -ErrorId 'InvalidTicket,SwarmPS.Cmdlets.Commands.RemoveSwarmEnvironmentCommand'
    }

    It 'completes tickets' {
        Get-CompletionText 'Remove-SwarmEnvironment -Ticket RM-WH' | Should -Contain 'RM-WHATIF'
    }
}
