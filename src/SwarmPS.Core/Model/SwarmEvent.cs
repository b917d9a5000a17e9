namespace SwarmPS.Core;

/// <summary>
/// One state change of an environment, agent, task or swarm, in the registry's append-only event
/// log. Integrations (Slack bots, dashboards, issue bots) consume this stream instead of callbacks.
/// </summary>
public sealed class SwarmEvent
{
    /// <summary>Monotonic id; resume a stream after the last id you saw.</summary>
    public long Id { get; init; }
    public DateTimeOffset Time { get; init; }
    /// <summary>environment, agent, task or swarm.</summary>
    public required string Kind { get; init; }
    /// <summary>The ticket, agent id, task id or swarm id.</summary>
    public required string Subject { get; init; }
    public string? OldStatus { get; init; }
    public string? NewStatus { get; init; }
    /// <summary>Free text (never secrets).</summary>
    public string? Details { get; init; }
}

public static class EventKinds
{
    public const string Environment = "environment";
    public const string Agent = "agent";
    public const string Task = "task";
    public const string Swarm = "swarm";
}
