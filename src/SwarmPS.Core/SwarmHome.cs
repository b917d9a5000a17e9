using System.Runtime.InteropServices;

namespace SwarmPS.Core;

/// <summary>
/// Where SwarmPS keeps its state: <c>SWARMPS_HOME</c> if set, otherwise <c>~/.swarmps</c> on
/// Linux/macOS and <c>%LOCALAPPDATA%\SwarmPS</c> on Windows. Directories are created 0700 on Unix.
/// </summary>
public sealed class SwarmHome
{
    public const string EnvironmentVariable = "SWARMPS_HOME";

    public SwarmHome(string path)
    {
        if (string.IsNullOrWhiteSpace(path))
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, "The SwarmPS home directory must not be empty.");
        Path = System.IO.Path.GetFullPath(path);
    }

    public string Path { get; }
    public string RegistryPath => System.IO.Path.Combine(Path, "registry.db");
    public string ConfigPath => System.IO.Path.Combine(Path, "config.json");
    public string LogsPath => System.IO.Path.Combine(Path, "logs");
    public string DefaultWorktreeRoot => System.IO.Path.Combine(Path, "worktrees");

    /// <summary>Resolves the home from an explicit override, then SWARMPS_HOME, then the platform default.</summary>
    public static SwarmHome Resolve(string? overridePath = null)
    {
        if (!string.IsNullOrWhiteSpace(overridePath)) return new SwarmHome(overridePath);
        var env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(env)) return new SwarmHome(env);
        if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
        {
            var local = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
            return new SwarmHome(System.IO.Path.Combine(local, "SwarmPS"));
        }
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return new SwarmHome(System.IO.Path.Combine(home, ".swarmps"));
    }

    /// <summary>Creates the home (0700 on Unix) and returns it.</summary>
    public SwarmHome EnsureCreated()
    {
        EnsurePrivateDirectory(Path);
        return this;
    }

    /// <summary>Creates a directory that only the current user can read (0700 on Unix).</summary>
    public static void EnsurePrivateDirectory(string dir)
    {
        if (!OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            // CreateDirectory applies the mode only to directories it creates; tighten an existing one too.
            var mode = File.GetUnixFileMode(dir);
            const UnixFileMode want = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
            if (mode != want) File.SetUnixFileMode(dir, want);
        }
        else
        {
            Directory.CreateDirectory(dir);
        }
    }

    /// <summary>Sets a file to 0600 on Unix (no-op on Windows, where %LOCALAPPDATA% is per-user).</summary>
    public static void MakeFilePrivate(string file)
    {
        if (!OperatingSystem.IsWindows() && File.Exists(file))
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }
}
