using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core.Tasks;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>
/// Cancels tasks: a Blocked or Queued task never starts, a Running one has its agent stopped, and
/// dependents that do not run after failure are skipped. A finished task stays as it is.
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "SwarmTask", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(SwarmTask))]
public sealed class StopSwarmTaskCommand : SwarmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("TaskId")]
    [ArgumentCompleter(typeof(TaskIdCompleter))]
    public string[] Id { get; set; } = Array.Empty<string>();

    /// <summary>
    /// The piped object itself, so a piped agent (whose Id binds to -Id by name) is reported as not
    /// being a task instead of being looked up as one. Not for direct use.
    /// </summary>
    [Parameter(ValueFromPipeline = true, DontShow = true)]
    public PSObject? InputObject { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var id in TaskIdsOf(Id, InputObject))
        {
            if (!ShouldProcessItem(id, "Cancel task (stops its agent if it is running; dependents are skipped)")) continue;
            if (TryItem(id, () => Run((_, ct) => Service.Tasks.CancelAsync(id, ct)), out var task) && PassThru)
                WriteObject(task);
        }
    }
}
