BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'AgentTestHelpers.ps1')
    Initialize-TestEnvironment
    Initialize-AgentTestEnvironment
}
AfterAll { Reset-TestEnvironment }

Describe 'Get-SwarmAgentProfile' {
    It 'lists the built-in profiles and those from config.json' {
        $profiles = Get-SwarmAgentProfile
        $profiles | Should -BeOfType ([SwarmPS.Core.Agents.AgentProfile])
        foreach ($name in 'claude', 'codex', 'aider', 'opencode', 'gemini', 'cursor-agent', 'command', 'echo-file') {
            $profiles.Name | Should -Contain $name
        }
        $fromConfig = $profiles | Where-Object Name -EQ 'echo-file'
        $fromConfig.BuiltIn | Should -BeFalse
        $fromConfig.Description | Should -Be 'test profile from config'
        ($profiles | Where-Object Name -EQ 'codex').BuiltIn | Should -BeTrue
    }

    It 'lets config.json override a built-in profile field by field' {
        Skip-TestWithoutSh
        # Only on Linux and macOS does the test config override claude (with an sh script).
        $claude = Get-SwarmAgentProfile -Name 'claude'
        $claude.BuiltIn | Should -BeFalse
        $claude.Executable | Should -Be $script:FakeClaude
        $claude.Arguments | Should -Contain '--verbose'
        "$($claude.OutputFormat)" | Should -Be 'ClaudeStreamJson'
    }

    It 'filters by name with wildcards' {
        (Get-SwarmAgentProfile -Name 'c*').Name | Should -Be @('claude', 'codex', 'command', 'cursor-agent')
        (Get-SwarmAgentProfile -Name 'GEMINI').Name | Should -Be 'gemini'
    }

    It 'writes ProfileNotFound for an unknown name and goes on' {
        $found = Get-SwarmAgentProfile -Name 'nope', 'aider' -ErrorVariable err -ErrorAction SilentlyContinue
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ProfileNotFound*'
        $err[0].TargetObject | Should -Be 'nope'
        $found.Name | Should -Be 'aider'
    }

    It 'formats as a table and as a list' {
        Get-SwarmAgentProfile -Name 'codex' | Format-Table | Out-String -Width 120 | Should -Match 'codex\s+True\s+codex'
        Get-SwarmAgentProfile -Name 'codex' | Format-List | Out-String -Width 120 | Should -Match 'exec --json'
    }

    It 'completes profile names' {
        Get-CompletionText 'Get-SwarmAgentProfile -Name op' | Should -Be @('opencode')
        Get-CompletionText 'Get-SwarmAgentProfile -Name ec' | Should -Be @('echo-file')
    }
}
