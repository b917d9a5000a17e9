# Shared by Help.Tests.ps1, HelpExamples.Tests.ps1 and Package.Tests.ps1. Dot-source it in BeforeDiscovery
# and/or BeforeAll: . (Join-Path $PSScriptRoot 'HelpTestHelpers.ps1')

# The built module's manifest: $env:SWARMPS_TEST_MODULE, else output/SwarmPS (as SwarmTestHelpers.ps1).
function Get-TestModulePath {
    [CmdletBinding()]
    param()
    $modulePath = if ($env:SWARMPS_TEST_MODULE) { $env:SWARMPS_TEST_MODULE } else { Join-Path $PSScriptRoot '../../output/SwarmPS/SwarmPS.psd1' }
    if (-not (Test-Path -LiteralPath $modulePath)) {
        throw "The built module is missing at $modulePath. Run ./build.ps1 -Task Build first."
    }
    (Resolve-Path -LiteralPath $modulePath).ProviderPath
}

# A help example's code as a script: the "PS> " prompt is dropped; lines without it continue the
# previous command (the examples never show output in their code blocks).
function ConvertFrom-HelpExampleCode {
    [CmdletBinding()]
    param([Parameter(Mandatory)][AllowEmptyString()][string] $Code)
    $lines = $Code -split "`r?`n" | ForEach-Object { $_ -replace '^PS>\s?', '' }
    ($lines -join "`n").Trim()
}
