using System.Management.Automation;
using SwarmPS.Core;
using SwarmPS.Core.Tasks;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>
/// Starts the scheduler detached (for runbooks): a separate <c>pwsh -NoProfile -NonInteractive</c>
/// that imports this module and runs <c>Invoke-SwarmQueue -MaxParallel N</c>; it outlives this
/// session. Returns the queue status once the new scheduler holds the registry's scheduler lease.
/// </summary>
/// <remarks>
/// The command line is built by <see cref="QueueSupport.DetachedArguments"/>: the module path is a
/// single-quoted PowerShell literal and -MaxParallel an int, nothing else is interpolated. The
/// process is started through Core's detached-process seam with SWARMPS_HOME set to this session's home.
/// </remarks>
[Cmdlet(VerbsLifecycle.Start, "SwarmQueue", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(SwarmQueueStatus))]
public sealed class StartSwarmQueueCommand : SwarmCmdlet
{
    [Parameter(Position = 0)]
    [ValidateRange(1, 256)]
    public int MaxParallel { get; set; } = 4;

    /// <summary>Keep serving when the queue is empty (tasks added later run too), until Stop-SwarmQueue.</summary>
    [Parameter]
    public SwitchParameter Continuous { get; set; }

    protected override void EndProcessing()
    {
        var modulePath = QueueSupport.ModuleManifestPath() ?? MyInvocation.MyCommand.Module?.Path;
        if (string.IsNullOrEmpty(modulePath))
            Terminate(new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidState, "Cannot find the SwarmPS module manifest to start a detached scheduler with."));
        var pwsh = QueueSupport.PwshPath(Environment.ProcessPath, SessionState.PSVariable.GetValue("PSHOME") as string);
        var arguments = QueueSupport.DetachedArguments(modulePath!, MaxParallel, Continuous);
        if (ShouldProcessItem("task queue", $"Start a detached scheduler with up to {MaxParallel} agents in parallel{(Continuous ? ", serving until stopped" : "")}"))
        {
            if (TryItem(null, () => Service.Queue.Status(), out var status))
            {
                var open = status.Counts.Where(kv => kv.Key is SwarmTaskStatus.Queued or SwarmTaskStatus.Blocked or SwarmTaskStatus.Running).Sum(kv => kv.Value);
                if (!status.Running && open == 0 && !Continuous)
                {
                    // A scheduler would drain an empty queue and exit at once; say so instead of racing it.
                    WriteWarning("The queue has no Queued, Blocked or Running task, so no scheduler was started. Add tasks first, or use -Continuous to serve tasks added later.");
                    WriteObject(status);
                }
                else
                {
                    WriteVerbose($"{pwsh} {string.Join(' ', arguments)}");
                    if (TryItem(null, () => Run((_, ct) => Service.Queue.StartDetachedAsync(pwsh, arguments, null, ct)), out var started))
                        WriteObject(started);
                }
            }
        }
        base.EndProcessing();
    }
}
