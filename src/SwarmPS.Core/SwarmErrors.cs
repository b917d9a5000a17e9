namespace SwarmPS.Core;

/// <summary>Broad error classes. The CLI maps them to exit codes, the cmdlets to ErrorCategory.</summary>
public enum SwarmErrorKind
{
    /// <summary>The caller gave bad input. CLI exit code 2; terminating in PowerShell.</summary>
    InvalidArgument,
    NotFound,
    AlreadyExists,
    /// <summary>The provider lacks the capability the operation needs.</summary>
    NotSupported,
    /// <summary>The object is in a state that forbids the operation (for example uncommitted work).</summary>
    InvalidState,
    /// <summary>A backend (git, a hypervisor, ...) is missing or unreachable.</summary>
    Unavailable,
    /// <summary>A backend call failed.</summary>
    OperationFailed,
    Conflict,
    Cancelled,
}

/// <summary>
/// Every failure SwarmPS reports carries a stable <see cref="ErrorId"/> (used as the PowerShell
/// ErrorId and as the first word of the CLI's error line) and the item it concerns.
/// </summary>
public class SwarmException : Exception
{
    public SwarmException(string errorId, SwarmErrorKind kind, string message, string? target = null, Exception? inner = null)
        : base(message, inner)
    {
        ErrorId = errorId;
        Kind = kind;
        Target = target;
    }

    public string ErrorId { get; }
    public SwarmErrorKind Kind { get; }
    public string? Target { get; }

    /// <summary>Extra lines (for example the files that would be lost) shown under the message.</summary>
    public IReadOnlyList<string> Details { get; init; } = Array.Empty<string>();
}

/// <summary>Stable error ids. Scripts match on these; never rename one.</summary>
public static class ErrorIds
{
    public const string InvalidTicket = "InvalidTicket";
    public const string InvalidCheckpointName = "InvalidCheckpointName";
    public const string InvalidArgument = "InvalidArgument";
    /// <summary>A path argument that cannot be resolved to a file-system path.</summary>
    public const string InvalidPath = "InvalidPath";
    /// <summary>An agent run number the agent does not have.</summary>
    public const string RunNotFound = "RunNotFound";
    public const string EnvironmentNotFound = "EnvironmentNotFound";
    public const string EnvironmentExists = "EnvironmentExists";
    public const string CheckpointNotFound = "CheckpointNotFound";
    public const string CheckpointExists = "CheckpointExists";
    public const string ProviderNotFound = "ProviderNotFound";
    public const string ProviderUnavailable = "ProviderUnavailable";
    public const string ProviderMismatch = "ProviderMismatch";
    public const string CapabilityNotSupported = "CapabilityNotSupported";
    public const string UncommittedChanges = "UncommittedChanges";
    public const string UnmergedCommits = "UnmergedCommits";
    public const string MergeConflict = "MergeConflict";
    public const string NotAGitRepository = "NotAGitRepository";
    public const string BaseRefNotFound = "BaseRefNotFound";
    public const string BranchExists = "BranchExists";
    public const string PortsExhausted = "PortsExhausted";
    public const string SetupFailed = "SetupFailed";
    public const string GitFailed = "GitFailed";
    public const string ProcessFailed = "ProcessFailed";
    public const string RegistryError = "RegistryError";
    public const string ConfigInvalid = "ConfigInvalid";
    public const string InvalidState = "InvalidState";
    public const string OperationCancelled = "OperationCancelled";
    public const string ProfileNotFound = "ProfileNotFound";
    public const string AgentNotFound = "AgentNotFound";
    public const string AgentsRunning = "AgentsRunning";
    public const string AgentStartFailed = "AgentStartFailed";
    public const string Timeout = "Timeout";
    public const string TaskNotFound = "TaskNotFound";
    public const string DependencyCycle = "DependencyCycle";
    public const string SchedulerRunning = "SchedulerRunning";

    // Host resources (issue 6)
    /// <summary>Create would take CPU, memory or disk past capacity × the configured overcommit ratio (-Force / --force overrides).</summary>
    public const string HostOversubscribed = "HostOversubscribed";
    // KVM provider and base images (issue 6)
    /// <summary>A base image with that name (any case) is already registered.</summary>
    public const string ImageExists = "ImageExists";
    /// <summary>No base image with that name, or its file (disk, kernel, initrd) is missing.</summary>
    public const string ImageNotFound = "ImageNotFound";
    /// <summary>A VM did not get an address or did not answer SSH within the readiness timeout.</summary>
    public const string ReadinessTimeout = "ReadinessTimeout";
    /// <summary>An ssh/ssh-keygen step for a VM failed (missing client, refused login).</summary>
    public const string SshFailed = "SshFailed";
}
