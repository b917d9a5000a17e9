using System.Diagnostics;
using SwarmPS.Core.Registry;

namespace SwarmPS.Core.Tasks;

/// <summary>What <see cref="SchedulingSimulator.Run"/> measured.</summary>
public sealed class SchedulingSimulationResult
{
    /// <summary>Tasks claimed Queued -> Running (compare-and-set, durable, with its event).</summary>
    public int Dispatched { get; init; }
    /// <summary>Tasks recorded Succeeded, each with its dependents re-evaluated in the same transaction.</summary>
    public int Completed { get; init; }
    /// <summary>Scheduler loop iterations.</summary>
    public int Loops { get; init; }
    public TimeSpan Elapsed { get; init; }
    /// <summary>Dispatch plus completion decisions per second.</summary>
    public double DecisionsPerSecond => Elapsed.TotalSeconds > 0 ? (Dispatched + Completed) / Elapsed.TotalSeconds : 0;
}

/// <summary>
/// Runs the decision part of <see cref="QueueScheduler"/>'s loop against the real registry, with no
/// agents: every Running task counts as having succeeded at the next check. The registry calls
/// are the scheduler's own (the running list, the free-slot count, the ready query in priority
/// order, the compare-and-set claim, the completion with <see cref="TaskTransitions.PropagateEnd"/>
/// in one transaction, the per-status counts), so its speed is the scheduler's planning speed
/// without process spawns. For benchmarks (bench/SwarmPS.QueueBench); it changes task rows, so run
/// it only on a registry made for that.
/// </summary>
public static class SchedulingSimulator
{
    public static SchedulingSimulationResult Run(SwarmService swarm, int maxParallel, CancellationToken ct = default)
    {
        if (maxParallel < 1) throw new ArgumentOutOfRangeException(nameof(maxParallel));
        var registry = swarm.Registry;
        var scheduler = new QueueScheduler(swarm);
        var sw = Stopwatch.StartNew();
        int dispatched = 0, completed = 0, loops = 0;
        while (!ct.IsCancellationRequested)
        {
            loops++;
            foreach (var t in registry.Read(c => QueueScheduler.TasksWhere(c, "status = 'Running'")))
            {
                var done = t with { Status = SwarmTaskStatus.Succeeded, EndedAt = DateTimeOffset.UtcNow, Error = null };
                var ok = registry.Write(c =>
                {
                    if (!registry.UpdateTask(c, done, SwarmTaskStatus.Running, "simulated")) return false;
                    TaskTransitions.PropagateEnd(c, registry, done);
                    return true;
                });
                if (ok) completed++;
            }
            var slots = maxParallel - scheduler.RunningCount();
            if (slots > 0)
            {
                foreach (var t in registry.Read(c => QueueScheduler.ReadyTasks(c, slots)))
                {
                    var running = t with { Status = SwarmTaskStatus.Running, Attempts = t.Attempts + 1, StartedAt = t.StartedAt ?? DateTimeOffset.UtcNow, NotBefore = null };
                    if (registry.UpdateTask(running, SwarmTaskStatus.Queued, $"attempt {running.Attempts}")) dispatched++;
                }
            }
            var counts = scheduler.Counts();
            if (counts[SwarmTaskStatus.Queued] + counts[SwarmTaskStatus.Blocked] + counts[SwarmTaskStatus.Running] == 0) break;
        }
        return new SchedulingSimulationResult { Dispatched = dispatched, Completed = completed, Loops = loops, Elapsed = sw.Elapsed };
    }
}
