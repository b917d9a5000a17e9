BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    Initialize-TestEnvironment
    New-SwarmEnvironment -Ticket 'PRV-1' | Out-Null
}
AfterAll { Reset-TestEnvironment }

Describe 'Get-SwarmProvider' {
    It 'lists the worktree provider as available and default' {
        $p = Get-SwarmProvider -Name worktree
        $p | Should -BeOfType ([SwarmPS.Core.SwarmProviderInfo])
        $p.Available | Should -BeTrue
        $p.IsDefault | Should -BeTrue
        $p.CapabilityNames | Should -Contain 'Checkpoint'
    }

    It 'filters with wildcards and -Available' {
        (Get-SwarmProvider -Name 'work*' -Available).Name | Should -Be 'worktree'
    }

    It 'takes the provider of piped environments' {
        (Get-SwarmEnvironment -Ticket 'PRV-1' | Get-SwarmProvider).Name | Should -Be 'worktree'
    }

    It 'reports an unknown provider as ProviderNotFound' {
        Get-SwarmProvider -Name 'nope' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ProviderNotFound,*'
        $err[0].TargetObject | Should -Be 'nope'
    }

    It 'uses the provider table view' {
        (Get-SwarmProvider | Out-String -Width 120) | Should -Match 'Name\s+Available\s+Default'
    }

    It 'completes provider names' {
        Get-CompletionText 'Get-SwarmProvider -Name w' | Should -Contain 'worktree'
    }
}
