using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core;
using SwarmPS.Core.Agents;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>Gets agents (all by default), by id or by ticket (wildcards), filtered by status; each status is reconciled with its supervisor.</summary>
/// <remarks>
/// -Id and -Ticket are in one parameter set and both bind by property name: piping a SwarmAgent binds
/// both (they agree), piping a SwarmEnvironment binds Ticket only. -Status never binds from the
/// pipeline (a SwarmEnvironment's Status "Running" would convert to AgentStatus.Running).
/// </remarks>
[Cmdlet(VerbsCommon.Get, "SwarmAgent")]
[OutputType(typeof(SwarmAgent))]
public sealed class GetSwarmAgentCommand : SwarmCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("AgentId")]
    [ArgumentCompleter(typeof(AgentIdCompleter))]
    public string[]? Id { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(TicketCompleter))]
    public string[]? Ticket { get; set; }

    [Parameter]
    public AgentStatus[]? Status { get; set; }

    protected override void ProcessRecord()
    {
        // Exact tickets go through Core's validator (bad input terminates); patterns only match.
        foreach (var t in (Ticket ?? Array.Empty<string>()).Where(t => !Glob.HasWildcards(t))) ValidTicket(t);

        if (Id is not { Length: > 0 })
        {
            if (TryItem(null, () => Service.Agents.List(Ticket, Status), out var agents))
                foreach (var a in agents) WriteObject(a);
            return;
        }
        foreach (var id in Id)
        {
            if (!TryItem(id, () => Service.Agents.Get(id), out var agent)) continue;
            if (Ticket is { Length: > 0 } && !Ticket.Any(t => Glob.IsMatch(t, agent.Ticket))) continue;
            if (Status is { Length: > 0 } && !Status.Contains(agent.Status)) continue;
            WriteObject(agent);
        }
    }
}
