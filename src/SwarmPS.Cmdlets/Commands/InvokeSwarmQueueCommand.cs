using System.Management.Automation;
using SwarmPS.Core.Tasks;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>
/// Runs the task queue in this session: dispatches ready tasks in priority order (oldest first within
/// a priority) with up to -MaxParallel agents, shows a progress bar with the counts per status, and
/// writes each task to the pipeline as it finishes. Returns when the queue has drained (with
/// -Continuous: when Stop-SwarmQueue asks), or at once on Ctrl+C.
/// </summary>
/// <remarks>
/// The scheduler runs on a worker task; its OnTaskFinished callback (the scheduler's thread) only
/// queues the task, and the pipeline thread writes it (<see cref="SwarmCmdlet"/>'s RunWithOutput).
/// Ctrl+C stops dispatching; running agents are detached and keep running, and the next scheduler
/// adopts them.
/// </remarks>
[Cmdlet(VerbsLifecycle.Invoke, "SwarmQueue", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(SwarmTask), typeof(QueueRunSummary))]
public sealed class InvokeSwarmQueueCommand : SwarmCmdlet
{
    [Parameter(Position = 0)]
    [ValidateRange(1, 256)]
    public int MaxParallel { get; set; } = 4;

    /// <summary>Keep serving when the queue is empty, until Ctrl+C or Stop-SwarmQueue.</summary>
    [Parameter]
    public SwitchParameter Continuous { get; set; }

    /// <summary>Write one QueueRunSummary at the end instead of the finished tasks.</summary>
    [Parameter]
    public SwitchParameter Summary { get; set; }

    protected override void EndProcessing()
    {
        if (ShouldProcessItem("task queue", $"Run the task queue with up to {MaxParallel} agents in parallel"))
        {
            if (TryItem(null, () => RunWithOutput((progress, output, ct) =>
                    QueueSupport.RunAsync(Service, MaxParallel, Continuous, progress, output, !Summary, null, ct)), out var summary))
            {
                CompleteProgress();
                WriteVerbose(QueueSupport.Describe(summary));
                if (Summary) WriteObject(summary);
            }
        }
        base.EndProcessing();
    }
}
