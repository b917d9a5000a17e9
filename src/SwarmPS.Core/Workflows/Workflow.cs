using SwarmPS.Core.Tasks;

namespace SwarmPS.Core.Workflows;

/// <summary>
/// A parsed workflow file: its optional name, the defaults block as written, and one
/// <see cref="TaskSpec"/> per task in file order with the defaults already applied. Parsing has no
/// side effects; queueing the tasks is the caller's business (<c>Invoke-SwarmWorkflow</c>,
/// <c>swarmps workflow run</c>).
/// </summary>
public sealed class Workflow
{
    /// <summary>The file's <c>name:</c> (ticket rules), or null.</summary>
    public string? Name { get; init; }

    /// <summary>The path the file was read from, as given to the parser (used in error messages).</summary>
    public required string SourcePath { get; init; }

    public required WorkflowDefaults Defaults { get; init; }

    /// <summary>
    /// The tasks in file order. Every <see cref="TaskSpec.Name"/> is set and unique (case-insensitive);
    /// every <see cref="TaskSpec.DependsOn"/> entry is either the exact <c>Name</c> of another task in
    /// this list or an existing task id (<c>t-...</c>) passed through unchanged. There is no cycle
    /// among the tasks of the file.
    /// </summary>
    public required IReadOnlyList<TaskSpec> Tasks { get; init; }
}

/// <summary>The <c>defaults:</c> block. A null member was not given (the <see cref="TaskSpec"/> default applies).</summary>
public sealed class WorkflowDefaults
{
    public string? Profile { get; init; }
    public string? Provider { get; init; }
    public string? Base { get; init; }
    /// <summary>Full path (a relative <c>repository:</c> is resolved against the workflow file's folder).</summary>
    public string? RepositoryPath { get; init; }
    public string? Ticket { get; init; }
    public TaskPriority? Priority { get; init; }
    public int? MaxAttempts { get; init; }
    public int? RetryBackoffSeconds { get; init; }
    public int? TimeoutSeconds { get; init; }
    public EnvironmentCleanup? Cleanup { get; init; }
    public bool? RunAfterFailure { get; init; }
}
