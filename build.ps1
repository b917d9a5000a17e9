#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, documents, tests and packages the SwarmPS PowerShell module.
.DESCRIPTION
    -Task Build    assembles output/SwarmPS ready to publish (build/SwarmPS.Module.targets), help included.
    -Task Docs     turns docs/help/en-US (platyPS markdown) into MAML help and about_*.help.txt in
                   output/SwarmPS/en-US with our own generator (build/SwarmPS.HelpGen): no platyPS, offline.
    -Task Test     runs the xunit tests (dotnet test SwarmPS.slnx) and Pester (tests/pester) against
                   the built module; -TestScope Unit or Pester runs one of them.
    -Task Package  makes the PowerShell Gallery .nupkg in output/ (Publish-PSResource to a temporary
                   local folder repository; offline).
    Tasks run in the order given. Machines without pwsh assemble the same folder, help included, with
    build/build-module.sh.
.EXAMPLE
    ./build.ps1 -Task Build, Test
.EXAMPLE
    ./build.ps1 -Task Package -Version 0.2.0
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Docs', 'Test', 'Package')]
    [string[]] $Task = @('Build'),

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # The module version; the default comes from Directory.Build.props.
    [string] $Version,

    [ValidateSet('All', 'Unit', 'Pester')]
    [string] $TestScope = 'All',

    [string] $OutputPath = (Join-Path $PSScriptRoot 'output')
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$ModuleDir = Join-Path $OutputPath 'SwarmPS'

function Invoke-Native {
    # Arguments go in one array, so native options such as -c are never taken for PowerShell parameters.
    param([Parameter(Mandatory)][string] $FilePath, [Parameter(Mandatory)][string[]] $ArgumentList)
    Write-Host "> $FilePath $($ArgumentList -join ' ')" -ForegroundColor DarkGray
    & $FilePath @ArgumentList
    if ($LASTEXITCODE -ne 0) { throw "$FilePath exited with code $LASTEXITCODE" }
}

function Install-RequiredModule {
    param([Parameter(Mandatory)][string] $Name, [string] $RequiredVersion, [string] $MinimumVersion)
    $have = Get-Module -ListAvailable -Name $Name | Where-Object {
        ($RequiredVersion -and $_.Version -eq [version] $RequiredVersion) -or ($MinimumVersion -and $_.Version -ge [version] $MinimumVersion)
    }
    if (-not $have) {
        $install = @{ Name = $Name; Scope = 'CurrentUser'; Force = $true; SkipPublisherCheck = $true }
        if ($RequiredVersion) { $install.RequiredVersion = $RequiredVersion } else { $install.MinimumVersion = $MinimumVersion }
        Install-Module @install
    }
    $import = @{ Name = $Name; Force = $true }
    if ($RequiredVersion) { $import.RequiredVersion = $RequiredVersion } else { $import.MinimumVersion = $MinimumVersion }
    Import-Module @import
}

function Invoke-BuildTask {
    if (Test-Path -LiteralPath $ModuleDir) { Remove-Item -LiteralPath $ModuleDir -Recurse -Force }
    $msbuildArgs = @(
        'build', (Join-Path $PSScriptRoot 'src/SwarmPS.Cmdlets/SwarmPS.Cmdlets.csproj'),
        '-c', $Configuration, '-t:Build;AssembleSwarmModule', "-p:SwarmModuleDir=$ModuleDir", '-nologo'
    )
    if ($Version) { $msbuildArgs += "-p:Version=$Version" }
    # AssembleSwarmModule also writes the help (target SwarmModuleHelp, the same generator as -Task Docs).
    Invoke-Native -FilePath dotnet -ArgumentList $msbuildArgs
    Assert-ModuleHelp
    Write-Host "Module ready in $ModuleDir" -ForegroundColor Green
}

function Invoke-DocsTask {
    if (-not (Test-Path -LiteralPath (Join-Path $ModuleDir 'SwarmPS.psd1'))) { throw "No module in ${ModuleDir}: run -Task Build first (it writes the help too)." }
    $project = Join-Path $PSScriptRoot 'build/SwarmPS.HelpGen/SwarmPS.HelpGen.csproj'
    Invoke-Native -FilePath dotnet -ArgumentList @('build', $project, '-c', 'Release', '-nologo', '-v', 'q')
    $helpOut = Join-Path $ModuleDir 'en-US'
    if (Test-Path -LiteralPath $helpOut) { Remove-Item -LiteralPath $helpOut -Recurse -Force }
    $generator = Join-Path $PSScriptRoot 'build/SwarmPS.HelpGen/bin/Release/net10.0/SwarmPS.HelpGen.dll'
    Invoke-Native -FilePath dotnet -ArgumentList @($generator, (Join-Path $PSScriptRoot 'docs/help/en-US'), $helpOut)
    Assert-ModuleHelp
}

function Assert-ModuleHelp {
    foreach ($file in 'SwarmPS.dll-Help.xml', 'about_SwarmPS.help.txt') {
        if (-not (Test-Path -LiteralPath (Join-Path $ModuleDir "en-US/$file"))) { throw "The help generator did not write en-US/$file" }
    }
}

function Invoke-TestTask {
    if ($TestScope -in 'All', 'Unit') {
        Invoke-Native -FilePath dotnet -ArgumentList @('test', (Join-Path $PSScriptRoot 'SwarmPS.slnx'), '-c', $Configuration, '-nologo')
    }
    if ($TestScope -in 'All', 'Pester') {
        if (-not (Test-Path -LiteralPath (Join-Path $ModuleDir 'SwarmPS.psd1'))) { Invoke-BuildTask }
        # A fresh pwsh (this one, by path): this script's StrictMode and preferences must not reach the
        # tests. The runner finds Pester 5.9.1 (build/install-tools.sh installs it from NuGet), writes
        # NUnit XML to $OutputPath, prints every skip with its reason and fails on any failure.
        $pwsh = Join-Path $PSHOME $(if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' })
        $resultPath = Join-Path $OutputPath "pester-$($PSVersionTable.PSVersion)-$([System.Environment]::OSVersion.Platform).xml"
        Remove-Item -LiteralPath $resultPath -ErrorAction SilentlyContinue
        Invoke-Native -FilePath $pwsh -ArgumentList @(
            '-NoLogo', '-NoProfile', '-NonInteractive', '-File', (Join-Path $PSScriptRoot 'tests/pester/Invoke-PesterSuite.ps1'),
            '-ModulePath', (Join-Path $ModuleDir 'SwarmPS.psd1'), '-ResultPath', $resultPath)
        # A run that stopped silently (exit code 0, no results) must not pass.
        if (-not (Test-Path -LiteralPath $resultPath)) { throw "Pester ended without writing $resultPath" }
    }
}

function Invoke-PackageTask {
    $manifestPath = Join-Path $ModuleDir 'SwarmPS.psd1'
    $built = if (Test-Path -LiteralPath $manifestPath) { Import-PowerShellDataFile -LiteralPath $manifestPath } else { $null }
    # A -Version other than the built one rebuilds: 0.2.0-beta1 is ModuleVersion 0.2.0 + PSData.Prerelease beta1.
    $stale = -not $built -or -not (Test-Path -LiteralPath (Join-Path $ModuleDir 'en-US/SwarmPS.dll-Help.xml'))
    if (-not $stale -and $Version) {
        $builtLabel = "$($built.PrivateData.PSData['Prerelease'])"
        $builtVersion = if ($builtLabel) { "$($built.ModuleVersion)-$builtLabel" } else { "$($built.ModuleVersion)" }
        $stale = $builtVersion -ne $Version
    }
    if ($stale) { Invoke-BuildTask }
    $manifest = Test-ModuleManifest -Path $manifestPath -ErrorAction Stop
    Write-Host "Test-ModuleManifest: SwarmPS $($manifest.Version), $($manifest.ExportedCmdlets.Count) cmdlets" -ForegroundColor DarkGray

    # Publish-PSResource writes the .nupkg into a folder repository: a temporary one, registered only
    # for this call (PSResourceGet keeps its repositories per user), so nothing reaches the network.
    $feed = Join-Path ([System.IO.Path]::GetTempPath()) ('swarmps-feed-' + [guid]::NewGuid().ToString('n'))
    $repoName = 'SwarmPSBuild-' + [guid]::NewGuid().ToString('n').Substring(0, 8)
    New-Item -ItemType Directory -Path $feed | Out-Null
    Register-PSResourceRepository -Name $repoName -Uri $feed -Trusted
    try {
        # From inside the feed: where ~/.config is missing, NuGet writes NuGet/NuGet.Config into the current folder.
        Push-Location -LiteralPath $feed
        try { Publish-PSResource -Path $ModuleDir -Repository $repoName -SkipDependenciesCheck -ErrorAction Stop }
        finally { Pop-Location }
        $nupkg = @(Get-ChildItem -LiteralPath $feed -Filter 'SwarmPS.*.nupkg')
        if ($nupkg.Count -ne 1) { throw "Publish-PSResource wrote $($nupkg.Count) packages into $feed" }
        Get-ChildItem -LiteralPath $OutputPath -Filter 'SwarmPS.*.nupkg' | Remove-Item -Force
        Copy-Item -LiteralPath $nupkg[0].FullName -Destination $OutputPath
        Write-Host "Package: $(Join-Path $OutputPath $nupkg[0].Name)" -ForegroundColor Green
    }
    finally {
        Unregister-PSResourceRepository -Name $repoName
        Remove-Item -LiteralPath $feed -Recurse -Force -ErrorAction SilentlyContinue
    }
}

foreach ($t in $Task) {
    Write-Host "== $t" -ForegroundColor Cyan
    switch ($t) {
        'Build' { Invoke-BuildTask }
        'Docs' { Invoke-DocsTask }
        'Test' { Invoke-TestTask }
        'Package' { Invoke-PackageTask }
    }
}
