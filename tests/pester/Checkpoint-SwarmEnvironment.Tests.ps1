BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    Initialize-TestEnvironment
    $script:Env1 = New-SwarmEnvironment -Ticket 'CP-1'
    New-SwarmEnvironment -Ticket 'CP-2' | Out-Null
}
AfterAll { Reset-TestEnvironment }

Describe 'Checkpoint-SwarmEnvironment' {
    It 'saves a named checkpoint' {
        $cp = Checkpoint-SwarmEnvironment -Ticket 'CP-1' -Name 'before-refactor'
        $cp | Should -BeOfType ([SwarmPS.Core.SwarmCheckpoint])
        $cp.Ticket | Should -Be 'CP-1'
        $cp.Name | Should -Be 'before-refactor'
    }

    It 'names a checkpoint with a timestamp by default' {
        (Checkpoint-SwarmEnvironment -Ticket 'CP-1').Name | Should -Match '^\d{8}-\d{6}'
    }

    It 'checkpoints every environment from the pipeline and chains into Restore' {
        $cps = Get-SwarmEnvironment | Checkpoint-SwarmEnvironment -Name 'all'
        $cps.Ticket | Should -Be @('CP-1', 'CP-2')
        Set-Content -LiteralPath (Join-Path $script:Env1.WorkspacePath 'new.txt') -Value 'x'
        $cps | Where-Object Ticket -EQ 'CP-1' | Restore-SwarmEnvironment -Force
        Test-Path -LiteralPath (Join-Path $script:Env1.WorkspacePath 'new.txt') | Should -BeFalse
    }

    It 'creates nothing with -WhatIf' {
        Checkpoint-SwarmEnvironment -Ticket 'CP-2' -Name 'whatif' -WhatIf
        Get-SwarmCheckpoint -Ticket 'CP-2' -Name 'whatif' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'reports a duplicate name as CheckpointExists' {
        Checkpoint-SwarmEnvironment -Ticket 'CP-2' -Name 'dup' | Out-Null
        Checkpoint-SwarmEnvironment -Ticket 'CP-2' -Name 'dup' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'CheckpointExists,*'
    }

    It 'rejects a hostile ticket with InvalidTicket and a hostile name with InvalidCheckpointName' {
        { Checkpoint-SwarmEnvironment -Ticket '../x' -Name 'ok' } | Should -Throw -ErrorId 'InvalidTicket,SwarmPS.Cmdlets.Commands.CheckpointSwarmEnvironmentCommand'
        { Checkpoint-SwarmEnvironment -Ticket 'CP-1' -Name '../../refs/heads/main' } | Should -Throw -ErrorId 'InvalidCheckpointName,SwarmPS.Cmdlets.Commands.CheckpointSwarmEnvironmentCommand'
    }

    It 'accepts -Force, which only matters for providers that checkpoint stopped VMs (tart)' {
        $cp = Checkpoint-SwarmEnvironment -Ticket 'CP-2' -Name 'forced' -Force
        $cp.Name | Should -Be 'forced'
        (Get-SwarmEnvironment -Ticket 'CP-2').Status | Should -Be 'Running'
    }

    It 'completes tickets' {
        Get-CompletionText 'Checkpoint-SwarmEnvironment -Ticket CP' | Should -Be @('CP-1', 'CP-2')
    }
}
