namespace SwarmPS.Core.Tasks;

/// <summary>Dispatch priority: higher runs first; within a priority, oldest first.</summary>
public enum TaskPriority
{
    Low = 0,
    Normal = 1,
    High = 2,
    Critical = 3,
}

public enum SwarmTaskStatus
{
    /// <summary>Waiting for dependencies.</summary>
    Blocked,
    /// <summary>Ready to run (possibly after a retry back-off).</summary>
    Queued,
    Running,
    Succeeded,
    /// <summary>Failed for good (attempts used up).</summary>
    Failed,
    Cancelled,
    /// <summary>Will never run: a dependency failed or was cancelled or skipped.</summary>
    Skipped,
}

/// <summary>What to do with an environment created for one task when the task ends.</summary>
public enum EnvironmentCleanup
{
    /// <summary>Remove it when the task succeeds, keep it for inspection when it fails (default).</summary>
    KeepOnFailure,
    /// <summary>Remove it whenever the task ends.</summary>
    Remove,
    Keep,
}

/// <summary>
/// A task to add to the queue. Workflows (YAML), decomposition (LLM) and Add-SwarmTask all produce
/// these. <see cref="Name"/> is the author's handle for dependencies inside one batch; it becomes
/// the task id's suffix. <see cref="DependsOn"/> names tasks in the same batch (by Name) or tasks
/// already in the queue (by id).
/// </summary>
public sealed class TaskSpec
{
    public string? Name { get; set; }
    public required string Title { get; set; }
    public required string Prompt { get; set; }
    public TaskPriority Priority { get; set; } = TaskPriority.Normal;
    public List<string> DependsOn { get; set; } = new();
    /// <summary>Run even when a dependency failed (after it ends, whatever its outcome).</summary>
    public bool RunAfterFailure { get; set; }
    /// <summary>An existing environment to run in. When null, a new one is created per task.</summary>
    public string? Ticket { get; set; }
    /// <summary>Provider for a per-task environment (default: the default provider).</summary>
    public string? Provider { get; set; }
    /// <summary>Base ref or image for a per-task environment.</summary>
    public string? Base { get; set; }
    /// <summary>Repository for a per-task environment (default: current directory).</summary>
    public string? RepositoryPath { get; set; }
    public string Profile { get; set; } = "claude";
    /// <summary>argv for the command profile.</summary>
    public List<string>? Command { get; set; }
    public int? TimeoutSeconds { get; set; }
    public int MaxAttempts { get; set; } = 1;
    /// <summary>First retry waits this long; each later one twice as long.</summary>
    public int RetryBackoffSeconds { get; set; } = 30;
    public EnvironmentCleanup Cleanup { get; set; } = EnvironmentCleanup.KeepOnFailure;
}

/// <summary>A task in the registry.</summary>
public sealed record SwarmTask
{
    public required string Id { get; init; }
    public required string Title { get; init; }
    public required string Prompt { get; init; }
    public TaskPriority Priority { get; init; }
    public SwarmTaskStatus Status { get; init; }
    public IReadOnlyList<string> DependsOn { get; init; } = Array.Empty<string>();
    public bool RunAfterFailure { get; init; }
    public string? Ticket { get; init; }
    public string? Provider { get; init; }
    public string? Base { get; init; }
    public string? RepositoryPath { get; init; }
    public required string Profile { get; init; }
    public IReadOnlyList<string>? Command { get; init; }
    public int? TimeoutSeconds { get; init; }
    public int MaxAttempts { get; init; }
    public int RetryBackoffSeconds { get; init; }
    public EnvironmentCleanup Cleanup { get; init; }
    public int Attempts { get; init; }
    /// <summary>The agents that served it, one per attempt.</summary>
    public IReadOnlyList<string> AgentIds { get; init; } = Array.Empty<string>();
    /// <summary>The environment created for it, if any.</summary>
    public string? EnvironmentTicket { get; init; }
    public string? Result { get; init; }
    public decimal? CostUsd { get; init; }
    public string? Error { get; init; }
    public DateTimeOffset? NotBefore { get; init; }
    public long Sequence { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }

    public bool IsTerminal => Status is SwarmTaskStatus.Succeeded or SwarmTaskStatus.Failed or SwarmTaskStatus.Cancelled or SwarmTaskStatus.Skipped;
}
