BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    Initialize-TestEnvironment
    New-SwarmEnvironment -Ticket 'IC-1' | Out-Null
    $script:Git = (Get-Command git -CommandType Application | Select-Object -First 1).Source
}
AfterAll { Reset-TestEnvironment }

Describe 'Invoke-SwarmCommand' {
    It 'runs an argument list in the worktree and returns output and exit code' {
        $r = Invoke-SwarmCommand -Ticket 'IC-1' -Command $script:Git, 'rev-parse', '--show-toplevel'
        $r | Should -BeOfType 'SwarmPS.Core.SwarmExecResult'
        $r.ExitCode | Should -Be 0
        $r.StandardOutput.Trim() | Should -Be (Get-SwarmEnvironment -Ticket 'IC-1').WorkspacePath
    }

    It 'returns a non-zero exit code as data, not as an error' {
        $r = Invoke-SwarmCommand -Ticket 'IC-1' -Command $script:Git, 'no-such-subcommand' -ErrorVariable err
        $err | Should -BeNullOrEmpty
        $r.ExitCode | Should -Not -Be 0
        $r.StandardError | Should -Not -BeNullOrEmpty
    }

    It 'passes arguments unchanged (no shell)' {
        $odd = 'a b "c" $(x) ; *'
        $r = Invoke-SwarmCommand -Ticket 'IC-1' -Command $script:Git, '-c', "swarm.odd=$odd", 'config', '--get', 'swarm.odd'
        $r.ExitCode | Should -Be 0
        $r.StandardOutput.TrimEnd() | Should -Be $odd
    }

    It 'writes -InputObject to standard input' {
        $r = Invoke-SwarmCommand -Ticket 'IC-1' -Command $script:Git, 'hash-object', '--stdin' -InputObject 'hello'
        $r.StandardOutput.Trim() | Should -Match '^[0-9a-f]{40}$'
    }

    It 'takes tickets from Get-SwarmEnvironment and honours -WhatIf' {
        (Get-SwarmEnvironment -Ticket 'IC-1' | Invoke-SwarmCommand -Command $script:Git, 'status').Ticket | Should -Be 'IC-1'
        Invoke-SwarmCommand -Ticket 'IC-1' -Command $script:Git, 'status' -WhatIf | Should -BeNullOrEmpty
    }

    It 'reports an unknown ticket as EnvironmentNotFound' {
        Invoke-SwarmCommand -Ticket 'NOPE' -Command $script:Git, 'status' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'EnvironmentNotFound,*'
    }
}
