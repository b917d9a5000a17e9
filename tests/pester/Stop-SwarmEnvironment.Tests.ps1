BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    Initialize-TestEnvironment
    New-SwarmEnvironment -Ticket 'STOP-1', 'STOP-2' | Out-Null
}
AfterAll { Reset-TestEnvironment }

Describe 'Stop-SwarmEnvironment' {
    It 'stops an environment and keeps its files' {
        Stop-SwarmEnvironment -Ticket 'STOP-1' | Should -BeNullOrEmpty
        $env = Get-SwarmEnvironment -Ticket 'STOP-1'
        $env.Status | Should -Be 'Stopped'
        Test-Path -LiteralPath $env.WorkspacePath | Should -BeTrue
    }

    It 'stops what Get-SwarmEnvironment pipes in and returns it with -PassThru' {
        $stopped = Get-SwarmEnvironment -Status Running | Stop-SwarmEnvironment -PassThru
        $stopped.Ticket | Should -Be 'STOP-2'
        $stopped.Status | Should -Be 'Stopped'
    }

    It 'changes nothing with -WhatIf' {
        Start-SwarmEnvironment -Ticket 'STOP-1'
        Stop-SwarmEnvironment -Ticket 'STOP-1' -WhatIf
        (Get-SwarmEnvironment -Ticket 'STOP-1').Status | Should -Be 'Running'
    }

    It 'rejects a hostile ticket with ErrorId InvalidTicket' {
        { Stop-SwarmEnvironment -Ticket 'NUL' } | Should -Throw -ErrorId 'InvalidTicket,SwarmPS.Cmdlets.Commands.StopSwarmEnvironmentCommand'
    }

    It 'writes one error per unknown ticket' {
        Stop-SwarmEnvironment -Ticket 'NOPE-1', 'NOPE-2' -ErrorVariable err -ErrorAction SilentlyContinue
        $err | Should -HaveCount 2
        $err.TargetObject | Should -Be @('NOPE-1', 'NOPE-2')
    }

    It 'completes tickets' {
        Get-CompletionText 'Stop-SwarmEnvironment -Ticket STOP-' | Should -Be @('STOP-1', 'STOP-2')
    }
}
