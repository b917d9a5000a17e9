using SwarmPS.Core.Registry;

namespace SwarmPS.Core.Providers;

/// <summary>What the caller asked for when creating an environment. Providers ignore what they do not use.</summary>
public sealed class NewEnvironmentRequest
{
    public required string Ticket { get; init; }
    public string? Provider { get; init; }
    /// <summary>Repository (any path inside it); default: the current directory.</summary>
    public string? RepositoryPath { get; init; }
    /// <summary>Base ref (worktree/docker) or base image (VM providers). Default: HEAD.</summary>
    public string? BaseRef { get; init; }
    public string? Image { get; init; }
    /// <summary>Spec text written to <c>.swarm/spec.md</c>.</summary>
    public string? Spec { get; init; }
    public int? Cpus { get; init; }
    public int? MemoryMb { get; init; }
    /// <summary>Directory relative paths are resolved against (the caller's current location).</summary>
    public string? WorkingDirectory { get; init; }
    /// <summary>
    /// Provider-specific options, keys case-insensitive (for example the Docker provider's
    /// <c>noWorktree=true</c>). A provider validates the keys it knows; other providers ignore them.
    /// </summary>
    public IReadOnlyDictionary<string, string>? Options { get => _options; init => _options = value; }
    private IReadOnlyDictionary<string, string>? _options;

    /// <summary>Create even when the host would be oversubscribed beyond the configured ratios (-Force / --force).</summary>
    public bool Force { get; init; }

    /// <summary>The same request (every other property copied, whatever is added later) with one more provider-specific option.</summary>
    public NewEnvironmentRequest WithOption(string key, string value)
    {
        var copy = (NewEnvironmentRequest)MemberwiseClone();
        copy._options = new Dictionary<string, string>(Options ?? new Dictionary<string, string>(), StringComparer.OrdinalIgnoreCase) { [key] = value };
        return copy;
    }

    /// <summary>The same request without provider-specific options (for a provider that delegates to another).</summary>
    public NewEnvironmentRequest WithoutOptions()
    {
        var copy = (NewEnvironmentRequest)MemberwiseClone();
        copy._options = null;
        return copy;
    }
}

public sealed class RemoveOptions
{
    /// <summary>Remove even if there is uncommitted or unmerged work; it is lost.</summary>
    public bool Force { get; init; }
    /// <summary>Keep the <c>swarm/&lt;ticket&gt;</c> branch.</summary>
    public bool KeepBranch { get; init; }
}

public sealed record ProviderAvailability(bool Available, string? Reason)
{
    public static ProviderAvailability Yes { get; } = new(true, null);
    public static ProviderAvailability No(string reason) => new(false, reason);
}

/// <summary>Services a provider may use; one per operation.</summary>
public sealed class ProviderContext
{
    public required SwarmHome Home { get; init; }
    public required SwarmConfig Config { get; init; }
    public required SwarmRegistry Registry { get; init; }
    public IProgress<SwarmProgress>? Progress { get; init; }
    /// <summary>Stop: skip the graceful shutdown (kvm: destroy at once instead of an ACPI shutdown first).</summary>
    public bool Force { get; init; }

    public void Report(string activity, string status, int percent = -1) => Progress?.Report(new SwarmProgress(activity, status, percent));
}

/// <summary>
/// One interface for every kind of environment: git worktrees, containers, VMs, cluster
/// allocations. A provider declares what it can do in <see cref="Capabilities"/>; callers ask
/// before acting, and a provider that lacks a capability throws CapabilityNotSupported naming it.
/// The registry is the truth for what SwarmPS owns; the provider is the truth for what runs.
/// </summary>
public interface IEnvironmentProvider
{
    string Name { get; }
    string Description { get; }
    ProviderCapabilities Capabilities { get; }

    /// <summary>Whether the provider can work on this machine, and why not.</summary>
    Task<ProviderAvailability> CheckAvailabilityAsync(CancellationToken ct);

    /// <summary>
    /// Validates the request and fills in the row to reserve (repository, base, branch, workspace),
    /// with no side effects. Errors here create nothing.
    /// </summary>
    Task<SwarmEnvironment> PrepareAsync(NewEnvironmentRequest request, ProviderContext context, CancellationToken ct);

    /// <summary>
    /// Creates the environment for a reserved row (ports already allocated). On failure it must
    /// leave nothing behind in the backend. Returns the row to record (status Running).
    /// </summary>
    Task<SwarmEnvironment> CreateAsync(SwarmEnvironment reserved, NewEnvironmentRequest request, ProviderContext context, CancellationToken ct);

    Task<SwarmEnvironment> StartAsync(SwarmEnvironment env, ProviderContext context, CancellationToken ct);
    Task<SwarmEnvironment> StopAsync(SwarmEnvironment env, ProviderContext context, CancellationToken ct);

    /// <summary>Deletes everything the provider created for the environment (not the registry row).</summary>
    Task RemoveAsync(SwarmEnvironment env, RemoveOptions options, ProviderContext context, CancellationToken ct);

    /// <summary>The backend's view of the environment.</summary>
    Task<EnvironmentStatus> GetStatusAsync(SwarmEnvironment env, CancellationToken ct);

    /// <summary>Saves the state; returns the provider reference stored with the checkpoint.</summary>
    Task<string> CheckpointAsync(SwarmEnvironment env, string name, ProviderContext context, CancellationToken ct);
    Task RestoreAsync(SwarmEnvironment env, SwarmCheckpoint checkpoint, ProviderContext context, CancellationToken ct);
    /// <summary>Checkpoint names that exist in the backend for this environment.</summary>
    Task<IReadOnlyList<string>> ListCheckpointsAsync(SwarmEnvironment env, CancellationToken ct);
    Task RemoveCheckpointAsync(SwarmEnvironment env, SwarmCheckpoint checkpoint, ProviderContext context, CancellationToken ct);

    Task<SwarmConnection> GetConnectionAsync(SwarmEnvironment env, CancellationToken ct);
    Task<SwarmExecResult> ExecAsync(SwarmEnvironment env, IReadOnlyList<string> command, string? standardInput, ProviderContext context, CancellationToken ct);

    /// <summary>
    /// How an agent's argv runs for this environment, as a local process: for a worktree the argv
    /// itself in the worktree; for a container <c>docker exec</c>; for a VM <c>ssh</c>. The supervisor
    /// runs what this returns. <paramref name="variables"/> must reach the agent.
    /// </summary>
    AgentLaunchPlan PlanAgentLaunch(SwarmEnvironment env, IReadOnlyList<string> argv, IReadOnlyDictionary<string, string> variables);

    /// <summary>
    /// Reconciles the rows this provider owns with the backend. Reports dangling rows, orphans and
    /// incomplete creates; with <paramref name="fix"/> repairs the backend side and the rows.
    /// </summary>
    Task<IReadOnlyList<SwarmRepairItem>> RepairAsync(IReadOnlyList<SwarmEnvironment> owned, bool fix, ProviderContext context, CancellationToken ct);

    /// <summary>
    /// What this provider can do for one environment: <see cref="Capabilities"/> unless an environment
    /// was made with less (a Docker environment without a worktree has no DiffMerge).
    /// </summary>
    ProviderCapabilities CapabilitiesOf(SwarmEnvironment env) => Capabilities;

    /// <summary>
    /// Stops what an agent launched through <see cref="PlanAgentLaunch"/> left running inside the
    /// environment (the local process is stopped by the caller). Default: nothing to do.
    /// </summary>
    Task StopAgentAsync(SwarmEnvironment env, string agentId, int run, CancellationToken ct) => Task.CompletedTask;
}

/// <summary>A local process that runs an agent inside an environment.</summary>
public sealed record AgentLaunchPlan(string FileName, IReadOnlyList<string> Arguments, string? WorkingDirectory, IReadOnlyDictionary<string, string> Environment)
{
    /// <summary>
    /// The launcher connects the prompt file to the process's stdin whatever the profile's delivery (a VM
    /// plan copies the prompt into the guest from stdin and itself decides what the agent's stdin is).
    /// </summary>
    public bool PromptOnStandardInput { get; init; }
}

/// <summary>Shared behaviour: capability checks with clear errors.</summary>
public abstract class EnvironmentProviderBase : IEnvironmentProvider
{
    public abstract string Name { get; }
    public abstract string Description { get; }
    public abstract ProviderCapabilities Capabilities { get; }
    public abstract Task<ProviderAvailability> CheckAvailabilityAsync(CancellationToken ct);
    public abstract Task<SwarmEnvironment> PrepareAsync(NewEnvironmentRequest request, ProviderContext context, CancellationToken ct);
    public abstract Task<SwarmEnvironment> CreateAsync(SwarmEnvironment reserved, NewEnvironmentRequest request, ProviderContext context, CancellationToken ct);
    public abstract Task RemoveAsync(SwarmEnvironment env, RemoveOptions options, ProviderContext context, CancellationToken ct);
    public abstract Task<EnvironmentStatus> GetStatusAsync(SwarmEnvironment env, CancellationToken ct);
    public abstract Task<IReadOnlyList<SwarmRepairItem>> RepairAsync(IReadOnlyList<SwarmEnvironment> owned, bool fix, ProviderContext context, CancellationToken ct);

    public virtual Task<SwarmEnvironment> StartAsync(SwarmEnvironment env, ProviderContext context, CancellationToken ct) => throw Unsupported(ProviderCapabilities.StartStop, env.Ticket);
    public virtual Task<SwarmEnvironment> StopAsync(SwarmEnvironment env, ProviderContext context, CancellationToken ct) => throw Unsupported(ProviderCapabilities.StartStop, env.Ticket);
    public virtual Task<string> CheckpointAsync(SwarmEnvironment env, string name, ProviderContext context, CancellationToken ct) => throw Unsupported(ProviderCapabilities.Checkpoint, env.Ticket);
    public virtual Task RestoreAsync(SwarmEnvironment env, SwarmCheckpoint checkpoint, ProviderContext context, CancellationToken ct) => throw Unsupported(ProviderCapabilities.Checkpoint, env.Ticket);
    public virtual Task<IReadOnlyList<string>> ListCheckpointsAsync(SwarmEnvironment env, CancellationToken ct) => Task.FromResult<IReadOnlyList<string>>(Array.Empty<string>());
    public virtual Task RemoveCheckpointAsync(SwarmEnvironment env, SwarmCheckpoint checkpoint, ProviderContext context, CancellationToken ct) => throw Unsupported(ProviderCapabilities.Checkpoint, env.Ticket);
    public virtual Task<SwarmConnection> GetConnectionAsync(SwarmEnvironment env, CancellationToken ct) =>
        Task.FromResult(new SwarmConnection { Ticket = env.Ticket, Provider = Name, Host = env.Address, WorkingDirectory = env.WorkspacePath });
    public virtual Task<SwarmExecResult> ExecAsync(SwarmEnvironment env, IReadOnlyList<string> command, string? standardInput, ProviderContext context, CancellationToken ct) =>
        throw Unsupported(ProviderCapabilities.Exec, env.Ticket);

    public virtual AgentLaunchPlan PlanAgentLaunch(SwarmEnvironment env, IReadOnlyList<string> argv, IReadOnlyDictionary<string, string> variables) =>
        throw Unsupported(ProviderCapabilities.Exec, env.Ticket);

    public virtual ProviderCapabilities CapabilitiesOf(SwarmEnvironment env) => Capabilities;
    public virtual Task StopAgentAsync(SwarmEnvironment env, string agentId, int run, CancellationToken ct) => Task.CompletedTask;

    /// <summary>One finding of <see cref="RepairAsync"/>, attributed to this provider.</summary>
    protected SwarmRepairItem Item(RepairIssueKind kind, string? ticket, string? path, string description, string action, bool fixedIt) =>
        new() { Kind = kind, Provider = Name, Ticket = ticket, Path = path, Description = description, Action = action, Fixed = fixedIt };

    /// <summary>The error for a capability this provider lacks. It names the capability and the provider.</summary>
    public SwarmException Unsupported(ProviderCapabilities capability, string? ticket) =>
        new(ErrorIds.CapabilityNotSupported, SwarmErrorKind.NotSupported,
            $"The {Name} provider does not support {capability}.", ticket) { Hint = Hints.Providers };
}
