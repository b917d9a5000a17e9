# Every help example runs as a test. The examples come from the BUILT help (Get-Help <command> -Examples),
# so this is what a user reads; HelpExamples.psd1 says how each one is prepared (Setup, Replace,
# Requires) or why it cannot run here (Skip: VMs, containers, Slurm, LLM APIs, interactive sessions).
# Each example gets its own SWARMPS_HOME and git repository; any error fails it.

BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'HelpTestHelpers.ps1')
    Import-Module (Get-TestModulePath) -Force -ErrorAction Stop
    $plan = Import-PowerShellDataFile -LiteralPath (Join-Path $PSScriptRoot 'HelpExamples.psd1')
    $Examples = foreach ($command in Get-Command -Module SwarmPS | Sort-Object Name) {
        $n = 0
        foreach ($example in @((Get-Help -Name $command.Name -Examples).examples.example)) {
            $n++
            $id = '{0}#{1}' -f $command.Name, $n
            $entry = if ($plan.ContainsKey($id)) { $plan[$id] } else { @{} }
            @{
                Id       = $id
                Title    = ("$($example.title)" -replace '^-+\s*', '' -replace '\s*-+$', '')
                Code     = ConvertFrom-HelpExampleCode -Code "$($example.code)"
                Setup    = "$($entry['Setup'])"
                Replace  = if ($entry['Replace']) { $entry['Replace'] } else { @{} }
                Requires = @($entry['Requires'] | Where-Object { $_ })
                Skip     = "$($entry['Skip'])"
                Pending  = "$($entry['Pending'])"
            }
        }
    }
    $KnownIds = @($Examples | ForEach-Object { $_.Id })
    $PlannedIds = @($plan.Keys)
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'HelpTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'AgentTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'TaskTestHelpers.ps1')
    Import-Module (Get-TestModulePath) -Force -ErrorAction Stop
    $script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).ProviderPath
    $script:OriginalSwarmHome = $env:SWARMPS_HOME
    $script:FileSystem = Get-PSProvider FileSystem
    $script:OriginalHome = $script:FileSystem.Home
    $env:GIT_AUTHOR_NAME = $env:GIT_COMMITTER_NAME = 'SwarmPS Tests'
    $env:GIT_AUTHOR_EMAIL = $env:GIT_COMMITTER_EMAIL = 'tests@swarmps.invalid'

    # --- Helpers for the Setup code in HelpExamples.psd1 -------------------------------------------

    # Worktree environments of the example's repository; -Change commits a file in each (for diff and merge).
    function New-ExampleEnvironment {
        param([Parameter(Mandatory, Position = 0)][string[]] $Ticket, [switch] $Change, [string] $File = 'src/cart.ts')
        foreach ($t in $Ticket) {
            $created = New-SwarmEnvironment -Ticket $t
            if ($Change) {
                $path = Join-Path $created.WorkspacePath $File
                New-Item -ItemType Directory -Path (Split-Path -Parent $path) -Force | Out-Null
                Set-Content -LiteralPath $path -Value "// $t"
                Invoke-Git $created.WorkspacePath add --all | Out-Null
                Invoke-Git $created.WorkspacePath commit --quiet -m "$t work" | Out-Null
            }
        }
    }

    # An agent: the fake claude (-Claude, sh) or the `command` profile running the fake agent in a mode.
    function Start-ExampleAgent {
        param([Parameter(Mandatory, Position = 0)][string] $Ticket, [string] $Mode = 'ok', [switch] $Claude, [switch] $Wait)
        $agent = if ($Claude) {
            Start-SwarmAgent -Ticket $Ticket -Profile claude -Prompt 'example prompt'
        } else {
            Start-SwarmAgent -Ticket $Ticket -Profile command -Command (Get-FakeCommand -Mode $Mode) -Prompt 'example prompt'
        }
        if ($Wait) { $agent = $agent | Wait-SwarmAgent -Timeout 120 -ErrorAction SilentlyContinue; if (-not $agent) { throw 'The example agent did not end within 120 s.' } }
        $agent
    }

    # A queued task for SHOP-142 that runs the fake agent in a mode (ok, fail, sleep).
    function Add-ExampleTask {
        param([Parameter(Mandatory)][string] $Name, [string] $Mode = 'ok', [string[]] $DependsOn = @(), [string] $Ticket = 'SHOP-142')
        $task = @{ Name = $Name; Title = "Example $Name"; Prompt = "Do $Name"; Ticket = $Ticket; Profile = 'command'; Command = (Get-FakeCommand -Mode $Mode); MaxAttempts = 1 }
        if ($DependsOn) { $task.DependsOn = $DependsOn }
        Add-SwarmTask @task
    }

    # A two-task workflow (build, then test) on an existing environment, run by the fake agent.
    function New-ExampleWorkflow {
        param([Parameter(Mandatory, Position = 0)][string] $Path, [Parameter(Mandatory)][string] $Ticket)
        $command = '[' + ((Get-FakeCommand | ForEach-Object { "'" + $_.Replace("'", "''") + "'" }) -join ', ') + ']'
        Set-Content -LiteralPath $Path -Encoding utf8NoBOM -Value @"
name: release
defaults: { profile: command, ticket: $Ticket, max_attempts: 1 }
tasks:
  - name: build
    prompt: Build the release
    priority: High
    command: $command
  - name: test
    prompt: Test the release
    depends_on: [build]
    command: $command
"@
    }

    # A folder with a 64 MiB qcow2 disk, a kernel and an initrd (empty files) and a cmdline, like the tiny guest's.
    function New-ExampleImageFiles {
        $dir = Join-Path (Get-Location) 'images'
        New-Item -ItemType Directory -Path $dir -Force | Out-Null
        & qemu-img create -q -f qcow2 (Join-Path $dir 'base.qcow2') 64M
        if ($LASTEXITCODE -ne 0) { throw 'qemu-img create failed' }
        foreach ($f in 'vmlinuz', 'initrd.img') { Set-Content -LiteralPath (Join-Path $dir $f) -Value 'x' }
        Set-Content -LiteralPath (Join-Path $dir 'cmdline') -Value 'console=ttyS0'
        $dir
    }

    # tools/review.sh in the repository (committed), which the `command` profile can run in a worktree.
    function New-ExampleReviewScript {
        New-Item -ItemType Directory -Path ./tools -Force | Out-Null
        [System.IO.File]::WriteAllText((Join-Path (Get-Location) 'tools/review.sh'), "#!/bin/sh`ncat > /dev/null`necho `"review `$*: ok`"`n")
        & chmod '+x' ./tools/review.sh
        Invoke-Git . add --all | Out-Null
        Invoke-Git . commit --quiet -m 'review script' | Out-Null
    }

    # Ends what an example left running: the scheduler and agents (each example has its own home).
    function Clear-ExampleState {
        Stop-SwarmQueue -Confirm:$false -WarningAction SilentlyContinue -ErrorAction SilentlyContinue | Out-Null
        try { Wait-QueueStopped -TimeoutSeconds 60 } catch { Write-Warning $_ }
        Get-SwarmAgent -Status 'Starting', 'Running' -ErrorAction SilentlyContinue | Stop-SwarmAgent -Confirm:$false -ErrorAction SilentlyContinue | Out-Null
        Get-SwarmEnvironment -ErrorAction SilentlyContinue | Remove-SwarmEnvironment -Force -ErrorAction SilentlyContinue
    }
}

AfterAll {
    $env:SWARMPS_HOME = $script:OriginalSwarmHome
    $script:FileSystem.Home = $script:OriginalHome
    Remove-Module SwarmPS -Force -ErrorAction SilentlyContinue
}

Describe 'HelpExamples.psd1' -ForEach @(@{ KnownIds = $KnownIds; PlannedIds = $PlannedIds }) {
    It 'has examples to run (the built help has them)' {
        $KnownIds.Count | Should -BeGreaterThan 80
    }

    It 'names only examples that exist' {
        foreach ($id in $PlannedIds) { $id | Should -BeIn $KnownIds -Because 'an entry of HelpExamples.psd1 must name a help example (Command#n)' }
    }
}

Describe 'Help example <Id>: <Title>' -ForEach $Examples {
    It 'runs without error' {
        if ($Skip) { Set-ItResult -Skipped -Because $Skip; return }
        foreach ($tool in $Requires) {
            if (-not (Get-Command $tool -CommandType Application -ErrorAction SilentlyContinue)) {
                if ($env:SWARMPS_REQUIRE_BACKENDS -eq '1') { throw "$Id needs '$tool', which is missing (SWARMPS_REQUIRE_BACKENDS=1)." }
                Set-ItResult -Skipped -Because "needs '$tool'"
                return
            }
        }

        $dir = Join-Path $TestDrive ($Id -replace '[^A-Za-z0-9]', '-')
        $env:SWARMPS_HOME = Join-Path $dir 'swarm-home'
        $script:FileSystem.Home = $dir
        $repo = New-TestRepository -Path (Join-Path $dir 'src/shop')
        Initialize-AgentTestEnvironment
        $before = Get-Location
        Set-Location -LiteralPath $repo
        try {
            $output = & {
                param($__setup, $__code, $__replace, $RepoRoot)
                # A user's defaults, whatever the test run set (build.ps1 uses strict mode), but errors stop.
                Set-StrictMode -Off
                $ErrorActionPreference = 'Stop'
                $ConfirmPreference = 'None'
                if ($__setup) { . ([scriptblock]::Create($__setup)) }
                foreach ($__key in $__replace.Keys) {
                    $__value = . ([scriptblock]::Create($__replace[$__key]))
                    if (-not "$__value") { throw "Replace '$__key': '$($__replace[$__key])' is empty after Setup." }
                    $__code = $__code.Replace($__key, "$__value")
                }
                # Formatting is part of the example: Format-Table/List output goes through Out-String.
                . ([scriptblock]::Create($__code)) | Out-String -Width 120
            } $Setup $Code $Replace $script:RepoRoot
            Write-Host ($output -join "`n").Trim()
        }
        catch {
            # A known product defect (Pending): the example is right and waits for the fix.
            if ($Pending) { Set-ItResult -Skipped -Because "pending: $Pending (now: $_)"; return }
            throw
        }
        finally {
            Set-Location -LiteralPath $repo
            Clear-ExampleState
            Set-Location -LiteralPath $before
            $script:FileSystem.Home = $script:OriginalHome
            $env:SWARMPS_HOME = $script:OriginalSwarmHome
        }
    }
}
