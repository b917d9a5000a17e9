using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core;
using SwarmPS.Core.Providers;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>Saves the complete working state of each environment as a named checkpoint.</summary>
[Cmdlet(VerbsData.Checkpoint, "SwarmEnvironment", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(SwarmCheckpoint))]
public sealed class CheckpointSwarmEnvironmentCommand : SwarmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(TicketCompleter))]
    public string[] Ticket { get; set; } = Array.Empty<string>();

    /// <summary>The checkpoint name; default: a UTC timestamp.</summary>
    [Parameter(Position = 1)]
    public string? Name { get; set; }

    /// <summary>
    /// Stop and restart, without asking, an environment whose provider checkpoints only stopped VMs (tart).
    /// Without it the cmdlet asks first.
    /// </summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var raw in Ticket)
        {
            if (!TryTicket(raw, out var ticket)) continue;
            if (Name is not null) ValidCheckpointName(Name, ticket);
            if (!ShouldProcessItem(ticket, Name is null ? "Create checkpoint" : $"Create checkpoint '{Name}'")) continue;
            // Providers that checkpoint only stopped VMs (tart): stop, checkpoint and restart, with consent.
            if (!TryItem(ticket, () => Run((_, ct) => Service.NeedsStopAsync(ticket, ct)), out var needsStop)) continue;
            if (needsStop && !Force && !ShouldContinue(
                    $"'{ticket}' is running, and its provider can only checkpoint a stopped VM (no memory is kept). Stop it, checkpoint it and start it again? Running processes in it end.",
                    "Stop and restart the environment")) continue;
            if (TryItem(ticket, () => Run((progress, ct) => needsStop
                    ? Service.CheckpointStoppingAsync(ticket, Name, progress, ct)
                    : Service.CheckpointAsync(ticket, Name, progress, ct)), out var cp))
                WriteObject(cp);
        }
    }
}
