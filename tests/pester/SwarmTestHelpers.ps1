# Shared setup for the SwarmPS Pester tests. Dot-source it in BeforeAll:
#     BeforeAll { . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1'); Initialize-TestEnvironment }
# The tests import the BUILT module (output/SwarmPS, made by ./build.ps1 -Task Build), never the sources.
# Set SWARMPS_TEST_MODULE to test another build of the module folder.

function Initialize-TestEnvironment {
    [CmdletBinding()]
    param()
    $modulePath = if ($env:SWARMPS_TEST_MODULE) { $env:SWARMPS_TEST_MODULE } else { Join-Path $PSScriptRoot '../../output/SwarmPS/SwarmPS.psd1' }
    if (-not (Test-Path -LiteralPath $modulePath)) {
        throw "The built module is missing at $modulePath. Run ./build.ps1 -Task Build first."
    }
    $script:ModulePath = (Resolve-Path -LiteralPath $modulePath).ProviderPath
    Import-Module $script:ModulePath -Force -ErrorAction Stop

    # Every test file gets its own SwarmPS home and repository inside $TestDrive.
    $script:OriginalSwarmHome = $env:SWARMPS_HOME
    $env:SWARMPS_HOME = Join-Path $TestDrive 'swarm-home'
    $env:GIT_AUTHOR_NAME = 'SwarmPS Tests'
    $env:GIT_AUTHOR_EMAIL = 'tests@swarmps.invalid'
    $env:GIT_COMMITTER_NAME = 'SwarmPS Tests'
    $env:GIT_COMMITTER_EMAIL = 'tests@swarmps.invalid'
    $script:Repo = New-TestRepository -Path (Join-Path $TestDrive 'repo')
    Push-Location -LiteralPath $script:Repo
}

function Reset-TestEnvironment {
    [CmdletBinding()]
    param()
    Pop-Location
    Get-SwarmEnvironment -ErrorAction SilentlyContinue | Remove-SwarmEnvironment -Force -ErrorAction SilentlyContinue
    $env:SWARMPS_HOME = $script:OriginalSwarmHome
    Remove-Module SwarmPS -Force -ErrorAction SilentlyContinue
}

# A simple function on purpose: git options such as --quiet pass through $args untouched.
# Usage: Invoke-Git <repository path> <git arguments...>
function Invoke-Git {
    $path, $gitArgs = $args
    $output = & git -C $path @gitArgs 2>&1
    if ($LASTEXITCODE -ne 0) { throw "git $($gitArgs -join ' ') failed: $output" }
    $output
}

function New-TestRepository {
    [CmdletBinding()]
    param([Parameter(Mandatory)][string] $Path)
    New-Item -ItemType Directory -Path $Path -Force | Out-Null
    Invoke-Git $Path init --quiet '--initial-branch=main' | Out-Null
    Set-Content -LiteralPath (Join-Path $Path 'README.md') -Value '# test repository'
    Set-Content -LiteralPath (Join-Path $Path 'app.txt') -Value 'line 1'
    Invoke-Git $Path add --all | Out-Null
    Invoke-Git $Path commit --quiet -m 'initial' | Out-Null
    # git's own spelling of the path (macOS: /private/var for /var).
    (Invoke-Git $Path rev-parse --show-toplevel | Select-Object -First 1)
}

function Get-TestBranch {
    [CmdletBinding()]
    param([Parameter(Mandatory)][string] $Ticket)
    Invoke-Git $script:Repo branch --list "swarm/$Ticket"
}

function Get-CompletionText {
    [CmdletBinding()]
    param([Parameter(Mandatory)][string] $InputScript)
    $result = [System.Management.Automation.CommandCompletion]::CompleteInput($InputScript, $InputScript.Length, $null)
    @($result.CompletionMatches | ForEach-Object CompletionText)
}

# Skipping. Pester's -Skip switch is decided at discovery (before BeforeAll) and records no reason, so
# tests never use it: they call one of these first thing in the It block instead. Invoke-PesterSuite.ps1
# prints every skip with its reason and fails a skip that has none.

# Skips the running test, saying why.
function Skip-Test {
    [CmdletBinding()]
    param([Parameter(Mandatory)][string] $Because)
    Set-ItResult -Skipped -Because $Because
}

# Skips the running test where there is no sh (Windows): the fakes it uses are sh scripts.
function Skip-TestWithoutSh {
    [CmdletBinding()]
    param()
    if ($IsWindows -or -not (Test-Path -LiteralPath '/bin/sh')) { Skip-Test -Because 'it needs /bin/sh (its fake is an sh script), which this OS lacks' }
}

# For a test that needs one of the project's real backends (.ci/backends/<Name>.sh): when it is
# missing, skip loudly, or FAIL when SWARMPS_REQUIRE_BACKENDS=1 (CI), as the xunit tests do.
function Assert-TestBackend {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)][ValidateSet('docker', 'podman', 'slurm', 'libvirt')][string] $Name,
        [Parameter(Mandatory)][bool] $Available,
        [Parameter(Mandatory)][string] $Because
    )
    if ($Available) { return }
    if ($env:SWARMPS_REQUIRE_BACKENDS -eq '1') { throw "SWARMPS_REQUIRE_BACKENDS=1 but the $Name backend is missing: $Because" }
    Skip-Test -Because "the $Name backend is missing: $Because (start it with: bash .ci/backends/$Name.sh start)"
}

# Backend probes, run in BeforeAll.
function Test-SlurmBackend {
    if (-not (Get-Command sinfo -CommandType Application -ErrorAction SilentlyContinue)) { return $false }
    & sinfo --noheader *> $null
    $LASTEXITCODE -eq 0
}

function Test-QemuImg {
    [bool](Get-Command qemu-img -CommandType Application -ErrorAction SilentlyContinue)
}

function Test-LibvirtBackend {
    if (-not ((Test-QemuImg) -and (Get-Command virsh -CommandType Application -ErrorAction SilentlyContinue))) { return $false }
    & virsh -q -c qemu:///system version *> $null
    $LASTEXITCODE -eq 0
}

# Docker with the offline test image (.ci/backends/docker.sh start imports swarmps-tiny:latest).
function Test-DockerBackend {
    if (-not (Get-Command docker -CommandType Application -ErrorAction SilentlyContinue)) { return $false }
    & docker image inspect 'swarmps-tiny:latest' *> $null
    $LASTEXITCODE -eq 0
}
