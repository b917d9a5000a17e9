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
                $"Another scheduler (process {other}) is running on this registry; only one may run at a time. Stop it with Stop-SwarmQueue / 'swarmps queue stop'.");
        var control = new QueueControl(_swarm);
        control.ClearStopRequest();
        var sw = Stopwatch.StartNew();
        var lastRenew = DateTime.UtcNow;
        var idleDelay = TimeSpan.Zero;
        var lastEvent = LastEventId();
        var lastHookEvent = lastEvent;
        await using var hooks = _swarm.Config.Webhooks.Count > 0 ? new Events.WebhookDispatcher(_swarm.Config.Webhooks) : null;
        int dispatched = 0, finished = 0;
        var drained = false;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                if (control.StopRequested) { control.ClearStopRequest(); break; }
                if (DateTime.UtcNow - lastRenew > TimeSpan.FromSeconds(10))
                {
                    if (!Registry.TryAcquireLease(LeaseName, holder, LeaseTtl, out other))
                        throw new SwarmException(ErrorIds.SchedulerRunning, SwarmErrorKind.InvalidState, $"Lost the scheduler lease to process {other}.");
                    lastRenew = DateTime.UtcNow;
                }
                var changed = false;
                var running = Registry.Read(c => TasksWhere(c, "status = 'Running'"));
                foreach (var t in running)
                {
                    if (ct.IsCancellationRequested) break;
                    changed |= await CheckRunningAsync(t, CancellationToken.None).ConfigureAwait(false);
                }

                var slots = options.MaxParallel - RunningCount();
                if (slots > 0)
                {
                    var ready = Registry.Read(c => ReadyTasks(c, slots));
                    // Claimed in priority order (each claim is a compare-and-set), started together:
                    // one slow environment create or agent start does not hold back the others.
                    var starts = await Task.WhenAll(ready.Select(t => ct.IsCancellationRequested ? Task.FromResult(false) : DispatchAsync(t, ct))).ConfigureAwait(false);
                    var n = starts.Count(x => x);
                    dispatched += n;
                    changed |= n > 0;
                }

                // Report tasks that ended (here, by cancellation elsewhere, or by skipping).
                foreach (var e in Registry.ListEvents(afterId: lastEvent, kinds: new[] { EventKinds.Task }))
                {
                    lastEvent = e.Id;
                    if (e.NewStatus is nameof(SwarmTaskStatus.Succeeded) or nameof(SwarmTaskStatus.Failed) or nameof(SwarmTaskStatus.Cancelled) or nameof(SwarmTaskStatus.Skipped)
                        && Registry.GetTask(e.Subject) is { } done)
                    {
                        finished++;
                        options.OnTaskFinished?.Invoke(done);
                    }
                }

                if (hooks is not null)
                    foreach (var e in Registry.ListEvents(afterId: lastHookEvent))
                    {
                        lastHookEvent = e.Id;
                        hooks.Enqueue(e);
                    }

                var counts = Counts();
                options.Progress?.Report(new SwarmProgress("Running the task queue",
                    string.Join(", ", counts.Where(kv => kv.Value > 0).Select(kv => $"{kv.Key} {kv.Value}")),
                    PercentDone(counts)));
                var open = counts[SwarmTaskStatus.Queued] + counts[SwarmTaskStatus.Blocked] + counts[SwarmTaskStatus.Running];
                if (open == 0 && options.ExitWhenDrained) { drained = true; break; }
                if (changed) idleDelay = TimeSpan.Zero;
                if (!changed)
                {
                    idleDelay = idleDelay == TimeSpan.Zero ? MinDelay : TimeSpan.FromTicks(Math.Min(idleDelay.Ticks * 2, options.PollInterval.Ticks));
                    try { await Task.Delay(idleDelay, ct).ConfigureAwait(false); }
                    catch (OperationCanceledException) { break; }
                }
            }
        }
        finally
        {
            if (hooks is not null) await hooks.FlushAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            Registry.ReleaseLease(LeaseName, holder);
            options.Progress?.Report(new SwarmProgress("Running the task queue", drained ? "drained" : "stopped", 100, Completed: true));
        }
        return new QueueRunSummary { Counts = Counts(), Dispatched = dispatched, Finished = finished, Duration = sw.Elapsed, Drained = drained };
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

    /// <summary>The next <paramref name="slots"/> Queued tasks whose back-off has passed, in dispatch order.</summary>
    internal static IReadOnlyList<SwarmTask> ReadyTasks(SqliteConnection c, int slots) =>
        TasksWhere(c, "status = 'Queued' AND (not_before IS NULL OR not_before <= $now)", slots, ("$now", SwarmRegistry.Time(DateTimeOffset.UtcNow)));

    internal int RunningCount() => Registry.Read(c => Convert.ToInt32(SwarmRegistry.Scalar(c, "SELECT count(*) FROM tasks WHERE status = 'Running'"), System.Globalization.CultureInfo.InvariantCulture));

    private long LastEventId() => Registry.Read(c => Convert.ToInt64(SwarmRegistry.Scalar(c, "SELECT coalesce(max(id), 0) FROM events"), System.Globalization.CultureInfo.InvariantCulture));

    public Dictionary<SwarmTaskStatus, int> Counts()
    {
        var d = Enum.GetValues<SwarmTaskStatus>().ToDictionary(s => s, _ => 0);
        Registry.Read(c =>
        {
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT status, count(*) FROM tasks GROUP BY status";
            using var r = cmd.ExecuteReader();
            while (r.Read()) if (Enum.TryParse<SwarmTaskStatus>(r.GetString(0), out var s)) d[s] = r.GetInt32(1);
            return 0;
        });
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

    private async Task<bool> DispatchAsync(SwarmTask t, CancellationToken ct)
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

    /// <summary>Checks one running task's agent; records the outcome when it ended. True when something changed.</summary>
    private async Task<bool> CheckRunningAsync(SwarmTask t, CancellationToken ct)
    {
        if (t.AgentIds.Count == 0)
        {
            // Running without an agent: the scheduler died between claiming the task and starting
            // its agent (or is doing so right now in this process, which cannot happen here).
            if (DateTimeOffset.UtcNow - t.UpdatedAt < TimeSpan.FromSeconds(30)) return false;
            await AttemptFailedAsync(t, "the scheduler stopped before the agent started", ct).ConfigureAwait(false);
            return true;
        }
        var agentId = t.AgentIds[^1];
        var agent = Registry.GetAgent(agentId);
        if (agent is null)
        {
            await AttemptFailedAsync(t, $"agent {agentId} is gone from the registry", ct).ConfigureAwait(false);
            return true;
        }
        var mayHaveEnded = File.Exists(Path.Combine(agent.RunDirectory(agent.Run), Processes.Detached.DetachedProcess.ExitFileName)) || agent.IsTerminal;
        if (!mayHaveEnded)
        {
            // Liveness of the supervisor costs a process lookup; do it about once a second per task.
            if (!_nextLivenessCheck.TryGetValue(t.Id, out var next) || DateTime.UtcNow >= next)
            {
                _nextLivenessCheck[t.Id] = DateTime.UtcNow.AddSeconds(1);
                mayHaveEnded = AgentService.MayHaveEnded(agent);
            }
        }
        if (t.TimeoutSeconds is { } timeout && t.StartedAt is { } started && DateTimeOffset.UtcNow - LastAttemptStart(t, agent, started) > TimeSpan.FromSeconds(timeout) && !agent.IsTerminal)
        {
            await _swarm.Agents.StopAsync(agent.Id, ct).ConfigureAwait(false);
            await AttemptFailedAsync(t, $"timed out after {timeout}s (agent {agent.Id} stopped)", ct).ConfigureAwait(false);
            return true;
        }
        if (!mayHaveEnded) return false;
        var final = _swarm.Agents.Reconcile(agent.Id);
        if (!final.IsTerminal) return false;
        _nextLivenessCheck.Remove(t.Id);
        if (final.Status == AgentStatus.Succeeded)
        {
            var cost = TotalCost(t);
            var done = t with { Status = SwarmTaskStatus.Succeeded, Result = final.Result, CostUsd = cost, EndedAt = DateTimeOffset.UtcNow, Error = null };
            var ok = Registry.Write(c =>
            {
                if (!Registry.UpdateTask(c, done, SwarmTaskStatus.Running, $"agent {agent.Id}")) return false;
                TaskTransitions.PropagateEnd(c, Registry, done);
                return true;
            });
            if (ok) await CleanupAsync(done, succeeded: true, ct).ConfigureAwait(false);
            return true;
        }
        await AttemptFailedAsync(t, $"agent {agent.Id} {final.Status.ToString().ToLowerInvariant()}: {final.Error}", ct).ConfigureAwait(false);
        return true;
    }

    private static DateTimeOffset LastAttemptStart(SwarmTask t, SwarmAgent agent, DateTimeOffset fallback) => agent.StartedAt ?? agent.CreatedAt;

    private decimal? TotalCost(SwarmTask t)
    {
        decimal? sum = null;
        foreach (var id in t.AgentIds)
            if (Registry.GetAgent(id)?.CostUsd is { } c) sum = (sum ?? 0) + c;
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
