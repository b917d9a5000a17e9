namespace SwarmPS.Core.Swarms;

/// <summary>A swarm's status, as recorded in the registry (each change is an event of kind <c>swarm</c>).</summary>
public enum SwarmStatus
{
    /// <summary>Files written, sbatch not answered yet.</summary>
    Submitting,
    /// <summary>Submitted; no node runs yet.</summary>
    Pending,
    /// <summary>At least one node runs and none is dead.</summary>
    Running,
    /// <summary>Some nodes are dead (heartbeat older than the TTL), others still answer.</summary>
    Degraded,
    /// <summary>Every node is dead, or the job ended on its own.</summary>
    Dead,
    /// <summary>Stopped by Stop-Swarm / <c>swarmps swarm terminate</c>.</summary>
    Terminated,
}

/// <summary>One node's status, derived per poll from squeue and the node's heartbeat.</summary>
public enum SwarmNodeStatus
{
    Pending,
    /// <summary>Slurm runs the task but the worker has not written a heartbeat yet.</summary>
    Starting,
    Running,
    /// <summary>A probe says the node is gone or its heartbeat is late, but its TTL has not passed: not dead yet.</summary>
    Suspect,
    /// <summary>No heartbeat for longer than the TTL.</summary>
    Dead,
    /// <summary>The swarm was terminated.</summary>
    Stopped,
}

/// <summary>A swarm: N worker nodes (one Slurm job array) sharing a directory, answering injected prompts.</summary>
public sealed class Swarm
{
    /// <summary>The swarm id (named SwarmId so it binds to -SwarmId down the pipeline).</summary>
    public required string SwarmId { get; init; }
    /// <summary>The Slurm job id of the array (null until sbatch answered).</summary>
    public string? JobId { get; init; }
    /// <summary>Number of nodes (array tasks 0..N-1).</summary>
    public int NodeCount { get; init; }
    public SwarmStatus Status { get; init; }
    /// <summary>The swarm's directory on the shared filesystem (inboxes, outboxes, heartbeats, logs).</summary>
    public required string Directory { get; init; }
    public required string Profile { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    /// <summary>partition, timeLimit, ttlSeconds, heartbeatSeconds, outputFormat (never prompts or secrets).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
    /// <summary>Per-node status from the last poll (empty when the swarm was not polled).</summary>
    public IReadOnlyList<SwarmNode> Nodes { get; init; } = Array.Empty<SwarmNode>();

    internal Swarm With(SwarmStatus? status = null, string? jobId = null, IReadOnlyList<SwarmNode>? nodes = null, DateTimeOffset? updatedAt = null) => new()
    {
        SwarmId = SwarmId, JobId = jobId ?? JobId, NodeCount = NodeCount, Status = status ?? Status, Directory = Directory, Profile = Profile,
        CreatedAt = CreatedAt, UpdatedAt = updatedAt ?? UpdatedAt, Metadata = Metadata, Nodes = nodes ?? Nodes,
    };

    internal int TtlSeconds => int.TryParse(Metadata.GetValueOrDefault("ttlSeconds"), out var t) ? t : 120;
}

/// <summary>One node of a swarm at the time of a poll.</summary>
public sealed class SwarmNode
{
    public required string SwarmId { get; init; }
    public int Node { get; init; }
    public SwarmNodeStatus Status { get; init; }
    /// <summary>The Slurm job id of this array task (<c>JOB_k</c>).</summary>
    public string? JobId { get; init; }
    /// <summary>Slurm's state for the task (RUNNING, PENDING, CANCELLED...), or null when Slurm no longer knows it.</summary>
    public string? JobState { get; init; }
    public string? Host { get; init; }
    public DateTimeOffset? LastHeartbeat { get; init; }
    /// <summary>Responses this node has written.</summary>
    public int Responses { get; init; }
}

/// <summary>A prompt injected into a swarm (all nodes, or one).</summary>
public sealed class SwarmInjection
{
    public required string SwarmId { get; init; }
    public required string InjectionId { get; init; }
    /// <summary>The single target node, or null for every node.</summary>
    public int? Node { get; init; }
    /// <summary>The nodes the prompt was delivered to.</summary>
    public IReadOnlyList<int> Nodes { get; init; } = Array.Empty<int>();
    public DateTimeOffset CreatedAt { get; init; }
}

/// <summary>One node's answer to one injection.</summary>
public sealed class SwarmResponse
{
    public required string SwarmId { get; init; }
    public int Node { get; init; }
    public required string InjectionId { get; init; }
    /// <summary>The agent's answer: the parsed result for structured profiles, else its stdout.</summary>
    public string Response { get; init; } = "";
    public int ExitCode { get; init; }
    /// <summary>USD when the agent reports it (claude, aider, opencode); 0 for the command profile; null when unknown.</summary>
    public decimal? CostUsd { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }
    public string? Host { get; init; }
    /// <summary>The raw stdout file on the shared filesystem.</summary>
    public string? OutputPath { get; init; }
}

/// <summary>What Start-Swarm / <c>swarmps swarm launch</c> asks for.</summary>
public sealed class SwarmLaunchRequest
{
    public int Nodes { get; init; }
    /// <summary>The system prompt (written to a file; never part of the batch script).</summary>
    public string Prompt { get; init; } = "";
    public required string Profile { get; init; }
    /// <summary>The argv of the <c>command</c> profile.</summary>
    public IReadOnlyList<string>? Command { get; init; }
    /// <summary>A directory on the shared filesystem; the swarm's directory is created under it. Default: slurm.sharedDirectory, else SWARMPS_HOME/swarms.</summary>
    public string? WorkDir { get; init; }
    public string? Partition { get; init; }
    public string? TimeLimit { get; init; }
    /// <summary>Overrides slurm.nodeTtlSeconds for this swarm.</summary>
    public int? NodeTtlSeconds { get; init; }
    /// <summary>Overrides slurm.heartbeatSeconds for this swarm.</summary>
    public int? HeartbeatSeconds { get; init; }
    /// <summary>Directory relative paths are resolved against.</summary>
    public string? WorkingDirectory { get; init; }
}
