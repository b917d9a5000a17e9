using System.Diagnostics;
using Microsoft.Data.Sqlite;
using SwarmPS.Core.Agents;
using SwarmPS.Core.Processes;
using SwarmPS.Core.Providers;
using SwarmPS.Core.Registry;

namespace SwarmPS.Core.Tasks;

public sealed class SchedulerOptions
{
    public int MaxParallel { get; init; } = 4;
    /// <summary>
    /// The longest wait between checks when nothing happens. After a change the scheduler checks
    /// again within a few milliseconds and backs off (doubling) to this interval while idle, so
    /// short tasks are picked up fast and long ones cost almost nothing.
    /// </summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(100);
    /// <summary>Called on the scheduler's thread for each task that ends while it runs.</summary>
    public Action<SwarmTask>? OnTaskFinished { get; init; }
    public IProgress<SwarmProgress>? Progress { get; init; }
    /// <summary>Return when nothing is Queued, Blocked or Running. False: keep serving until cancelled.</summary>
    public bool ExitWhenDrained { get; init; } = true;
    /// <summary>
    /// Start the tasks' agents through one long-lived supervisor shell (<see cref="Processes.Detached.ShSharedSupervisor"/>,
    /// Linux) instead of one new supervisor process per agent. The files, the statuses and the
    /// agents' lives are the same either way; only the cost of a start differs.
    /// </summary>
    public bool SharedSupervisor { get; init; } = true;
}

/// <summary>Counts per status when the scheduler returns.</summary>
public sealed class QueueRunSummary
{
    public IReadOnlyDictionary<SwarmTaskStatus, int> Counts { get; init; } = new Dictionary<SwarmTaskStatus, int>();
    public int Dispatched { get; init; }
    public int Finished { get; init; }
    public TimeSpan Duration { get; init; }
    public bool Drained { get; init; }
}

/// <summary>
/// Dispatches ready tasks in priority order (oldest first within a priority), runs each task's
/// agent in its environment, and records every transition in the registry. One scheduler per
/// registry (a lease). A scheduler that dies is recovered by the next: running tasks whose agent
/// is alive are adopted; the others are retried or failed under their policy. Agents outlive the
/// scheduler (they are detached), so Ctrl+C stops dispatching but never kills running work.
/// </summary>
public sealed class QueueScheduler
{
    public const string LeaseName = "scheduler";
    private static readonly TimeSpan LeaseTtl = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MinDelay = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan LeaseRenewal = TimeSpan.FromSeconds(10);

    private readonly SwarmService _swarm;
    private readonly Dictionary<string, DateTime> _nextLivenessCheck = new(StringComparer.Ordinal);

    public QueueScheduler(SwarmService swarm) => _swarm = swarm;

    private SwarmRegistry Registry => _swarm.Registry;

    public async Task<QueueRunSummary> RunAsync(SchedulerOptions options, CancellationToken ct = default)
    {
        if (options.MaxParallel < 1)
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, "MaxParallel must be at least 1.");
        var holder = ProcessIdentity.Current();
        if (!Registry.TryAcquireLease(LeaseName, holder, LeaseTtl, out var other))
            throw new SwarmException(ErrorIds.SchedulerRunning, SwarmErrorKind.InvalidState,
                $"Another scheduler (process {other}) is running on this registry; only one may run at a time.") { Hint = Hints.StopScheduler };
        _useShared = options.SharedSupervisor;
        // One connection with kept statements for the whole run (each call still commits on its own).
        using var session = Registry.OpenSession();
        var control = new QueueControl(_swarm);
        control.ClearStopRequest();
        var sw = Stopwatch.StartNew();
        var lastRenew = DateTime.UtcNow;
        var idleDelay = TimeSpan.Zero;
        var lastEvent = LastEventId();
        var lastProgress = DateTime.MinValue;
        var lastHookEvent = lastEvent;
        await using var hooks = _swarm.Config.Webhooks.Count > 0 ? new Events.WebhookDispatcher(_swarm.Config.Webhooks) : null;
        int dispatched = 0, finished = 0, endedCount = 0;
        var drained = false;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                if (control.StopRequested) { control.ClearStopRequest(); break; }
                if (DateTime.UtcNow - lastRenew >= LeaseRenewal)
                {
                    if (!Registry.TryAcquireLease(LeaseName, holder, LeaseTtl, out other))
                        throw new SwarmException(ErrorIds.SchedulerRunning, SwarmErrorKind.InvalidState, $"Lost the scheduler lease to process {other}.");
                    lastRenew = DateTime.UtcNow;
                }
                // Wake-ups that arrived up to here are covered by this pass.
                while (_wake.CurrentCount > 0) _wake.Wait(0);
                // One pass: see which running agents ended and which tasks are ready for the slots
                // they free, prepare those tasks' agents, then record the ends and the claims in ONE
                // transaction; only after that commit is anything acted on (cleanup, retries, launches).
                var running = Registry.Read(RunningTasks);
                var (changed, ending) = await ObserveRunningAsync(running, ct).ConfigureAwait(false);
                if (MayReadyOthers(ending))
                {
                    // These ends may make other tasks ready (dependents, retries) that must compete for
                    // the slots in priority order: record them first, then look for ready tasks.
                    changed |= await AfterEndsAsync(Registry.Write(c => RecordEnds(c, ending)), ct).ConfigureAwait(false);
                    ending = new();
                }
                var slots = options.MaxParallel - RunningCount() + ending.Count(e => (e.Next ?? e.Agent).IsTerminal);
                var ready = slots > 0 && !ct.IsCancellationRequested ? Registry.Read(c => ReadyTasks(c, slots)) : Array.Empty<SwarmTask>();
                var plan = ready.Count > 0 ? await PrepareDispatchAsync(ready).ConfigureAwait(false) : null;
                var now = DateTimeOffset.UtcNow;
                var (ends, claimed) = ending.Count > 0 || plan is { Batch.Count: > 0 }
                    ? Registry.Write(c => (RecordEnds(c, ending), plan is null ? new() : Claim(c, plan.Batch, now)))
                    : (new(), new());
                changed |= await AfterEndsAsync(ends, ct).ConfigureAwait(false);
                if (plan is not null)
                {
                    var n = await LaunchAsync(plan, claimed, ct).ConfigureAwait(false);
                    dispatched += n;
                    changed |= n > 0;
                }

                // Report tasks that ended (here, by cancellation elsewhere, or by skipping), feed the
                // webhooks, see whether anything is left (and count per status when the progress is
                // due, at most every 100 ms: counting reads every task): one read.
                var progressDue = options.Progress is not null && DateTime.UtcNow - lastProgress >= ProgressInterval;
                var (ended, hookEvents, counts, anyOpen) = Registry.Read(c =>
                {
                    var list = new List<SwarmTask>();
                    foreach (var e in SwarmRegistry.ListEvents(c, afterId: lastEvent, kinds: TaskKind))
                    {
                        lastEvent = e.Id;
                        if (e.NewStatus is not (nameof(SwarmTaskStatus.Succeeded) or nameof(SwarmTaskStatus.Failed) or nameof(SwarmTaskStatus.Cancelled) or nameof(SwarmTaskStatus.Skipped))) continue;
                        // The finished task is read only for a consumer (the cmdlets write it to the pipeline).
                        if (options.OnTaskFinished is null) endedCount++;
                        else if (SwarmRegistry.GetTask(c, e.Subject) is { } done) list.Add(done);
                    }
                    var forHooks = hooks is null ? Array.Empty<SwarmEvent>() : SwarmRegistry.ListEvents(c, afterId: lastHookEvent);
                    var open = SwarmRegistry.AnyOpenTasks(c);
                    return (list, forHooks, progressDue || (!open && options.Progress is not null) ? Counts(c) : null, open);
                });
                finished += endedCount;
                endedCount = 0;
                foreach (var done in ended)
                {
                    finished++;
                    options.OnTaskFinished?.Invoke(done);
                }
                foreach (var e in hookEvents)
                {
                    lastHookEvent = e.Id;
                    hooks!.Enqueue(e);
                }

                if (counts is not null)
                {
                    lastProgress = DateTime.UtcNow;
                    options.Progress?.Report(new SwarmProgress("Running the task queue",
                        string.Join(", ", counts.Where(kv => kv.Value > 0).Select(kv => $"{kv.Key} {kv.Value}")),
                        PercentDone(counts)));
                }
                if (!anyOpen && options.ExitWhenDrained) { drained = true; break; }
                if (changed) idleDelay = TimeSpan.Zero;
                if (!changed)
                {
                    // Sleep until one of our supervisors ends (no polling for those) or the idle
                    // interval passes (tasks added, cancelled or adopted from elsewhere, liveness).
                    // When every running task's supervisor is ours, its end wakes us: no need to poll
                    // fast; otherwise back off (doubling) from a few milliseconds.
                    var allOurs = running.Count > 0 && running.All(r => r.Agent is { } a && IsOwn(a.Id));
                    idleDelay = allOurs ? options.PollInterval
                        : idleDelay == TimeSpan.Zero ? MinDelay : TimeSpan.FromTicks(Math.Min(idleDelay.Ticks * 2, options.PollInterval.Ticks));
                    try
                    {
                        // Never past the lease's renewal (a long poll interval must not let it expire).
                        var untilRenewal = lastRenew + LeaseRenewal - DateTime.UtcNow;
                        var wait = untilRenewal < idleDelay ? (untilRenewal > TimeSpan.Zero ? untilRenewal : TimeSpan.Zero) : idleDelay;
                        if (await _wake.WaitAsync(wait, ct).ConfigureAwait(false))
                        {
                            idleDelay = TimeSpan.Zero;
                            _wokenByExit++;
                        }
                    }
                    catch (OperationCanceledException) { break; }
                }
            }
        }
        finally
        {
            if (_shared is not null)
            {
                SupervisorProcessesStarted += _shared.SupervisorStarts;
                _shared.Dispose();
                _shared = null;
            }
            if (hooks is not null) await hooks.FlushAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            Registry.ReleaseLease(LeaseName, holder);
            options.Progress?.Report(new SwarmProgress("Running the task queue", drained ? "drained" : "stopped", 100, Completed: true));
        }
        return new QueueRunSummary { Counts = Counts(), Dispatched = dispatched, Finished = finished, Duration = sw.Elapsed, Drained = drained };
    }

    private static readonly string[] TaskKind = { EventKinds.Task };
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(100);

    private bool _useShared;

    /// <summary>Shared supervisor processes this scheduler started (tests read it: one per run unless one was killed).</summary>
    internal int SupervisorProcessesStarted { get; private set; }
    private Processes.Detached.ShSharedSupervisor? _shared;

    /// <summary>
    /// The launcher for batched agent starts: one shared supervisor shell per scheduler run where
    /// it works (Linux, the default launcher), else the agent service's own (one supervisor per agent).
    /// </summary>
    private Processes.Detached.IDetachedLauncher? BatchLauncher()
    {
        if (!_useShared || _swarm.Agents.Launcher is not Processes.Detached.ShDetachedLauncher sh) return null;
        return _shared ??= Processes.Detached.ShSharedSupervisor.TryCreate(Path.Combine(_swarm.Agents.AgentsRoot, "supervisor.log"), sh);
    }

    /// <summary>Released when a supervisor this scheduler started ends: the loop wakes without polling.</summary>
    private readonly SemaphoreSlim _wake = new(0);

    /// <summary>Supervisor exits seen through the launcher's process objects (tests read it).</summary>
    internal int ExitWakeups => Volatile.Read(ref _exitWakeups);
    private int _exitWakeups;

    /// <summary>Idle waits that a supervisor's exit ended (tests read it).</summary>
    internal int WokenByExit => _wokenByExit;
    private int _wokenByExit;

    /// <summary>Agents whose supervisor this scheduler started and that have not ended yet.</summary>
    private readonly HashSet<string> _own = new(StringComparer.Ordinal);

    private bool IsOwn(string agentId) { lock (_own) return _own.Contains(agentId); }

    private void WakeOnExit(string agentId, Processes.Detached.DetachedProcess? handle)
    {
        if (handle?.Exited is not { } exited) return;
        lock (_own) _own.Add(agentId);
        exited.ContinueWith(_ =>
        {
            lock (_own) _own.Remove(agentId);
            Interlocked.Increment(ref _exitWakeups);
            _wake.Release();
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>
    /// Tasks matching <paramref name="where"/> in dispatch order (priority, then age), at most
    /// <paramref name="limit"/> (-1: all), each read by id: the cost follows the rows returned, not the
    /// size of the queue (listing every task with every dependency edge on each loop made planning a
    /// large DAG quadratic).
    /// </summary>
    internal static IReadOnlyList<SwarmTask> TasksWhere(SqliteConnection c, string where, int limit = -1, params (string, object)[] args)
    {
        var ids = new List<string>();
        using (var cmd = c.CreateCommand())
        {
            cmd.CommandText = $"SELECT id FROM tasks WHERE {where} ORDER BY priority DESC, seq LIMIT $limit";
            cmd.Parameters.AddWithValue("$limit", limit);
            foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v);
            using var r = cmd.ExecuteReader();
            while (r.Read()) ids.Add(r.GetString(0));
        }
        var list = new List<SwarmTask>(ids.Count);
        foreach (var id in ids)
            if (SwarmRegistry.GetTask(c, id) is { } t) list.Add(t);
        return list;
    }

    /// <summary>
    /// The next <paramref name="slots"/> Queued tasks whose back-off has passed, in dispatch order
    /// (rows without their dependency lists: one statement).
    /// </summary>
    internal static IReadOnlyList<SwarmTask> ReadyTasks(SqliteConnection c, int slots) =>
        SwarmRegistry.TaskRowsWhere(c, "status = 'Queued' AND (not_before IS NULL OR not_before <= $now)", slots, ("$now", SwarmRegistry.Time(DateTimeOffset.UtcNow)));

    /// <summary>The Running tasks with their current agents: two statements, whatever their number.</summary>
    private static List<(SwarmTask Task, SwarmAgent? Agent)> RunningTasks(SqliteConnection c)
    {
        var tasks = SwarmRegistry.TaskRowsWhere(c, "status = 'Running'", -1);
        var agents = SwarmRegistry.GetAgents(c, tasks.Where(t => t.AgentIds.Count > 0).Select(t => t.AgentIds[^1]).ToList());
        return tasks.Select(t => (t, t.AgentIds.Count > 0 && agents.TryGetValue(t.AgentIds[^1], out var a) ? a : null)).ToList();
    }

    internal int RunningCount() => Registry.Read(c => Convert.ToInt32(SwarmRegistry.Scalar(c, "SELECT count(*) FROM tasks WHERE status = 'Running'"), System.Globalization.CultureInfo.InvariantCulture));

    private long LastEventId() => Registry.Read(c => Convert.ToInt64(SwarmRegistry.Scalar(c, "SELECT coalesce(max(id), 0) FROM events"), System.Globalization.CultureInfo.InvariantCulture));

    public Dictionary<SwarmTaskStatus, int> Counts() => Registry.Read(Counts);

    internal static Dictionary<SwarmTaskStatus, int> Counts(SqliteConnection c)
    {
        var d = Enum.GetValues<SwarmTaskStatus>().ToDictionary(s => s, _ => 0);
        using var cmd = c.Sql("SELECT status, count(*) FROM tasks GROUP BY status");
        using var r = cmd.ExecuteReader();
        while (r.Read()) if (Enum.TryParse<SwarmTaskStatus>(r.GetString(0), out var s)) d[s] = r.GetInt32(1);
        return d;
    }

    private static int PercentDone(Dictionary<SwarmTaskStatus, int> counts)
    {
        var total = counts.Values.Sum();
        if (total == 0) return 100;
        var open = counts[SwarmTaskStatus.Queued] + counts[SwarmTaskStatus.Blocked] + counts[SwarmTaskStatus.Running];
        return (total - open) * 100 / total;
    }

    // ------------------------------------------------------------------ dispatch

    /// <summary>
    /// Dispatch of the ready tasks (already in priority order), in three steps around the pass's
    /// transaction. Tasks whose environment exists take the batched path: their agents are prepared
    /// (<see cref="PrepareDispatchAsync"/>: ids, files, process plans, no registry rows); the pass's
    /// ONE transaction claims every task (<see cref="Claim"/>: compare-and-set from Queued, so a task
    /// cancelled a moment ago never starts) together with its agent row, run record and events, next
    /// to the ends the pass saw; only then are the agents launched (<see cref="LaunchAsync"/>), and a
    /// read finds any cancelled meanwhile (a launcher that knows its supervisor's pid records it in a
    /// write instead). Each transition is committed before it is acted on; a crash after the commit
    /// leaves Starting agents, which the next scheduler finds (the supervisor's status line (its pid,
    /// then its exit code), or Lost after <see cref="AgentService.LaunchGrace"/>) and retries or fails
    /// under the task's policy. Tasks that need a new environment (or whose start cannot be prepared)
    /// go one by one through <see cref="DispatchOneAsync"/>.
    /// </summary>
    private sealed record DispatchPlan(List<(SwarmTask Task, AgentService.PreparedStart Start)> Batch, List<SwarmTask> Single);

    /// <summary>Prepares the ready tasks' agents (files, process plans; no registry rows), in parallel.</summary>
    private async Task<DispatchPlan> PrepareDispatchAsync(IReadOnlyList<SwarmTask> ready)
    {
        // Preparing writes each agent's directory and files: on a busy disk that is most of a
        // start's cost, so the tasks are prepared in parallel (the order of the claims below stays
        // the dispatch order).
        var prepared = await Task.WhenAll(ready.Select(t => Task.Run(() => TryPrepare(t), CancellationToken.None))).ConfigureAwait(false);
        var batch = new List<(SwarmTask Task, AgentService.PreparedStart Start)>();
        var single = new List<SwarmTask>();
        for (var i = 0; i < ready.Count; i++)
        {
            if (prepared[i] is { } p) batch.Add((ready[i], p));
            else single.Add(ready[i]); // the one-by-one path creates the environment or records the failure under the task's policy
        }
        return new DispatchPlan(batch, single);
    }

    /// <summary>
    /// True when recording these ends can make tasks ready (a failure that may be retried, a task
    /// others depend on): then the ends go first, so the ready tasks compete in priority order.
    /// </summary>
    private bool MayReadyOthers(List<(SwarmTask Task, SwarmAgent Agent, SwarmAgent? Next)> ending)
    {
        var ends = ending.Where(e => (e.Next ?? e.Agent).IsTerminal).ToList();
        if (ends.Count == 0) return false;
        if (ends.Any(e => (e.Next ?? e.Agent).Status != AgentStatus.Succeeded)) return true;
        return Registry.Read(c => SwarmRegistry.AnyDependents(c, ends.Select(e => e.Task.Id)));
    }

    /// <summary>Inside the pass's transaction: claims each prepared task (compare-and-set from Queued) with its agent row and run.</summary>
    private List<(SwarmTask Task, AgentService.PreparedStart Start)> Claim(SqliteConnection c, List<(SwarmTask Task, AgentService.PreparedStart Start)> batch, DateTimeOffset now)
    {
        var list = new List<(SwarmTask Task, AgentService.PreparedStart Start)>();
        foreach (var (t, p) in batch)
        {
            var running = t with
            {
                Status = SwarmTaskStatus.Running, Attempts = t.Attempts + 1, StartedAt = t.StartedAt ?? now, NotBefore = null,
                AgentIds = t.AgentIds.Append(p.Agent.Id).ToList(),
            };
            if (!Registry.UpdateTask(c, running, SwarmTaskStatus.Queued, $"attempt {running.Attempts}, agent {p.Agent.Id}")) continue;
            AgentService.RecordPrepared(c, p);
            list.Add((running, p));
        }
        return list;
    }

    /// <summary>
    /// After the claims are committed: launches the claimed agents, records what the launch learnt,
    /// stops those cancelled meanwhile, and dispatches the one-by-one tasks. Returns how many were dispatched.
    /// </summary>
    private async Task<int> LaunchAsync(DispatchPlan plan, List<(SwarmTask Task, AgentService.PreparedStart Start)> claimed, CancellationToken ct)
    {
        var batch = plan.Batch;
        // The one-by-one path needs the dependency list (a new environment may start from a dependency's branch).
        var singles = plan.Single.Select(t => DispatchOneAsync(Registry.GetTask(t.Id) ?? t, ct)).ToList();
        var n = 0;
        if (batch.Count > 0)
        {
            foreach (var (_, p) in batch.Where(b => !claimed.Any(x => ReferenceEquals(x.Start, b.Start))))
                AgentService.DiscardPrepared(p);

            // A shared supervisor takes a start as one line on its stdin: in order, on this thread, and
            // the batch in one write. Per-agent supervisors are process starts: in parallel.
            var via = claimed.Count > 0 ? BatchLauncher() : null;
            if (via is Processes.Detached.ShSharedSupervisor shared)
            {
                try
                {
                    using (shared.Batch()) foreach (var x in claimed) _swarm.Agents.Launch(x.Start, via);
                }
                catch (Exception ex) when (ex is IOException or SwarmException)
                {
                    // The batch never reached a supervisor (none could be started): none of these started.
                    foreach (var x in claimed.Where(x => x.Start.LaunchError is null && x.Start.Handle?.NamedByStatus == true))
                        x.Start.LaunchError = ex;
                }
            }
            else await Task.WhenAll(claimed.Select(x => Task.Run(() => _swarm.Agents.Launch(x.Start, via), CancellationToken.None))).ConfigureAwait(false);
            foreach (var (_, p) in claimed) WakeOnExit(p.Agent.Id, p.Handle);
            // Record what the launch learnt (a supervisor's identity, a failure) and find the tasks
            // cancelled meanwhile. A shared supervisor's subshells name themselves in their status
            // lines, so for those there is nothing to record: a read finds the races.
            var needsWrite = claimed.Any(x => x.Start.LaunchError is not null || x.Start.Supervisor is not null);
            var raced = needsWrite
                ? Registry.Write(c =>
                {
                    var lost = new List<AgentService.PreparedStart>();
                    foreach (var (t, p) in claimed)
                    {
                        var recorded = AgentService.RecordLaunched(c, p);
                        var current = SwarmRegistry.GetTask(c, t.Id);
                        if (p.LaunchError is null && (!recorded || current is not { Status: SwarmTaskStatus.Running } || current.AgentIds.Count == 0 || current.AgentIds[^1] != p.Agent.Id))
                            lost.Add(p);
                    }
                    return lost;
                })
                : Registry.Read(c => Cancelled(c, claimed));
            // Cancelled (or stopped) between the claim and the launch: the agent must not run.
            foreach (var p in raced) await _swarm.Agents.KillLaunchedAsync(p).ConfigureAwait(false);
            foreach (var (t, p) in claimed)
            {
                if (p.LaunchError is { } ex)
                {
                    var current = Registry.GetTask(t.Id);
                    if (current is { Status: SwarmTaskStatus.Running }) await AttemptFailedAsync(current, $"could not start: agent {p.Agent.Id} on '{p.Agent.Ticket}' could not start: {ex.Message}", ct).ConfigureAwait(false);
                }
            }
            n += claimed.Count;
        }
        n += (await Task.WhenAll(singles).ConfigureAwait(false)).Count(x => x);
        return n;
    }

    /// <summary>
    /// The launched starts whose task is no longer Running or whose agent is no longer Starting
    /// (cancelled or stopped between the claim and the launch): one statement for the whole batch.
    /// Only this scheduler (the lease holder) claims tasks, so a task still Running is still ours.
    /// </summary>
    internal static List<AgentService.PreparedStart> Cancelled(SqliteConnection c, IReadOnlyList<(SwarmTask Task, AgentService.PreparedStart Start)> claimed)
    {
        var stale = SwarmRegistry.NoLongerRunningOrStarting(c, claimed.Select(x => x.Task.Id), claimed.Select(x => x.Start.Agent.Id));
        return claimed.Where(x => x.Start.LaunchError is null && (stale.Contains(x.Task.Id) || stale.Contains(x.Start.Agent.Id))).Select(x => x.Start).ToList();
    }

    /// <summary>The task's agent start prepared, or null when it must take the one-by-one path.</summary>
    private AgentService.PreparedStart? TryPrepare(SwarmTask t)
    {
        var ticket = t.Ticket ?? t.EnvironmentTicket;
        if (ticket is null || Registry.GetEnvironment(ticket) is not { Status: EnvironmentStatus.Running } env) return null;
        try
        {
            return _swarm.Agents.PrepareStart(new AgentStartRequest { Ticket = ticket, Profile = t.Profile, Prompt = t.Prompt, Command = t.Command, WaitForRunning = false, CommandKeptByTask = true, KnownEnvironment = env });
        }
        catch (Exception ex) when (ex is SwarmException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Dispatches one task: creates its environment when needed, then starts its agent (one step per transaction).</summary>
    private async Task<bool> DispatchOneAsync(SwarmTask t, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow;
        var running = t with { Status = SwarmTaskStatus.Running, Attempts = t.Attempts + 1, StartedAt = t.StartedAt ?? now, NotBefore = null };
        // Compare-and-set from Queued: a task cancelled a moment ago is no longer Queued and never starts.
        if (!Registry.UpdateTask(running, SwarmTaskStatus.Queued, $"attempt {running.Attempts}")) return false;
        try
        {
            var ticket = t.Ticket ?? t.EnvironmentTicket ?? t.Id;
            if (t.Ticket is null && Registry.GetEnvironment(ticket) is null)
            {
                await _swarm.NewEnvironmentAsync(new NewEnvironmentRequest
                {
                    Ticket = ticket, Provider = t.Provider, RepositoryPath = t.RepositoryPath, BaseRef = t.Base ?? DependencyBranch(t),
                    Spec = $"# {t.Title}\n\n{t.Prompt}\n",
                }, null, ct).ConfigureAwait(false);
            }
            if (t.Ticket is null && t.EnvironmentTicket is null)
            {
                running = running with { EnvironmentTicket = ticket };
                Registry.UpdateTask(running, SwarmTaskStatus.Running);
            }
            var agent = await _swarm.Agents.StartAsync(new AgentStartRequest
            {
                Ticket = ticket, Profile = t.Profile, Prompt = t.Prompt, Command = t.Command, WaitForRunning = false,
            }, ct).ConfigureAwait(false);
            var withAgent = running with { AgentIds = running.AgentIds.Append(agent.Id).ToList() };
            if (!Registry.UpdateTask(withAgent, SwarmTaskStatus.Running))
            {
                // Cancelled while we were starting it: the agent must not run.
                await _swarm.Agents.StopAsync(agent.Id, CancellationToken.None).ConfigureAwait(false);
                Registry.Write(c =>
                {
                    var cur = SwarmRegistry.GetTask(c, t.Id);
                    if (cur is not null && !cur.AgentIds.Contains(agent.Id))
                        Registry.UpdateTask(c, cur with { AgentIds = cur.AgentIds.Append(agent.Id).ToList() }, cur.Status);
                    return 0;
                });
            }
            return true;
        }
        catch (Exception ex) when (ct.IsCancellationRequested && ex is OperationCanceledException or SwarmException { Kind: SwarmErrorKind.Cancelled })
        {
            // Ctrl+C while starting it: give the claim back, this attempt does not count.
            var current = Registry.GetTask(t.Id);
            if (current is { Status: SwarmTaskStatus.Running } && current.AgentIds.Count == t.AgentIds.Count)
                Registry.UpdateTask(current with { Status = SwarmTaskStatus.Queued, Attempts = t.Attempts }, SwarmTaskStatus.Running, "dispatch interrupted");
            return false;
        }
        catch (SwarmException ex)
        {
            var current = Registry.GetTask(t.Id);
            if (current is { Status: SwarmTaskStatus.Running }) await AttemptFailedAsync(current, $"could not start: {ex.Message}", ct).ConfigureAwait(false);
            return true;
        }
    }

    /// <summary>
    /// A task without its own base that depends on tasks which ran in environments of their own
    /// builds on their work: its environment starts from the first such dependency's branch
    /// (<c>swarm/&lt;ticket&gt;</c>; its committed work — cleanup keeps branches).
    /// </summary>
    private string? DependencyBranch(SwarmTask t)
    {
        foreach (var d in t.DependsOn)
        {
            var dep = Registry.GetTask(d);
            if (dep?.EnvironmentTicket is { } ticket && dep.Status == SwarmTaskStatus.Succeeded && string.IsNullOrEmpty(t.Provider) == string.IsNullOrEmpty(dep.Provider))
                return Providers.Worktree.WorktreeProvider.BranchPrefix + ticket;
        }
        return null;
    }

    // ------------------------------------------------------------------ running tasks

    /// <summary>
    /// Checks the running tasks' agents and returns the changes seen (ends, and agents now known to
    /// run), to be recorded by <see cref="RecordEnds"/> in the pass's ONE transaction: for each, the
    /// agent's final state (compare-and-set), its run record, the task's completion and its
    /// dependents' propagation, with their events. Nothing is acted on (cleanup, retry, launches)
    /// before that commit. Timeouts and agents gone from the registry are handled here directly.
    /// </summary>
    private async Task<(bool Changed, List<(SwarmTask Task, SwarmAgent Agent, SwarmAgent? Next)> Ending)> ObserveRunningAsync(
        IReadOnlyList<(SwarmTask Task, SwarmAgent? Agent)> running, CancellationToken ct)
    {
        var changed = false;
        var ending = new List<(SwarmTask Task, SwarmAgent Agent, SwarmAgent? Next)>();
        foreach (var (t, agent) in running)
        {
            if (ct.IsCancellationRequested) break;
            if (t.AgentIds.Count == 0)
            {
                // Running without an agent: the scheduler died between claiming the task and starting
                // its agent on the one-by-one path (or is doing so right now in this process).
                if (DateTimeOffset.UtcNow - t.UpdatedAt < TimeSpan.FromSeconds(30)) continue;
                await AttemptFailedAsync(t, "the scheduler stopped before the agent started", ct).ConfigureAwait(false);
                changed = true;
                continue;
            }
            if (agent is null)
            {
                await AttemptFailedAsync(t, $"agent {t.AgentIds[^1]} is gone from the registry", ct).ConfigureAwait(false);
                changed = true;
                continue;
            }
            bool mayHaveEnded; mayHaveEnded = agent.IsTerminal || Processes.Detached.DetachedProcess.ExitRecorded(agent.RunDirectory(agent.Run));
            if (!mayHaveEnded)
            {
                // Liveness of the supervisor costs a process lookup; do it about once a second per task.
                // The first one a second after the task was first seen running: most tasks of a busy
                // queue end before that (their exit line says so), and a start is not checked twice.
                if (!_nextLivenessCheck.TryGetValue(t.Id, out var next)) _nextLivenessCheck[t.Id] = DateTime.UtcNow.AddSeconds(1);
                else if (DateTime.UtcNow >= next)
                {
                    _nextLivenessCheck[t.Id] = DateTime.UtcNow.AddSeconds(1);
                    mayHaveEnded = AgentService.MayHaveEnded(agent);
                }
            }
            if (t.TimeoutSeconds is { } timeout && DateTimeOffset.UtcNow - LastAttemptStart(t, agent, t.StartedAt ?? agent.CreatedAt) > TimeSpan.FromSeconds(timeout) && !agent.IsTerminal)
            {
                await _swarm.Agents.StopAsync(agent.Id, ct).ConfigureAwait(false);
                await AttemptFailedAsync(t, $"timed out after {timeout}s (agent {agent.Id} stopped)", ct).ConfigureAwait(false);
                changed = true;
                continue;
            }
            if (!mayHaveEnded) continue;
            SwarmAgent? observed; observed = _swarm.Agents.ObserveChange(agent);
            if (agent.IsTerminal || observed is not null) ending.Add((t, agent, observed));
        }
        return (changed, ending);
    }

    /// <summary>
    /// Inside the pass's transaction: for each end seen, the agent's final state (compare-and-set),
    /// its run record, the task's completion and its dependents' propagation, with their events.
    /// </summary>
    private List<(SwarmTask Task, SwarmAgent Final, bool Completed)> RecordEnds(SqliteConnection c, List<(SwarmTask Task, SwarmAgent Agent, SwarmAgent? Next)> ending)
    {
        var list = new List<(SwarmTask Task, SwarmAgent Final, bool Completed)>();
        foreach (var (t, agent, next) in ending)
        {
            var final = agent;
            if (next is not null)
                final = _swarm.Agents.RecordObserved(c, agent, next) ? next : SwarmRegistry.GetAgent(c, agent.Id) ?? agent;
            if (!final.IsTerminal) { list.Add((t, final, false)); continue; }
            if (final.Status != AgentStatus.Succeeded) { list.Add((t, final, false)); continue; }
            // A task served by this one agent costs what the agent cost (no need to read it back).
            var cost = t.AgentIds is [var only] && only == final.Id ? final.CostUsd : TotalCost(c, t);
            var done = t with { Status = SwarmTaskStatus.Succeeded, Result = final.Result, CostUsd = cost, EndedAt = DateTimeOffset.UtcNow, Error = null };
            if (!Registry.UpdateTask(c, done, SwarmTaskStatus.Running, $"agent {agent.Id}")) { list.Add((t, final, false)); continue; }
            TaskTransitions.PropagateEnd(c, Registry, done);
            list.Add((done, final, true));
        }
        return list;
    }

    /// <summary>After the ends are committed: cleanup of finished tasks' environments, retries or failures. True when something changed.</summary>
    private async Task<bool> AfterEndsAsync(List<(SwarmTask Task, SwarmAgent Final, bool Completed)> outcome, CancellationToken ct)
    {
        var changed = false;
        foreach (var (t, final, completed) in outcome)
        {
            changed = true;
            if (!final.IsTerminal) continue;
            _nextLivenessCheck.Remove(t.Id);
            if (completed) await CleanupAsync(t, succeeded: true, ct).ConfigureAwait(false);
            else if (final.Status != AgentStatus.Succeeded)
                await AttemptFailedAsync(t, $"agent {final.Id} {final.Status.ToString().ToLowerInvariant()}: {final.Error}", ct).ConfigureAwait(false);
        }
        return changed;
    }

    private static DateTimeOffset LastAttemptStart(SwarmTask t, SwarmAgent agent, DateTimeOffset fallback) => agent.StartedAt ?? agent.CreatedAt;

    private decimal? TotalCost(SwarmTask t) => Registry.Read(c => TotalCost(c, t));

    private static decimal? TotalCost(SqliteConnection c, SwarmTask t)
    {
        decimal? sum = null;
        foreach (var id in t.AgentIds)
            if (SwarmRegistry.GetAgent(c, id)?.CostUsd is { } cost) sum = (sum ?? 0) + cost;
        return sum;
    }

    /// <summary>Retries with exponential back-off while attempts remain; otherwise fails for good and skips dependents.</summary>
    private async Task AttemptFailedAsync(SwarmTask t, string reason, CancellationToken ct)
    {
        var current = Registry.GetTask(t.Id);
        if (current is null || current.Status != SwarmTaskStatus.Running) return; // cancelled meanwhile
        if (current.Attempts < current.MaxAttempts)
        {
            var delay = TimeSpan.FromSeconds(current.RetryBackoffSeconds * Math.Pow(2, Math.Max(0, current.Attempts - 1)));
            var retry = current with { Status = SwarmTaskStatus.Queued, NotBefore = DateTimeOffset.UtcNow + delay, Error = reason, CostUsd = TotalCost(current) };
            Registry.UpdateTask(retry, SwarmTaskStatus.Running, $"retry in {delay.TotalSeconds:0}s: {reason}");
            return;
        }
        var failed = current with { Status = SwarmTaskStatus.Failed, Error = reason, EndedAt = DateTimeOffset.UtcNow, CostUsd = TotalCost(current) };
        var ok = Registry.Write(c =>
        {
            if (!Registry.UpdateTask(c, failed, SwarmTaskStatus.Running, SwarmRegistry.Truncate(reason, 500))) return false;
            TaskTransitions.PropagateEnd(c, Registry, failed);
            return true;
        });
        if (ok) await CleanupAsync(failed, succeeded: false, ct).ConfigureAwait(false);
    }

    /// <summary>Removes a per-task environment when the policy says so. The branch is kept, so committed work survives.</summary>
    private async Task CleanupAsync(SwarmTask t, bool succeeded, CancellationToken ct)
    {
        if (t.EnvironmentTicket is null || t.Ticket is not null) return;
        var remove = t.Cleanup switch
        {
            EnvironmentCleanup.Remove => true,
            EnvironmentCleanup.KeepOnFailure => succeeded,
            _ => false,
        };
        if (!remove || Registry.GetEnvironment(t.EnvironmentTicket) is null) return;
        try
        {
            await _swarm.RemoveEnvironmentAsync(t.EnvironmentTicket, new RemoveOptions { Force = true, KeepBranch = true }, null, ct).ConfigureAwait(false);
        }
        catch (SwarmException ex)
        {
            Registry.AppendEvent(EventKinds.Task, t.Id, t.Status.ToString(), t.Status.ToString(), $"cleanup of {t.EnvironmentTicket} failed: {ex.Message}");
        }
    }
}
