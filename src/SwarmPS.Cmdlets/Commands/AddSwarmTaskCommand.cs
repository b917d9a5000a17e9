using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core;
using SwarmPS.Core.Tasks;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>
/// Adds tasks to the durable queue. Everything given in one pipeline is one batch, added atomically
/// in EndProcessing: dependencies are checked (unknown ids and cycles are rejected) and either every
/// task is added or none.
/// </summary>
/// <remarks>
/// Two ways in: the fields (<c>-Title</c>, <c>-Prompt</c>...; one task, or one per <c>-Ticket</c>, so
/// <c>Get-SwarmEnvironment | Add-SwarmTask -Title ... -Prompt ...</c> adds a task per environment), or
/// <c>-InputObject</c> TaskSpec objects from the pipeline (<c>Invoke-SwarmDecomposition | Add-SwarmTask</c>),
/// whose dependencies name other specs of the same batch. Piped specs are copied, never changed.
/// </remarks>
[Cmdlet(VerbsCommon.Add, "SwarmTask", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = FieldsSet)]
[OutputType(typeof(SwarmTask))]
public sealed class AddSwarmTaskCommand : SwarmCmdlet
{
    public const string FieldsSet = "Fields";
    public const string InputObjectSet = "InputObject";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = FieldsSet)]
    [ValidateNotNullOrEmpty]
    public string Title { get; set; } = "";

    /// <summary>The agent's instructions. Optional only for the command profile.</summary>
    [Parameter(Position = 1, ParameterSetName = FieldsSet)]
    [AllowEmptyString]
    public string Prompt { get; set; } = "";

    /// <summary>The task's handle inside the batch (other tasks' -DependsOn); becomes the id's suffix.</summary>
    [Parameter(ParameterSetName = FieldsSet)]
    public string? Name { get; set; }

    [Parameter(ParameterSetName = FieldsSet)]
    public TaskPriority Priority { get; set; } = TaskPriority.Normal;

    [Parameter(ParameterSetName = FieldsSet)]
    [ArgumentCompleter(typeof(TaskIdCompleter))]
    public string[]? DependsOn { get; set; }

    [Parameter(ParameterSetName = FieldsSet)]
    public SwitchParameter RunAfterFailure { get; set; }

    /// <summary>Existing environments to run in: one task per ticket. Without it, each task gets a new environment.</summary>
    [Parameter(ParameterSetName = FieldsSet, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(TicketCompleter))]
    public string[]? Ticket { get; set; }

    [Parameter(ParameterSetName = FieldsSet)]
    [ArgumentCompleter(typeof(ProviderNameCompleter))]
    public string? Provider { get; set; }

    [Parameter(ParameterSetName = FieldsSet)]
    public string? Base { get; set; }

    [Parameter(ParameterSetName = FieldsSet)]
    public string? RepositoryPath { get; set; }

    [Parameter(ParameterSetName = FieldsSet)]
    [ArgumentCompleter(typeof(AgentProfileCompleter))]
    public string Profile { get; set; } = "claude";

    /// <summary>The argument list for the command profile.</summary>
    [Parameter(ParameterSetName = FieldsSet)]
    public string[]? Command { get; set; }

    [Parameter(ParameterSetName = FieldsSet)]
    [ValidateRange(1, int.MaxValue)]
    public int TimeoutSeconds { get; set; }

    [Parameter(ParameterSetName = FieldsSet)]
    [ValidateRange(1, 100)]
    public int MaxAttempts { get; set; } = 1;

    [Parameter(ParameterSetName = FieldsSet)]
    [ValidateRange(0, int.MaxValue)]
    public int RetryBackoffSeconds { get; set; } = 30;

    [Parameter(ParameterSetName = FieldsSet)]
    public EnvironmentCleanup Cleanup { get; set; } = EnvironmentCleanup.KeepOnFailure;

    /// <summary>Task specs, for example from Invoke-SwarmDecomposition. The whole pipeline is one batch.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    public TaskSpec[] InputObject { get; set; } = Array.Empty<TaskSpec>();

    private readonly List<TaskSpec> _batch = new();

    protected override void ProcessRecord()
    {
        if (ParameterSetName == InputObjectSet)
        {
            foreach (var spec in InputObject)
                if (spec is not null) _batch.Add(WithRepository(spec));
            return;
        }

        if (string.IsNullOrEmpty(Prompt) && !string.Equals(Profile, "command", StringComparison.OrdinalIgnoreCase))
            Terminate(new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"Task '{Title}' needs a -Prompt (only the command profile runs without one)."));
        var tickets = Ticket is { Length: > 0 } ? Ticket.Select(t => (string?)ValidTicket(t)).ToList() : new List<string?> { null };
        foreach (var ticket in tickets)
        {
            _batch.Add(WithRepository(new TaskSpec
            {
                Name = Name, Title = Title, Prompt = Prompt, Priority = Priority, DependsOn = (DependsOn ?? Array.Empty<string>()).ToList(),
                RunAfterFailure = RunAfterFailure, Ticket = ticket, Provider = Provider, Base = Base, RepositoryPath = RepositoryPath,
                Profile = Profile, Command = Command?.ToList(),
                TimeoutSeconds = MyInvocation.BoundParameters.ContainsKey(nameof(TimeoutSeconds)) ? TimeoutSeconds : null,
                MaxAttempts = MaxAttempts, RetryBackoffSeconds = RetryBackoffSeconds, Cleanup = Cleanup,
            }));
        }
    }

    /// <summary>The whole pipeline is one atomic batch, so a repository path that cannot be resolved terminates.</summary>
    private TaskSpec WithRepository(TaskSpec spec) =>
        QueueSupport.WithRepository(spec, p => ResolvePathOrTerminate(p, nameof(RepositoryPath)), CurrentDirectory);

    protected override void EndProcessing()
    {
        if (_batch.Count > 0)
        {
            var titles = string.Join(", ", _batch.Take(5).Select(s => $"'{s.Title}'")) + (_batch.Count > 5 ? $" and {_batch.Count - 5} more" : "");
            var target = _batch.Count == 1 ? $"Task {titles} ({_batch[0].Priority}, profile {_batch[0].Profile})" : $"{_batch.Count} tasks: {titles}";
            if (ShouldProcessItem(target, "Add to the task queue"))
            {
                if (TryItem(null, () => Service.Tasks.Add(_batch), out var added))
                    foreach (var t in added) WriteObject(t);
            }
        }
        base.EndProcessing();
    }
}
