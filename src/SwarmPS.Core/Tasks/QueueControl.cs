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
    /// <summary>Where a detached scheduler writes its output.</summary>
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

    public SwarmQueueStatus Status()
    {
        var holder = _swarm.Registry.LeaseHolder(QueueScheduler.LeaseName);
        return new SwarmQueueStatus
        {
            Running = holder is not null, Holder = holder,
            ProcessId = holder is not null && int.TryParse(holder.Split('@')[0], out var pid) ? pid : null,
            LogDirectory = Path.Combine(StateDirectory, "scheduler"),
            Counts = new QueueScheduler(_swarm).Counts(),
        };
    }

    /// <summary>
    /// Starts <paramref name="fileName"/> <paramref name="arguments"/> (a scheduler command line) detached
    /// and waits until it holds the scheduler lease. Refuses when a scheduler already runs.
    /// </summary>
    public async Task<SwarmQueueStatus> StartDetachedAsync(string fileName, IReadOnlyList<string> arguments, TimeSpan? wait = null, CancellationToken ct = default)
    {
        if (Status() is { Running: true } s)
            throw new SwarmException(ErrorIds.SchedulerRunning, SwarmErrorKind.InvalidState, $"A scheduler is already running (process {s.Holder}).");
        SwarmHome.EnsurePrivateDirectory(StateDirectory);
        if (File.Exists(StopFile)) File.Delete(StopFile);
        var dir = Path.Combine(StateDirectory, "scheduler");
        var handle = DetachedLauncher.ForCurrentPlatform().Start(new DetachedProcessSpec(fileName, arguments, dir)
        {
            Environment = new Dictionary<string, string?> { [SwarmHome.EnvironmentVariable] = _swarm.Home.Path },
        });
        var deadline = DateTime.UtcNow + (wait ?? TimeSpan.FromSeconds(30));
        while (DateTime.UtcNow < deadline)
        {
            if (Status() is { Running: true } started) return started;
            if (handle.HasExited)
            {
                var err = File.Exists(handle.StderrFile) ? File.ReadAllText(handle.StderrFile).Trim() : "";
                throw new SwarmException(ErrorIds.ProcessFailed, SwarmErrorKind.OperationFailed,
                    $"The detached scheduler exited with {handle.ExitCode} before it started serving: {err} (logs: {dir})");
            }
            await Task.Delay(50, ct).ConfigureAwait(false);
        }
        throw new SwarmException(ErrorIds.Timeout, SwarmErrorKind.OperationFailed, $"The detached scheduler did not start serving in time (logs: {dir}).");
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
