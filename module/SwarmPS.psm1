# SwarmPS loader. pwsh loads every module into one process, so SwarmPS keeps its cmdlets and their
# dependencies (SQLite, later YAML) in a private AssemblyLoadContext: only SwarmPS.Loader.dll lives in
# the default context. Core types stay visible to scripts ([SwarmPS.Core.EnvironmentStatus]).
$loaderPath = [System.IO.Path]::Combine($PSScriptRoot, 'SwarmPS.Loader.dll')
if (-not ('SwarmPS.Loader.SwarmLoadContext' -as [type])) {
    Add-Type -LiteralPath $loaderPath
}

$cmdletAssembly = [SwarmPS.Loader.SwarmLoadContext]::Initialize($PSScriptRoot)
$inner = Import-Module -Assembly $cmdletAssembly -PassThru -Force

Export-ModuleMember -Cmdlet $inner.ExportedCmdlets.Keys -Function @() -Variable @() -Alias @()
