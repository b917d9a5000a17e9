using SwarmPS.Core.Processes;
using SwarmPS.Core.Processes.Detached;

namespace SwarmPS.Core.Tasks;

/// <summary>Whether a scheduler is serving the registry, and which process.</summary>
public sealed class SwarmQueueStatus
{
    public bool Running { get; init; }
    /// <summary>pid@start of the scheduler process, when running.</summary>
    public string? Holder { get; init; }
    public int? ProcessId { get; init; }
    /// <summary>The state folder of the latest detached start (its stdout.log, stderr.log, status); queue/scheduler before any.</summary>
    public string? LogDirectory { get; init; }
    public IReadOnlyDictionary<SwarmTaskStatus, int> Counts { get; init; } = new Dictionary<SwarmTaskStatus, int>();
}

/// <summary>
/// Runs the scheduler detached (for runbooks: Start-SwarmQueue / swarmps queue start) and stops it
/// (Stop-SwarmQueue / swarmps queue stop). The detached scheduler is an ordinary
/// <c>swarmps queue run</c> or <c>pwsh -Command Invoke-SwarmQueue</c> process started through the
/// detached-process seam; the lease in the registry says which one runs, and a stop request is a
/// file the scheduler checks on every loop, so it stops between dispatches and running agents are
/// never killed by it.
/// </summary>
public sealed class QueueControl
{
    public const string StopFileName = "stop-requested";
    private readonly SwarmService _swarm;

    public QueueControl(SwarmService swarm) => _swarm = swarm;

    public string StateDirectory => Path.Combine(_swarm.Home.Path, "queue");
    public string StopFile => Path.Combine(StateDirectory, StopFileName);

    /// <summary>
    /// Where detached schedulers keep their state: one folder per start (<c>&lt;start-id&gt;/</c> with the
    /// supervisor's <c>status</c>, <c>stdout.log</c>, <c>stderr.log</c>), and <c>current</c> naming the
    /// folder of the latest start that served (or failed by itself).
    /// </summary>
    public string SchedulersDirectory => Path.Combine(StateDirectory, "scheduler");
    private string CurrentFile => Path.Combine(SchedulersDirectory, CurrentFileName);
    public const string CurrentFileName = "current";

    public SwarmQueueStatus Status()
    {
        var holder = _swarm.Registry.LeaseHolder(QueueScheduler.LeaseName);
        return new SwarmQueueStatus
        {
            Running = holder is not null, Holder = holder,
            ProcessId = PidOf(holder),
            LogDirectory = CurrentDirectory() ?? SchedulersDirectory,
            Counts = new QueueScheduler(_swarm).Counts(),
        };
    }

    private static int? PidOf(string? identity) =>
        identity is not null && int.TryParse(identity.Split('@')[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var pid) ? pid : null;

    /// <summary>The state folder <c>current</c> names, or null (no detached start yet, or a damaged pointer).</summary>
    private string? CurrentDirectory()
    {
        string id;
        try { id = File.ReadAllText(CurrentFile).Trim(); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
        if (!IsStartId(id)) return null;
        var dir = Path.Combine(SchedulersDirectory, id);
        return Directory.Exists(dir) ? dir : null;
    }

    /// <summary>A start id: UTC time to the millisecond plus 8 random hex digits (sortable, unique per start).</summary>
    private static string NewStartId() =>
        DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmssfff'Z'", System.Globalization.CultureInfo.InvariantCulture) + "-" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();

    private static bool IsStartId(string name) =>
        name.Length == 28 && name[8] == 'T' && name[18] == 'Z' && name[19] == '-' &&
        name.AsSpan(0, 8).IndexOfAnyExceptInRange('0', '9') < 0 && name.AsSpan(9, 9).IndexOfAnyExceptInRange('0', '9') < 0 &&
        name.AsSpan(20).IndexOfAnyExcept("0123456789abcdef") < 0;

    /// <summary>
    /// Starts <paramref name="fileName"/> <paramref name="arguments"/> (a scheduler command line) detached
    /// and waits until that very process holds the scheduler lease. Refuses (SchedulerRunning) when a
    /// scheduler already runs, also when another one took the lease first while this one started (this
    /// one then ends by itself: a scheduler without the lease refuses to run).
    /// </summary>
    /// <remarks>
    /// Each start gets its own state folder, so the supervisor shell of a scheduler that is still ending
    /// (it released the lease a moment ago) can never write its exit line into the new scheduler's
    /// <c>status</c>; and success means the lease holder is the process this start launched (the
    /// command pid in its own <c>status</c>), never just "some scheduler runs". A start that gives up
    /// (timeout, cancellation) ends the process it launched if that one does not hold the lease, so no
    /// failed start leaves a scheduler behind. Folders of earlier starts whose supervisor has ended are
    /// deleted; the latest one (<c>current</c>) stays for its logs.
    /// </remarks>
    public async Task<SwarmQueueStatus> StartDetachedAsync(string fileName, IReadOnlyList<string> arguments, TimeSpan? wait = null, CancellationToken ct = default)
    {
        if (Status() is { Running: true } s)
            throw new SwarmException(ErrorIds.SchedulerRunning, SwarmErrorKind.InvalidState, $"A scheduler is already running (process {s.Holder}).");
        SwarmHome.EnsurePrivateDirectory(StateDirectory);
        SwarmHome.EnsurePrivateDirectory(SchedulersDirectory);
        if (File.Exists(StopFile)) File.Delete(StopFile);
        CleanEndedStarts();
        var id = NewStartId();
        var dir = Path.Combine(SchedulersDirectory, id);
        // In the unit of ProcessIdentity's start (seconds since 0001-01-01 UTC).
        var launchedAt = DateTime.UtcNow.Ticks / TimeSpan.TicksPerSecond;
        var handle = DetachedLauncher.ForCurrentPlatform().Start(new DetachedProcessSpec(fileName, arguments, dir)
        {
            Environment = new Dictionary<string, string?> { [SwarmHome.EnvironmentVariable] = _swarm.Home.Path },
        });
        var deadline = DateTime.UtcNow + (wait ?? TimeSpan.FromSeconds(30));
        var settled = false;
        try
        {
            while (true)
            {
                var holder = _swarm.Registry.LeaseHolder(QueueScheduler.LeaseName);
                if (holder is not null && IsLaunched(holder, handle, launchedAt))
                {
                    settled = true;
                    PointCurrentAt(id);
                    return Status();
                }
                if (handle.HasExited)
                {
                    // Ours ended: it lost the lease to a scheduler that started meanwhile, or it failed.
                    settled = true;
                    if (_swarm.Registry.LeaseHolder(QueueScheduler.LeaseName) is { } other)
                        throw new SwarmException(ErrorIds.SchedulerRunning, SwarmErrorKind.InvalidState,
                            $"Another scheduler (process {other}) started serving first; the one this start launched has ended (logs: {dir}).");
                    PointCurrentAt(id);
                    // Exit 0: it served and ended already (a queue that drained at once); without the
                    // lease a scheduler exits with an error.
                    if (handle.ExitCode == 0) return Status();
                    var err = File.Exists(handle.StderrFile) ? File.ReadAllText(handle.StderrFile).Trim() : "";
                    throw new SwarmException(ErrorIds.ProcessFailed, SwarmErrorKind.OperationFailed,
                        $"The detached scheduler exited with {handle.ExitCode} before it started serving: {err} (logs: {dir})");
                }
                if (DateTime.UtcNow >= deadline)
                    throw new SwarmException(ErrorIds.Timeout, SwarmErrorKind.OperationFailed, $"The detached scheduler did not start serving in time (logs: {dir}).");
                await Task.Delay(50, ct).ConfigureAwait(false);
            }
        }
        finally
        {
            // Given up (timeout, cancellation): end what this start launched unless it serves by now.
            if (!settled) EndUnlessServing(handle, launchedAt);
        }
    }

    /// <summary>
    /// True when <paramref name="holder"/> is the scheduler this start launched: on Unix the command pid
    /// its supervisor wrote into its own status file. The Windows supervisor records no command pid;
    /// there a holder that started after the launch counts (no scheduler ran before it).
    /// </summary>
    private static bool IsLaunched(string holder, DetachedProcess handle, long launchedAtSeconds)
    {
        if (handle.ChildPid is { } child) return PidOf(holder) == child;
        if (!OperatingSystem.IsWindows()) return false;
        var at = holder.Split('@');
        return at.Length == 2 && long.TryParse(at[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var started)
            && started >= launchedAtSeconds - ProcessIdentity.StartToleranceSeconds;
    }

    private void EndUnlessServing(DetachedProcess handle, long launchedAt)
    {
        var holder = _swarm.Registry.LeaseHolder(QueueScheduler.LeaseName);
        if (holder is not null && IsLaunched(holder, handle, launchedAt)) return;
        // The supervisor names the command in its status right after starting it: give it a moment.
        var named = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (handle.ChildPid is null && !handle.HasExited && handle.Exited is { IsCompleted: false } && DateTime.UtcNow < named) Thread.Sleep(20);
        if (handle.ChildPid is not { } child || handle.HasExited) return;
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(child);
            p.Kill();
        }
        catch (ArgumentException) { }
        catch (InvalidOperationException) { }
        catch (System.ComponentModel.Win32Exception) { }
    }

    /// <summary>
    /// Names <paramref name="id"/> in <c>current</c> (written to a temporary file, then renamed over it,
    /// so a reader sees the old or the new name, never a part). Best effort: it only points at logs.
    /// </summary>
    private void PointCurrentAt(string id)
    {
        var tmp = Path.Combine(SchedulersDirectory, $"{CurrentFileName}.{id}.tmp");
        try
        {
            File.WriteAllText(tmp, id + "\n");
            File.Move(tmp, CurrentFile, overwrite: true);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>
    /// Deletes the state folders of earlier starts whose supervisor has ended (its exit line is written,
    /// or its recorded pid is gone), except the one <c>current</c> names; and the files an older version
    /// kept directly in the scheduler folder, once their supervisor has ended. A folder without a status
    /// yet (a start under way in another process) is kept. Best effort: a file in use stays for later.
    /// </summary>
    private void CleanEndedStarts()
    {
        var current = CurrentDirectory();
        try
        {
            foreach (var dir in Directory.EnumerateDirectories(SchedulersDirectory))
            {
                if (!IsStartId(Path.GetFileName(dir)) || string.Equals(dir, current, StringComparison.Ordinal)) continue;
                if (!SupervisorEnded(new DetachedProcess(dir))) continue;
                try { Directory.Delete(dir, recursive: true); }
                catch (IOException) { }
                catch (UnauthorizedAccessException) { }
            }
            var legacy = new DetachedProcess(SchedulersDirectory);
            if (SupervisorEnded(legacy))
                foreach (var f in new[] { legacy.StatusFile, legacy.StdoutFile, legacy.StderrFile, legacy.PidFile, legacy.ChildPidFile, legacy.ExitFile, Path.Combine(SchedulersDirectory, "supervise.cmd") })
                    try { File.Delete(f); }
                    catch (IOException) { }
                    catch (UnauthorizedAccessException) { }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static bool SupervisorEnded(DetachedProcess state)
    {
        if (state.ExitCode is not null) return true;
        if (state.Pid is not { } pid) return false;
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(pid);
            return p.HasExited;
        }
        catch (ArgumentException) { return true; }
        catch (InvalidOperationException) { return true; }
    }

    /// <summary>Asks the running scheduler to stop and waits until it has. Returns false when none was running.</summary>
    public async Task<bool> StopAsync(TimeSpan? wait = null, CancellationToken ct = default)
    {
        if (!Status().Running) return false;
        SwarmHome.EnsurePrivateDirectory(StateDirectory);
        await File.WriteAllTextAsync(StopFile, ProcessIdentity.Current(), ct).ConfigureAwait(false);
        var deadline = DateTime.UtcNow + (wait ?? TimeSpan.FromSeconds(60));
        while (DateTime.UtcNow < deadline)
        {
            if (!Status().Running) return true;
            await Task.Delay(50, ct).ConfigureAwait(false);
        }
        throw new SwarmException(ErrorIds.Timeout, SwarmErrorKind.OperationFailed, "The scheduler did not stop in time; it stops between dispatches.");
    }

    internal bool StopRequested => File.Exists(StopFile);

    internal void ClearStopRequest()
    {
        try { if (File.Exists(StopFile)) File.Delete(StopFile); } catch (IOException) { }
    }
}
