BeforeDiscovery {
    # Path traversal, shell metacharacters, a Cyrillic look-alike, a device name, too long, an option, a space.
    $HostileTickets = @('../evil', 'a;rm -rf ~', 'ti$(whoami)', "SH$([char]0x041E)P-1", 'CON', ('x' * 65), '-rf', 'a b')
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    Initialize-TestEnvironment
    # Docker tests need an engine with the offline test image (.ci/backends/docker.sh start imports it).
    $script:HasDocker = Test-DockerBackend
}
AfterAll { Reset-TestEnvironment }

Describe 'New-SwarmEnvironment' {
    It 'creates a worktree environment on branch swarm/<ticket>' {
        $env = New-SwarmEnvironment -Ticket 'NEW-1'
        $env | Should -BeOfType ([SwarmPS.Core.SwarmEnvironment])
        $env.Ticket | Should -Be 'NEW-1'
        $env.Provider | Should -Be 'worktree'
        $env.Status | Should -Be ([SwarmPS.Core.EnvironmentStatus]::Running)
        $env.Branch | Should -Be 'swarm/NEW-1'
        Test-Path -LiteralPath (Join-Path $env.WorkspacePath 'app.txt') | Should -BeTrue
        Get-TestBranch -Ticket 'NEW-1' | Should -Not -BeNullOrEmpty
    }

    It 'takes tickets and options from the pipeline' {
        $created = 'NEW-2', 'NEW-3' | New-SwarmEnvironment -RepositoryPath $script:Repo -BaseRef main -Spec 'do the thing'
        $created.Ticket | Should -Be @('NEW-2', 'NEW-3')
        Get-Content -LiteralPath (Join-Path $created[0].WorkspacePath '.swarm/spec.md') -Raw | Should -Match 'do the thing'
        $rows = [pscustomobject]@{ Ticket = 'NEW-4'; BaseRef = 'main' } | New-SwarmEnvironment
        $rows.Ticket | Should -Be 'NEW-4'
    }

    It 'chains into the other cmdlets' {
        $cp = New-SwarmEnvironment -Ticket 'NEW-5' | Checkpoint-SwarmEnvironment -Name 'first'
        $cp.Name | Should -Be 'first'
        (Get-SwarmEnvironment -Ticket 'NEW-5' | Get-SwarmCheckpoint).Name | Should -Be 'first'
    }

    It 'creates nothing with -WhatIf' {
        New-SwarmEnvironment -Ticket 'NEW-WHATIF' -WhatIf
        Get-SwarmEnvironment -Ticket 'NEW-WHATIF' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Get-TestBranch -Ticket 'NEW-WHATIF' | Should -BeNullOrEmpty
        Get-ChildItem -Path (Join-Path $env:SWARMPS_HOME 'worktrees') -Recurse -Directory -Filter 'NEW-WHATIF' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'rejects the hostile ticket <_> with ErrorId InvalidTicket and creates nothing' -ForEach $HostileTickets {
        $before = @(Get-SwarmEnvironment).Count
        $hostile = $_
        { New-SwarmEnvironment -Ticket $hostile } | Should -Throw -ErrorId 'InvalidTicket,SwarmPS.Cmdlets.Commands.NewSwarmEnvironmentCommand'
        @(Get-SwarmEnvironment).Count | Should -Be $before
    }

    It 'reports a duplicate ticket (any case) as a non-terminating EnvironmentExists error' {
        New-SwarmEnvironment -Ticket 'NEW-DUP' | Out-Null
        $result = New-SwarmEnvironment -Ticket 'new-dup', 'NEW-AFTER-DUP' -ErrorVariable err -ErrorAction SilentlyContinue
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'EnvironmentExists,*'
        $err[0].CategoryInfo.Category | Should -Be 'ResourceExists'
        $err[0].TargetObject | Should -Be 'new-dup'
        $result.Ticket | Should -Be 'NEW-AFTER-DUP'
    }

    It 'rejects an unknown provider as a terminating error' {
        { New-SwarmEnvironment -Ticket 'NEW-PROV' -Provider 'nope' } | Should -Throw -ErrorId 'ProviderNotFound,SwarmPS.Cmdlets.Commands.NewSwarmEnvironmentCommand'
    }

    It 'writes every git call to the verbose stream' {
        $verbose = New-SwarmEnvironment -Ticket 'NEW-VERBOSE' -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        ($verbose.Message -join "`n") | Should -Match 'git .*worktree add'
    }

    It 'completes providers' {
        Get-CompletionText 'New-SwarmEnvironment -Ticket X -Provider work' | Should -Contain 'worktree'
    }

    Context 'container parameters' {
        It 'refuses -NoWorktree on the worktree provider and creates nothing' {
            { New-SwarmEnvironment -Ticket 'NEW-NOWT' -Provider worktree -NoWorktree -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,SwarmPS.Cmdlets.Commands.NewSwarmEnvironmentCommand'
            Get-SwarmEnvironment -Ticket 'NEW-NOWT' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            Get-TestBranch -Ticket 'NEW-NOWT' | Should -BeNullOrEmpty
        }

        It 'rejects a non-positive -Cpus or -MemoryMb at binding' {
            { New-SwarmEnvironment -Ticket 'NEW-CPU0' -Provider docker -Cpus 0 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,SwarmPS.Cmdlets.Commands.NewSwarmEnvironmentCommand'
            { New-SwarmEnvironment -Ticket 'NEW-MEM0' -Provider docker -MemoryMb -1 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,SwarmPS.Cmdlets.Commands.NewSwarmEnvironmentCommand'
        }

        It 'creates a container with -Image, -Cpus and -MemoryMb, and an image-only one with -NoWorktree' {
            Assert-TestBackend -Name docker -Available $script:HasDocker -Because 'no docker engine with the swarmps-tiny:latest test image'
            $c = New-SwarmEnvironment -Ticket 'NEW-DOCK-1' -Provider docker -Image 'swarmps-tiny:latest' -Cpus 1 -MemoryMb 64
            try {
                $c.Provider | Should -Be 'docker'
                $c.Metadata['image'] | Should -Be 'swarmps-tiny:latest'
                $c.Metadata['cpus'] | Should -Be '1'
                $c.Metadata['memoryMb'] | Should -Be '64'
                Test-Path -LiteralPath $c.WorkspacePath | Should -BeTrue
            }
            finally { Remove-SwarmEnvironment -Ticket 'NEW-DOCK-1' -Force -Confirm:$false }

            $i = [pscustomobject]@{ Ticket = 'NEW-DOCK-2'; Provider = 'docker'; Image = 'swarmps-tiny:latest'; NoWorktree = $true } | New-SwarmEnvironment
            try {
                $i.WorkspacePath | Should -BeNullOrEmpty
                $i.Metadata['noWorktree'] | Should -Be 'true'
                { Get-SwarmDiff -Ticket 'NEW-DOCK-2' -ErrorAction Stop } | Should -Throw -ErrorId 'CapabilityNotSupported,SwarmPS.Cmdlets.Commands.GetSwarmDiffCommand'
            }
            finally { Remove-SwarmEnvironment -Ticket 'NEW-DOCK-2' -Force -Confirm:$false }
        }

        It 'names the missing image and how to get it' {
            Assert-TestBackend -Name docker -Available $script:HasDocker -Because 'no docker engine with the swarmps-tiny:latest test image'
            { New-SwarmEnvironment -Ticket 'NEW-DOCK-3' -Provider docker -Image 'swarmps-no-such-image:0' -NoWorktree -ErrorAction Stop } |
                Should -Throw -ErrorId 'DockerImageNotFound,SwarmPS.Cmdlets.Commands.NewSwarmEnvironmentCommand' -ExpectedMessage '*swarmps-no-such-image:0*docker pull*'
            Get-SwarmEnvironment -Ticket 'NEW-DOCK-3' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        }
    }
}
