using System.Globalization;

namespace SwarmPS.Core.Processes.Detached;

/// <summary>
/// What to run as a detached helper process. Like <see cref="ProcessSpec"/> it is an argument
/// list, never a shell string: the launchers hand the arguments to the shell as data.
/// </summary>
public sealed class DetachedProcessSpec
{
    public DetachedProcessSpec(string fileName, IEnumerable<string> arguments, string stateDirectory)
    {
        FileName = fileName;
        Arguments = arguments.ToList();
        StateDirectory = stateDirectory;
    }

    public string FileName { get; }
    public IReadOnlyList<string> Arguments { get; }
    /// <summary>Where the helper records its pid, exit code and output (created 0700 on Unix).</summary>
    public string StateDirectory { get; }
    public string? WorkingDirectory { get; init; }
    /// <summary>A file the command reads as its standard input; null for an empty stdin.</summary>
    public string? StandardInputFile { get; init; }
    /// <summary>Variables to set (or, with a null value, remove) for the command.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();
}

/// <summary>
/// The files a detached helper writes, and the reading of them. Everything a later process (a new
/// pwsh session, the CLI, repair) needs to find out what happened lives in the state directory:
/// <list type="bullet">
/// <item><c>pid</c>: the supervisor's process id (written by the launcher before Start returns);</item>
/// <item><c>child.pid</c> (Unix): the command's own process id, to stop it;</item>
/// <item><c>stdout.log</c>, <c>stderr.log</c>: the command's output;</item>
/// <item><c>exit</c>: the command's exit code, written atomically (rename) when it ends.</item>
/// </list>
/// </summary>
public sealed class DetachedProcess
{
    public const string PidFileName = "pid";
    public const string ChildPidFileName = "child.pid";
    public const string ExitFileName = "exit";
    public const string StdoutFileName = "stdout.log";
    public const string StderrFileName = "stderr.log";

    public DetachedProcess(string stateDirectory) => StateDirectory = Path.GetFullPath(stateDirectory);

    public string StateDirectory { get; }
    public string PidFile => Path.Combine(StateDirectory, PidFileName);
    public string ChildPidFile => Path.Combine(StateDirectory, ChildPidFileName);
    public string ExitFile => Path.Combine(StateDirectory, ExitFileName);
    public string StdoutFile => Path.Combine(StateDirectory, StdoutFileName);
    public string StderrFile => Path.Combine(StateDirectory, StderrFileName);

    /// <summary>The supervisor's pid, or null if it was never recorded.</summary>
    public int? Pid => ReadInt(PidFile, requireNewline: false);

    /// <summary>The command's own pid (Unix), or null.</summary>
    public int? ChildPid => ReadInt(ChildPidFile, requireNewline: true);

    /// <summary>The exit code once the command has ended; null while it runs (or if the supervisor was killed).</summary>
    public int? ExitCode => ReadInt(ExitFile, requireNewline: true);

    /// <summary>
    /// Completes when the supervisor ends, for a helper started by this process (the launcher keeps
    /// its process object); null when this object was made from the state directory alone. The exit
    /// file is written before the supervisor ends, so a waiter can read it right away. Lets a caller
    /// wait for many helpers without polling their files.
    /// </summary>
    public Task? Exited { get; init; }

    /// <summary>The supervisor's pid as the launcher got it from the process start (no file read); null otherwise.</summary>
    public int? StartedPid { get; init; }

    public bool HasExited => ExitCode is not null;

    /// <summary>Waits (polling the files, so it works from any process) until the exit code is recorded.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout, CancellationToken ct = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (ExitCode is { } code) return code;
            if (DateTime.UtcNow >= deadline)
                throw new SwarmException(ErrorIds.ProcessFailed, SwarmErrorKind.OperationFailed,
                    $"The detached process in {StateDirectory} did not finish within {timeout.TotalSeconds:0}s.", StateDirectory);
            await Task.Delay(50, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Reads a small integer file. <paramref name="requireNewline"/>: the supervisors write
    /// <c>child.pid</c> and <c>exit</c> as one line with one write(2) into a fresh file, so a value
    /// without its newline is not complete yet (null).
    /// </summary>
    private static int? ReadInt(string file, bool requireNewline)
    {
        try
        {
            var raw = File.ReadAllText(file);
            if (requireNewline && !raw.EndsWith('\n')) return null;
            var text = raw.Trim();
            return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}

/// <summary>
/// The seam "start a detached, light helper process". Later issues run each agent through it: the
/// agent's supervisor must survive the pwsh session (and Ctrl+C, and a closed terminal) and cost
/// far less than the 10 MB per agent budget, so it is the system shell (sh on Unix, cmd.exe on
/// Windows; about 1-4 MB), never a pwsh or .NET process, and it needs no .NET runtime of its own.
/// </summary>
public interface IDetachedLauncher
{
    /// <summary>Starts the command detached and returns once its pid is recorded.</summary>
    DetachedProcess Start(DetachedProcessSpec spec);
}

public static class DetachedLauncher
{
    public static IDetachedLauncher ForCurrentPlatform() => OperatingSystem.IsWindows() ? new CmdDetachedLauncher() : new ShDetachedLauncher();

    internal static void PrepareStateDirectory(string dir)
    {
        SwarmHome.EnsurePrivateDirectory(dir);
        foreach (var f in new[] { DetachedProcess.PidFileName, DetachedProcess.ChildPidFileName, DetachedProcess.ExitFileName, DetachedProcess.StdoutFileName, DetachedProcess.StderrFileName })
        {
            var path = Path.Combine(dir, f);
            if (File.Exists(path)) File.Delete(path);
        }
    }
}
