BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    Initialize-TestEnvironment

    # An environment whose worktree was deleted behind SwarmPS's back: a dangling registry row.
    function New-DanglingEnvironment {
        $ticket = 'REP-' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        $env = New-SwarmEnvironment -Ticket $ticket
        Invoke-Git $script:Repo worktree remove --force $env.WorkspacePath | Out-Null
        $ticket
    }
}
AfterAll { Reset-TestEnvironment }

Describe 'Repair-SwarmRegistry' {
    It 'reports a dangling row without changing anything' {
        $ticket = New-DanglingEnvironment
        $items = Repair-SwarmRegistry
        $items | Should -Not -BeNullOrEmpty
        $items[0] | Should -BeOfType ([SwarmPS.Core.SwarmRepairItem])
        ($items | Where-Object Ticket -EQ $ticket) | Should -Not -BeNullOrEmpty
        ($items | Where-Object Ticket -EQ $ticket).Fixed | Should -Not -Contain $true
        Get-SwarmEnvironment -Ticket $ticket | Should -Not -BeNullOrEmpty
    }

    It 'only reports with -Fix -WhatIf' {
        $ticket = New-DanglingEnvironment
        Repair-SwarmRegistry -Fix -WhatIf | Out-Null
        Get-SwarmEnvironment -Ticket $ticket | Should -Not -BeNullOrEmpty
    }

    It 'repairs with -Fix' {
        $ticket = New-DanglingEnvironment
        $items = Repair-SwarmRegistry -Fix -Confirm:$false
        ($items | Where-Object Ticket -EQ $ticket).Fixed | Should -Contain $true
        Get-SwarmEnvironment -Ticket $ticket -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'finds nothing to repair afterwards, and feeds the pipeline' {
        Repair-SwarmRegistry -Fix -Confirm:$false | Out-Null
        Repair-SwarmRegistry | Where-Object Fixed -EQ $false | Where-Object Kind -EQ 'DanglingRow' | Should -BeNullOrEmpty
    }

    It 'shows the repair table view' {
        New-DanglingEnvironment | Out-Null
        (Repair-SwarmRegistry | Out-String -Width 120) | Should -Match 'Kind\s+Provider\s+Ticket'
    }

    It 'takes no ticket, so no hostile ticket can reach it; the registry it repairs never holds one' {
        { New-SwarmEnvironment -Ticket 'REP/../x' } | Should -Throw -ErrorId 'InvalidTicket,SwarmPS.Cmdlets.Commands.NewSwarmEnvironmentCommand'
        (Repair-SwarmRegistry).Ticket | Should -Not -Contain 'REP/../x'
    }

    It 'completes its switch' {
        Get-CompletionText 'Repair-SwarmRegistry -F' | Should -Contain '-Fix'
    }
}
