using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core;

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

    protected override void ProcessRecord()
    {
        foreach (var raw in Ticket)
        {
            var ticket = ValidTicket(raw);
            if (Name is not null) ValidCheckpointName(Name, ticket);
            if (!ShouldProcessItem(ticket, Name is null ? "Create checkpoint" : $"Create checkpoint '{Name}'")) continue;
            if (TryItem(ticket, () => Run((progress, ct) => Service.CheckpointAsync(ticket, Name, progress, ct)), out var cp))
                WriteObject(cp);
        }
    }
}
