BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    Initialize-TestEnvironment
}
AfterAll { Reset-TestEnvironment }

Describe 'Repair-SwarmRegistry' {
    BeforeEach {
        $script:Gone = New-SwarmEnvironment -Ticket 'REP-GONE'
        Invoke-Git $script:Repo worktree remove --force $script:Gone.WorkspacePath | Out-Null
    }
    AfterEach {
        Repair-SwarmRegistry -Fix -Confirm:$false | Out-Null
    }

    It 'reports a dangling row without changing anything' {
        $items = Repair-SwarmRegistry
        $items | Should -Not -BeNullOrEmpty
        $items[0] | Should -BeOfType ([SwarmPS.Core.SwarmRepairItem])
        ($items | Where-Object Ticket -EQ 'REP-GONE').Fixed | Should -Not -Contain $true
        Get-SwarmEnvironment -Ticket 'REP-GONE' | Should -Not -BeNullOrEmpty
    }

    It 'only reports with -Fix -WhatIf' {
        Repair-SwarmRegistry -Fix -WhatIf | Out-Null
        Get-SwarmEnvironment -Ticket 'REP-GONE' | Should -Not -BeNullOrEmpty
    }

    It 'repairs with -Fix' {
        $items = Repair-SwarmRegistry -Fix -Confirm:$false
        ($items | Where-Object Ticket -EQ 'REP-GONE').Fixed | Should -Contain $true
        Get-SwarmEnvironment -Ticket 'REP-GONE' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'shows the repair table view' {
        (Repair-SwarmRegistry | Out-String) | Should -Match 'Kind\s+Provider\s+Ticket'
    }

    It 'takes no ticket, so no hostile ticket can reach it; the registry it repairs never holds one' {
        { New-SwarmEnvironment -Ticket 'REP/../x' } | Should -Throw -ErrorId 'InvalidTicket'
        (Repair-SwarmRegistry).Ticket | Should -Not -Contain 'REP/../x'
    }

    It 'completes its switch' {
        Get-CompletionText 'Repair-SwarmRegistry -F' | Should -Contain '-Fix'
    }
}
