BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    Initialize-TestEnvironment
    New-SwarmEnvironment -Ticket 'CN-1', 'CN-2' | Out-Null
}
AfterAll { Reset-TestEnvironment }

Describe 'Get-SwarmConnection' {
    It 'shows a worktree environment as localhost and its worktree' {
        $c = Get-SwarmConnection -Ticket 'CN-1'
        $c.Ticket | Should -Be 'CN-1'
        $c.Provider | Should -Be 'worktree'
        $c.Host | Should -Be 'localhost'
        $c.WorkingDirectory | Should -Be (Get-SwarmEnvironment -Ticket 'CN-1').WorkspacePath
    }

    It 'takes tickets from Get-SwarmEnvironment' {
        (Get-SwarmEnvironment -Ticket 'CN-*' | Get-SwarmConnection).Ticket | Should -Be @('CN-1', 'CN-2')
    }

    It 'reports an unknown ticket as EnvironmentNotFound' {
        Get-SwarmConnection -Ticket 'NOPE' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'EnvironmentNotFound,*'
    }

    It 'rejects a hostile ticket with ErrorId InvalidTicket' {
        { Get-SwarmConnection -Ticket '../x' } | Should -Throw -ErrorId 'InvalidTicket,SwarmPS.Cmdlets.Commands.GetSwarmConnectionCommand'
    }

    It 'uses the connection table view' {
        (Get-SwarmConnection -Ticket 'CN-1' | Out-String -Width 120) | Should -Match 'Ticket\s+Provider\s+Host\s+Port\s+User'
    }
}
