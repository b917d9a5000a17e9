using System.Management.Automation.Runspaces;
using System.Reflection;
using System.Runtime.Loader;
using System.Text.Json;
using SwarmPS.Core.Processes.Detached;
using SwarmPS.Module.Tests.Hosting;

namespace SwarmPS.Module.Tests;

/// <summary>
/// The test runner never calls this. Some tests start this assembly as a separate .NET process:
///   dotnet SwarmPS.Module.Tests.dll detached-parent exit|wait STATE_DIR FILE [ARG...]
///     launches a detached helper and exits or waits to be killed (DetachedProcessTests);
///   dotnet SwarmPS.Module.Tests.dll fresh-import MODULE_DIR HOME REPO
///     a fresh process (nothing of SwarmPS loaded, the module initializer skipped) opens a real
///     runspace, runs Import-Module on the folder, creates an environment, prints a JSON report
///     of where every SwarmPS and SQLite assembly was loaded from (ModuleFolderTests).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 4 && args[0] == ModuleAssemblies.FreshImportArgument) return FreshImport(args[1], args[2], args[3]);
        if (args.Length < 4 || args[0] != "detached-parent") return 0;
        return DetachedParent(args);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static int DetachedParent(string[] args)
    {
        var launched = DetachedLauncher.ForCurrentPlatform().Start(new DetachedProcessSpec(args[3], args.Skip(4), args[2]));
        Console.Out.WriteLine(launched.Pid);
        Console.Out.Flush();
        if (args[1] == "wait") Thread.Sleep(TimeSpan.FromMinutes(2));
        return 0;
    }

    private static int FreshImport(string moduleDir, string home, string repo)
    {
        var before = AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetName().Name).Where(n => n is not null && n.StartsWith("SwarmPS.", StringComparison.Ordinal) && n != "SwarmPS.Module.Tests").ToList();
        Environment.SetEnvironmentVariable("SWARMPS_HOME", home);
        using var runspace = RunspaceFactory.CreateRunspace(PowerShellSession.CreateSessionState());
        runspace.Open();
        using var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddScript("""
            $ErrorActionPreference = 'Stop'
            $m = Import-Module -Name (Join-Path $args[0] 'SwarmPS.psd1') -PassThru
            $env = New-SwarmEnvironment -Ticket ALC-1 -RepositoryPath $args[1]
            [pscustomobject]@{
                Cmdlets = @($m.ExportedCmdlets.Keys).Count
                TypeVisible = [bool]('SwarmPS.Core.SwarmEnvironment' -as [type])
                Rows = @(Get-SwarmEnvironment | ForEach-Object Ticket)
                EnvironmentType = $env.GetType().FullName
            }
            """).AddArgument(moduleDir).AddArgument(repo);
        var result = ps.Invoke().Single();
        var core = AppDomain.CurrentDomain.GetAssemblies().Single(a => a.GetName().Name == "SwarmPS.Core");
        var native = core.GetType("SwarmPS.Core.Registry.SqliteNative", throwOnError: true)!
            .GetProperty("ResolvedPath", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)!.GetValue(null) as string;
        var report = new
        {
            loadedBefore = before,
            cmdlets = (int)result.Properties["Cmdlets"].Value,
            typeVisibleToScripts = (bool)result.Properties["TypeVisible"].Value,
            environmentType = (string)result.Properties["EnvironmentType"].Value,
            rows = ((object[])result.Properties["Rows"].Value).Select(o => o.ToString()).ToList(),
            resolvedNative = native,
            assemblies = AssemblyLoadContext.All.SelectMany(c => c.Assemblies.Select(a => new { name = a.GetName().Name, context = c.Name, location = a.Location }))
                .Where(a => a.name is not null && ((a.name.StartsWith("SwarmPS", StringComparison.Ordinal) && a.name != "SwarmPS.Module.Tests")
                    || a.name.Contains("Sqlite", StringComparison.OrdinalIgnoreCase) || a.name.StartsWith("SQLitePCL", StringComparison.Ordinal) || a.name == "YamlDotNet"))
                .OrderBy(a => a.name, StringComparer.Ordinal).ToList(),
        };
        Console.WriteLine(JsonSerializer.Serialize(report));
        return 0;
    }
}
