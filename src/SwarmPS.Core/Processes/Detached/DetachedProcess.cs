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
    /// <summary>The caller has just created <see cref="StateDirectory"/>: there are no files of an earlier run to clear.</summary>
    public bool FreshDirectory { get; init; }
    /// <summary>Variables to set (or, with a null value, remove) for the command.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();
}

/// <summary>
/// The files a detached helper writes, and the reading of them. Everything a later process (a new
/// pwsh session, the CLI, repair) needs to find out what happened lives in the state directory:
/// <list type="bullet">
/// <item><c>status</c> (Unix): written by the supervisor itself, one line at a time. First line
/// "<c>childpid supervisorpid</c>" once the command is started, then a second line with the
/// command's exit code when it ends. A line counts only once its newline is there;</item>
/// <item><c>stdout.log</c>, <c>stderr.log</c>: the command's output;</item>
/// <item>Windows (and state directories written before <c>status</c> existed): <c>pid</c> (the
/// supervisor, written by the launcher), <c>child.pid</c>, and <c>exit</c> (written atomically).</item>
/// </list>
/// </summary>
public sealed class DetachedProcess
{
    public const string PidFileName = "pid";
    public const string ChildPidFileName = "child.pid";
    public const string ExitFileName = "exit";
    public const string StdoutFileName = "stdout.log";
    public const string StderrFileName = "stderr.log";
    public const string StatusFileName = "status";

    public DetachedProcess(string stateDirectory) => StateDirectory = Path.GetFullPath(stateDirectory);

    public string StateDirectory { get; }
    public string PidFile => Path.Combine(StateDirectory, PidFileName);
    public string ChildPidFile => Path.Combine(StateDirectory, ChildPidFileName);
    public string ExitFile => Path.Combine(StateDirectory, ExitFileName);
    public string StdoutFile => Path.Combine(StateDirectory, StdoutFileName);
    public string StderrFile => Path.Combine(StateDirectory, StderrFileName);
    public string StatusFile => Path.Combine(StateDirectory, StatusFileName);

    /// <summary>
    /// The supervisor's pid: as the launcher got it when this object came from the start, otherwise
    /// from the status file (the supervisor writes it together with the command's pid, right after
    /// starting the command) or the launcher's <c>pid</c> file (Windows, older state directories);
    /// null if not recorded (yet).
    /// </summary>
    public int? Pid => StartedPid ?? (ReadStatus() is { } st ? st.Supervisor : ReadInt(PidFile, requireNewline: false));

    /// <summary>The command's own pid (Unix), or null.</summary>
    public int? ChildPid => ReadStatus() is { } st ? st.Child : ReadInt(ChildPidFile, requireNewline: true);

    /// <summary>The exit code once the command has ended; null while it runs (or if the supervisor was killed).</summary>
    public int? ExitCode => ReadStatus() is { } st ? st.Exit : ReadInt(ExitFile, requireNewline: true);

    /// <summary>When the exit code was written (the file's last write), or null while there is none.</summary>
    public DateTime? ExitedAtUtc
    {
        get
        {
            if (ExitCode is null) return null;
            var file = File.Exists(StatusFile) ? StatusFile : ExitFile;
            return File.GetLastWriteTimeUtc(file);
        }
    }

    /// <summary>
    /// Cheap check for pollers: true once an exit code is recorded in <paramref name="stateDirectory"/>
    /// (one small read; the status file exists while the command runs, so its existence says nothing).
    /// </summary>
    public static bool ExitRecorded(string stateDirectory)
    {
        var dp = new DetachedProcess(stateDirectory);
        return dp.ReadStatus() is { } st ? st.Exit is not null : File.Exists(dp.ExitFile);
    }

    private readonly record struct Status(int? Child, int? Supervisor, int? Exit);

    /// <summary>
    /// The status file, or null when there is none (a Windows helper, an older state directory).
    /// Only complete lines (ending in a newline) count: the supervisor writes each line with one
    /// write(2), the first into a fresh file, the second appended.
    /// </summary>
    private Status? ReadStatus()
    {
        // Read with one open/read/close into a stack buffer: pollers call this for every running
        // agent on every pass, so no reader objects, no text decoding.
        Span<byte> buf = stackalloc byte[128];
        int n;
        try
        {
            using var handle = File.OpenHandle(StatusFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            n = RandomAccess.Read(handle, buf, 0);
        }
        catch (FileNotFoundException) { return null; }
        catch (DirectoryNotFoundException) { return null; }
        catch (IOException) { return new Status(null, null, null); }
        catch (UnauthorizedAccessException) { return new Status(null, null, null); }
        var raw = buf[..n];
        var first = raw.IndexOf((byte)'\n');
        if (first < 0) return new Status(null, null, null);
        var ids = raw[..first];
        int? child = null, supervisor = null;
        var space = ids.IndexOf((byte)' ');
        if (space > 0)
        {
            child = ParseLine(ids[..space]);
            supervisor = ParseLine(ids[(space + 1)..]);
        }
        var rest = raw[(first + 1)..];
        var second = rest.IndexOf((byte)'\n');
        var exit = second >= 0 ? ParseLine(rest[..second]) : null;
        return new Status(child, supervisor, exit);
    }

    /// <summary>A decimal integer (optionally negative) between optional blanks; null otherwise.</summary>
    private static int? ParseLine(ReadOnlySpan<byte> text)
    {
        text = text.Trim((byte)' ').Trim((byte)'\r');
        var negative = text.Length > 0 && text[0] == (byte)'-';
        if (negative) text = text[1..];
        if (text.Length is 0 or > 10) return null;
        long v = 0;
        foreach (var c in text)
        {
            if (c is < (byte)'0' or > (byte)'9') return null;
            v = v * 10 + (c - '0');
        }
        v = negative ? -v : v;
        return v is >= int.MinValue and <= int.MaxValue ? (int)v : null;
    }

    /// <summary>
    /// Completes when the supervisor ends, for a helper started by this process (the launcher keeps
    /// its process object); null when this object was made from the state directory alone. The exit
    /// file is written before the supervisor ends, so a waiter can read it right away. Lets a caller
    /// wait for many helpers without polling their files.
    /// </summary>
    public Task? Exited { get; init; }

    /// <summary>The supervisor's pid as the launcher got it from the process start (no file read); null otherwise.</summary>
    public int? StartedPid { get; init; }

    /// <summary>
    /// True when the supervisor names itself only in the status line, a moment after the start (a
    /// <see cref="ShSharedSupervisor"/> subshell): the launcher has no pid to record.
    /// </summary>
    public bool NamedByStatus { get; init; }

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
    /// <summary>
    /// Starts the command detached and returns once the supervisor runs (its pid in
    /// <see cref="DetachedProcess.StartedPid"/>); the files name it shortly after (the supervisor's
    /// status line on Unix, the launcher's pid file on Windows).
    /// </summary>
    DetachedProcess Start(DetachedProcessSpec spec);
}

public static class DetachedLauncher
{
    public static IDetachedLauncher ForCurrentPlatform() => OperatingSystem.IsWindows() ? new CmdDetachedLauncher() : new ShDetachedLauncher();

    internal static void PrepareStateDirectory(string dir)
    {
        SwarmHome.EnsurePrivateDirectory(dir);
        foreach (var f in new[] { DetachedProcess.PidFileName, DetachedProcess.ChildPidFileName, DetachedProcess.ExitFileName, DetachedProcess.StatusFileName, DetachedProcess.StdoutFileName, DetachedProcess.StderrFileName })
        {
            var path = Path.Combine(dir, f);
            if (File.Exists(path)) File.Delete(path);
        }
    }
}
