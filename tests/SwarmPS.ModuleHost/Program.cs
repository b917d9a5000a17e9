using System.Collections;
using System.Reflection;
using System.Runtime.Loader;
using System.Text.Json;

// Usage: SwarmPS.ModuleHost <module folder> <SWARMPS home to create>
// Does what pwsh does for `Import-Module <folder>/SwarmPS.psd1` (RootModule SwarmPS.psm1):
//   Add-Type -LiteralPath SwarmPS.Loader.dll; [SwarmPS.Loader.SwarmLoadContext]::Initialize($PSScriptRoot);
//   Import-Module <SwarmPS.dll>
// then uses Core through reflection to open a registry and write a row, and prints a JSON report.
if (args.Length != 2)
{
    Console.Error.WriteLine("usage: SwarmPS.ModuleHost <module folder> <home>");
    return 2;
}
var moduleDir = Path.GetFullPath(args[0]);
var home = Path.GetFullPath(args[1]);

var loader = AssemblyLoadContext.Default.LoadFromAssemblyPath(Path.Combine(moduleDir, "SwarmPS.Loader.dll"));
var cmdletPath = (string)loader.GetType("SwarmPS.Loader.SwarmLoadContext", throwOnError: true)!.GetMethod("Initialize")!.Invoke(null, new object[] { moduleDir })!;
var cmdlets = AssemblyLoadContext.Default.LoadFromAssemblyPath(cmdletPath);

// What Import-Module does with a binary module: enumerate the cmdlet types and their parameters.
var cmdletTypes = cmdlets.GetTypes().Where(t => t.Name.EndsWith("Command", StringComparison.Ordinal) && !t.IsAbstract).ToList();
foreach (var t in cmdletTypes) t.GetProperties();
var status = cmdlets.GetType("SwarmPS.Cmdlets.Commands.GetSwarmEnvironmentCommand", throwOnError: true)!.GetProperty("Status")!.PropertyType.GetElementType()!;
var core = status.Assembly;

// A script naming a type: PowerShell searches the default context only.
var visible = AssemblyLoadContext.Default.Assemblies.Any(a => a.GetType("SwarmPS.Core.SwarmEnvironment") is not null);

// Open the registry through Core and write a row.
var serviceType = core.GetType("SwarmPS.Core.SwarmService", throwOnError: true)!;
var service = serviceType.GetMethod("Open")!.Invoke(null, new object?[] { home })!;
var registry = serviceType.GetProperty("Registry")!.GetValue(service)!;
var config = serviceType.GetProperty("Config")!.GetValue(service)!;
var envType = core.GetType("SwarmPS.Core.SwarmEnvironment", throwOnError: true)!;
var draft = Activator.CreateInstance(envType)!;
envType.GetProperty("Ticket")!.SetValue(draft, "ALC-1");
envType.GetProperty("Provider")!.SetValue(draft, "worktree");
envType.GetProperty("RepositoryPath")!.SetValue(draft, home);
var ports = config.GetType().GetProperty("Ports")!.GetValue(config)!;
registry.GetType().GetMethod("Reserve")!.Invoke(registry, new[] { draft, ports, null }); // (draft, ports, admit)
var rows = ((IEnumerable)registry.GetType().GetMethod("ListEnvironments")!.Invoke(registry, null)!).Cast<object>()
    .Select(r => (string)envType.GetProperty("Ticket")!.GetValue(r)!).ToList();
var resolvedNative = (string?)core.GetType("SwarmPS.Core.Registry.SqliteNative", throwOnError: true)!.GetProperty("ResolvedPath")!.GetValue(null);

var report = new
{
    cmdletTypes = cmdletTypes.Count,
    typeVisibleToScripts = visible,
    resolvedNative,
    rows,
    assemblies = AssemblyLoadContext.All.SelectMany(c => c.Assemblies.Select(a => new { name = a.GetName().Name, context = c.Name, location = a.Location }))
        .Where(a => a.name is not null && (a.name.StartsWith("SwarmPS", StringComparison.Ordinal) || a.name.Contains("Sqlite", StringComparison.OrdinalIgnoreCase) || a.name.StartsWith("SQLitePCL", StringComparison.Ordinal)))
        .OrderBy(a => a.name, StringComparer.Ordinal).ToList(),
};
Console.WriteLine(JsonSerializer.Serialize(report));
return 0;
