using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>
/// How to reach each environment: host, port, user, key path (kvm: the VM's address and its own SSH key and
/// known_hosts; docker: 127.0.0.1 and the first port of its block; worktree: localhost and the worktree).
/// </summary>
[Cmdlet(VerbsCommon.Get, "SwarmConnection")]
[OutputType(typeof(SwarmConnection))]
public sealed class GetSwarmConnectionCommand : SwarmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(TicketCompleter))]
    public string[] Ticket { get; set; } = Array.Empty<string>();

    protected override void ProcessRecord()
    {
        foreach (var raw in Ticket)
        {
            if (!TryTicket(raw, out var ticket)) continue;
            if (TryItem(ticket, () => Run((_, ct) => Service.GetConnectionAsync(ticket, ct)), out var connection))
                WriteObject(connection);
        }
    }
}
