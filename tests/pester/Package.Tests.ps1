# The PowerShell Gallery package, proven locally and offline: build.ps1 -Task Package makes the .nupkg
# (Publish-PSResource into a folder repository); the package holds the module and its help and no
# test-only assembly; PSResourceGet (bundled with pwsh) installs it from a local folder repository into a
# temporary HOME (so the user's modules and repository list are never touched), and a fresh pwsh imports
# it by name from the install location, creates and removes a worktree environment and shows help.

BeforeAll {
    . (Join-Path $PSScriptRoot 'HelpTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    $script:ManifestPath = Get-TestModulePath
    $script:ModuleDir = Split-Path -Parent $script:ManifestPath
    $script:Version = (Import-PowerShellDataFile -LiteralPath $script:ManifestPath).ModuleVersion
    $script:Pwsh = Join-Path $PSHOME $(if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' })
    $script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).ProviderPath

    # Everything PSResourceGet and PowerShell keep per user goes under this HOME, for the child processes.
    $script:TempHome = Join-Path $TestDrive 'home'
    # .NET reports a missing ~/.config as "" and NuGet (inside PSResourceGet) would then write NuGet/NuGet.Config
    # into the current folder: a real HOME has these folders.
    foreach ($dir in '.config', '.local/share', '.cache') { New-Item -ItemType Directory -Path (Join-Path $script:TempHome $dir) -Force | Out-Null }
    $script:Saved = @{}
    foreach ($name in 'HOME', 'XDG_DATA_HOME', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'PSModulePath', 'SWARMPS_HOME') {
        $script:Saved[$name] = [Environment]::GetEnvironmentVariable($name)
    }

    # Runs a script in a fresh pwsh with the temporary HOME; returns its output, throws on a non-zero exit.
    function Invoke-IsolatedPwsh {
        param([Parameter(Mandatory)][string] $Script, [string[]] $ArgumentList = @())
        $file = Join-Path $TestDrive ("step-" + [guid]::NewGuid().ToString('n') + '.ps1')
        Set-Content -LiteralPath $file -Value $Script -Encoding utf8NoBOM
        try {
            $env:HOME = $script:TempHome
            $env:XDG_DATA_HOME = $null
            $env:XDG_CONFIG_HOME = $null
            $env:XDG_CACHE_HOME = $null
            # pwsh rebuilds the module path from the new HOME (the user's own modules stay out of it).
            $env:PSModulePath = $null
            Push-Location -LiteralPath $TestDrive
            try {
                $output = & $script:Pwsh -NoProfile -NonInteractive -File $file @ArgumentList 2>&1
                $code = $LASTEXITCODE
            }
            finally { Pop-Location }
        }
        finally {
            foreach ($name in 'HOME', 'XDG_DATA_HOME', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'PSModulePath') {
                [Environment]::SetEnvironmentVariable($name, $script:Saved[$name])
            }
        }
        if ($code -ne 0) { throw "pwsh exited with $code`n$($output -join "`n")" }
        $output
    }

    # The package: made by build.ps1 -Task Package from this module folder (no rebuild when it is current).
    $outputPath = Split-Path -Parent $script:ModuleDir
    Get-ChildItem -LiteralPath $outputPath -Filter 'SwarmPS.*.nupkg' | Remove-Item -Force
    Invoke-IsolatedPwsh -Script 'param($build, $out) & $build -Task Package -OutputPath $out' -ArgumentList (Join-Path $script:RepoRoot 'build.ps1'), $outputPath | Out-Null
    $script:Nupkg = Join-Path $outputPath "SwarmPS.$($script:Version).nupkg"

    Add-Type -AssemblyName System.IO.Compression.FileSystem
    $zip = [System.IO.Compression.ZipFile]::OpenRead($script:Nupkg)
    try { $script:Entries = @($zip.Entries | ForEach-Object FullName) } finally { $zip.Dispose() }

    $script:Feed = Join-Path $TestDrive 'feed'
    New-Item -ItemType Directory -Path $script:Feed | Out-Null
    Copy-Item -LiteralPath $script:Nupkg -Destination $script:Feed
}

AfterAll {
    foreach ($name in $script:Saved.Keys) { [Environment]::SetEnvironmentVariable($name, $script:Saved[$name]) }
}

Describe 'build.ps1 -Task Package' {
    It 'writes SwarmPS.<version>.nupkg' {
        $script:Nupkg | Should -Exist
    }

    It 'leaves nothing in the folder it ran in' {
        Join-Path $TestDrive 'NuGet' | Should -Not -Exist
    }

    It 'packs the module, its help and the native SQLite libraries' {
        foreach ($entry in 'SwarmPS.psd1', 'SwarmPS.psm1', 'SwarmPS.dll', 'SwarmPS.Core.dll', 'SwarmPS.Loader.dll', 'SwarmPS.format.ps1xml',
            'en-US/SwarmPS.dll-Help.xml', 'en-US/about_SwarmPS.help.txt', 'runtimes/linux-x64/native/libe_sqlite3.so', 'runtimes/win-x64/native/e_sqlite3.dll') {
            $script:Entries | Should -Contain $entry
        }
    }

    It 'packs no test-only or build-only file' {
        $forbidden = $script:Entries | Where-Object {
            $_ -match '(^|/)(System\.Management\.Automation|Microsoft\.PowerShell\.[^/]*|Microsoft\.Management\.Infrastructure[^/]*|xunit[^/]*|Pester[^/]*|Markdig|SwarmPS\.HelpGen|SwarmPS\.ModuleHost|Microsoft\.TestPlatform[^/]*|testhost)\.dll$' -or
            $_ -match '\.(pdb|deps\.json|runtimeconfig\.json)$'
        }
        $forbidden | Should -BeNullOrEmpty
    }

    It 'has a manifest that Test-ModuleManifest accepts' {
        $manifest = Test-ModuleManifest -Path $script:ManifestPath -ErrorAction Stop
        "$($manifest.Version)" | Should -Be $script:Version
        $manifest.ExportedCmdlets.Count | Should -BeGreaterThan 40
    }
}

Describe 'Install-PSResource from a local folder repository' {
    BeforeAll {
        $env:GIT_AUTHOR_NAME = $env:GIT_COMMITTER_NAME = 'SwarmPS Tests'
        $env:GIT_AUTHOR_EMAIL = $env:GIT_COMMITTER_EMAIL = 'tests@swarmps.invalid'
        $script:Repo = New-TestRepository -Path (Join-Path $TestDrive 'repo')
        $script:SwarmHome = Join-Path $TestDrive 'swarm-home'
        $script:InstallLog = Invoke-IsolatedPwsh -ArgumentList $script:Feed -Script @'
param($feed)
$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name SwarmPSLocalTest -Uri $feed -Trusted
if ($IsWindows) {
    # CurrentUser on Windows is Documents\PowerShell\Modules, which HOME does not move: save into the
    # temporary HOME instead and put it on the module path of the next process.
    $target = Join-Path $HOME 'Modules'
    New-Item -ItemType Directory -Path $target -Force | Out-Null
    Save-PSResource -Name SwarmPS -Repository SwarmPSLocalTest -TrustRepository -Path $target
} else {
    Install-PSResource -Name SwarmPS -Repository SwarmPSLocalTest -TrustRepository -Scope CurrentUser
}
$installed = Get-InstalledPSResource -Name SwarmPS -ErrorAction SilentlyContinue
"installed: $($installed.Version) $($installed.InstalledLocation)"
'@
    }

    It 'installs SwarmPS <version> under the temporary HOME' {
        if (-not $IsWindows) {
            ($script:InstallLog -join "`n") | Should -Match ([regex]::Escape("installed: $($script:Version)"))
            ($script:InstallLog -join "`n") | Should -Match ([regex]::Escape($script:TempHome))
        }
        $found = @(Get-ChildItem -LiteralPath $script:TempHome -Recurse -Force -Filter 'SwarmPS.psd1')
        $found.Count | Should -Be 1
        $found[0].FullName | Should -Match ([regex]::Escape((Join-Path 'SwarmPS' $script:Version)))
    }

    It 'imports by name in a fresh pwsh, creates and removes an environment, and shows help' {
        $log = Invoke-IsolatedPwsh -ArgumentList $script:Repo, $script:SwarmHome -Script @'
param($repo, $swarmHome)
$ErrorActionPreference = 'Stop'
if ($IsWindows) { $env:PSModulePath = (Join-Path $HOME 'Modules') + [IO.Path]::PathSeparator + $env:PSModulePath }
$env:SWARMPS_HOME = $swarmHome
Import-Module SwarmPS
$module = Get-Module SwarmPS
"base: $($module.ModuleBase)"
"commands: $(@(Get-Command -Module SwarmPS).Count)"
Set-Location -LiteralPath $repo
$created = New-SwarmEnvironment -Ticket PKG-1
"created: $($created.Ticket) $($created.Status) $(Test-Path -LiteralPath $created.WorkspacePath)"
Remove-SwarmEnvironment -Ticket PKG-1 -Force
"left: $(@(Get-SwarmEnvironment).Count) $(Test-Path -LiteralPath $created.WorkspacePath)"
"synopsis: $((Get-Help New-SwarmEnvironment).Synopsis)"
'@
        $text = $log -join "`n"
        $text | Should -Match ("base: " + [regex]::Escape($script:TempHome))
        $text | Should -Match 'commands: 4\d'
        $text | Should -Match 'created: PKG-1 Running True'
        $text | Should -Match 'left: 0 False'
        $text | Should -Match 'synopsis: \w+'
        $text | Should -Not -Match 'synopsis: New-SwarmEnvironment '
        Invoke-Git $script:Repo branch --list 'swarm/PKG-1' | Should -BeNullOrEmpty
    }

    It 'unregisters the local repository' {
        $log = Invoke-IsolatedPwsh -Script @'
Unregister-PSResourceRepository -Name SwarmPSLocalTest -ErrorAction Stop
"left: $(@(Get-PSResourceRepository -Name SwarmPSLocalTest -ErrorAction SilentlyContinue).Count)"
'@
        ($log -join "`n") | Should -Match 'left: 0'
    }
}
