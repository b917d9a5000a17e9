BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    Initialize-TestEnvironment
    $script:Env1 = New-SwarmEnvironment -Ticket 'DIFF-1'
    Set-Content -LiteralPath (Join-Path $script:Env1.WorkspacePath 'feature.txt') -Value 'new feature'
    Invoke-Git $script:Env1.WorkspacePath add --all | Out-Null
    Invoke-Git $script:Env1.WorkspacePath commit --quiet -m 'add feature' | Out-Null
    Set-Content -LiteralPath (Join-Path $script:Env1.WorkspacePath 'app.txt') -Value 'uncommitted edit'
    New-SwarmEnvironment -Ticket 'DIFF-2' | Out-Null
}
AfterAll { Reset-TestEnvironment }

Describe 'Get-SwarmDiff' {
    It 'returns commits and uncommitted changes against the base' {
        $diff = Get-SwarmDiff -Ticket 'DIFF-1'
        $diff | Should -BeOfType ([SwarmPS.Core.SwarmDiff])
        $diff.Commits.Count | Should -Be 1
        $diff.Files.Path | Should -Contain 'feature.txt'
        $diff.Files.Path | Should -Contain 'app.txt'
        $diff.HasUncommittedChanges | Should -BeTrue
    }

    It 'takes environments from the pipeline' {
        $diffs = Get-SwarmEnvironment -Ticket 'DIFF-*' | Get-SwarmDiff
        $diffs.Ticket | Should -Be @('DIFF-1', 'DIFF-2')
        ($diffs | Where-Object Ticket -EQ 'DIFF-2').Files.Count | Should -Be 0
    }

    It 'reports an unknown ticket as EnvironmentNotFound' {
        Get-SwarmDiff -Ticket 'NOPE' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'EnvironmentNotFound,*'
    }

    It 'rejects a hostile ticket with ErrorId InvalidTicket' {
        { Get-SwarmDiff -Ticket '$(rm -rf /)' } | Should -Throw -ErrorId 'InvalidTicket,SwarmPS.Cmdlets.Commands.GetSwarmDiffCommand'
    }

    It 'shows the diff table view' {
        (Get-SwarmDiff -Ticket 'DIFF-1' | Out-String -Width 120) | Should -Match 'Commits'
    }

    It 'completes tickets' {
        Get-CompletionText 'Get-SwarmDiff -Ticket DIFF' | Should -Be @('DIFF-1', 'DIFF-2')
    }
}
