using System.Globalization;
using SwarmPS.Core.Git;
using SwarmPS.Core.Providers;
using SwarmPS.Core.Registry;

namespace SwarmPS.Core;

/// <summary>Filters for listing environments. Ticket accepts wildcards.</summary>
public sealed class EnvironmentFilter
{
    public IReadOnlyList<string>? Tickets { get; init; }
    public IReadOnlyList<string>? Providers { get; init; }
    public IReadOnlyList<EnvironmentStatus>? Statuses { get; init; }
}

/// <summary>
/// The entry point for every environment operation. The cmdlets and the CLI both call this and
/// only this; it validates input, routes each ticket to the provider it is pinned to, keeps the
/// registry and the backend in step, and reports progress.
/// </summary>
public sealed class SwarmService
{
    public SwarmService(SwarmHome home, SwarmConfig? config = null, ProviderCatalog? providers = null)
    {
        Home = home;
        Config = config ?? SwarmConfig.Load(home);
        Providers = providers ?? ProviderCatalog.CreateDefault(Config);
        foreach (var kvm in Providers.All.OfType<Providers.Kvm.KvmProvider>()) kvm.Configure(Config); // the kvm section of config.json
        Registry = SwarmRegistry.Open(home);
        Agents = new Agents.AgentService(this);
        Tasks = new Tasks.TaskService(this);
        Queue = new Tasks.QueueControl(this);
        Events = new Events.EventStream(this);
        Swarms = new Swarms.SwarmClusterService(this);
    }

    /// <summary>Opens the service for <paramref name="homeOverride"/>, SWARMPS_HOME or the platform default.</summary>
    public static SwarmService Open(string? homeOverride = null) => new(SwarmHome.Resolve(homeOverride));

    public SwarmHome Home { get; }
    public SwarmConfig Config { get; }
    public ProviderCatalog Providers { get; }
    public SwarmRegistry Registry { get; }
    /// <summary>Coding agents in this registry's environments.</summary>
    public Agents.AgentService Agents { get; }
    /// <summary>The durable task queue.</summary>
    public Tasks.TaskService Tasks { get; }
    /// <summary>Start/stop/status of a detached scheduler.</summary>
    public Tasks.QueueControl Queue { get; }
    /// <summary>The event log.</summary>
    public Events.EventStream Events { get; }
    /// <summary>Host capacity against what environments were allocated; create's oversubscription check.</summary>
    public Host.HostResources HostResources => _hostResources ??= new Host.HostResources(this);
    private Host.HostResources? _hostResources;
    /// <summary>Agent swarms on Slurm (one job array each).</summary>
    public Swarms.SwarmClusterService Swarms { get; }

    /// <summary>Runs the scheduler in this process until the queue drains (or <paramref name="ct"/> is cancelled).</summary>
    public Task<Tasks.QueueRunSummary> RunQueueAsync(Tasks.SchedulerOptions options, CancellationToken ct = default) =>
        new Tasks.QueueScheduler(this).RunAsync(options, ct);

    private ProviderContext Context(IProgress<SwarmProgress>? progress) => new() { Home = Home, Config = Config, Registry = Registry, Progress = progress };

    // ------------------------------------------------------------------ providers

    public async Task<IReadOnlyList<SwarmProviderInfo>> GetProvidersAsync(CancellationToken ct = default)
    {
        var list = new List<SwarmProviderInfo>();
        foreach (var p in Providers.All.OrderBy(p => p.Name, StringComparer.OrdinalIgnoreCase))
        {
            var a = await p.CheckAvailabilityAsync(ct).ConfigureAwait(false);
            list.Add(new SwarmProviderInfo
            {
                Name = p.Name, Available = a.Available, Reason = a.Reason, Capabilities = p.Capabilities, Description = p.Description,
                IsDefault = string.Equals(p.Name, Providers.DefaultName, StringComparison.OrdinalIgnoreCase),
            });
        }
        return list;
    }

    private IEnvironmentProvider ProviderOf(SwarmEnvironment env) => Providers.Get(env.Provider);

    private static void Require(IEnvironmentProvider p, ProviderCapabilities capability, string ticket)
    {
        if (!p.Capabilities.HasFlag(capability))
            throw new SwarmException(ErrorIds.CapabilityNotSupported, SwarmErrorKind.NotSupported,
                $"The {p.Name} provider does not support {capability}; '{ticket}' lives on it.", ticket) { Hint = Hints.Providers };
    }

    /// <summary>The per-environment check (<see cref="IEnvironmentProvider.CapabilitiesOf"/>): refuses up front what this environment was made without.</summary>
    private void RequireFor(SwarmEnvironment env, ProviderCapabilities capability)
    {
        var p = ProviderOf(env);
        if (!p.CapabilitiesOf(env).HasFlag(capability))
            throw new SwarmException(ErrorIds.CapabilityNotSupported, SwarmErrorKind.NotSupported,
                $"'{env.Ticket}' does not support {capability}: this {p.Name} environment was created without it.", env.Ticket) { Hint = Hints.NoWorktree };
    }

    // ------------------------------------------------------------------ environments

    public async Task<SwarmEnvironment> NewEnvironmentAsync(NewEnvironmentRequest request, IProgress<SwarmProgress>? progress = null, CancellationToken ct = default)
    {
        Names.Ticket(request.Ticket);
        var provider = Providers.Get(request.Provider);
        var existing = Registry.GetEnvironment(request.Ticket);
        if (existing is not null)
            throw new SwarmException(ErrorIds.EnvironmentExists, SwarmErrorKind.AlreadyExists,
                $"An environment for ticket '{existing.Ticket}' already exists (provider {existing.Provider}). Tickets are unique regardless of case.", request.Ticket);

        var ctx = Context(progress);
        ctx.Report("Creating environment", $"{request.Ticket}: checking {provider.Name} inputs", 0);
        SwarmEnvironment draft;
        try
        {
            draft = await provider.PrepareAsync(request, ctx, ct).ConfigureAwait(false);
        }
        catch (SwarmException ex) when (ex.Kind == SwarmErrorKind.Unavailable)
        {
            // The availability probe costs a process start, so it runs only when something failed:
            // then it explains why (git missing, engine down, ...).
            var availability = await provider.CheckAvailabilityAsync(ct).ConfigureAwait(false);
            if (!availability.Available)
                throw new SwarmException(ErrorIds.ProviderUnavailable, SwarmErrorKind.Unavailable, $"The {provider.Name} provider is not available here: {availability.Reason}", request.Ticket, ex);
            throw;
        }
        // The oversubscription check runs inside the reservation's transaction: concurrent creates are admitted one by one.
        var reserved = Registry.Reserve(draft, Config.Ports, HostResources.Admission(draft, request.Force));
        try
        {
            var created = await provider.CreateAsync(reserved, request, ctx, ct).ConfigureAwait(false);
            return Registry.Update(created);
        }
        catch
        {
            Registry.DeleteEnvironment(reserved.Ticket);
            throw;
        }
        finally
        {
            progress?.Report(new SwarmProgress("Creating environment", request.Ticket, 100, Completed: true));
        }
    }

    public SwarmEnvironment GetEnvironment(string ticket) => Registry.RequireEnvironment(ticket);

    /// <summary>
    /// Lists environments (registry order: oldest first). With <paramref name="live"/> each status is
    /// the backend's current view (a deleted worktree shows as Missing); the registry is not changed.
    /// </summary>
    public async Task<IReadOnlyList<SwarmEnvironment>> GetEnvironmentsAsync(EnvironmentFilter? filter = null, bool live = true, CancellationToken ct = default)
    {
        var rows = Registry.ListEnvironments().Where(e =>
            (filter?.Tickets is not { Count: > 0 } ts || ts.Any(t => Glob.IsMatch(t, e.Ticket))) &&
            (filter?.Providers is not { Count: > 0 } ps || ps.Any(p => string.Equals(p, e.Provider, StringComparison.OrdinalIgnoreCase)))).ToList();
        var result = new List<SwarmEnvironment>(rows.Count);
        foreach (var e in rows)
        {
            var env = e;
            if (live && Providers.All.Any(p => string.Equals(p.Name, e.Provider, StringComparison.OrdinalIgnoreCase)))
            {
                var s = await ProviderOf(e).GetStatusAsync(e, ct).ConfigureAwait(false);
                if (s != e.Status) env = e.With(status: s);
            }
            if (filter?.Statuses is { Count: > 0 } ss && !ss.Contains(env.Status)) continue;
            result.Add(env);
        }
        return result;
    }

    public async Task<SwarmEnvironment> StartEnvironmentAsync(string ticket, IProgress<SwarmProgress>? progress = null, CancellationToken ct = default)
    {
        var env = GetEnvironment(ticket);
        var p = ProviderOf(env);
        Require(p, ProviderCapabilities.StartStop, env.Ticket);
        return Registry.Update(await p.StartAsync(env, Context(progress), ct).ConfigureAwait(false));
    }

    public Task<SwarmEnvironment> StopEnvironmentAsync(string ticket, IProgress<SwarmProgress>? progress = null, CancellationToken ct = default) =>
        StopEnvironmentAsync(ticket, force: false, progress, ct);

    /// <summary>Stops it; <paramref name="force"/> skips the graceful shutdown (kvm: no ACPI shutdown, the domain is destroyed).</summary>
    public async Task<SwarmEnvironment> StopEnvironmentAsync(string ticket, bool force, IProgress<SwarmProgress>? progress = null, CancellationToken ct = default)
    {
        var env = GetEnvironment(ticket);
        var p = ProviderOf(env);
        Require(p, ProviderCapabilities.StartStop, env.Ticket);
        var context = new ProviderContext { Home = Home, Config = Config, Registry = Registry, Progress = progress, Force = force };
        return Registry.Update(await p.StopAsync(env, context, ct).ConfigureAwait(false));
    }

    /// <summary>Removes everything the environment owns, then its row (which frees its ports).</summary>
    public async Task<SwarmEnvironment> RemoveEnvironmentAsync(string ticket, RemoveOptions? options = null, IProgress<SwarmProgress>? progress = null, CancellationToken ct = default)
    {
        var env = GetEnvironment(ticket);
        options ??= new RemoveOptions();
        var active = Agents.ActiveAgents(env.Ticket);
        if (active.Count > 0)
        {
            if (!options.Force)
                throw new SwarmException(ErrorIds.AgentsRunning, SwarmErrorKind.InvalidState,
                    $"'{env.Ticket}' has {active.Count} running agent(s); nothing was removed.", env.Ticket)
                { Hint = Hints.RemoveForceStops, Details = active.Select(a => $"{a.Id} ({a.Profile}, {a.Status})").ToList() };
            foreach (var a in active) await Agents.StopAsync(a.Id, ct).ConfigureAwait(false);
        }
        try
        {
            await ProviderOf(env).RemoveAsync(env, options, Context(progress), ct).ConfigureAwait(false);
        }
        finally
        {
            progress?.Report(new SwarmProgress("Removing environment", env.Ticket, 100, Completed: true));
        }
        Registry.DeleteEnvironment(env.Ticket);
        return env;
    }

    // ------------------------------------------------------------------ checkpoints

    /// <summary>The default checkpoint name: a UTC timestamp, made unique with a suffix.</summary>
    public string DefaultCheckpointName(string ticket)
    {
        var stem = DateTimeOffset.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        var taken = new HashSet<string>(Registry.ListCheckpoints(ticket).Select(c => c.Name), StringComparer.OrdinalIgnoreCase);
        if (!taken.Contains(stem)) return stem;
        for (var i = 2; ; i++)
            if (!taken.Contains($"{stem}-{i}")) return $"{stem}-{i}";
    }

    public async Task<SwarmCheckpoint> CheckpointAsync(string ticket, string? name = null, IProgress<SwarmProgress>? progress = null, CancellationToken ct = default)
    {
        var env = GetEnvironment(ticket);
        if (name is not null) Names.Checkpoint(name);
        var p = ProviderOf(env);
        Require(p, ProviderCapabilities.Checkpoint, env.Ticket);
        if (!p.Capabilities.HasFlag(ProviderCapabilities.CheckpointWhileRunning))
        {
            var status = await p.GetStatusAsync(env, ct).ConfigureAwait(false);
            if (status == EnvironmentStatus.Running)
                throw new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidState,
                    $"The {p.Name} provider can only checkpoint a stopped environment; stop '{env.Ticket}' first.", env.Ticket);
        }
        name ??= DefaultCheckpointName(env.Ticket);
        if (Registry.ListCheckpoints(env.Ticket).Any(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase)))
            throw new SwarmException(ErrorIds.CheckpointExists, SwarmErrorKind.AlreadyExists, $"Ticket '{env.Ticket}' already has a checkpoint named '{name}'.", env.Ticket);
        var ctx = Context(progress);
        try
        {
            var reference = await p.CheckpointAsync(env, name, ctx, ct).ConfigureAwait(false);
            var cp = new SwarmCheckpoint { Ticket = env.Ticket, Name = name, CreatedAt = DateTimeOffset.UtcNow, ProviderReference = reference };
            try
            {
                return Registry.AddCheckpoint(cp);
            }
            catch
            {
                await p.RemoveCheckpointAsync(env, cp, ctx, CancellationToken.None).ConfigureAwait(false);
                throw;
            }
        }
        finally
        {
            progress?.Report(new SwarmProgress("Checkpoint", env.Ticket, 100, Completed: true));
        }
    }

    public IReadOnlyList<SwarmCheckpoint> GetCheckpoints(string ticket) => Registry.ListCheckpoints(GetEnvironment(ticket).Ticket);

    public SwarmCheckpoint GetCheckpoint(string ticket, string? name)
    {
        var env = GetEnvironment(ticket);
        var all = Registry.ListCheckpoints(env.Ticket);
        if (name is null)
            return all.LastOrDefault() ?? throw new SwarmException(ErrorIds.CheckpointNotFound, SwarmErrorKind.NotFound, $"Ticket '{env.Ticket}' has no checkpoints.", env.Ticket);
        Names.Checkpoint(name);
        return all.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase))
               ?? throw new SwarmException(ErrorIds.CheckpointNotFound, SwarmErrorKind.NotFound,
                   $"Ticket '{env.Ticket}' has no checkpoint named '{name}'.", env.Ticket) { Hint = Hints.ListCheckpoints(env.Ticket) };
    }

    /// <summary>Restores a checkpoint (default: the latest) and returns it.</summary>
    public async Task<SwarmCheckpoint> RestoreAsync(string ticket, string? name = null, IProgress<SwarmProgress>? progress = null, CancellationToken ct = default)
    {
        var cp = GetCheckpoint(ticket, name);
        var env = GetEnvironment(ticket);
        var p = ProviderOf(env);
        Require(p, ProviderCapabilities.Checkpoint, env.Ticket);
        try
        {
            await p.RestoreAsync(env, cp, Context(progress), ct).ConfigureAwait(false);
        }
        finally
        {
            progress?.Report(new SwarmProgress("Restore", env.Ticket, 100, Completed: true));
        }
        // Re-read: a provider may have updated the row while restoring (a recreated container); only touch UpdatedAt.
        Registry.Update(GetEnvironment(env.Ticket));
        return cp;
    }

    public async Task<SwarmCheckpoint> RemoveCheckpointAsync(string ticket, string name, CancellationToken ct = default)
    {
        var cp = GetCheckpoint(ticket, Names.Checkpoint(name));
        var env = GetEnvironment(ticket);
        await ProviderOf(env).RemoveCheckpointAsync(env, cp, Context(null), ct).ConfigureAwait(false);
        Registry.DeleteCheckpoint(env.Ticket, cp.Name);
        return cp;
    }

    // ------------------------------------------------------------------ work

    private static GitWorkspace Workspace() => new(new GitCli());

    public async Task<SwarmDiff> DiffAsync(string ticket, CancellationToken ct = default)
    {
        var env = GetEnvironment(ticket);
        Require(ProviderOf(env), ProviderCapabilities.DiffMerge, env.Ticket);
        RequireFor(env, ProviderCapabilities.DiffMerge);
        RequireWorkspace(env);
        var baseCommit = env.Metadata.GetValueOrDefault("baseCommit") ?? throw new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidState, $"'{env.Ticket}' has no recorded base commit.", env.Ticket);
        return await Workspace().DiffAsync(env.Ticket, env.WorkspacePath!, env.BaseRef ?? baseCommit, baseCommit, ct).ConfigureAwait(false);
    }

    public async Task<SwarmMergeResult> MergeAsync(string ticket, string? message = null, string? into = null, CancellationToken ct = default)
    {
        var env = GetEnvironment(ticket);
        Require(ProviderOf(env), ProviderCapabilities.DiffMerge, env.Ticket);
        RequireFor(env, ProviderCapabilities.DiffMerge);
        RequireWorkspace(env);
        var target = string.IsNullOrWhiteSpace(into) ? env.Metadata.GetValueOrDefault("baseBranch") : into;
        if (string.IsNullOrWhiteSpace(target))
            throw new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidArgument,
                $"'{env.Ticket}' was created from '{env.BaseRef}', which is not a branch, so there is no base branch to merge into.", env.Ticket) { Hint = Hints.MergeInto };
        if (target.StartsWith('-') || target.Any(char.IsControl))
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"Invalid branch name '{Names.Describe(target)}'.", env.Ticket);
        message ??= $"Merge {env.Branch} ({env.Ticket})";
        var result = await Workspace().MergeAsync(env.Ticket, env.RepositoryPath!, env.WorkspacePath!, env.Branch!, target, message, ct).ConfigureAwait(false);
        return result;
    }

    public async Task<SwarmExecResult> ExecAsync(string ticket, IReadOnlyList<string> command, string? standardInput = null, CancellationToken ct = default)
    {
        var env = GetEnvironment(ticket);
        var p = ProviderOf(env);
        Require(p, ProviderCapabilities.Exec, env.Ticket);
        return await p.ExecAsync(env, command, standardInput, Context(null), ct).ConfigureAwait(false);
    }

    public async Task<SwarmConnection> GetConnectionAsync(string ticket, CancellationToken ct = default)
    {
        var env = GetEnvironment(ticket);
        return await ProviderOf(env).GetConnectionAsync(env, ct).ConfigureAwait(false);
    }

    private static void RequireWorkspace(SwarmEnvironment env)
    {
        if (env.WorkspacePath is null || !Directory.Exists(env.WorkspacePath))
            throw new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidState,
                $"The workspace of '{env.Ticket}' ({env.WorkspacePath}) is missing.", env.Ticket) { Hint = Hints.Repair };
    }

    // ------------------------------------------------------------------ repair

    /// <summary>
    /// Reconciles the registry (what we own) with each backend (what exists). Reports every
    /// discrepancy; with <paramref name="fix"/> repairs them.
    /// </summary>
    public async Task<IReadOnlyList<SwarmRepairItem>> RepairAsync(bool fix, IProgress<SwarmProgress>? progress = null, CancellationToken ct = default)
    {
        var rows = Registry.ListEnvironments();
        var items = new List<SwarmRepairItem>();
        var ctx = Context(progress);
        var providers = Providers.All.ToList();
        for (var i = 0; i < providers.Count; i++)
        {
            var p = providers[i];
            ctx.Report("Repair", $"checking {p.Name}", i * 100 / Math.Max(1, providers.Count));
            var availability = await p.CheckAvailabilityAsync(ct).ConfigureAwait(false);
            var owned = rows.Where(r => string.Equals(r.Provider, p.Name, StringComparison.OrdinalIgnoreCase)).ToList();
            if (!availability.Available)
            {
                // Never delete rows because a backend is down: that is not evidence they are gone.
                continue;
            }
            items.AddRange(await p.RepairAsync(owned, fix, ctx, ct).ConfigureAwait(false));
        }
        ctx.Report("Repair", "reconciling agents", 90);
        items.AddRange(Agents.Repair());
        foreach (var row in rows.Where(r => !Providers.All.Any(p => string.Equals(p.Name, r.Provider, StringComparison.OrdinalIgnoreCase))))
            items.Add(new SwarmRepairItem
            {
                Kind = RepairIssueKind.DanglingRow, Provider = row.Provider, Ticket = row.Ticket, Path = row.WorkspacePath,
                Description = $"Provider '{row.Provider}' is not known to this version of SwarmPS.", Action = "none (left for a SwarmPS that knows the provider)", Fixed = false,
            });
        progress?.Report(new SwarmProgress("Repair", "done", 100, Completed: true));
        return items;
    }
}
