using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;

namespace SwarmPS.Core.Processes.Detached;

/// <summary>
/// Linux: ONE long-lived <c>/bin/sh</c> supervises many detached commands, for a caller that starts
/// many short ones (the queue scheduler). It writes exactly the files a
/// <see cref="ShDetachedLauncher"/> supervisor writes (<c>status</c>, <c>stdout.log</c>,
/// <c>stderr.log</c>), so every reader (<see cref="DetachedProcess"/>, Get-SwarmAgent in another
/// session, crash recovery) sees no difference; what changes is the cost of a start. A start is one
/// line written to the supervisor's stdin instead of a process start from .NET: no exec of a new
/// shell per command, no .NET process object, no runtime-wide process-start lock.
/// </summary>
/// <remarks>
/// <para>
/// For each request the supervisor forks a subshell (a fork of a ~1 MB dash, no exec) that sets the
/// command's variables and directory, moves its stdio to the log files, starts the command in the
/// background, writes "<c>childpid subshellpid</c>" into the fresh <c>status</c> file, waits, appends
/// the exit code, and then tells the caller on the supervisor's stdout ("<c>subshellpid dir</c>").
/// The caller answers "<c>w subshellpid</c>", and the supervisor reaps that subshell: no zombies and
/// no growing job table however long it runs. The subshell is the command's supervisor in every
/// sense the readers use (its pid is in the status line; when it is gone without an exit code the
/// agent is Lost), which is why this needs <c>/proc/self/stat</c> to learn its own pid without a
/// process start (dash has no <c>$BASHPID</c>): Linux only; elsewhere the caller keeps the
/// per-command <see cref="ShDetachedLauncher"/>.
/// </para>
/// <para>
/// Agents outlive the caller as before: when the caller exits (or dies), the supervisor reads EOF
/// and ends, and the running subshells carry on as orphans, record their exit codes and are reaped
/// by init. SIGHUP and SIGINT are ignored (inherited by the commands, as with the per-command
/// supervisor), so Ctrl+C in the terminal that runs the caller stops no agent.
/// </para>
/// <para>
/// No shell strings from user text: the script is a constant. A request is the word list
/// <c>dir stdin cwd nvars NAME=VALUE... nunset NAME... argv...</c>, every word single-quoted by
/// <see cref="Quote"/> (a quote becomes <c>'\''</c>, a newline <c>'"$_swarm_nl"'</c>, so a request is
/// one line), and the subshell only ever evaluates <c>set -- &lt;those words&gt;</c>. The pipe is
/// private to the caller. A command whose variable names are not shell names, or whose request
/// would be larger than <see cref="MaxRequestBytes"/>, goes through the per-command launcher.
/// </para>
/// </remarks>
public sealed class ShSharedSupervisor : IDetachedLauncher, IDisposable
{
    // $1: the supervisor's own error log (appended).
    public const string Script = """
        exec 3>&1 >/dev/null 2>>"$1"
        trap '' HUP INT
        _swarm_nl='
        '
        while IFS= read -r _swarm_req; do
          case $_swarm_req in
          'w '*) wait "${_swarm_req#w }" ;;
          'r '*) (
              exec </dev/null
              eval "set -- ${_swarm_req#r }"
              _swarm_dir=$1 _swarm_in=$2 _swarm_cwd=$3 _swarm_n=$4
              shift 4
              while [ "$_swarm_n" -gt 0 ]; do export "$1"; shift; _swarm_n=$((_swarm_n - 1)); done
              _swarm_n=$1
              shift
              while [ "$_swarm_n" -gt 0 ]; do unset "$1"; shift; _swarm_n=$((_swarm_n - 1)); done
              exec >"$_swarm_dir/stdout.log" 2>"$_swarm_dir/stderr.log"
              read -r _swarm_self _swarm_rest </proc/self/stat
              if [ -z "$_swarm_cwd" ] || cd "$_swarm_cwd"; then
                "$@" <"$_swarm_in" 3>&- &
                _swarm_child=$!
                echo "$_swarm_child $_swarm_self" >"$_swarm_dir/status"
                wait "$_swarm_child"
                echo "$?" >>"$_swarm_dir/status"
              else
                echo "0 $_swarm_self" >"$_swarm_dir/status"
                echo 126 >>"$_swarm_dir/status"
              fi
              echo "$_swarm_self $_swarm_dir" >&3
            ) & ;;
          esac
        done
        """;

    /// <summary>Requests larger than this (a huge prompt passed as an argument) take the per-command launcher: dash reads its stdin a byte at a time.</summary>
    public const int MaxRequestBytes = 64 * 1024;

    private readonly string _shell;
    private readonly string _errorLog;
    private readonly IDetachedLauncher _fallback;
    private readonly object _gate = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _pending = new(StringComparer.Ordinal);
    private Process? _process;
    private Stream? _stdin;
    private bool _disposed;
    private int _starts;

    private ShSharedSupervisor(string shell, string errorLog, IDetachedLauncher fallback)
    {
        _shell = shell;
        _errorLog = errorLog;
        _fallback = fallback;
    }

    /// <summary>True where the supervisor can work: Linux (it reads <c>/proc/self/stat</c>) with <c>/bin/sh</c>.</summary>
    public static bool IsSupported => OperatingSystem.IsLinux() && File.Exists("/proc/self/stat") && File.Exists("/bin/sh");

    /// <summary>
    /// A supervisor (its process starts with the first command), or null where it is not supported.
    /// <paramref name="errorLog"/> receives the supervisor's own messages; <paramref name="fallback"/>
    /// starts what it cannot (default: a per-command <see cref="ShDetachedLauncher"/>).
    /// </summary>
    public static ShSharedSupervisor? TryCreate(string errorLog, IDetachedLauncher? fallback = null, string shell = "/bin/sh") =>
        IsSupported ? new ShSharedSupervisor(shell, errorLog, fallback ?? new ShDetachedLauncher()) : null;

    /// <summary>How many supervisor processes this object started (1 unless one died and was replaced).</summary>
    public int SupervisorStarts => Volatile.Read(ref _starts);

    /// <summary>The current supervisor's pid, or null before the first command (tests read it).</summary>
    public int? SupervisorPid { get { lock (_gate) return _process is { HasExited: false } p ? p.Id : null; } }

    public DetachedProcess Start(DetachedProcessSpec spec)
    {
        var dir = Path.GetFullPath(spec.StateDirectory);
        var request = BuildRequest(spec, dir);
        if (request is null) return _fallback.Start(spec);
        if (!spec.FreshDirectory) DetachedLauncher.PrepareStateDirectory(dir);
        ProcessRunner.Log.Value?.ProcessStarting(new ProcessSpec(spec.FileName, spec.Arguments) { WorkingDirectory = spec.WorkingDirectory });
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[dir] = done;
        try
        {
            Send(request, retry: true);
        }
        catch
        {
            _pending.TryRemove(dir, out _);
            throw;
        }
        return new DetachedProcess(dir) { Exited = done.Task, NamedByStatus = true };
    }

    /// <summary>The request line ("r " + quoted words + newline), or null when this command must take the per-command launcher.</summary>
    internal static byte[]? BuildRequest(DetachedProcessSpec spec, string dir)
    {
        var sets = new List<string>();
        var unsets = new List<string>();
        foreach (var (k, v) in spec.Environment)
        {
            if (!IsShellName(k)) return null;
            if (v is null) unsets.Add(k);
            else sets.Add(k + "=" + v);
        }
        var cwd = spec.WorkingDirectory is null ? "" : Path.GetFullPath(spec.WorkingDirectory);
        var words = new List<string> { dir, spec.StandardInputFile ?? "/dev/null", cwd, sets.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        words.AddRange(sets);
        words.Add(unsets.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        words.AddRange(unsets);
        words.Add(spec.FileName);
        words.AddRange(spec.Arguments);
        var sb = new StringBuilder("r");
        foreach (var w in words)
        {
            if (w.Contains('\0')) return null;
            sb.Append(' ').Append(Quote(w));
        }
        sb.Append('\n');
        var bytes = new UTF8Encoding(false).GetBytes(sb.ToString());
        return bytes.Length > MaxRequestBytes ? null : bytes;
    }

    /// <summary>One shell word that stands for <paramref name="s"/> exactly, on one line.</summary>
    internal static string Quote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal).Replace("\n", "'\"$_swarm_nl\"'", StringComparison.Ordinal) + "'";

    private static bool IsShellName(string name)
    {
        if (name.Length == 0 || !(char.IsAsciiLetter(name[0]) || name[0] == '_')) return false;
        foreach (var c in name) if (!(char.IsAsciiLetterOrDigit(c) || c == '_')) return false;
        return true;
    }

    /// <summary>
    /// Holds the starts made until the returned object is disposed and hands them to the supervisor
    /// in one write (one wake-up of the shell instead of one per start).
    /// </summary>
    public IDisposable Batch()
    {
        lock (_gate) _batchDepth++;
        return new BatchScope(this);
    }

    private sealed class BatchScope(ShSharedSupervisor owner) : IDisposable
    {
        private int _done;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0) owner.EndBatch();
        }
    }

    private int _batchDepth;
    private readonly MemoryStream _outbox = new();
    private readonly List<string> _reaps = new();
    private Timer? _reapTimer;

    private void EndBatch()
    {
        lock (_gate)
        {
            if (--_batchDepth > 0 || _disposed) return;
            Flush(retry: true);
        }
    }

    private void Send(byte[] line, bool retry)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _outbox.Write(line);
            if (_batchDepth == 0) Flush(retry);
        }
    }

    /// <summary>Writes what is pending (reaps first, then starts) in one write. Under <see cref="_gate"/>.</summary>
    private void Flush(bool retry)
    {
        if (_reaps.Count > 0)
        {
            var reaps = Encoding.ASCII.GetBytes(string.Concat(_reaps.Select(pid => "w " + pid + "\n")));
            _reaps.Clear();
            var starts = _outbox.ToArray();
            _outbox.SetLength(0);
            _outbox.Write(reaps);
            _outbox.Write(starts);
        }
        if (_outbox.Length == 0) return;
        var bytes = _outbox.ToArray();
        _outbox.SetLength(0);
        try
        {
            EnsureRunning();
            _stdin!.Write(bytes);
            _stdin.Flush();
        }
        catch (IOException) when (retry)
        {
            // The supervisor died (killed from outside): a new one takes over. The old one's
            // subshells carry on and still report on the pipe they hold, which nobody reads
            // any more: their status files are the record, and the scheduler polls those. (A
            // reap meant for the old one is a harmless no-op for the new one: not its child.)
            Abandon();
            EnsureRunning();
            _stdin!.Write(bytes);
            _stdin.Flush();
        }
    }

    /// <summary>
    /// A subshell reported: reap it with the next write, or within <see cref="ReapDelay"/> when no
    /// start comes (a reap costs the shell a wake-up; most ride along with the next start).
    /// </summary>
    private void QueueReap(string pid, int generation)
    {
        lock (_gate)
        {
            // A subshell of a supervisor that was replaced is not the current one's child: init reaps it.
            if (_disposed || generation != _starts) return;
            _reaps.Add(pid);
            _reapTimer ??= new Timer(_ =>
            {
                lock (_gate)
                {
                    if (_disposed || _reaps.Count == 0 || _batchDepth > 0) return;
                    try { Flush(retry: false); }
                    catch (Exception ex) when (ex is IOException or ObjectDisposedException or SwarmException) { _reaps.Clear(); }
                }
            });
            _reapTimer.Change(ReapDelay, Timeout.InfiniteTimeSpan);
        }
    }

    internal static readonly TimeSpan ReapDelay = TimeSpan.FromMilliseconds(20);

    private void EnsureRunning()
    {
        // A supervisor that died is noticed by the write that fails (EPIPE), not by asking the
        // runtime about the process on every write.
        if (_process is not null) return;
        // Its own messages (a shell error, never expected) go to a log only the user can read.
        if (OperatingSystem.IsLinux() && !File.Exists(_errorLog))
        {
            try
            {
                using (new FileStream(_errorLog, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite })) { }
            }
            catch (IOException) { /* created meanwhile, or not creatable: the shell reports the latter itself */ }
        }
        var psi = new ProcessStartInfo(_shell)
        {
            UseShellExecute = false, CreateNoWindow = true, RedirectStandardInput = true, RedirectStandardOutput = true,
            StandardOutputEncoding = new UTF8Encoding(false),
        };
        foreach (var a in new[] { "-c", Script, "swarmps-supervisor", _errorLog }) psi.ArgumentList.Add(a);
        Process p;
        try
        {
            p = Process.Start(psi) ?? throw new InvalidOperationException($"{_shell} did not start.");
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new SwarmException(ErrorIds.ProcessFailed, SwarmErrorKind.Unavailable, $"Could not start {_shell}: {ex.Message}", _shell, ex);
        }
        var generation = Interlocked.Increment(ref _starts);
        _process = p;
        _stdin = p.StandardInput.BaseStream;
        var reader = p.StandardOutput;
        _ = Task.Run(() => ReadNotificationsAsync(reader, generation));
    }

    private async Task ReadNotificationsAsync(StreamReader reader, int generation)
    {
        try
        {
            while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                var space = line.IndexOf(' ');
                if (space <= 0) continue;
                var pid = line[..space];
                if (_pending.TryRemove(line[(space + 1)..], out var done)) done.TrySetResult();
                QueueReap(pid, generation);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException) { }
    }

    /// <summary>Lets the current supervisor go (it reads EOF and ends; its subshells carry on).</summary>
    private Task? Abandon()
    {
        try { _stdin?.Dispose(); } catch (IOException) { }
        _stdin = null;
        var ended = _process is { } p ? ShDetachedLauncher.HoldUntilExit(p) : null;
        _process = null;
        return ended;
    }

    /// <summary>
    /// Closes the supervisor's stdin: it ends, and the commands still running carry on on their own
    /// (their exits are recorded in their status files). Waiters on <see cref="DetachedProcess.Exited"/>
    /// of those commands are not completed.
    /// </summary>
    public void Dispose()
    {
        Task? ended;
        lock (_gate)
        {
            if (_disposed) return;
            // Reap what has reported, then let the supervisor go.
            try { Flush(retry: false); }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or SwarmException) { }
            _disposed = true;
            _reapTimer?.Dispose();
            ended = Abandon();
        }
        // It ends at once (EOF on its stdin); waiting a moment lets the runtime reap it now.
        ended?.Wait(TimeSpan.FromSeconds(2));
    }
}
