BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    Initialize-TestEnvironment
    New-SwarmEnvironment -Ticket 'GET-1', 'GET-2', 'OTHER-1' | Out-Null
}
AfterAll { Reset-TestEnvironment }

Describe 'Get-SwarmEnvironment' {
    It 'lists every environment, oldest first' {
        (Get-SwarmEnvironment).Ticket | Should -Be @('GET-1', 'GET-2', 'OTHER-1')
    }

    It 'matches tickets with wildcards, without regard to case' {
        (Get-SwarmEnvironment -Ticket 'get-*').Ticket | Should -Be @('GET-1', 'GET-2')
        (Get-SwarmEnvironment -Ticket 'other-1').Ticket | Should -Be 'OTHER-1'
    }

    It 'filters by provider and status' {
        (Get-SwarmEnvironment -Provider worktree -Status Running).Count | Should -Be 3
        Stop-SwarmEnvironment -Ticket 'GET-2'
        (Get-SwarmEnvironment -Status Stopped).Ticket | Should -Be 'GET-2'
        Start-SwarmEnvironment -Ticket 'GET-2'
    }

    It 'shows a deleted worktree as Missing' {
        New-SwarmEnvironment -Ticket 'GET-GONE' | Out-Null
        $path = (Get-SwarmEnvironment -Ticket 'GET-GONE').WorkspacePath
        Remove-Item -LiteralPath $path -Recurse -Force
        (Get-SwarmEnvironment -Ticket 'GET-GONE').Status | Should -Be 'Missing'
        Remove-SwarmEnvironment -Ticket 'GET-GONE' -Force -ErrorAction SilentlyContinue
        Repair-SwarmRegistry -Fix -Confirm:$false | Out-Null
    }

    It 'feeds the pipeline by property name' {
        $diffs = Get-SwarmEnvironment -Ticket 'GET-*' | Get-SwarmDiff
        $diffs.Ticket | Should -Be @('GET-1', 'GET-2')
    }

    It 'reports a missing exact ticket as EnvironmentNotFound and goes on' {
        $found = Get-SwarmEnvironment -Ticket 'NOPE-1', 'GET-1' -ErrorVariable err -ErrorAction SilentlyContinue
        $found.Ticket | Should -Be 'GET-1'
        $err[0].FullyQualifiedErrorId | Should -BeLike 'EnvironmentNotFound,*'
        $err[0].TargetObject | Should -Be 'NOPE-1'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'rejects the hostile ticket <_> with ErrorId InvalidTicket' -ForEach @('../evil', 'CON', 'a;b') {
        $hostile = $_
        { Get-SwarmEnvironment -Ticket $hostile } | Should -Throw -ErrorId 'InvalidTicket,SwarmPS.Cmdlets.Commands.GetSwarmEnvironmentCommand'
    }

    It 'uses the table view by default' {
        $text = Get-SwarmEnvironment -Ticket 'GET-1' | Out-String -Width 120
        $text | Should -Match 'Ticket\s+Provider\s+Status'
        $text | Should -Match 'GET-1'
    }

    It 'completes tickets from the registry' {
        $completions = Get-CompletionText 'Get-SwarmEnvironment -Ticket GET-'
        $completions | Should -Contain 'GET-1'
        $completions | Should -Contain 'GET-2'
        $completions | Should -Not -Contain 'OTHER-1'
    }

    It 'completes status values' {
        Get-CompletionText 'Get-SwarmEnvironment -Status Run' | Should -Contain 'Running'
    }
}
