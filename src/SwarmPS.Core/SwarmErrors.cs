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

    /// <summary>
    /// What to do next, worded per front end (the CLI names <c>swarmps</c> commands and <c>--options</c>,
    /// the cmdlets name cmdlets and <c>-Parameters</c>). Not part of <see cref="Exception.Message"/>:
    /// each front end shows <see cref="MessageFor"/>.
    /// </summary>
    public FrontEndHint? Hint { get; init; }

    /// <summary>The message followed by the hint in the words of <paramref name="frontEnd"/>.</summary>
    public string MessageFor(FrontEnd frontEnd) => Hint is null ? Message : $"{Message} {Hint.For(frontEnd)}";
}

/// <summary>The front ends that show Core's errors.</summary>
public enum FrontEnd
{
    Cli,
    PowerShell,
}

/// <summary>One hint, worded for each front end (whole sentences).</summary>
public sealed record FrontEndHint(string Cli, string PowerShell)
{
    public string For(FrontEnd frontEnd) => frontEnd == FrontEnd.PowerShell ? PowerShell : Cli;
}

/// <summary>The hints Core's errors give, each in CLI and PowerShell words.</summary>
public static class Hints
{
    public static readonly FrontEndHint ListEnvironments = new("'swarmps env list' shows the tickets that exist.", "Get-SwarmEnvironment shows the tickets that exist.");
    public static readonly FrontEndHint ListAgents = new("'swarmps agent list' shows the agents that exist.", "Get-SwarmAgent shows the agents that exist.");
    public static readonly FrontEndHint ListTasks = new("'swarmps task list' shows the tasks.", "Get-SwarmTask shows the tasks.");
    public static readonly FrontEndHint ListSwarms = new("'swarmps swarm list' shows the swarms that exist.", "Get-Swarm shows the swarms that exist.");
    public static readonly FrontEndHint Providers = new("'swarmps providers' lists what each provider can do.", "Get-SwarmProvider lists what each provider can do.");
    public static readonly FrontEndHint Repair = new("'swarmps repair' reconciles the registry.", "Repair-SwarmRegistry reconciles the registry.");
    public static readonly FrontEndHint RepairCheckpoints = new("'swarmps repair' reconciles checkpoints.", "Repair-SwarmRegistry reconciles checkpoints.");
    public static readonly FrontEndHint RepairFixRemoves = new("'swarmps repair --fix' removes it.", "Repair-SwarmRegistry -Fix removes it.");
    public static readonly FrontEndHint RepairReportsFixRemoves = new("'swarmps repair' reports it; 'swarmps repair --fix' removes it.", "Repair-SwarmRegistry reports it; Repair-SwarmRegistry -Fix removes it.");
    public static readonly FrontEndHint RepairFixRecreates = new("'swarmps repair --fix' recreates it (the worktree keeps the code).", "Repair-SwarmRegistry -Fix recreates it (the worktree keeps the code).");
    public static readonly FrontEndHint StopScheduler = new("Stop it with 'swarmps queue stop'.", "Stop it with Stop-SwarmQueue.");
    public static readonly FrontEndHint CancelTaskFirst = new("Cancel it first ('swarmps task cancel').", "Cancel it first (Stop-SwarmTask).");
    public static readonly FrontEndHint WaitForAgent = new("Wait for it ('swarmps agent wait') before sending a follow-up.", "Wait for it (Wait-SwarmAgent) before sending a follow-up.");
    public static readonly FrontEndHint RemoveForce = new("Use --force to remove anyway.", "Use -Force to remove anyway.");
    public static readonly FrontEndHint RemoveForceStops = new("Stop them first, or use --force to stop them and remove.", "Stop them first (Stop-SwarmAgent), or use -Force to stop them and remove.");
    public static readonly FrontEndHint KeepBranchOrForce = new("Merge first, or use --keep-branch or --force.", "Merge first, or use -KeepBranch or -Force.");
    public static readonly FrontEndHint MergeInto = new("Name one with --into.", "Name one with -Into.");
    public static readonly FrontEndHint Oversubscribed = new("Remove environments you no longer need, ask for less (--cpus / --memory-mb), raise the ratio under \"host\" in config.json, or pass --force.",
        "Remove environments you no longer need, ask for less (-Cpus / -MemoryMb), raise the ratio under \"host\" in config.json, or pass -Force.");

    public static readonly FrontEndHint RegisterImage = new("Register one first with 'swarmps image register' (or build one with 'swarmps image build').",
        "Register one first with Register-SwarmBaseImage (or build one with New-SwarmBaseImage).");
    public static readonly FrontEndHint PassImage = new("Pass --image NAME ('swarmps image list' shows the registered ones).", "Pass -Image NAME (Get-SwarmBaseImage shows the registered ones).");
    public static readonly FrontEndHint ChooseImage = new("Or choose another image with --image, SWARMPS_DOCKER_IMAGE or docker.defaultImage in config.json.",
        "Or choose another image with -Image, SWARMPS_DOCKER_IMAGE or docker.defaultImage in config.json.");
    public static readonly FrontEndHint Cpus = new("Ask for a count in that range with --cpus.", "Ask for a count in that range with -Cpus.");
    public static readonly FrontEndHint MemoryMb = new("Ask for a size in that range with --memory-mb.", "Ask for a size in that range with -MemoryMb.");
    public static readonly FrontEndHint NoWorktree = new("For example a docker environment made with --no-worktree has no worktree to diff or merge.",
        "For example a docker environment made with -NoWorktree has no worktree to diff or merge.");
    public static readonly FrontEndHint WorktreeHasNoOptions = new("Provider-specific options (for example docker's --no-worktree) need that provider (--provider).",
        "Provider-specific parameters (for example docker's -NoWorktree) need that provider (-Provider).");
    public static readonly FrontEndHint PassRepository = new("Run this in a repository or pass --repo.", "Run this in a repository or pass -RepositoryPath.");
    public static readonly FrontEndHint KernelForInitrd = new("Pass --kernel too, or drop --initrd / --cmdline.", "Pass -Kernel too, or drop -Initrd / -KernelCommandLine.");
    public static readonly FrontEndHint BuildTimeout = new("A longer timeout: --timeout-minutes.", "A longer timeout: -TimeoutMinutes.");
    public static readonly FrontEndHint CommandArgv = new("Give the argv after '--': 'swarmps agent start T --profile command -- ./script.sh arg'.",
        "Give the argv with -Command: Start-SwarmAgent -Ticket T -Profile command -Command './script.sh','arg'.");
    public static readonly FrontEndHint SwarmCommandArgv = new("Give its argv after '--': 'swarmps swarm launch --nodes N --prompt SYS --profile command -- ./script.sh arg'.",
        "Give its argv with -Command: Start-Swarm -Nodes N -Prompt SYS -Profile command -Command './script.sh','arg'.");
    public static readonly FrontEndHint TartSshSetup = new("See 'swarmps image register --help' (Tart base VMs).", "See Get-Help Register-SwarmBaseImage (Tart base VMs).");

    /// <summary>How to register an existing base image file for <paramref name="provider"/> (<paramref name="path"/> is an example or the real path).</summary>
    public static FrontEndHint RegisterImageFile(string name, string provider, string path) =>
        new($"Register it with 'swarmps image register {name} --provider {provider} --path {path}'.",
            $"Register it with Register-SwarmBaseImage -Name {name} -Provider {provider} -Path {path}.");

    /// <summary>How to register a first base image for <paramref name="provider"/> (<paramref name="examplePath"/> shows what --path / -Path takes).</summary>
    public static FrontEndHint RegisterFirstImage(string provider, string examplePath) =>
        new($"Register one first: 'swarmps image register NAME --provider {provider} --path {examplePath}'.",
            $"Register one first: Register-SwarmBaseImage -Name NAME -Provider {provider} -Path {examplePath}.");

    public static FrontEndHint StopEnvironment(string example) => new($"Stop one first ('swarmps env stop {example}' or 'tart stop NAME').", $"Stop one first (Stop-SwarmEnvironment -Ticket {example}, or 'tart stop NAME').");

    /// <summary>Start the environment with readiness (kvm: without --no-wait / -NoWait) so its address is recorded.</summary>
    public static FrontEndHint StartWithReadiness(string ticket, bool mentionNoWait) => mentionNoWait
        ? new($"Start it with readiness (without --no-wait) first: 'swarmps env start {ticket}'.", $"Start it with readiness (without -NoWait) first: Start-SwarmEnvironment -Ticket {ticket}.")
        : new($"Start it with readiness first: 'swarmps env start {ticket}'.", $"Start it with readiness first: Start-SwarmEnvironment -Ticket {ticket}.");

    public static FrontEndHint IsVmUp(string ticket) => new($"Is the VM up ('swarmps env start {ticket}')?", $"Is the VM up (Start-SwarmEnvironment -Ticket {ticket})?");

    public static FrontEndHint ListCheckpoints(string ticket) => new($"'swarmps env checkpoints {ticket}' lists them.", $"Get-SwarmCheckpoint -Ticket {ticket} lists them.");

    public static FrontEndHint StartEnvironment(string ticket) => new($"Start it first: 'swarmps env start {ticket}'.", $"Start it first: Start-SwarmEnvironment -Ticket {ticket}.");
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
