using System.Management.Automation;
using SwarmPS.Core.Tasks;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>
/// Asks the running scheduler (detached, or Invoke-SwarmQueue in another session) to stop and waits
/// until it has. It stops between dispatches; running agents keep running and the next scheduler adopts them.
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "SwarmQueue", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(SwarmQueueStatus))]
public sealed class StopSwarmQueueCommand : SwarmCmdlet
{
    /// <summary>Seconds to wait for the scheduler to stop; then a Timeout error.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int TimeoutSeconds { get; set; } = 60;

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void EndProcessing()
    {
        if (ShouldProcessItem("task queue", "Stop the running scheduler (between dispatches; agents keep running)"))
        {
            if (TryItem(null, () => Run((_, ct) => Service.Queue.StopAsync(TimeSpan.FromSeconds(TimeoutSeconds), ct)), out var wasRunning))
            {
                if (!wasRunning) WriteWarning("No scheduler is running.");
                if (PassThru && TryItem(null, () => Service.Queue.Status(), out var status)) WriteObject(status);
            }
        }
        base.EndProcessing();
    }
}
