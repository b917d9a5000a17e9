using System.Reflection;
using System.Runtime.Loader;
using SwarmPS.Module.Tests.Checks;

namespace SwarmPS.Module.Tests.Hosting;

/// <summary>
/// The SwarmPS assemblies are NOT in this test process's deps.json or bin (see the .csproj): like in
/// pwsh, they come from the assembled module folder. <see cref="Initialize"/> does what the module's
/// SwarmPS.psm1 does (load SwarmPS.Loader.dll from the folder, <c>SwarmLoadContext.Initialize</c>), so
/// test code that names SwarmPS types directly binds to the very files <c>Import-Module</c> loads.
/// A module initializer calls it when this assembly loads, before any method that names a SwarmPS type
/// is compiled; except in the fresh-process import check (Program: fresh-import), which must see the
/// module's own psm1 do it.
/// </summary>
public static class ModuleAssemblies
{
    public const string FreshImportArgument = "fresh-import";

    [System.Runtime.CompilerServices.ModuleInitializer]
    internal static void OnLoad()
    {
        if (Environment.GetCommandLineArgs().Contains(FreshImportArgument)) return;
        if (File.Exists(ManifestPath)) Initialize();
    }

    private static readonly object Gate = new();
    private static bool _done;

    public static string ModuleDir => Repo.AssembledModuleDir;
    public static string ManifestPath => Path.Combine(ModuleDir, "SwarmPS.psd1");

    public static void Initialize()
    {
        lock (Gate)
        {
            if (_done) return;
            if (!File.Exists(ManifestPath)) throw new InvalidOperationException($"The assembled module is missing at {ModuleDir}; build the test project.");
            var loader = AssemblyLoadContext.Default.LoadFromAssemblyPath(Path.Combine(ModuleDir, "SwarmPS.Loader.dll"));
            loader.GetType("SwarmPS.Loader.SwarmLoadContext", throwOnError: true)!
                .GetMethod("Initialize", BindingFlags.Public | BindingFlags.Static)!.Invoke(null, new object[] { ModuleDir });
            _done = true;
        }
    }
}
