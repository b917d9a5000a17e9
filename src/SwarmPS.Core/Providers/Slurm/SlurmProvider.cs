using System.Text.Json;
using SwarmPS.Core.Processes;
using SwarmPS.Core.Providers.Worktree;
using SwarmPS.Core.Slurm;

namespace SwarmPS.Core.Providers.Slurm;

/// <summary>
/// Tasks and agents on Slurm. An environment is a git worktree created under the shared directory
/// (<c>slurm.sharedDirectory/worktrees</c>, which every compute node sees); an agent runs as a Slurm
/// job through <c>srun</c> with the worktree as its working directory. srun allocates the job, runs
/// the agent's argv on a compute node (argument list, no script, no shell), forwards its stdin,
/// stdout and stderr, and exits with the agent's exit code, so the supervisor, the task queue and
/// the logs work exactly as for local agents. Removing the environment scancels any job still named
/// after the ticket.
/// </summary>
public sealed class SlurmProvider : EnvironmentProviderBase
{
    public const string ProviderName = "slurm";
    /// <summary>Slurm job names of agents: <c>swarmps-env-TICKET</c>.</summary>
    public const string JobNamePrefix = "swarmps-env-";
    private const string SrunOptionsKey = "srunOptions";
    /// <summary>Metadata: slurm.configFile when the environment was prepared (srun of its agents gets it as SLURM_CONF).</summary>
    private const string SlurmConfKey = "slurmConf";

    private readonly WorktreeProvider _worktree;
    private readonly ProcessRunner _runner;

    public SlurmProvider(WorktreeProvider? worktree = null, ProcessRunner? runner = null)
    {
        _runner = runner ?? ProcessRunner.Default;
        _worktree = worktree ?? new WorktreeProvider(runner: _runner);
    }

    public override string Name => ProviderName;
    public override string Description => "A git worktree on the shared filesystem; agents run as Slurm jobs (srun).";
    public override ProviderCapabilities Capabilities =>
        ProviderCapabilities.Checkpoint | ProviderCapabilities.CheckpointWhileRunning | ProviderCapabilities.Exec | ProviderCapabilities.DiffMerge;

    public override async Task<ProviderAvailability> CheckAvailabilityAsync(CancellationToken ct)
    {
        var git = await _worktree.CheckAvailabilityAsync(ct).ConfigureAwait(false);
        if (!git.Available) return git;
        try
        {
            var r = await _runner.RunAsync(new ProcessSpec("srun", new[] { "--version" }) { Timeout = TimeSpan.FromSeconds(10) }, ct).ConfigureAwait(false);
            return r.Success ? ProviderAvailability.Yes : ProviderAvailability.No($"srun --version failed: {r.StandardError.Trim()}");
        }
        catch (SwarmException)
        {
            return ProviderAvailability.No("srun was not found on PATH (install the Slurm client, e.g. the slurm-client package).");
        }
    }

    /// <summary>The worktree provider's context with the worktree root moved under the shared directory.</summary>
    internal static ProviderContext SharedContext(ProviderContext context)
    {
        var settings = SlurmSettings.Load(context.Home);
        var shared = settings.SharedDirectory is { Length: > 0 } s ? s : Path.Combine(context.Home.Path, "slurm");
        var config = JsonSerializer.Deserialize<SwarmConfig>(JsonSerializer.Serialize(context.Config, SwarmConfig.JsonOptions), SwarmConfig.JsonOptions)!;
        config.Worktree = new WorktreeConfig { Root = Path.Combine(Path.GetFullPath(shared), "worktrees") };
        return new ProviderContext { Home = context.Home, Config = config, Registry = context.Registry, Progress = context.Progress };
    }

    private static SwarmEnvironment AsSlurm(SwarmEnvironment e, IReadOnlyDictionary<string, string>? metadata = null) => new()
    {
        Ticket = e.Ticket, Provider = ProviderName, Status = e.Status, InstanceId = e.InstanceId, RepositoryPath = e.RepositoryPath, BaseRef = e.BaseRef,
        Branch = e.Branch, WorkspacePath = e.WorkspacePath, Address = e.Address, Ports = e.Ports, CreatedAt = e.CreatedAt, UpdatedAt = e.UpdatedAt,
        Metadata = metadata ?? e.Metadata,
    };

    private static SwarmEnvironment AsWorktree(SwarmEnvironment e) => new()
    {
        Ticket = e.Ticket, Provider = WorktreeProvider.ProviderName, Status = e.Status, InstanceId = e.InstanceId, RepositoryPath = e.RepositoryPath, BaseRef = e.BaseRef,
        Branch = e.Branch, WorkspacePath = e.WorkspacePath, Address = e.Address, Ports = e.Ports, CreatedAt = e.CreatedAt, UpdatedAt = e.UpdatedAt, Metadata = e.Metadata,
    };

    public override async Task<SwarmEnvironment> PrepareAsync(NewEnvironmentRequest request, ProviderContext context, CancellationToken ct)
    {
        var settings = SlurmSettings.Load(context.Home);
        var draft = await _worktree.PrepareAsync(request.WithoutOptions(), SharedContext(context), ct).ConfigureAwait(false);
        var meta = new Dictionary<string, string>(draft.Metadata) { [SrunOptionsKey] = JsonSerializer.Serialize(SrunOptions(settings, request.Ticket)) };
        if (settings.ConfigFile is { Length: > 0 } conf) meta[SlurmConfKey] = conf;
        return AsSlurm(draft, meta);
    }

    /// <summary>The srun options for an agent of <paramref name="ticket"/>: cluster parameters from config, never from user text.</summary>
    internal static List<string> SrunOptions(SlurmSettings settings, string ticket)
    {
        var o = new List<string> { "--job-name=" + JobNamePrefix + ticket, "--nodes=1", "--ntasks=1", "--cpus-per-task=" + settings.CpusPerTask.ToString(System.Globalization.CultureInfo.InvariantCulture), "--export=ALL", "--quiet" };
        if (settings.Partition is { Length: > 0 } p) o.Add("--partition=" + p);
        if (settings.Account is { Length: > 0 } a) o.Add("--account=" + a);
        if (settings.Qos is { Length: > 0 } q) o.Add("--qos=" + q);
        if (settings.TimeLimit is { Length: > 0 } t) o.Add("--time=" + t);
        o.AddRange(settings.SbatchOptions);
        return o;
    }

    public override async Task<SwarmEnvironment> CreateAsync(SwarmEnvironment reserved, NewEnvironmentRequest request, ProviderContext context, CancellationToken ct)
    {
        var created = await _worktree.CreateAsync(AsWorktree(reserved), request.WithoutOptions(), SharedContext(context), ct).ConfigureAwait(false);
        return AsSlurm(created);
    }

    public override async Task RemoveAsync(SwarmEnvironment env, RemoveOptions options, ProviderContext context, CancellationToken ct)
    {
        // Any job still running for the ticket goes first (an agent whose supervisor was killed hard).
        try
        {
            var conf = env.Metadata.GetValueOrDefault(SlurmConfKey) ?? SlurmSettings.Load(context.Home).ConfigFile;
            await _runner.RunAsync(new ProcessSpec("scancel", new[] { "--me", "--name=" + JobNamePrefix + env.Ticket })
            {
                Timeout = TimeSpan.FromSeconds(30), Environment = SlurmCli.CommandEnvironment(conf),
            }, ct).ConfigureAwait(false);
        }
        catch (SwarmException ex) when (ex.Kind is SwarmErrorKind.Unavailable or SwarmErrorKind.OperationFailed)
        {
            // No Slurm client here: nothing of ours can be running.
        }
        await _worktree.RemoveAsync(AsWorktree(env), options, SharedContext(context), ct).ConfigureAwait(false);
    }

    public override Task<EnvironmentStatus> GetStatusAsync(SwarmEnvironment env, CancellationToken ct) => _worktree.GetStatusAsync(AsWorktree(env), ct);

    public override Task<string> CheckpointAsync(SwarmEnvironment env, string name, ProviderContext context, CancellationToken ct) =>
        _worktree.CheckpointAsync(AsWorktree(env), name, SharedContext(context), ct);

    public override Task RestoreAsync(SwarmEnvironment env, SwarmCheckpoint checkpoint, ProviderContext context, CancellationToken ct) =>
        _worktree.RestoreAsync(AsWorktree(env), checkpoint, SharedContext(context), ct);

    public override Task<IReadOnlyList<string>> ListCheckpointsAsync(SwarmEnvironment env, CancellationToken ct) => _worktree.ListCheckpointsAsync(AsWorktree(env), ct);

    public override Task RemoveCheckpointAsync(SwarmEnvironment env, SwarmCheckpoint checkpoint, ProviderContext context, CancellationToken ct) =>
        _worktree.RemoveCheckpointAsync(AsWorktree(env), checkpoint, SharedContext(context), ct);

    public override async Task<SwarmConnection> GetConnectionAsync(SwarmEnvironment env, CancellationToken ct)
    {
        var c = await _worktree.GetConnectionAsync(AsWorktree(env), ct).ConfigureAwait(false);
        return new SwarmConnection { Ticket = env.Ticket, Provider = ProviderName, Host = c.Host, WorkingDirectory = c.WorkingDirectory };
    }

    /// <summary>Exec runs on the submit host, in the shared worktree (git, inspection); agents go through srun.</summary>
    public override Task<SwarmExecResult> ExecAsync(SwarmEnvironment env, IReadOnlyList<string> command, string? standardInput, ProviderContext context, CancellationToken ct) =>
        _worktree.ExecAsync(AsWorktree(env), command, standardInput, SharedContext(context), ct);

    /// <summary><c>srun OPTIONS --chdir=WORKTREE -- ARGV</c>: the agent is a Slurm job; its exit code and output come back through srun.</summary>
    public override AgentLaunchPlan PlanAgentLaunch(SwarmEnvironment env, IReadOnlyList<string> argv, IReadOnlyDictionary<string, string> variables)
    {
        if (env.WorkspacePath is null || !Directory.Exists(env.WorkspacePath))
            throw new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidState, $"The worktree of '{env.Ticket}' ({env.WorkspacePath}) is missing.", env.Ticket);
        var options = env.Metadata.TryGetValue(SrunOptionsKey, out var json) ? JsonSerializer.Deserialize<List<string>>(json) ?? new List<string>() : new List<string> { "--job-name=" + JobNamePrefix + env.Ticket, "--export=ALL", "--quiet" };
        var args = new List<string>(options) { "--chdir=" + env.WorkspacePath, "--" };
        args.AddRange(argv);
        if (env.Metadata.TryGetValue(SlurmConfKey, out var conf) && conf.Length > 0)
            variables = new Dictionary<string, string>(variables, StringComparer.Ordinal) { ["SLURM_CONF"] = conf };
        return new AgentLaunchPlan("srun", args, env.WorkspacePath, variables);
    }

    public override async Task<IReadOnlyList<SwarmRepairItem>> RepairAsync(IReadOnlyList<SwarmEnvironment> owned, bool fix, ProviderContext context, CancellationToken ct)
    {
        var items = await _worktree.RepairAsync(owned.Select(AsWorktree).ToList(), fix, SharedContext(context), ct).ConfigureAwait(false);
        return items.Select(i => new SwarmRepairItem
        {
            Kind = i.Kind, Provider = ProviderName, Ticket = i.Ticket, Path = i.Path, Description = i.Description, Action = i.Action, Fixed = i.Fixed,
        }).ToList();
    }
}
