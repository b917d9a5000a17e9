#Requires -Version 7.4
<#
.SYNOPSIS
    Runs the whole Pester suite (tests/pester) against a built module folder; test.sh and
    build.ps1 -Task Test call it in a fresh pwsh process, so no caller's StrictMode or variables leak in.
.DESCRIPTION
    Writes NUnit XML, prints every skipped test with its reason, and ends with one line
    "Pester: N passed, N failed, N skipped". A skip without a reason (a bare -Skip), an inconclusive
    test, or a container or block that failed (e.g. in BeforeAll or at discovery) counts as failed.
    Exit code: 0 when nothing failed, 1 otherwise.
.PARAMETER ModulePath
    The built module manifest (default: output/SwarmPS/SwarmPS.psd1). Exported as SWARMPS_TEST_MODULE.
.PARAMETER PesterPath
    The Pester module folder (Pester.psd1); default: SWARMPS_PESTER_MODULE, else the Pester 5.9.1 on
    PSModulePath, else the cache of build/install-tools.sh.
.PARAMETER Path
    Test files or folders to run (default: the whole suite); comma-separated under pwsh -File.
.PARAMETER FailOnSkip
    Count every skip as a failure (the self-hosted Hyper-V and Tart runners must run their tests).
#>
[CmdletBinding()]
param(
    [string] $ModulePath = (Join-Path $PSScriptRoot '../../output/SwarmPS/SwarmPS.psd1'),
    [string] $PesterPath = $env:SWARMPS_PESTER_MODULE,
    [string[]] $Path = @($PSScriptRoot),
    [string] $ResultPath = (Join-Path $PSScriptRoot "../../output/pester-$($PSVersionTable.PSVersion)-$([System.Environment]::OSVersion.Platform).xml"),
    [ValidateSet('None', 'Normal', 'Detailed', 'Diagnostic')]
    [string] $Verbosity = 'Detailed',
    [switch] $FailOnSkip
)
$ErrorActionPreference = 'Stop'
$pesterVersion = [version] '5.9.1'

if (-not $PesterPath) {
    $found = Get-Module -ListAvailable -Name Pester | Where-Object Version -EQ $pesterVersion | Select-Object -First 1
    if ($found) { $PesterPath = $found.ModuleBase }
    else {
        $cache = if ($env:SWARMPS_TOOLS_DIR) { $env:SWARMPS_TOOLS_DIR }
        elseif ($env:XDG_CACHE_HOME) { Join-Path $env:XDG_CACHE_HOME 'swarmps-tools' }
        else { Join-Path $HOME '.cache/swarmps-tools' }
        $PesterPath = Join-Path $cache "pester-$pesterVersion/Pester"
    }
}
$manifest = if ((Split-Path -Leaf $PesterPath) -eq 'Pester.psd1') { $PesterPath } else { Join-Path $PesterPath 'Pester.psd1' }
if (-not (Test-Path -LiteralPath $manifest)) {
    throw "Pester $pesterVersion is not installed at $PesterPath. Run: bash build/install-tools.sh"
}
Import-Module $manifest -Force
if ((Get-Module Pester).Version -ne $pesterVersion) { throw "Expected Pester $pesterVersion, imported $((Get-Module Pester).Version) from $manifest" }

if (-not (Test-Path -LiteralPath $ModulePath)) { throw "The built module is missing at $ModulePath. Run: pwsh ./build.ps1 -Task Build" }
$env:SWARMPS_TEST_MODULE = (Resolve-Path -LiteralPath $ModulePath).ProviderPath
$resultDir = Split-Path -Parent $ResultPath
New-Item -ItemType Directory -Path $resultDir -Force | Out-Null

Write-Host "Pester $((Get-Module Pester).Version) on PowerShell $($PSVersionTable.PSVersion) against $env:SWARMPS_TEST_MODULE"
$config = New-PesterConfiguration
# pwsh -File passes 'a,b' as one string: split it.
$config.Run.Path = @($Path | ForEach-Object { $_ -split ',' } | Where-Object { $_ })
$config.Run.PassThru = $true
$config.Output.Verbosity = $Verbosity
# Plain text in redirected logs (CI's log file); GitHub Actions renders colours.
if ([Console]::IsOutputRedirected -and -not $env:GITHUB_ACTIONS) { $config.Output.RenderMode = 'Plaintext' }
$config.TestResult.Enabled = $true
$config.TestResult.OutputFormat = 'NUnitXml'
$config.TestResult.OutputPath = $ResultPath
$watch = [System.Diagnostics.Stopwatch]::StartNew()
$result = Invoke-Pester -Configuration $config
if (-not $result) { Write-Host 'Pester: 0 passed, 1 failed, 0 skipped (Invoke-Pester returned no result)'; exit 1 }
$watch.Stop()

$failed = $result.FailedCount
$problems = [System.Collections.Generic.List[string]]::new()
foreach ($t in $result.Skipped) {
    $reason = @($t.ErrorRecord | ForEach-Object { $_.Exception.Message }) -join ' '
    $name = $t.ExpandedPath
    if ([string]::IsNullOrWhiteSpace($reason)) {
        # A bare -Skip (or a skipped Describe/Context) says nothing about why: not allowed.
        $problems.Add("SKIPPED WITHOUT A REASON (use Set-ItResult -Skipped -Because): $name")
        $failed++
    }
    elseif ($FailOnSkip) {
        $problems.Add("SKIPPED, BUT THIS RUN MUST RUN IT (-FailOnSkip): $name :: $reason")
        $failed++
    }
    else { Write-Host "SKIPPED: $name :: $reason" -ForegroundColor Yellow }
}
foreach ($t in $result.Inconclusive) { $problems.Add("INCONCLUSIVE: $($t.ExpandedPath)"); $failed++ }
foreach ($b in $result.FailedBlocks) { $problems.Add("BLOCK FAILED: $($b.ExpandedPath): $(@($b.ErrorRecord | ForEach-Object { $_.Exception.Message }) -join ' ')"); $failed++ }
foreach ($c in $result.FailedContainers) { $problems.Add("FILE FAILED: $($c.Item): $(@($c.ErrorRecord | ForEach-Object { $_.Exception.Message }) -join ' ')"); $failed++ }
foreach ($t in $result.Failed) { $problems.Add("FAILED: $($t.ExpandedPath)") }
foreach ($p in $problems) { Write-Host $p -ForegroundColor Red }
$skipped = @($result.Skipped).Count
$passed = $result.PassedCount
Write-Host ("Pester took {0:n0} s; NUnit XML: {1}" -f $watch.Elapsed.TotalSeconds, (Resolve-Path -LiteralPath $ResultPath).ProviderPath)
# Read by test.sh, which adds these counts to xunit's.
Write-Host "Pester: $passed passed, $failed failed, $skipped skipped"
if ($result.TotalCount -eq 0) { Write-Host 'Pester ran no test.' -ForegroundColor Red; exit 1 }
exit $(if ($failed -gt 0) { 1 } else { 0 })
