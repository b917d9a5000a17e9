using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace SwarmPS.Loader;

/// <summary>
/// Keeps SwarmPS's third-party dependencies (SQLite, later YAML) in a private
/// <see cref="AssemblyLoadContext"/>, so they never clash with another module's copies, while the
/// SwarmPS assemblies themselves (SwarmPS.dll with the cmdlets, SwarmPS.Core.dll with the types
/// scripts name, such as <c>[SwarmPS.Core.EnvironmentStatus]</c>) load into the default context:
/// PowerShell resolves type names only in the default context, never in custom ones.
/// </summary>
/// <remarks>
/// Layout of the module folder:
/// <code>
///   SwarmPS.Loader.dll  SwarmPS.dll  SwarmPS.Core.dll   default context
///   dependencies/*.dll                                 private context ("SwarmPS")
///   runtimes/&lt;rid&gt;/native/                            native libraries (e_sqlite3)
/// </code>
/// <see cref="Initialize"/> hooks <see cref="AssemblyLoadContext.Resolving"/> of the default
/// context. When SwarmPS.Core asks for Microsoft.Data.Sqlite (which the default context cannot
/// find: pwsh has no .deps.json for a module), the hook loads it into the private context, where
/// its own dependencies resolve from <c>dependencies/</c> too. Nothing third-party ever enters the
/// default context, so other modules are never affected by ours. Core finds the native SQLite
/// library itself in <c>runtimes/&lt;rid&gt;/native</c> next to SwarmPS.Core.dll (SqliteNative);
/// <see cref="LoadUnmanagedDll"/> looks there too for any other native dependency.
/// Limitation: if another module has already put an assembly of the same name into the default
/// context, the runtime binds to that one without asking us.
/// </remarks>
public sealed class SwarmLoadContext : AssemblyLoadContext
{
    public const string ContextName = "SwarmPS";
    public const string ModuleAssemblyName = "SwarmPS";
    public const string DependencyFolder = "dependencies";

    private static readonly object Gate = new();
    private static readonly Dictionary<string, SwarmLoadContext> Contexts = new(StringComparer.Ordinal);

    private SwarmLoadContext(string moduleRoot)
        : base(ContextName, isCollectible: false)
    {
        ModuleRoot = moduleRoot;
        DependencyRoot = Path.Combine(moduleRoot, DependencyFolder);
    }

    /// <summary>The module folder (SwarmPS.psd1, SwarmPS.dll, SwarmPS.Core.dll).</summary>
    public string ModuleRoot { get; }

    /// <summary>The folder of the isolated third-party assemblies.</summary>
    public string DependencyRoot { get; }

    /// <summary>
    /// Hooks the default context (once per module folder and process) and returns the path of the
    /// cmdlet assembly, which the module's .psm1 imports with <c>Import-Module</c>.
    /// </summary>
    public static string Initialize(string moduleRoot)
    {
        var root = Path.GetFullPath(moduleRoot);
        lock (Gate)
        {
            if (!Contexts.ContainsKey(root))
            {
                var context = new SwarmLoadContext(root);
                Default.Resolving += context.ResolveForDefault;
                Contexts[root] = context;
            }
        }
        return Path.Combine(root, ModuleAssemblyName + ".dll");
    }

    /// <summary>The private context created for <paramref name="moduleRoot"/>, if any.</summary>
    public static SwarmLoadContext? For(string moduleRoot)
    {
        lock (Gate) return Contexts.GetValueOrDefault(Path.GetFullPath(moduleRoot));
    }

    private Assembly? ResolveForDefault(AssemblyLoadContext defaultContext, AssemblyName name)
    {
        var simple = name.Name;
        if (string.IsNullOrEmpty(simple)) return null;
        // Our own assemblies live in the default context, so scripts and format files see their types.
        var own = Path.Combine(ModuleRoot, simple + ".dll");
        if (simple.StartsWith(ModuleAssemblyName, StringComparison.Ordinal) && File.Exists(own))
            return defaultContext.LoadFromAssemblyPath(own);
        // Third-party assemblies go to the private context.
        return File.Exists(Path.Combine(DependencyRoot, simple + ".dll")) ? LoadFromAssemblyName(name) : null;
    }

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        var name = assemblyName.Name;
        if (string.IsNullOrEmpty(name)) return null;
        var candidate = Path.Combine(DependencyRoot, name + ".dll");
        // Only what we ship is ours; the framework and SwarmPS's own assemblies come from the default context.
        return File.Exists(candidate) ? LoadFromAssemblyPath(candidate) : null;
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        foreach (var candidate in NativeCandidates(ModuleRoot, unmanagedDllName))
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
    public static IEnumerable<string> NativeCandidates(string moduleRoot, string name)
    {
        var dir = Path.Combine(moduleRoot, "runtimes", RuntimeId, "native");
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
