namespace SwarmPS.Core.Agents;

/// <summary>Agent lifecycle. Terminal states: Succeeded, Failed, Stopped, Lost.</summary>
public enum AgentStatus
{
    /// <summary>The row exists; the supervisor is being started.</summary>
    Starting,
    Running,
    /// <summary>The last run ended and its structured result says success.</summary>
    Succeeded,
    Failed,
    /// <summary>Stopped on request (Stop-SwarmAgent / swarmps agent stop).</summary>
    Stopped,
    /// <summary>The supervisor is gone without recording an exit code (killed, or the machine rebooted).</summary>
    Lost,
}

/// <summary>A coding agent running (or that ran) in an environment.</summary>
public sealed class SwarmAgent
{
    public required string Id { get; init; }
    public required string Ticket { get; init; }
    public required string Profile { get; init; }
    public AgentStatus Status { get; init; }
    /// <summary>How many prompts the agent was given: 1 for the first, +1 per follow-up.</summary>
    public int Run { get; init; }
    public string? SessionId { get; init; }
    public string? WorkingDirectory { get; init; }
    /// <summary>Where its logs and state live: <c>SWARMPS_HOME/agents/&lt;id&gt;</c>.</summary>
    public required string Directory { get; init; }
    /// <summary>Process identity (pid@start) of the supervisor of the current run.</summary>
    public string? Supervisor { get; init; }
    /// <summary>The agent process id of the current run.</summary>
    public int? Pid { get; init; }
    public int? ExitCode { get; init; }
    public int Turns { get; init; }
    public int ToolCalls { get; init; }
    public long InputTokens { get; init; }
    public long OutputTokens { get; init; }
    public long CacheReadTokens { get; init; }
    /// <summary>USD over all runs, when the agent reports cost.</summary>
    public decimal? CostUsd { get; init; }
    public string? Result { get; init; }
    public string? Error { get; init; }
    /// <summary>Resident memory of the supervisor process, in KiB, measured once it ran.</summary>
    public long? SupervisorMemoryKb { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }

    public bool IsTerminal => Status is AgentStatus.Succeeded or AgentStatus.Failed or AgentStatus.Stopped or AgentStatus.Lost;

    /// <summary>
    /// Where a run's files are (its prompt, logs and the supervisor's status file). The first run
    /// uses the agent's directory itself, so an agent costs one directory (each directory and file
    /// is an inode to allocate, the largest cost of a short agent on a busy disk); a follow-up run
    /// n &gt;= 2 gets <c>runs/n</c>. Agents created before this layout keep their <c>runs/1</c>.
    /// </summary>
    public string RunDirectory(int run)
    {
        var numbered = System.IO.Path.Combine(Directory, "runs", run.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (run != 1) return numbered;
        return System.IO.Directory.Exists(numbered) ? numbered : Directory;
    }
}

/// <summary>One prompt given to an agent and what came of it.</summary>
public sealed class SwarmAgentRun
{
    public required string AgentId { get; init; }
    public int Run { get; init; }
    public AgentStatus Status { get; init; }
    public string? SessionId { get; init; }
    public int? ExitCode { get; init; }
    public decimal? CostUsd { get; init; }
    public long InputTokens { get; init; }
    public long OutputTokens { get; init; }
    public string? Result { get; init; }
    public DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }
}

/// <summary>A line of an agent's output, parsed (or raw).</summary>
public sealed class SwarmAgentOutput
{
    public required string AgentId { get; init; }
    public int Run { get; init; }
    /// <summary>stdout or stderr.</summary>
    public required string Stream { get; init; }
    /// <summary>init, text, tool, result, error, usage or raw.</summary>
    public required string Kind { get; init; }
    public string? Text { get; init; }
    public string? Tool { get; init; }
}
