BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    Initialize-TestEnvironment
    $script:Env1 = New-SwarmEnvironment -Ticket 'RS-1'
    $script:File = Join-Path $script:Env1.WorkspacePath 'app.txt'
    Set-Content -LiteralPath $script:File -Value 'state A'
    Checkpoint-SwarmEnvironment -Ticket 'RS-1' -Name 'state-a' | Out-Null
    Set-Content -LiteralPath $script:File -Value 'state B'
    Checkpoint-SwarmEnvironment -Ticket 'RS-1' -Name 'state-b' | Out-Null
}
AfterAll { Reset-TestEnvironment }

Describe 'Restore-SwarmEnvironment' {
    It 'restores a named checkpoint exactly' {
        Set-Content -LiteralPath (Join-Path $script:Env1.WorkspacePath 'later.txt') -Value 'created after'
        Restore-SwarmEnvironment -Ticket 'RS-1' -Name 'state-a' -Force | Should -BeNullOrEmpty
        (Get-Content -LiteralPath $script:File) | Should -Be 'state A'
        Test-Path -LiteralPath (Join-Path $script:Env1.WorkspacePath 'later.txt') | Should -BeFalse
    }

    It 'restores the latest checkpoint by default and returns the environment with -PassThru' {
        $env = Restore-SwarmEnvironment -Ticket 'RS-1' -Confirm:$false -PassThru
        $env.Ticket | Should -Be 'RS-1'
        (Get-Content -LiteralPath $script:File) | Should -Be 'state B'
    }

    It 'takes Ticket and Name from a piped checkpoint' {
        Get-SwarmCheckpoint -Ticket 'RS-1' -Name 'state-a' | Restore-SwarmEnvironment -Force
        (Get-Content -LiteralPath $script:File) | Should -Be 'state A'
    }

    It 'changes nothing with -WhatIf' {
        Set-Content -LiteralPath $script:File -Value 'work in progress'
        Restore-SwarmEnvironment -Ticket 'RS-1' -Name 'state-b' -WhatIf
        (Get-Content -LiteralPath $script:File) | Should -Be 'work in progress'
    }

    It 'reports an unknown checkpoint as CheckpointNotFound' {
        Restore-SwarmEnvironment -Ticket 'RS-1' -Name 'nope' -Force -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'CheckpointNotFound,*'
        $err[0].TargetObject | Should -Be 'RS-1'
    }

    It 'rejects a hostile ticket with ErrorId InvalidTicket' {
        { Restore-SwarmEnvironment -Ticket 'a|b' -Force } | Should -Throw -ErrorId 'InvalidTicket,SwarmPS.Cmdlets.Commands.RestoreSwarmEnvironmentCommand'
    }

    It 'completes checkpoint names for the ticket already typed' {
        $names = Get-CompletionText 'Restore-SwarmEnvironment -Ticket RS-1 -Name state-'
        $names | Should -Contain 'state-a'
        $names | Should -Contain 'state-b'
    }
}
