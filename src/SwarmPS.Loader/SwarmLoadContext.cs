using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace SwarmPS.Loader;

/// <summary>
/// The module's private <see cref="AssemblyLoadContext"/>. pwsh loads every module into one process,
/// so a module that ships SQLite (and later YAML) would clash with any other module that ships a
/// different version of the same assembly. Everything of ours except this loader lives here:
/// <c>SwarmPS.dll</c> (the cmdlets) from the module folder and its dependencies from
/// <c>dependencies/</c>. Assemblies we do not ship (System.*, System.Management.Automation) fall
/// through to the default context, so the cmdlets bind to pwsh's own engine.
/// </summary>
/// <remarks>
/// Types in this context are still visible to scripts (<c>[SwarmPS.Core.EnvironmentStatus]</c>):
/// PowerShell resolves type names over every loaded assembly, whatever its context.
/// Inside pwsh there is no .deps.json for a module, so native libraries (e_sqlite3) are found
/// here from <c>dependencies/runtimes/&lt;rid&gt;/native</c>; Core's own resolver does the same
/// first (<c>SqliteNative</c>), this is the fallback for any other native dependency.
/// </remarks>
public sealed class SwarmLoadContext : AssemblyLoadContext
{
    public const string ModuleAssemblyName = "SwarmPS";
    public const string DependencyFolder = "dependencies";

    private static readonly ConcurrentDictionary<string, SwarmLoadContext> Contexts = new(StringComparer.Ordinal);

    private SwarmLoadContext(string moduleRoot, bool collectible)
        : base("SwarmPS", isCollectible: collectible)
    {
        ModuleRoot = moduleRoot;
        DependencyRoot = Path.Combine(moduleRoot, DependencyFolder);
    }

    /// <summary>The module folder (where SwarmPS.psd1 and SwarmPS.dll are).</summary>
    public string ModuleRoot { get; }

    /// <summary>The folder the isolated dependencies are loaded from.</summary>
    public string DependencyRoot { get; }

    /// <summary>
    /// Creates (once per module folder and process) the load context and returns the cmdlet
    /// assembly loaded in it; the module's .psm1 passes it to <c>Import-Module -Assembly</c>.
    /// </summary>
    public static Assembly Initialize(string moduleRoot)
    {
        var root = Path.GetFullPath(moduleRoot);
        var context = Contexts.GetOrAdd(root, r => new SwarmLoadContext(r, collectible: false));
        return context.LoadModuleAssembly();
    }

    /// <summary>A fresh, collectible context for tests that load the assembled module folder.</summary>
    public static SwarmLoadContext CreateIsolated(string moduleRoot) => new(Path.GetFullPath(moduleRoot), collectible: true);

    public Assembly LoadModuleAssembly() => LoadFromAssemblyName(new AssemblyName(ModuleAssemblyName));

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        var name = assemblyName.Name;
        if (string.IsNullOrEmpty(name)) return null;
        if (string.Equals(name, ModuleAssemblyName, StringComparison.OrdinalIgnoreCase))
            return LoadFromAssemblyPath(Path.Combine(ModuleRoot, ModuleAssemblyName + ".dll"));
        var candidate = Path.Combine(DependencyRoot, name + ".dll");
        // Only what we ship is ours; everything else (framework, pwsh's engine) comes from the default context.
        return File.Exists(candidate) ? LoadFromAssemblyPath(candidate) : null;
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        foreach (var candidate in NativeCandidates(DependencyRoot, unmanagedDllName))
            if (File.Exists(candidate) && NativeLibrary.TryLoad(candidate, out var handle))
                return handle;
        return IntPtr.Zero;
    }

    /// <summary>The runtime identifier of this process: win-x64, linux-x64, linux-arm64, osx-x64, osx-arm64, ...</summary>
    public static string RuntimeId
    {
        get
        {
            var os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
            var arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
            return $"{os}-{arch}";
        }
    }

    /// <summary>Where a native library named as in a DllImport is looked for, in order.</summary>
    public static IEnumerable<string> NativeCandidates(string dependencyRoot, string name)
    {
        var dir = Path.Combine(dependencyRoot, "runtimes", RuntimeId, "native");
        var file = Path.GetFileName(name);
        yield return Path.Combine(dir, file);
        if (OperatingSystem.IsWindows())
        {
            if (!file.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)) yield return Path.Combine(dir, file + ".dll");
        }
        else
        {
            var ext = OperatingSystem.IsMacOS() ? ".dylib" : ".so";
            var bare = file.StartsWith("lib", StringComparison.Ordinal) ? file : "lib" + file;
            if (!bare.EndsWith(ext, StringComparison.Ordinal)) bare += ext;
            yield return Path.Combine(dir, bare);
        }
    }
}
