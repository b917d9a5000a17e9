using System.Globalization;
using Microsoft.Data.Sqlite;
using SwarmPS.Core.Agents;

namespace SwarmPS.Core.Registry;

/// <summary>Agent rows. Status changes are compare-and-set, so many readers reconciling at once agree.</summary>
public sealed partial class SwarmRegistry
{
    private const string AgentColumns = "id, ticket, profile, status, run, session_id, working_directory, directory, supervisor, pid, exit_code, turns, tool_calls, input_tokens, output_tokens, cache_read_tokens, cost_usd, result, error, supervisor_rss_kb, created_at, updated_at, started_at, ended_at";

    public SwarmAgent InsertAgent(SwarmAgent a)
    {
        Write(c => { InsertAgent(c, a); return 0; });
        return a;
    }

    /// <summary>Inserts an agent row (and its event) inside the caller's transaction.</summary>
    internal static void InsertAgent(SqliteConnection c, SwarmAgent a)
    {
        using var cmd = c.Sql($"INSERT INTO agents ({AgentColumns}) VALUES ($id,$t,$p,$s,$run,$sid,$wd,$dir,$sup,$pid,$ec,$turns,$tools,$in,$out,$cache,$cost,$res,$err,$rss,$c,$u,$st,$en)");
        BindAgent(cmd, a);
        cmd.ExecuteNonQuery();
        AppendEvent(c, EventKinds.Agent, a.Id, null, a.Status.ToString(), $"ticket {a.Ticket}, profile {a.Profile}");
    }

    /// <summary>
    /// Replaces an agent row if its status is still <paramref name="expectedStatus"/>. Returns false
    /// when another process changed it first (the caller re-reads).
    /// </summary>
    public bool UpdateAgent(SwarmAgent a, AgentStatus expectedStatus, int expectedRun) => Write(c => UpdateAgent(c, a, expectedStatus, expectedRun));

    /// <summary><see cref="UpdateAgent(SwarmAgent, AgentStatus, int)"/> inside the caller's transaction.</summary>
    internal static bool UpdateAgent(SqliteConnection c, SwarmAgent a, AgentStatus expectedStatus, int expectedRun)
    {
        var updated = With(a, DateTimeOffset.UtcNow);
        {
            using var cmd = c.Sql("UPDATE agents SET ticket=$t, profile=$p, status=$s, run=$run, session_id=$sid, working_directory=$wd, directory=$dir, supervisor=$sup, pid=$pid, exit_code=$ec, turns=$turns, tool_calls=$tools, input_tokens=$in, output_tokens=$out, cache_read_tokens=$cache, cost_usd=$cost, result=$res, error=$err, supervisor_rss_kb=$rss, created_at=$c, updated_at=$u, started_at=$st, ended_at=$en WHERE id=$id AND status=$expected AND run=$expectedRun");
            BindAgent(cmd, updated);
            cmd.Parameters.AddWithValue("$expected", expectedStatus.ToString());
            cmd.Parameters.AddWithValue("$expectedRun", expectedRun);
            var ok = cmd.ExecuteNonQuery() == 1;
            if (ok && (expectedStatus != updated.Status || expectedRun != updated.Run))
                AppendEvent(c, EventKinds.Agent, updated.Id, expectedStatus.ToString(), updated.Status.ToString(),
                    updated.Run != expectedRun ? $"run {updated.Run}" : updated.Error is { } err && updated.IsTerminal ? Truncate(err, 500) : null);
            return ok;
        }
    }

    private static SwarmAgent With(SwarmAgent a, DateTimeOffset updated) => new()
    {
        Id = a.Id, Ticket = a.Ticket, Profile = a.Profile, Status = a.Status, Run = a.Run, SessionId = a.SessionId, WorkingDirectory = a.WorkingDirectory,
        Directory = a.Directory, Supervisor = a.Supervisor, Pid = a.Pid, ExitCode = a.ExitCode, Turns = a.Turns, ToolCalls = a.ToolCalls,
        InputTokens = a.InputTokens, OutputTokens = a.OutputTokens, CacheReadTokens = a.CacheReadTokens, CostUsd = a.CostUsd, Result = a.Result,
        Error = a.Error, SupervisorMemoryKb = a.SupervisorMemoryKb, CreatedAt = a.CreatedAt, UpdatedAt = updated, StartedAt = a.StartedAt, EndedAt = a.EndedAt,
    };

    private static void BindAgent(SqliteCommand cmd, SwarmAgent a)
    {
        object N(object? v) => v ?? DBNull.Value;
        cmd.Parameters.AddWithValue("$id", a.Id);
        cmd.Parameters.AddWithValue("$t", a.Ticket);
        cmd.Parameters.AddWithValue("$p", a.Profile);
        cmd.Parameters.AddWithValue("$s", a.Status.ToString());
        cmd.Parameters.AddWithValue("$run", a.Run);
        cmd.Parameters.AddWithValue("$sid", N(a.SessionId));
        cmd.Parameters.AddWithValue("$wd", N(a.WorkingDirectory));
        cmd.Parameters.AddWithValue("$dir", a.Directory);
        cmd.Parameters.AddWithValue("$sup", N(a.Supervisor));
        cmd.Parameters.AddWithValue("$pid", N(a.Pid));
        cmd.Parameters.AddWithValue("$ec", N(a.ExitCode));
        cmd.Parameters.AddWithValue("$turns", a.Turns);
        cmd.Parameters.AddWithValue("$tools", a.ToolCalls);
        cmd.Parameters.AddWithValue("$in", a.InputTokens);
        cmd.Parameters.AddWithValue("$out", a.OutputTokens);
        cmd.Parameters.AddWithValue("$cache", a.CacheReadTokens);
        cmd.Parameters.AddWithValue("$cost", N(a.CostUsd?.ToString(CultureInfo.InvariantCulture)));
        cmd.Parameters.AddWithValue("$res", N(a.Result));
        cmd.Parameters.AddWithValue("$err", N(a.Error));
        cmd.Parameters.AddWithValue("$rss", N(a.SupervisorMemoryKb));
        cmd.Parameters.AddWithValue("$c", Time(a.CreatedAt));
        cmd.Parameters.AddWithValue("$u", Time(a.UpdatedAt));
        cmd.Parameters.AddWithValue("$st", N(a.StartedAt is { } st ? Time(st) : null));
        cmd.Parameters.AddWithValue("$en", N(a.EndedAt is { } en ? Time(en) : null));
    }

    internal static string Truncate(string s, int max) => s.Length <= max ? s : s[..max] + "...";

    public SwarmAgent? GetAgent(string id) => Read(c => GetAgent(c, id));

    internal static SwarmAgent? GetAgent(SqliteConnection c, string id)
    {
        using var cmd = c.Sql($"SELECT {AgentColumns} FROM agents WHERE id = $id");
        cmd.Parameters.AddWithValue("$id", id);
        using var r = cmd.ExecuteReader();
        return r.Read() ? ReadAgent(r) : null;
    }

    /// <summary>The agents with these ids (those that exist), in one statement.</summary>
    internal static Dictionary<string, SwarmAgent> GetAgents(SqliteConnection c, IReadOnlyCollection<string> ids)
    {
        var d = new Dictionary<string, SwarmAgent>(StringComparer.Ordinal);
        if (ids.Count == 0) return d;
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT {AgentColumns} FROM agents WHERE id IN ({InList(cmd, "a", ids)})";
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            var a = ReadAgent(r);
            d[a.Id] = a;
        }
        return d;
    }

    public IReadOnlyList<SwarmAgent> ListAgents(string? ticket = null) => Read(c =>
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = ticket is null
            ? $"SELECT {AgentColumns} FROM agents ORDER BY created_at, id"
            : $"SELECT {AgentColumns} FROM agents WHERE ticket = $t ORDER BY created_at, id";
        if (ticket is not null) cmd.Parameters.AddWithValue("$t", ticket);
        using var r = cmd.ExecuteReader();
        var list = new List<SwarmAgent>();
        while (r.Read()) list.Add(ReadAgent(r));
        return (IReadOnlyList<SwarmAgent>)list;
    });

    private static SwarmAgent ReadAgent(SqliteDataReader r)
    {
        string? S(int i) => r.IsDBNull(i) ? null : r.GetString(i);
        return new SwarmAgent
        {
            Id = r.GetString(0), Ticket = r.GetString(1), Profile = r.GetString(2),
            Status = Enum.TryParse<AgentStatus>(r.GetString(3), out var s) ? s : AgentStatus.Lost,
            Run = r.GetInt32(4), SessionId = S(5), WorkingDirectory = S(6), Directory = r.GetString(7), Supervisor = S(8),
            Pid = r.IsDBNull(9) ? null : r.GetInt32(9), ExitCode = r.IsDBNull(10) ? null : r.GetInt32(10),
            Turns = r.GetInt32(11), ToolCalls = r.GetInt32(12), InputTokens = r.GetInt64(13), OutputTokens = r.GetInt64(14), CacheReadTokens = r.GetInt64(15),
            CostUsd = S(16) is { } cost ? decimal.Parse(cost, CultureInfo.InvariantCulture) : null,
            Result = S(17), Error = S(18), SupervisorMemoryKb = r.IsDBNull(19) ? null : r.GetInt64(19),
            CreatedAt = ParseTime(r.GetString(20)), UpdatedAt = ParseTime(r.GetString(21)),
            StartedAt = S(22) is { } st ? ParseTime(st) : null, EndedAt = S(23) is { } en ? ParseTime(en) : null,
        };
    }

    public void UpsertAgentRun(SwarmAgentRun run) => Write(c => UpsertAgentRun(c, run));

    internal static int UpsertAgentRun(SqliteConnection c, SwarmAgentRun run)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            INSERT INTO agent_runs (agent_id, run, status, session_id, exit_code, cost_usd, input_tokens, output_tokens, result, started_at, ended_at)
            VALUES ($a, $r, $s, $sid, $ec, $cost, $in, $out, $res, $st, $en)
            ON CONFLICT (agent_id, run) DO UPDATE SET status=excluded.status, session_id=excluded.session_id, exit_code=excluded.exit_code,
              cost_usd=excluded.cost_usd, input_tokens=excluded.input_tokens, output_tokens=excluded.output_tokens, result=excluded.result, ended_at=excluded.ended_at
            """;
        object N(object? v) => v ?? DBNull.Value;
        cmd.Parameters.AddWithValue("$a", run.AgentId);
        cmd.Parameters.AddWithValue("$r", run.Run);
        cmd.Parameters.AddWithValue("$s", run.Status.ToString());
        cmd.Parameters.AddWithValue("$sid", N(run.SessionId));
        cmd.Parameters.AddWithValue("$ec", N(run.ExitCode));
        cmd.Parameters.AddWithValue("$cost", N(run.CostUsd?.ToString(CultureInfo.InvariantCulture)));
        cmd.Parameters.AddWithValue("$in", run.InputTokens);
        cmd.Parameters.AddWithValue("$out", run.OutputTokens);
        cmd.Parameters.AddWithValue("$res", N(run.Result));
        cmd.Parameters.AddWithValue("$st", Time(run.StartedAt));
        cmd.Parameters.AddWithValue("$en", N(run.EndedAt is { } en ? Time(en) : null));
        return cmd.ExecuteNonQuery();
    }

    public IReadOnlyList<SwarmAgentRun> ListAgentRuns(string agentId) => Read(c => ListAgentRuns(c, agentId));

    internal static IReadOnlyList<SwarmAgentRun> ListAgentRuns(SqliteConnection c, string agentId)
    {
        using var cmd = c.Sql("SELECT agent_id, run, status, session_id, exit_code, cost_usd, input_tokens, output_tokens, result, started_at, ended_at FROM agent_runs WHERE agent_id = $a ORDER BY run");
        cmd.Parameters.AddWithValue("$a", agentId);
        using var r = cmd.ExecuteReader();
        var list = new List<SwarmAgentRun>();
        while (r.Read())
            list.Add(new SwarmAgentRun
            {
                AgentId = r.GetString(0), Run = r.GetInt32(1), Status = Enum.TryParse<AgentStatus>(r.GetString(2), out var s) ? s : AgentStatus.Lost,
                SessionId = r.IsDBNull(3) ? null : r.GetString(3), ExitCode = r.IsDBNull(4) ? null : r.GetInt32(4),
                CostUsd = r.IsDBNull(5) ? null : decimal.Parse(r.GetString(5), CultureInfo.InvariantCulture),
                InputTokens = r.GetInt64(6), OutputTokens = r.GetInt64(7), Result = r.IsDBNull(8) ? null : r.GetString(8),
                StartedAt = ParseTime(r.GetString(9)), EndedAt = r.IsDBNull(10) ? null : ParseTime(r.GetString(10)),
            });
        return list;
    }
}
