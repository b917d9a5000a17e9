# Regressions found when the module first ran in real PowerShell (issue 14). Each Describe names its
# defect; each test failed on the build before its fix.

BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'AgentTestHelpers.ps1')
    Initialize-TestEnvironment
    Initialize-AgentTestEnvironment

    # Runs $Script in a fresh pwsh (this module, this SWARMPS_HOME, the test repository as location)
    # and returns its output lines; the exit code is in $LASTEXITCODE.
    function Invoke-FreshPwsh {
        param([string] $Script)
        $prelude = "Import-Module '$($script:ModulePath)' -ErrorAction Stop; Set-Location -LiteralPath '$($script:Repo)'; "
        & $script:Pwsh -NoProfile -NonInteractive -Command ($prelude + $Script) 2>&1 | ForEach-Object { "$_" }
    }
}
AfterAll {
    Get-SwarmAgent -ErrorAction SilentlyContinue | Stop-SwarmAgent -ErrorAction SilentlyContinue
    Reset-TestEnvironment
}

Describe 'A cmdlet with several Core calls never stops the script silently (defect 3)' {
    BeforeAll {
        New-SwarmEnvironment -Ticket 'CP-1', 'CP-2', 'CP-3' | Out-Null
    }

    # Checkpoint-SwarmEnvironment makes two Core calls per ticket; the second one used to find the
    # cmdlet's token cancelled about half of the time (the worker's end raced the drain loop), which
    # stopped the whole script with exit code 0 and no error. A fresh process per run, 20 runs.
    It 'runs the statements after Checkpoint-SwarmEnvironment (20 fresh processes)' {
        $script = @'
$n = [guid]::NewGuid().ToString('N').Substring(0, 8)
try { Checkpoint-SwarmEnvironment -Ticket CP-1 -Name "a$n" | Out-Null; 'after' } catch { 'caught' } finally { 'finally' }
Get-SwarmEnvironment -Ticket 'CP-*' | Checkpoint-SwarmEnvironment -Name "b$n" | Measure-Object | ForEach-Object { "count $($_.Count)" }
'end'
'@
        $failures = foreach ($run in 1..20) {
            $out = Invoke-FreshPwsh $script
            if (($out -join '|') -ne 'after|finally|count 3|end') { "run ${run}: exit $LASTEXITCODE, output: $($out -join ' | ')" }
        }
        $failures | Should -BeNullOrEmpty
    }
}

Describe 'Path parameters go through PowerShell path resolution (defect 6)' {
    BeforeAll {
        $script:Elsewhere = Join-Path $TestDrive 'elsewhere'
        New-Item -ItemType Directory -Path $script:Elsewhere -Force | Out-Null
        $script:Shop = New-TestRepository -Path (Join-Path $TestDrive 'home/src/shop')
    }

    It 'resolves ~ against the FileSystem provider home' {
        $fs = Get-PSProvider FileSystem
        $oldHome = $fs.Home
        $fs.Home = Join-Path $TestDrive 'home'
        try {
            $env = New-SwarmEnvironment -Ticket 'PATH-HOME' -RepositoryPath '~/src/shop' -Provider worktree
            $env.RepositoryPath | Should -Be $script:Shop
        }
        finally { $fs.Home = $oldHome }
    }

    It 'resolves a relative path against the PowerShell location, not the process directory' {
        Push-Location -LiteralPath $script:Elsewhere
        try {
            [System.IO.Directory]::GetCurrentDirectory() | Should -Not -Be $script:Elsewhere -Because 'the test must tell the two apart'
            $env = New-SwarmEnvironment -Ticket 'PATH-REL' -RepositoryPath '../home/src/shop' -Provider worktree
            $env.RepositoryPath | Should -Be $script:Shop
        }
        finally { Pop-Location }
    }

    It 'resolves a PSDrive path' {
        New-PSDrive -Name SwarmShop -PSProvider FileSystem -Root (Join-Path $TestDrive 'home/src') | Out-Null
        try {
            $env = New-SwarmEnvironment -Ticket 'PATH-DRIVE' -RepositoryPath 'SwarmShop:/shop' -Provider worktree
            $env.RepositoryPath | Should -Be $script:Shop
            $task = Add-SwarmTask -Title 't' -Profile command -Command 'true' -RepositoryPath 'SwarmShop:/shop'
            $task.RepositoryPath | Should -Be $script:Shop
            Remove-SwarmTask -Id $task.Id -Force
        }
        finally { Remove-PSDrive SwarmShop }
    }

    It 'reports a path on another provider as InvalidPath' {
        New-SwarmEnvironment -Ticket 'PATH-ENV' -RepositoryPath 'Env:/PATH' -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidPath,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
    }
}

Describe 'A bad item among many is one non-terminating error (defect 7)' {
    It 'New-SwarmEnvironment -Ticket A1,../x,B1 creates A1 and B1' {
        $out = New-SwarmEnvironment -Ticket 'BAD-A1', '../x', 'BAD-B1' -ErrorVariable err -ErrorAction SilentlyContinue
        $out.Ticket | Should -Be @('BAD-A1', 'BAD-B1')
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidTicket,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err[0].TargetObject | Should -Be '../x'
    }

    It 'goes on after a bad piped ticket (<Name>)' -ForEach @(
        @{ Name = 'Get-SwarmDiff'; Script = { [CmdletBinding()] param($t) $t | Get-SwarmDiff } }
        @{ Name = 'Get-SwarmConnection'; Script = { [CmdletBinding()] param($t) $t | Get-SwarmConnection } }
        @{ Name = 'Checkpoint-SwarmEnvironment'; Script = { [CmdletBinding()] param($t) $t | Checkpoint-SwarmEnvironment } }
        @{ Name = 'Start-SwarmEnvironment'; Script = { [CmdletBinding()] param($t) $t | Start-SwarmEnvironment -PassThru } }
        @{ Name = 'Stop-SwarmEnvironment'; Script = { [CmdletBinding()] param($t) Stop-SwarmEnvironment -Ticket $t -PassThru } }
        @{ Name = 'Get-SwarmEnvironment'; Script = { [CmdletBinding()] param($t) Get-SwarmEnvironment -Ticket $t } }
        @{ Name = 'Invoke-SwarmCommand'; Script = { [CmdletBinding()] param($t) Invoke-SwarmCommand -Ticket $t -Command 'git', 'status' } }
    ) {
        $err = $null
        $out = & $Script @('BAD-A1', 'x`ny', 'BAD-B1') -ErrorVariable err -ErrorAction SilentlyContinue
        @($out) | Should -HaveCount 2
        @($err | Where-Object { $_.FullyQualifiedErrorId -like 'InvalidTicket,*' }) | Should -HaveCount 1
    }

    It 'Stop-SwarmAgent goes on after a malformed agent id' {
        $err = $null
        Stop-SwarmAgent -Id '../a', 'ag-0000000000' -ErrorVariable err -ErrorAction SilentlyContinue
        $err | Should -HaveCount 2 -Because 'the malformed id and the unknown one are each reported'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err[1].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }
}

Describe 'Pipeline binding keeps agent and task ids apart (defect 11)' {
    BeforeAll {
        New-SwarmEnvironment -Ticket 'BIND-1' | Out-Null
        $script:BoundTask = Add-SwarmTask -Title 'bound' -Ticket 'BIND-1' -Profile command -Command (Get-FakeCommand)
        Invoke-SwarmQueue -MaxParallel 1 | Out-Null
        $script:BoundTask = Get-SwarmTask -Id $script:BoundTask.Id
    }

    It 'Get-SwarmTask | Get-SwarmAgent gives the task''s agents' {
        $script:BoundTask.AgentIds | Should -HaveCount 1
        $agents = Get-SwarmTask -Id $script:BoundTask.Id | Get-SwarmAgent -ErrorVariable err -ErrorAction SilentlyContinue
        $err | Should -BeNullOrEmpty
        $agents.Id | Should -Be $script:BoundTask.AgentIds
    }

    It 'Get-SwarmTask | Receive-SwarmAgentOutput reads the task''s agent' {
        $lines = Get-SwarmTask -Id $script:BoundTask.Id | Receive-SwarmAgentOutput -Raw -ErrorVariable err -ErrorAction SilentlyContinue
        $err | Should -BeNullOrEmpty
        ($lines | Select-Object -First 1).AgentId | Should -Be $script:BoundTask.AgentIds[0]
    }

    It 'Get-SwarmAgent | Stop-SwarmTask says the object is an agent' {
        $agent = Get-SwarmAgent -Id $script:BoundTask.AgentIds[0]
        $agent | Stop-SwarmTask -ErrorVariable err -ErrorAction SilentlyContinue
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidArgument,*'
        "$err" | Should -BeLike '*is an agent, not a task*'
    }
}

Describe 'Smaller defects (defect 12)' {
    It 'Receive-SwarmAgentOutput -Run 2 on a one-run agent is RunNotFound' {
        New-SwarmEnvironment -Ticket 'RUN-1' | Out-Null
        $agent = Start-SwarmAgent -Ticket 'RUN-1' -Profile command -Command (Get-FakeCommand) -Prompt 'x' | Wait-SwarmAgent -Timeout 120
        Receive-SwarmAgentOutput -Id $agent.Id -Run 2 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'RunNotFound,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        Receive-SwarmAgentOutput -Id $agent.Id -Run 1 -Raw | Should -Not -BeNullOrEmpty
    }

    It 'a merge conflict is an error only, with the conflict details as its TargetObject' {
        New-SwarmEnvironment -Ticket 'CONFLICT-1' -Provider worktree | Out-Null
        $ws = (Get-SwarmEnvironment -Ticket 'CONFLICT-1').WorkspacePath
        Set-Content -LiteralPath (Join-Path $ws 'app.txt') -Value 'theirs'
        Invoke-Git $ws commit --quiet -am 'theirs' | Out-Null
        Set-Content -LiteralPath (Join-Path $script:Repo 'app.txt') -Value 'ours'
        Invoke-Git $script:Repo commit --quiet -am 'ours' | Out-Null
        $out = Merge-SwarmEnvironment -Ticket 'CONFLICT-1' -ErrorVariable err -ErrorAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'MergeConflict,*'
        $err[0].TargetObject.Merged | Should -BeFalse
        $err[0].TargetObject.ConflictingFiles | Should -Contain 'app.txt'
    }
}

Describe 'Error messages in PowerShell name cmdlets and parameters (defect 10)' {
    BeforeAll {
        $hintRepo = New-TestRepository -Path (Join-Path $TestDrive 'hint-repo')
        $ws = (New-SwarmEnvironment -Ticket 'HINT-1' -Provider worktree -RepositoryPath $hintRepo -ErrorAction Stop).WorkspacePath
        Set-Content -LiteralPath (Join-Path $ws 'dirty.txt') -Value 'uncommitted'
    }

    It 'no error of <Name> speaks CLI' -ForEach @(
        @{ Name = 'Get-SwarmAgent (unknown id)'; Script = { Get-SwarmAgent -Id 'ag-0000000000' } }
        @{ Name = 'Get-SwarmTask (unknown id)'; Script = { Get-SwarmTask -Id 'tk-unknown' } }
        @{ Name = 'Get-SwarmDiff (unknown ticket)'; Script = { Get-SwarmDiff -Ticket 'NO-SUCH' } }
        @{ Name = 'Restore-SwarmEnvironment (unknown checkpoint)'; Script = { Restore-SwarmEnvironment -Ticket 'HINT-1' -Name 'nope' -Force } }
        @{ Name = 'Remove-SwarmEnvironment (uncommitted work)'; Script = { Remove-SwarmEnvironment -Ticket 'HINT-1' -Confirm:$false } }
        @{ Name = 'Get-Swarm (unknown id)'; Script = { Get-Swarm -SwarmId 'sw-unknown' -Offline } }
        @{ Name = 'New-SwarmEnvironment -Provider kvm (no base image)'; Script = { New-SwarmEnvironment -Ticket 'HINT-2' -Provider kvm } }
        @{ Name = 'New-SwarmEnvironment (not a repository)'; Script = {
                $plain = New-Item -ItemType Directory -Force -Path (Join-Path $TestDrive 'hint-plain')
                New-SwarmEnvironment -Ticket 'HINT-3' -Provider worktree -RepositoryPath $plain.FullName } }
        @{ Name = 'Register-SwarmBaseImage (initrd without kernel)'; Script = {
                $f = Join-Path $TestDrive 'hint-file'; Set-Content -LiteralPath $f -Value 'x'
                Register-SwarmBaseImage -Name 'hint-img' -Provider kvm -Path $f -Initrd $f } }
    ) {
        # Non-terminating errors arrive through 2>&1, terminating ones (and errors under a caller's
        # $ErrorActionPreference = 'Stop') through catch: either way the ErrorRecord the user sees.
        $err = @(try {
                & { $ErrorActionPreference = 'Continue'; & $Script } 2>&1 | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }
            } catch { $_ })
        $err | Should -Not -BeNullOrEmpty
        foreach ($e in $err) {
            foreach ($text in @("$e", $e.Exception.Message)) {
                $text | Should -Not -BeLike '*swarmps *'
                $text | Should -Not -BeLike '*--*'
            }
        }
        "$($err[0])" | Should -Match '(Get|Repair|Remove|Restore|Start|Stop|Register)-Swarm\w*|-Force|-Into|-RepositoryPath|-Kernel' -Because 'the hint names a cmdlet or a parameter'
    }
}
