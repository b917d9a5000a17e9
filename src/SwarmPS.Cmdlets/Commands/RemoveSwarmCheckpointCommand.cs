using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>Deletes checkpoints (the saved state and its registry row). Name accepts wildcards.</summary>
[Cmdlet(VerbsCommon.Remove, "SwarmCheckpoint", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(void))]
public sealed class RemoveSwarmCheckpointCommand : SwarmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(TicketCompleter))]
    public string[] Ticket { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(CheckpointNameCompleter))]
    public string[] Name { get; set; } = Array.Empty<string>();

    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var raw in Ticket)
        {
            if (!TryTicket(raw, out var ticket)) continue;

            if (!TryItem(ticket, () => Service.GetCheckpoints(ticket), out var existing)) continue;
            var targets = new List<string>();
            foreach (var n in Name)
            {
                if (Glob.HasWildcards(n))
                {
                    targets.AddRange(existing.Where(c => Glob.IsMatch(n, c.Name)).Select(c => c.Name));
                }
                else if (TryCheckpointName(n, ticket))
                {
                    targets.Add(n); // a missing exact name is reported by Core as CheckpointNotFound
                }
            }
            foreach (var name in targets.Distinct(StringComparer.OrdinalIgnoreCase))
            {
                if (!ShouldProcessItem(ticket, $"Remove checkpoint '{name}'", Force)) continue;
                TryItem(ticket, () => Run((_, ct) => Service.RemoveCheckpointAsync(ticket, name, ct)), out _);
            }
        }
    }
}
