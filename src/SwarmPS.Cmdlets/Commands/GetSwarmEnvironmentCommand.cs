using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>Lists environments, filtered by ticket (wildcards), provider and status.</summary>
[Cmdlet(VerbsCommon.Get, "SwarmEnvironment")]
[OutputType(typeof(SwarmEnvironment))]
public sealed class GetSwarmEnvironmentCommand : SwarmCmdlet
{
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(TicketCompleter))]
    public string[]? Ticket { get; set; }

    [Parameter]
    [ArgumentCompleter(typeof(ProviderNameCompleter))]
    public string[]? Provider { get; set; }

    [Parameter]
    public EnvironmentStatus[]? Status { get; set; }

    protected override void ProcessRecord()
    {
        // Exact tickets go through Core's validator (a bad one is reported and left out); patterns only match.
        var tickets = Ticket is { Length: > 0 } ? Ticket.Where(t => Glob.HasWildcards(t) || TryTicket(t, out _)).ToArray() : new[] { "*" };
        if (tickets.Length == 0) return;

        var filter = new EnvironmentFilter { Tickets = tickets, Providers = Provider, Statuses = Status };
        if (!TryItem(null, () => Run((_, ct) => Service.GetEnvironmentsAsync(filter, live: true, ct)), out var envs)) return;
        foreach (var env in envs) WriteObject(env);

        if (Provider is { Length: > 0 } || Status is { Length: > 0 }) return;
        foreach (var t in tickets.Where(t => !Glob.HasWildcards(t)))
        {
            if (envs.Any(e => string.Equals(e.Ticket, t, StringComparison.OrdinalIgnoreCase))) continue;
            WriteError(ToErrorRecord(new SwarmException(ErrorIds.EnvironmentNotFound, SwarmErrorKind.NotFound,
                $"No environment for ticket '{t}'. Get-SwarmEnvironment lists them.", t), t));
        }
    }
}
