BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    Initialize-TestEnvironment
    New-SwarmEnvironment -Ticket 'RC-1' | Out-Null
    'a', 'b', 'try-1', 'try-2', 'keep' | ForEach-Object { Checkpoint-SwarmEnvironment -Ticket 'RC-1' -Name $_ } | Out-Null
}
AfterAll { Reset-TestEnvironment }

Describe 'Remove-SwarmCheckpoint' {
    It 'deletes a named checkpoint' {
        Remove-SwarmCheckpoint -Ticket 'RC-1' -Name 'a' -Force | Should -BeNullOrEmpty
        (Get-SwarmCheckpoint -Ticket 'RC-1').Name | Should -Not -Contain 'a'
    }

    It 'deletes what Get-SwarmCheckpoint pipes in' {
        Get-SwarmCheckpoint -Ticket 'RC-1' -Name 'try-*' | Remove-SwarmCheckpoint -Confirm:$false
        (Get-SwarmCheckpoint -Ticket 'RC-1').Name | Should -Be @('b', 'keep')
    }

    It 'deletes nothing with -WhatIf' {
        Remove-SwarmCheckpoint -Ticket 'RC-1' -Name '*' -WhatIf
        (Get-SwarmCheckpoint -Ticket 'RC-1').Count | Should -Be 2
    }

    It 'reports an unknown checkpoint as CheckpointNotFound' {
        Remove-SwarmCheckpoint -Ticket 'RC-1' -Name 'nope' -Force -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'CheckpointNotFound,*'
        $err[0].TargetObject | Should -Be 'RC-1'
    }

    It 'rejects hostile input with stable ErrorIds' {
        { Remove-SwarmCheckpoint -Ticket '../RC-1' -Name 'b' -Force } | Should -Throw -ErrorId 'InvalidTicket,SwarmPS.Cmdlets.Commands.RemoveSwarmCheckpointCommand'
        { Remove-SwarmCheckpoint -Ticket 'RC-1' -Name 'b;rm' -Force } | Should -Throw -ErrorId 'InvalidCheckpointName,SwarmPS.Cmdlets.Commands.RemoveSwarmCheckpointCommand'
    }

    It 'completes checkpoint names of the typed ticket' {
        Get-CompletionText 'Remove-SwarmCheckpoint -Ticket RC-1 -Name k' | Should -Be @('keep')
    }
}
