using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>
/// Brings an environment back to a checkpoint (default: the latest). Work done since is lost,
/// so it asks first (ConfirmImpact High) unless -Force.
/// </summary>
[Cmdlet(VerbsData.Restore, "SwarmEnvironment", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(SwarmEnvironment))]
public sealed class RestoreSwarmEnvironmentCommand : SwarmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(TicketCompleter))]
    public string[] Ticket { get; set; } = Array.Empty<string>();

    /// <summary>The checkpoint; default: the latest. Bound from a piped checkpoint's Name.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(CheckpointNameCompleter))]
    public string? Name { get; set; }

    [Parameter]
    public SwitchParameter Force { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var raw in Ticket)
        {
            if (!TryTicket(raw, out var ticket)) continue;
            if (Name is not null) ValidCheckpointName(Name, ticket);
            var what = Name is null ? "Restore the latest checkpoint (work since then is lost)" : $"Restore checkpoint '{Name}' (work since then is lost)";
            if (!ShouldProcessItem(ticket, what, Force)) continue;
            if (!TryItem(ticket, () => Run((progress, ct) => Service.RestoreAsync(ticket, Name, progress, ct)), out var cp)) continue;
            WriteVerbose($"Restored '{cp.Ticket}' to checkpoint '{cp.Name}' ({cp.CreatedAt:u}).");
            if (PassThru && TryItem(ticket, () => Service.GetEnvironment(ticket), out var env))
                WriteObject(env);
        }
    }
}
