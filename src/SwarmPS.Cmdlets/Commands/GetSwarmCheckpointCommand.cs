using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>Lists checkpoints, oldest first, for the given tickets (wildcards; default: all).</summary>
[Cmdlet(VerbsCommon.Get, "SwarmCheckpoint")]
[OutputType(typeof(SwarmCheckpoint))]
public sealed class GetSwarmCheckpointCommand : SwarmCmdlet
{
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(TicketCompleter))]
    public string[]? Ticket { get; set; }

    [Parameter(Position = 1)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(CheckpointNameCompleter))]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        var tickets = Ticket is { Length: > 0 } ? Ticket : new[] { "*" };
        foreach (var pattern in tickets)
        {
            IReadOnlyList<string> resolved;
            if (Glob.HasWildcards(pattern))
            {
                if (!TryItem(null, () => Run((_, ct) => Service.GetEnvironmentsAsync(new EnvironmentFilter { Tickets = new[] { pattern } }, live: false, ct)), out var envs)) continue;
                resolved = envs.Select(e => e.Ticket).ToList();
            }
            else
            {
                if (!TryTicket(pattern, out var ticket)) continue;
                resolved = new[] { ticket };
            }
            foreach (var ticket in resolved)
            {
                if (!TryItem(ticket, () => Service.GetCheckpoints(ticket), out var checkpoints)) continue;
                foreach (var cp in checkpoints)
                    if (Name is not { Length: > 0 } || Name.Any(n => Glob.IsMatch(n, cp.Name)))
                        WriteObject(cp);
                foreach (var n in Name ?? Array.Empty<string>())
                {
                    if (Glob.HasWildcards(n) || checkpoints.Any(c => string.Equals(c.Name, n, StringComparison.OrdinalIgnoreCase))) continue;
                    WriteError(ToErrorRecord(new SwarmException(ErrorIds.CheckpointNotFound, SwarmErrorKind.NotFound,
                        $"Ticket '{ticket}' has no checkpoint named '{Names.Describe(n)}'.", ticket), ticket));
                }
            }
        }
    }
}
