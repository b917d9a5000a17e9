BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    Initialize-TestEnvironment
    New-SwarmEnvironment -Ticket 'GC-1', 'GC-2' | Out-Null
    Checkpoint-SwarmEnvironment -Ticket 'GC-1' -Name 'one' | Out-Null
    Checkpoint-SwarmEnvironment -Ticket 'GC-1' -Name 'two' | Out-Null
    Checkpoint-SwarmEnvironment -Ticket 'GC-2' -Name 'one' | Out-Null
}
AfterAll { Reset-TestEnvironment }

Describe 'Get-SwarmCheckpoint' {
    It 'lists the checkpoints of a ticket, oldest first' {
        (Get-SwarmCheckpoint -Ticket 'GC-1').Name | Should -Be @('one', 'two')
    }

    It 'lists every checkpoint without -Ticket and filters names with wildcards' {
        (Get-SwarmCheckpoint).Count | Should -Be 3
        (Get-SwarmCheckpoint -Ticket 'GC-*' -Name 'o*').Ticket | Should -Be @('GC-1', 'GC-2')
    }

    It 'takes tickets from Get-SwarmEnvironment' {
        (Get-SwarmEnvironment -Ticket 'GC-2' | Get-SwarmCheckpoint).Name | Should -Be 'one'
    }

    It 'reports an unknown ticket as EnvironmentNotFound' {
        Get-SwarmCheckpoint -Ticket 'NOPE' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'EnvironmentNotFound,*'
    }

    It 'rejects a hostile ticket with ErrorId InvalidTicket' {
        { Get-SwarmCheckpoint -Ticket 'LPT1' } | Should -Throw -ErrorId 'InvalidTicket,SwarmPS.Cmdlets.Commands.GetSwarmCheckpointCommand'
    }

    It 'uses the checkpoint table view' {
        (Get-SwarmCheckpoint -Ticket 'GC-1' | Out-String -Width 120) | Should -Match 'Ticket\s+Name\s+Created'
    }

    It 'completes checkpoint names of the typed ticket only' {
        Get-CompletionText 'Get-SwarmCheckpoint -Ticket GC-1 -Name t' | Should -Be @('two')
    }
}
