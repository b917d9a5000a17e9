using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core;
using SwarmPS.Core.Agents;
using SwarmPS.Core.Tasks;

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

    /// <summary>
    /// The piped object itself, so a piped task gives its agents (its own Id, which binds to -Id by
    /// name, is a task id). Not for direct use.
    /// </summary>
    [Parameter(ValueFromPipeline = true, DontShow = true)]
    public PSObject? InputObject { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(TicketCompleter))]
    public string[]? Ticket { get; set; }

    [Parameter]
    public AgentStatus[]? Status { get; set; }

    protected override void ProcessRecord()
    {
        // A piped task: its agents (the task's Id and Ticket are no agent filter).
        if ((InputObject?.BaseObject) is SwarmTask task)
        {
            foreach (var agentId in task.AgentIds)
                if (TryItem(agentId, () => Service.Agents.Get(agentId), out var a) && (Status is not { Length: > 0 } || Status.Contains(a.Status)))
                    WriteObject(a);
            return;
        }

        // Exact tickets go through Core's validator (a bad one is reported and left out); patterns only match.
        if (Ticket is { Length: > 0 })
        {
            Ticket = Ticket.Where(t => Glob.HasWildcards(t) || TryTicket(t, out _)).ToArray();
            if (Ticket.Length == 0) return;
        }

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
