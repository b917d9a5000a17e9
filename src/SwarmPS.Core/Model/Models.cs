namespace SwarmPS.Core;

/// <summary>Lifecycle states of an environment as recorded in the registry.</summary>
public enum EnvironmentStatus
{
    /// <summary>A create is in progress (or crashed; <c>repair</c> cleans it up).</summary>
    Creating,
    /// <summary>Usable. For the worktree provider: the worktree exists.</summary>
    Running,
    Stopped,
    /// <summary>The registry row exists but the backend no longer has the environment.</summary>
    Missing,
    Error,
}

/// <summary>A contiguous block of TCP ports reserved for one environment.</summary>
public sealed class PortBlock
{
    public PortBlock(int start, int count)
    {
        Start = start;
        Count = count;
    }

    public int Start { get; }
    public int Count { get; }
    public int End => Start + Count - 1;
    public override string ToString() => Count <= 0 ? "" : $"{Start}-{End}";
}

/// <summary>One isolated environment for one ticket.</summary>
public sealed class SwarmEnvironment
{
    public required string Ticket { get; init; }
    public required string Provider { get; init; }
    public EnvironmentStatus Status { get; init; }
    public string? InstanceId { get; init; }
    public string? RepositoryPath { get; init; }
    public string? BaseRef { get; init; }
    public string? Branch { get; init; }
    public string? WorkspacePath { get; init; }
    public string? Address { get; init; }
    public PortBlock Ports { get; init; } = new(0, 0);
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    public SwarmEnvironment With(EnvironmentStatus? status = null, IReadOnlyDictionary<string, string>? metadata = null,
        string? instanceId = null, string? workspacePath = null, string? branch = null, string? address = null, DateTimeOffset? updatedAt = null) => new()
    {
        Ticket = Ticket, Provider = Provider, Status = status ?? Status, InstanceId = instanceId ?? InstanceId,
        RepositoryPath = RepositoryPath, BaseRef = BaseRef, Branch = branch ?? Branch, WorkspacePath = workspacePath ?? WorkspacePath,
        Address = address ?? Address, Ports = Ports, CreatedAt = CreatedAt, UpdatedAt = updatedAt ?? UpdatedAt, Metadata = metadata ?? Metadata,
    };
}

/// <summary>A saved state of an environment.</summary>
public sealed class SwarmCheckpoint
{
    public required string Ticket { get; init; }
    public required string Name { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    /// <summary>What the provider needs to restore it (for the worktree provider, the checkpoint ref).</summary>
    public string? ProviderReference { get; init; }
}

/// <summary>What a provider can do. Callers ask before acting.</summary>
[Flags]
public enum ProviderCapabilities
{
    None = 0,
    Checkpoint = 1,
    /// <summary>Checkpoint without stopping the environment.</summary>
    CheckpointWhileRunning = 2,
    /// <summary>Checkpoints keep memory state (processes survive a restore).</summary>
    MemoryState = 4,
    /// <summary>Environments are copy-on-write clones of their base.</summary>
    CopyOnWriteClone = 8,
    Exec = 16,
    /// <summary>Diff and merge the environment's work against its base branch.</summary>
    DiffMerge = 32,
    StartStop = 64,
}

/// <summary>A provider as seen on this machine.</summary>
public sealed class SwarmProviderInfo
{
    public required string Name { get; init; }
    public bool Available { get; init; }
    public string? Reason { get; init; }
    public ProviderCapabilities Capabilities { get; init; }
    public bool IsDefault { get; init; }
    public string? Description { get; init; }
    /// <summary>The capabilities as a list of names, in a stable order.</summary>
    public IReadOnlyList<string> CapabilityNames => Enum.GetValues<ProviderCapabilities>()
        .Where(c => c != ProviderCapabilities.None && Capabilities.HasFlag(c)).Select(c => c.ToString()).ToList();
}

/// <summary>A file changed between the base and the environment's current state.</summary>
public sealed class SwarmDiffFile
{
    public required string Path { get; init; }
    /// <summary>Added, Modified, Deleted, Renamed, TypeChanged, Copied.</summary>
    public required string Change { get; init; }
    public string? OldPath { get; init; }
    /// <summary>Lines added; null for binary files.</summary>
    public int? Additions { get; init; }
    public int? Deletions { get; init; }
}

/// <summary>The work of an environment against its base: commits plus uncommitted changes.</summary>
public sealed class SwarmDiff
{
    public required string Ticket { get; init; }
    public required string BaseRef { get; init; }
    public required string BaseCommit { get; init; }
    public IReadOnlyList<string> Commits { get; init; } = Array.Empty<string>();
    public IReadOnlyList<SwarmDiffFile> Files { get; init; } = Array.Empty<SwarmDiffFile>();
    public bool HasUncommittedChanges { get; init; }
    public int Additions => Files.Sum(f => f.Additions ?? 0);
    public int Deletions => Files.Sum(f => f.Deletions ?? 0);
    public string Patch { get; init; } = "";
}

/// <summary>The outcome of a merge back into the base branch.</summary>
public sealed class SwarmMergeResult
{
    public required string Ticket { get; init; }
    public required string Branch { get; init; }
    public required string TargetBranch { get; init; }
    public bool Merged { get; init; }
    /// <summary>Nothing to merge: the target already contains the branch.</summary>
    public bool UpToDate { get; init; }
    public string? Commit { get; init; }
    public IReadOnlyList<string> ConflictingFiles { get; init; } = Array.Empty<string>();
    /// <summary>Uncommitted changes in the environment were not part of the merge.</summary>
    public bool UncommittedChangesLeft { get; init; }
}

public enum RepairIssueKind
{
    /// <summary>A registry row whose environment no longer exists in the backend.</summary>
    DanglingRow,
    /// <summary>An environment in the backend that no registry row owns.</summary>
    Orphan,
    /// <summary>A create that never finished (the process died mid-way).</summary>
    IncompleteCreate,
    /// <summary>A checkpoint row whose backend state is gone, or backend state without a row.</summary>
    DanglingCheckpoint,
    OrphanCheckpoint,
    /// <summary>The registry status disagrees with the backend.</summary>
    StatusDrift,
}

/// <summary>One discrepancy found by repair, and what was (or would be) done about it.</summary>
public sealed class SwarmRepairItem
{
    public required RepairIssueKind Kind { get; init; }
    public required string Provider { get; init; }
    public string? Ticket { get; init; }
    public string? Path { get; init; }
    public required string Description { get; init; }
    public required string Action { get; init; }
    public bool Fixed { get; init; }
}

/// <summary>How to reach an environment.</summary>
public sealed class SwarmConnection
{
    public required string Ticket { get; init; }
    public required string Provider { get; init; }
    public string? Host { get; init; }
    public int? Port { get; init; }
    public string? User { get; init; }
    public string? KeyPath { get; init; }
    public string? WorkingDirectory { get; init; }
    /// <summary>VMs: the environment's own known_hosts file (its guest's host key, recorded at the first login).</summary>
    public string? KnownHostsPath { get; init; }
    /// <summary>VMs: the name the host key is recorded under (the domain name), so a new DHCP address is no new host.</summary>
    public string? HostKeyAlias { get; init; }
}

/// <summary>The result of running a command inside an environment.</summary>
public sealed class SwarmExecResult
{
    public required string Ticket { get; init; }
    public int ExitCode { get; init; }
    public string StandardOutput { get; init; } = "";
    public string StandardError { get; init; } = "";
}

/// <summary>A progress report from long work.</summary>
public readonly record struct SwarmProgress(string Activity, string Status, int PercentComplete = -1, bool Completed = false);
