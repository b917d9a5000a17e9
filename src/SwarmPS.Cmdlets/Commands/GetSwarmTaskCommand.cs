using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core;
using SwarmPS.Core.Agents;
using SwarmPS.Core.Tasks;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>Gets tasks from the queue (all by default, in dispatch order), by id (wildcards) and/or status.</summary>
/// <remarks>
/// An exact id that matches no task is a TaskNotFound error; a pattern that matches nothing returns
/// nothing (as Get-ChildItem does). -Status never binds from the pipeline (a SwarmAgent's Status
/// "Running" would otherwise convert to a task status).
/// </remarks>
[Cmdlet(VerbsCommon.Get, "SwarmTask")]
[OutputType(typeof(SwarmTask))]
public sealed class GetSwarmTaskCommand : SwarmCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("TaskId")]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(TaskIdCompleter))]
    public string[]? Id { get; set; }

    /// <summary>
    /// The piped object itself, so a piped agent (whose Id binds to -Id by name) is reported as not
    /// being a task instead of being looked up as one. Not for direct use.
    /// </summary>
    [Parameter(ValueFromPipeline = true, DontShow = true)]
    public PSObject? InputObject { get; set; }

    [Parameter]
    public SwarmTaskStatus[]? Status { get; set; }

    protected override void ProcessRecord()
    {
        if (InputObject?.BaseObject is SwarmAgent)
        {
            TaskIdsOf(Id, InputObject); // reports it
            return;
        }
        var statuses = Status is { Length: > 0 } ? Status : null;
        if (Id is not { Length: > 0 })
        {
            if (TryItem(null, () => Service.Tasks.List(new TaskFilter { Statuses = statuses }), out var all))
                foreach (var t in all) WriteObject(t);
            return;
        }
        foreach (var id in Id)
        {
            if (Glob.HasWildcards(id))
            {
                if (TryItem(id, () => Service.Tasks.List(new TaskFilter { Ids = new[] { id }, Statuses = statuses }), out var matched))
                    foreach (var t in matched) WriteObject(t);
            }
            else if (TryItem(id, () => Service.Tasks.Get(id), out var task) && (statuses is null || statuses.Contains(task.Status)))
            {
                WriteObject(task);
            }
        }
    }
}
