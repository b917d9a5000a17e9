using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>The work of each environment against its base: commits plus uncommitted changes.</summary>
[Cmdlet(VerbsCommon.Get, "SwarmDiff")]
[OutputType(typeof(SwarmDiff))]
public sealed class GetSwarmDiffCommand : SwarmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(TicketCompleter))]
    public string[] Ticket { get; set; } = Array.Empty<string>();

    protected override void ProcessRecord()
    {
        foreach (var raw in Ticket)
        {
            if (!TryTicket(raw, out var ticket)) continue;
            if (TryItem(ticket, () => Run((_, ct) => Service.DiffAsync(ticket, ct)), out var diff))
                WriteObject(diff);
        }
    }
}
