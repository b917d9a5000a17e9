using System.Runtime.CompilerServices;

namespace SwarmPS.Core.Events;

/// <summary>Reads the registry's event log, once or as a live stream.</summary>
public sealed class EventStream
{
    private readonly SwarmService _swarm;

    public EventStream(SwarmService swarm) => _swarm = swarm;

    /// <summary>Events since a time and/or after an id, optionally of some kinds (environment, agent, task, swarm), oldest first.</summary>
    public IReadOnlyList<SwarmEvent> Get(DateTimeOffset? since = null, IReadOnlyCollection<string>? kinds = null, long afterId = 0, int limit = 10_000)
    {
        if (kinds is not null)
            foreach (var k in kinds)
                if (k is not (EventKinds.Environment or EventKinds.Agent or EventKinds.Task or EventKinds.Swarm))
                    throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument,
                        $"Unknown event kind '{Names.Describe(k)}'; use environment, agent, task or swarm.", k);
        return _swarm.Registry.ListEvents(afterId, since, kinds, limit);
    }

    /// <summary>
    /// The existing events (as <see cref="Get"/>), then every new one as it is appended, until
    /// <paramref name="ct"/> is cancelled. Polls the registry (WAL readers never block writers).
    /// </summary>
    public async IAsyncEnumerable<SwarmEvent> FollowAsync(DateTimeOffset? since = null, IReadOnlyCollection<string>? kinds = null, long afterId = 0,
        TimeSpan? pollInterval = null, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var last = afterId;
        var first = true;
        while (!ct.IsCancellationRequested)
        {
            var batch = Get(first ? since : null, kinds, last);
            first = false;
            foreach (var e in batch)
            {
                last = e.Id;
                yield return e;
            }
            if (batch.Count > 0) continue;
            try { await Task.Delay(pollInterval ?? TimeSpan.FromMilliseconds(250), ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { yield break; }
        }
    }
}
