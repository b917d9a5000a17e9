BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'AgentTestHelpers.ps1')
    Initialize-TestEnvironment
    Initialize-AgentTestEnvironment
    New-SwarmEnvironment -Ticket 'GET-A', 'GET-B', 'OTHER-1' | Out-Null
    $script:A = Start-SwarmAgent -Ticket 'GET-A' -Profile command -Command (Get-FakeCommand) -Prompt 'a' | Wait-SwarmAgent -Timeout 120
    $script:B = Start-SwarmAgent -Ticket 'GET-B' -Profile command -Command (Get-FakeCommand -Mode fail) -Prompt 'b' | Wait-SwarmAgent -Timeout 120
}
AfterAll { Reset-TestEnvironment }

Describe 'Get-SwarmAgent' {
    It 'lists every agent by default' {
        $all = Get-SwarmAgent
        $all.Id | Should -Contain $script:A.Id
        $all.Id | Should -Contain $script:B.Id
        $all | Should -BeOfType ([SwarmPS.Core.Agents.SwarmAgent])
    }

    It 'gets agents by id' {
        $agent = Get-SwarmAgent -Id $script:B.Id
        $agent.Ticket | Should -Be 'GET-B'
        $agent.Status | Should -Be 'Failed'
        $agent.ExitCode | Should -Be 3
    }

    It 'filters by ticket with wildcards and by status' {
        (Get-SwarmAgent -Ticket 'GET-*').Id | Should -Be @($script:A.Id, $script:B.Id)
        (Get-SwarmAgent -Ticket 'get-a').Id | Should -Be $script:A.Id
        (Get-SwarmAgent -Status Failed).Id | Should -Be $script:B.Id
        Get-SwarmAgent -Ticket 'OTHER-1' | Should -BeNullOrEmpty
        Get-SwarmAgent -Status 'Running', 'Starting' | Should -BeNullOrEmpty
    }

    It 'gets the agents of piped environments' {
        (Get-SwarmEnvironment -Ticket 'GET-B' | Get-SwarmAgent).Id | Should -Be $script:B.Id
        (Get-SwarmAgent -Id $script:A.Id | Get-SwarmAgent).Id | Should -Be $script:A.Id
    }

    It 'writes AgentNotFound for an unknown id and goes on' {
        $found = Get-SwarmAgent -Id 'ag-0000000000', $script:A.Id -ErrorVariable err -ErrorAction SilentlyContinue
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'AgentNotFound*'
        $err[0].TargetObject | Should -Be 'ag-0000000000'
        $found.Id | Should -Be $script:A.Id
    }

    It 'rejects a malformed id and a hostile ticket' {
        { Get-SwarmAgent -Id 'ag 1; rm -rf /' } | Should -Throw -ErrorId 'InvalidArgument,SwarmPS.Cmdlets.Commands.GetSwarmAgentCommand'
        { Get-SwarmAgent -Ticket 'NUL' } | Should -Throw -ErrorId 'InvalidTicket,SwarmPS.Cmdlets.Commands.GetSwarmAgentCommand'
    }

    It 'formats as a table and as a list' {
        $table = Get-SwarmAgent -Id $script:A.Id | Format-Table | Out-String -Width 120
        $table | Should -Match $script:A.Id
        $table | Should -Match 'Succeeded'
        Get-SwarmAgent -Id $script:A.Id | Format-List | Out-String -Width 120 | Should -Match 'SupervisorMemoryKb'
    }

    It 'completes agent ids' {
        $ids = Get-CompletionText 'Get-SwarmAgent -Id ag-'
        $ids | Should -Contain $script:A.Id
        $ids | Should -Contain $script:B.Id
        Get-CompletionText 'Get-SwarmAgent -Ticket GET-' | Should -Be @('GET-A', 'GET-B')
    }
}
