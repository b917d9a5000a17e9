BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    Initialize-TestEnvironment
    New-SwarmEnvironment -Ticket 'START-1', 'START-2' | Out-Null
    Stop-SwarmEnvironment -Ticket 'START-1', 'START-2'
}
AfterAll { Reset-TestEnvironment }

Describe 'Start-SwarmEnvironment' {
    It 'starts an environment and returns nothing by default' {
        Start-SwarmEnvironment -Ticket 'START-1' | Should -BeNullOrEmpty
        (Get-SwarmEnvironment -Ticket 'START-1').Status | Should -Be 'Running'
    }

    It 'returns the environment with -PassThru from a pipeline' {
        $started = Get-SwarmEnvironment -Status Stopped | Start-SwarmEnvironment -PassThru
        $started.Ticket | Should -Be 'START-2'
        $started.Status | Should -Be 'Running'
    }

    It 'changes nothing with -WhatIf' {
        Stop-SwarmEnvironment -Ticket 'START-1'
        Start-SwarmEnvironment -Ticket 'START-1' -WhatIf
        (Get-SwarmEnvironment -Ticket 'START-1').Status | Should -Be 'Stopped'
    }

    It 'writes EnvironmentNotFound for an unknown ticket and goes on' {
        $out = Start-SwarmEnvironment -Ticket 'NOPE', 'START-1' -PassThru -ErrorVariable err -ErrorAction SilentlyContinue
        $out.Ticket | Should -Be 'START-1'
        $err[0].FullyQualifiedErrorId | Should -BeLike 'EnvironmentNotFound,*'
        $err[0].TargetObject | Should -Be 'NOPE'
    }

    It 'rejects a hostile ticket with ErrorId InvalidTicket' {
        { Start-SwarmEnvironment -Ticket '../../etc' } | Should -Throw -ErrorId 'InvalidTicket,SwarmPS.Cmdlets.Commands.StartSwarmEnvironmentCommand'
    }

    It 'completes tickets' {
        Get-CompletionText 'Start-SwarmEnvironment -Ticket START' | Should -Contain 'START-1'
    }
}
