using System.Management.Automation;
using SwarmPS.Core;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>
/// Gets events from the registry's event log (every state change of an environment, agent, task or
/// swarm), oldest first; -Follow then streams new events as they are appended, until Ctrl+C.
/// </summary>
/// <remarks>
/// -Follow enumerates Core's stream on a worker task and writes each event from the pipeline thread
/// (<see cref="SwarmCmdlet"/>'s Stream), so <c>Get-SwarmEvent -Follow | Select-Object -First 5</c> stops
/// the stream. Resume a stream after a restart with -AfterId (the Id of the last event seen).
/// </remarks>
[Cmdlet(VerbsCommon.Get, "SwarmEvent")]
[OutputType(typeof(SwarmEvent))]
public sealed class GetSwarmEventCommand : SwarmCmdlet
{
    private const int PageSize = 5_000;

    /// <summary>Only events at or after this time (a DateTime without a zone is local time).</summary>
    [Parameter(Position = 0)]
    public DateTime Since { get; set; }

    [Parameter]
    [ValidateSet(EventKinds.Environment, EventKinds.Agent, EventKinds.Task, EventKinds.Swarm)]
    public string[]? Kind { get; set; }

    /// <summary>Only events after this event id.</summary>
    [Parameter]
    [ValidateRange(0, long.MaxValue)]
    public long AfterId { get; set; }

    [Parameter]
    public SwitchParameter Follow { get; set; }

    protected override void EndProcessing()
    {
        DateTimeOffset? since = MyInvocation.BoundParameters.ContainsKey(nameof(Since))
            ? new DateTimeOffset(Since.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(Since, DateTimeKind.Local) : Since)
            : null;
        // ValidateSet matches case-insensitively; Core wants the lower-case names.
        var kinds = Kind is { Length: > 0 } ? Kind.Select(k => k.ToLowerInvariant()).Distinct().ToList() : null;
        if (Follow)
        {
            TryItem(null, () => Stream((_, ct) => Service.Events.FollowAsync(since, kinds, AfterId, null, ct)));
        }
        else
        {
            // Core returns at most PageSize events per call, oldest first: page on by id.
            var after = AfterId;
            while (TryItem(null, () => Service.Events.Get(since, kinds, after, PageSize), out var events))
            {
                foreach (var e in events) WriteObject(e);
                if (events.Count < PageSize) break;
                after = events[^1].Id;
            }
        }
        base.EndProcessing();
    }
}
