# SwarmPS loader. pwsh loads every module into one process, so SwarmPS keeps its third-party
# dependencies (SQLite, later YAML) in a private AssemblyLoadContext (SwarmPS.Loader.dll hooks the
# default context's Resolving event before anything needs them). SwarmPS.dll and SwarmPS.Core.dll
# load into the default context, so scripts can name the types ([SwarmPS.Core.EnvironmentStatus]).
if (-not ('SwarmPS.Loader.SwarmLoadContext' -as [type])) {
    Add-Type -LiteralPath ([System.IO.Path]::Combine($PSScriptRoot, 'SwarmPS.Loader.dll'))
}

$cmdletAssemblyPath = [SwarmPS.Loader.SwarmLoadContext]::Initialize($PSScriptRoot)
$inner = Import-Module -Name $cmdletAssemblyPath -PassThru

Export-ModuleMember -Cmdlet @($inner.ExportedCmdlets.Keys) -Function @() -Variable @() -Alias @()
