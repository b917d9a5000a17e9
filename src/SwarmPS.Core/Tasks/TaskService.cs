using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using SwarmPS.Core.Agents;
using SwarmPS.Core.Registry;

namespace SwarmPS.Core.Tasks;

/// <summary>Filters for listing tasks.</summary>
public sealed class TaskFilter
{
    public IReadOnlyList<string>? Ids { get; init; }
    public IReadOnlyList<SwarmTaskStatus>? Statuses { get; init; }
}

/// <summary>
/// The durable task queue: adding (with dependency and cycle checks, all or nothing), listing,
/// cancelling and removing. Dispatch is <see cref="QueueScheduler"/>'s job.
/// </summary>
public sealed class TaskService
{
    private readonly SwarmService _swarm;

    public TaskService(SwarmService swarm) => _swarm = swarm;

    private SwarmRegistry Registry => _swarm.Registry;

    private static string NewId(string? name)
    {
        var hex = Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();
        if (string.IsNullOrEmpty(name)) return "t-" + hex;
        var id = $"t-{hex}-{name}";
        return id.Length <= Names.MaxLength ? id : id[..Names.MaxLength].TrimEnd('.', '-');
    }

    /// <summary>
    /// Adds a batch of tasks atomically. Dependencies name tasks of the same batch (by
    /// <see cref="TaskSpec.Name"/>) or existing tasks (by id). An unknown dependency is an error; a
    /// cycle is rejected with the cycle spelled out. Nothing is added unless everything is valid.
    /// </summary>
    public IReadOnlyList<SwarmTask> Add(IReadOnlyList<TaskSpec> specs)
    {
        if (specs.Count == 0) throw Invalid("No tasks to add.");
        var profiles = AgentProfiles.From(_swarm.Config).Select(p => p.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var byName = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var ids = new List<string>();
        foreach (var s in specs)
        {
            if (s.Name is not null)
            {
                if (Names.Problem(s.Name) is { } problem) throw Invalid($"Invalid task name '{Names.Describe(s.Name)}': {problem}.");
                if (!byName.TryAdd(s.Name, "")) throw Invalid($"Two tasks in one batch are named '{s.Name}'.");
            }
            var id = NewId(s.Name);
            if (s.Name is not null) byName[s.Name] = id;
            ids.Add(id);
            if (string.IsNullOrWhiteSpace(s.Title)) throw Invalid($"Task {s.Name ?? id} needs a title.");
            if (s.Prompt is null) throw Invalid($"Task {s.Name ?? id} needs a prompt.");
            if (!profiles.Contains(s.Profile)) throw new SwarmException(ErrorIds.ProfileNotFound, SwarmErrorKind.InvalidArgument,
                $"Task {s.Name ?? id}: unknown agent profile '{Names.Describe(s.Profile)}'. Known profiles: {string.Join(", ", profiles.Order())}.", s.Name);
            if (s.Profile.Equals("command", StringComparison.OrdinalIgnoreCase) && s.Command is not { Count: > 0 })
                throw Invalid($"Task {s.Name ?? id} uses the command profile and needs a command (an argument list).");
            if (s.MaxAttempts < 1) throw Invalid($"Task {s.Name ?? id}: max attempts must be at least 1.");
            if (s.RetryBackoffSeconds < 0) throw Invalid($"Task {s.Name ?? id}: retry back-off must not be negative.");
            if (s.TimeoutSeconds is <= 0) throw Invalid($"Task {s.Name ?? id}: timeout must be positive.");
            if (s.Ticket is not null)
            {
                Names.Ticket(s.Ticket);
                if (Registry.GetEnvironment(s.Ticket) is null)
                    throw new SwarmException(ErrorIds.EnvironmentNotFound, SwarmErrorKind.InvalidArgument, $"Task {s.Name ?? id}: no environment for ticket '{s.Ticket}'.", s.Ticket);
            }
            else if (s.Provider is not null) _swarm.Providers.Get(s.Provider);
        }

        return Registry.Write(c =>
        {
            var existing = SwarmRegistry.ListTasks(c, null).ToDictionary(t => t.Id, StringComparer.Ordinal);
            var now = DateTimeOffset.UtcNow;
            var tasks = new List<SwarmTask>();
            var resolvedDeps = new List<List<string>>();
            for (var i = 0; i < specs.Count; i++)
            {
                var deps = new List<string>();
                foreach (var d in specs[i].DependsOn)
                {
                    if (byName.TryGetValue(d, out var batchId)) deps.Add(batchId);
                    else if (existing.ContainsKey(d)) deps.Add(d);
                    else throw new SwarmException(ErrorIds.TaskNotFound, SwarmErrorKind.InvalidArgument,
                        $"Task {specs[i].Name ?? ids[i]} depends on '{Names.Describe(d)}', which is neither a task of this batch nor an existing task id.", d);
                }
                if (deps.Contains(ids[i])) throw Invalid($"Task {specs[i].Name ?? ids[i]} depends on itself.");
                resolvedDeps.Add(deps.Distinct(StringComparer.Ordinal).ToList());
            }
            CheckCycles(specs, ids, resolvedDeps);

            // Initial status from the dependencies' current state (batch members start unfinished).
            var status = new Dictionary<string, SwarmTaskStatus>(StringComparer.Ordinal);
            foreach (var (k, v) in existing) status[k] = v.Status;
            for (var i = 0; i < specs.Count; i++)
            {
                var s = specs[i];
                var deps = resolvedDeps[i];
                var initial = InitialStatus(deps.Select(d => status.TryGetValue(d, out var st) ? st : SwarmTaskStatus.Blocked).ToList(), s.RunAfterFailure, out var why);
                status[ids[i]] = initial;
                tasks.Add(new SwarmTask
                {
                    Id = ids[i], Title = s.Title, Prompt = s.Prompt, Priority = s.Priority, Status = initial, DependsOn = deps, RunAfterFailure = s.RunAfterFailure,
                    Ticket = s.Ticket, Provider = s.Provider, Base = s.Base, RepositoryPath = s.RepositoryPath is null ? null : Path.GetFullPath(s.RepositoryPath),
                    Profile = s.Profile, Command = s.Command, TimeoutSeconds = s.TimeoutSeconds, MaxAttempts = s.MaxAttempts,
                    RetryBackoffSeconds = s.RetryBackoffSeconds, Cleanup = s.Cleanup, CreatedAt = now, UpdatedAt = now,
                    Error = why, EndedAt = initial == SwarmTaskStatus.Skipped ? now : null,
                });
            }
            InsertTasksIn(c, tasks);
            return (IReadOnlyList<SwarmTask>)ids.Select(id => SwarmRegistry.GetTask(c, id)!).ToList();
        });
    }

    private void InsertTasksIn(SqliteConnection c, IReadOnlyList<SwarmTask> tasks) => Registry.InsertTasksIn(c, tasks);

    /// <summary>Blocked, Queued or Skipped, from the statuses of a task's dependencies.</summary>
    internal static SwarmTaskStatus InitialStatus(IReadOnlyList<SwarmTaskStatus> deps, bool runAfterFailure, out string? why)
    {
        why = null;
        if (deps.Count == 0 || deps.All(d => d == SwarmTaskStatus.Succeeded)) return SwarmTaskStatus.Queued;
        var allEnded = deps.All(d => d is SwarmTaskStatus.Succeeded or SwarmTaskStatus.Failed or SwarmTaskStatus.Cancelled or SwarmTaskStatus.Skipped);
        if (!runAfterFailure && deps.Any(d => d is SwarmTaskStatus.Failed or SwarmTaskStatus.Cancelled or SwarmTaskStatus.Skipped))
        {
            why = "a dependency did not succeed";
            return SwarmTaskStatus.Skipped;
        }
        return allEnded ? SwarmTaskStatus.Queued : SwarmTaskStatus.Blocked;
    }

    /// <summary>Rejects a cycle in the batch, naming it: a -> b -> c -> a.</summary>
    private static void CheckCycles(IReadOnlyList<TaskSpec> specs, IReadOnlyList<string> ids, IReadOnlyList<List<string>> deps)
    {
        var index = ids.Select((id, i) => (id, i)).ToDictionary(x => x.id, x => x.i, StringComparer.Ordinal);
        var state = new int[ids.Count]; // 0 new, 1 on stack, 2 done
        var stack = new List<int>();
        string Label(int i) => specs[i].Name ?? ids[i];
        void Visit(int i)
        {
            state[i] = 1;
            stack.Add(i);
            foreach (var d in deps[i])
            {
                if (!index.TryGetValue(d, out var j)) continue; // existing tasks cannot depend on new ones
                if (state[j] == 1)
                {
                    var cycle = stack.Skip(stack.IndexOf(j)).Select(Label).Append(Label(j));
                    throw new SwarmException(ErrorIds.DependencyCycle, SwarmErrorKind.InvalidArgument, $"The tasks form a dependency cycle: {string.Join(" -> ", cycle)}. Nothing was added.");
                }
                if (state[j] == 0) Visit(j);
            }
            stack.RemoveAt(stack.Count - 1);
            state[i] = 2;
        }
        for (var i = 0; i < ids.Count; i++) if (state[i] == 0) Visit(i);
    }

    private static SwarmException Invalid(string message) => new(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, message);

    // ------------------------------------------------------------------ read

    public SwarmTask Get(string id) => Registry.GetTask(ValidateId(id)) ?? throw NotFound(id);

    public IReadOnlyList<SwarmTask> List(TaskFilter? filter = null) => Registry.ListTasks()
        .Where(t => filter?.Ids is not { Count: > 0 } ids || ids.Any(i => Glob.IsMatch(i, t.Id)))
        .Where(t => filter?.Statuses is not { Count: > 0 } ss || ss.Contains(t.Status))
        .ToList();

    private static string ValidateId(string id)
    {
        if (string.IsNullOrWhiteSpace(id) || id.Length > Names.MaxLength || !Names.IsValid(id))
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"Invalid task id '{Names.Describe(id)}'.", id);
        return id;
    }

    private static SwarmException NotFound(string id) =>
        new(ErrorIds.TaskNotFound, SwarmErrorKind.NotFound, $"No task '{id}'.", id) { Hint = Hints.ListTasks };

    // ------------------------------------------------------------------ cancel, remove

    /// <summary>
    /// Cancels a task. A Blocked or Queued task never starts; a Running one has its agent stopped.
    /// Its dependents are skipped (unless they run after failure). A finished task is returned as it is.
    /// </summary>
    public async Task<SwarmTask> CancelAsync(string id, CancellationToken ct = default)
    {
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var t = Get(id);
            if (t.IsTerminal) return t;
            var cancelled = t with { Status = SwarmTaskStatus.Cancelled, EndedAt = DateTimeOffset.UtcNow, Error = "cancelled" };
            var ok = Registry.Write(c =>
            {
                if (!Registry.UpdateTask(c, cancelled, t.Status, "cancelled")) return false;
                TaskTransitions.PropagateEnd(c, Registry, cancelled);
                return true;
            });
            if (!ok) continue;
            if (t.Status == SwarmTaskStatus.Running && t.AgentIds.Count > 0)
                await _swarm.Agents.StopAsync(t.AgentIds[^1], ct).ConfigureAwait(false);
            return Get(id);
        }
        throw new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidState, $"Task {id} kept changing; try again.", id);
    }

    /// <summary>Removes a task that is not running (cancel it first). Its dependents lose the edge and are re-evaluated.</summary>
    public SwarmTask Remove(string id, bool force = false)
    {
        var t = Get(id);
        if (t.Status == SwarmTaskStatus.Running && !force)
            throw new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidState, $"Task {id} is running.", id) { Hint = Hints.CancelTaskFirst };
        var dependents = Registry.Read(c => SwarmRegistry.Dependents(c, id));
        if (dependents.Count > 0 && !t.IsTerminal && !force)
            throw new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidState,
                $"Task {id} has dependents ({string.Join(", ", dependents)}); cancel it instead, so they are skipped, or remove them first.", id);
        Agents.AgentService.KeepCommandFiles(Registry, t);
        Registry.DeleteTask(id);
        return t;
    }
}

/// <summary>Status propagation shared by the scheduler and cancellation.</summary>
internal static class TaskTransitions
{
    /// <summary>
    /// After <paramref name="ended"/> reached a terminal state: queue dependents whose dependencies
    /// are now satisfied, skip those that can never run (recursively). Nothing waits forever.
    /// </summary>
    internal static void PropagateEnd(SqliteConnection c, SwarmRegistry registry, SwarmTask ended)
    {
        var work = new Queue<string>();
        work.Enqueue(ended.Id);
        while (work.Count > 0)
        {
            var id = work.Dequeue();
            foreach (var depId in SwarmRegistry.Dependents(c, id))
            {
                var dep = SwarmRegistry.GetTask(c, depId);
                if (dep is null || dep.Status != SwarmTaskStatus.Blocked) continue;
                var statuses = dep.DependsOn.Select(d => SwarmRegistry.GetTask(c, d)?.Status ?? SwarmTaskStatus.Succeeded).ToList();
                var next = TaskService.InitialStatus(statuses, dep.RunAfterFailure, out var why);
                if (next == SwarmTaskStatus.Blocked) continue;
                var updated = dep with
                {
                    Status = next,
                    Error = next == SwarmTaskStatus.Skipped ? $"skipped: dependency {id} {SwarmRegistry.GetTask(c, id)?.Status.ToString().ToLowerInvariant()}" : null,
                    EndedAt = next == SwarmTaskStatus.Skipped ? DateTimeOffset.UtcNow : null,
                };
                if (registry.UpdateTask(c, updated, SwarmTaskStatus.Blocked, updated.Error) && next == SwarmTaskStatus.Skipped) work.Enqueue(depId);
            }
        }
    }
}
