using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core.Tasks;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>
/// Removes tasks from the queue. Refuses a running task, and an unfinished task that others depend
/// on (cancel it instead, so they are skipped), unless -Force; a running task is cancelled (its agent
/// stopped) before a forced removal.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "SwarmTask", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(void))]
public sealed class RemoveSwarmTaskCommand : SwarmCmdlet
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

    /// <summary>Removes even a running task or one with unfinished dependents, and skips the confirmation prompt.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var id in TaskIdsOf(Id, InputObject))
        {
            if (!ShouldProcessItem(id, "Remove task from the queue", Force)) continue;
            // -Force on a running task cancels it first, so its agent is stopped rather than orphaned.
            if (TryItem(id, () =>
                {
                    if (Force && Service.Tasks.Get(id).Status == SwarmTaskStatus.Running)
                        Run((_, ct) => Service.Tasks.CancelAsync(id, ct));
                    return Service.Tasks.Remove(id, Force);
                }, out var removed))
                WriteVerbose($"Removed task {removed.Id} '{removed.Title}' ({removed.Status}).");
        }
    }
}
