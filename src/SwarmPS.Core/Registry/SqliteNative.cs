using System.Reflection;
using System.Runtime.InteropServices;

namespace SwarmPS.Core.Registry;

/// <summary>
/// Finds the native SQLite library (e_sqlite3). In a normal .NET app the .deps.json tells the host
/// where it is; inside pwsh a module has no .deps.json, so we resolve it ourselves from
/// <c>runtimes/&lt;rid&gt;/native/</c> next to this assembly (win-x64, linux-x64, linux-arm64,
/// osx-x64, osx-arm64 are shipped in the module).
/// </summary>
public static class SqliteNative
{
    private static readonly object Gate = new();
    private static bool _initialized;

    /// <summary>The path the native library was loaded from by our resolver, if it was needed.</summary>
    public static string? ResolvedPath { get; private set; }

    public static void EnsureInitialized()
    {
        lock (Gate)
        {
            if (_initialized) return;
            var provider = typeof(SQLitePCL.SQLite3Provider_e_sqlite3).Assembly;
            try
            {
                NativeLibrary.SetDllImportResolver(provider, Resolve);
            }
            catch (InvalidOperationException)
            {
                // A resolver is already set (another copy of us in the same load context). Keep it.
            }
            SQLitePCL.Batteries_V2.Init();
            _initialized = true;
        }
    }

    /// <summary>The runtime identifier we look for under runtimes/.</summary>
    public static string RuntimeId
    {
        get
        {
            var os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
            var arch = RuntimeInformation.ProcessArchitecture switch
            {
                Architecture.X64 => "x64",
                Architecture.Arm64 => "arm64",
                Architecture.X86 => "x86",
                Architecture.Arm => "arm",
                var a => a.ToString().ToLowerInvariant(),
            };
            return $"{os}-{arch}";
        }
    }

    public static string NativeFileName => OperatingSystem.IsWindows() ? "e_sqlite3.dll" : OperatingSystem.IsMacOS() ? "libe_sqlite3.dylib" : "libe_sqlite3.so";

    /// <summary>Candidate paths for the native library next to <paramref name="assemblyDir"/>.</summary>
    public static IEnumerable<string> Candidates(string assemblyDir)
    {
        yield return Path.Combine(assemblyDir, "runtimes", RuntimeId, "native", NativeFileName);
        yield return Path.Combine(assemblyDir, NativeFileName);
        if (OperatingSystem.IsLinux())
            yield return Path.Combine(assemblyDir, "runtimes", "linux-musl-" + RuntimeId.Split('-')[1], "native", NativeFileName);
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (!name.Contains("e_sqlite3", StringComparison.Ordinal)) return IntPtr.Zero;
        // Look next to our own assembly first: inside pwsh that is the module folder.
        var dir = Path.GetDirectoryName(typeof(SqliteNative).Assembly.Location);
        if (!string.IsNullOrEmpty(dir))
        {
            foreach (var candidate in Candidates(dir))
            {
                if (File.Exists(candidate) && NativeLibrary.TryLoad(candidate, out var handle))
                {
                    ResolvedPath = candidate;
                    return handle;
                }
            }
        }
        // Fall back to the host's normal probing (.deps.json in apps and tests).
        return NativeLibrary.TryLoad(name, assembly, searchPath, out var h) ? h : IntPtr.Zero;
    }
}
