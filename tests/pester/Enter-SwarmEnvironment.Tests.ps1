BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    Initialize-TestEnvironment
    New-SwarmEnvironment -Ticket 'EN-1' | Out-Null
}
AfterAll { Reset-TestEnvironment }

Describe 'Enter-SwarmEnvironment' {
    It 'moves into the worktree of a worktree environment; Pop-Location goes back' {
        $before = (Get-Location).Path
        Enter-SwarmEnvironment -Ticket 'EN-1'
        (Get-Location).Path | Should -Be (Get-SwarmEnvironment -Ticket 'EN-1').WorkspacePath
        Pop-Location
        (Get-Location).Path | Should -Be $before
    }

    It 'does nothing with -WhatIf' {
        $before = (Get-Location).Path
        Enter-SwarmEnvironment -Ticket 'EN-1' -WhatIf
        (Get-Location).Path | Should -Be $before
    }

    It 'reports an unknown ticket as EnvironmentNotFound' {
        Enter-SwarmEnvironment -Ticket 'NOPE' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'EnvironmentNotFound,*'
    }

    It 'rejects a hostile ticket with ErrorId InvalidTicket' {
        { Enter-SwarmEnvironment -Ticket 'a;b' } | Should -Throw -ErrorId 'InvalidTicket,SwarmPS.Cmdlets.Commands.EnterSwarmEnvironmentCommand'
    }
}
