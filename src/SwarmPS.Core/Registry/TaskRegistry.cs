using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using SwarmPS.Core.Tasks;

namespace SwarmPS.Core.Registry;

/// <summary>Task rows and their dependency edges. Every status change is compare-and-set and logged as an event.</summary>
public sealed partial class SwarmRegistry
{
    private const string TaskColumns = "id, title, prompt, priority, status, run_after_failure, ticket, provider, base, repository_path, profile, command, timeout_seconds, max_attempts, retry_backoff_seconds, cleanup, attempts, agent_ids, environment_ticket, result, cost_usd, error, not_before, seq, created_at, updated_at, started_at, ended_at";

    /// <summary>Inserts a batch of tasks (and their edges) in one transaction: all or nothing.</summary>
    internal void InsertTasks(IReadOnlyList<SwarmTask> tasks) => Write(c => { InsertTasksIn(c, tasks); return 0; });

    internal void InsertTasksIn(SqliteConnection c, IReadOnlyList<SwarmTask> tasks)
    {
        var seq = Convert.ToInt64(Scalar(c, "SELECT coalesce(max(seq), 0) FROM tasks"), CultureInfo.InvariantCulture);
        foreach (var t in tasks)
        {
            using var cmd = c.Sql($"INSERT INTO tasks ({TaskColumns}) VALUES ($id,$title,$prompt,$prio,$status,$raf,$ticket,$provider,$base,$repo,$profile,$command,$timeout,$max,$backoff,$cleanup,$attempts,$agents,$env,$result,$cost,$error,$nb,$seq,$c,$u,$st,$en)");
            BindTask(cmd, t, ++seq);
            cmd.ExecuteNonQuery();
            foreach (var d in t.DependsOn)
            {
                using var e = c.CreateCommand();
                e.CommandText = "INSERT INTO task_deps (task_id, depends_on) VALUES ($t, $d)";
                e.Parameters.AddWithValue("$t", t.Id);
                e.Parameters.AddWithValue("$d", d);
                e.ExecuteNonQuery();
            }
            AppendEvent(c, EventKinds.Task, t.Id, null, t.Status.ToString(), t.Title);
        }
    }

    private static void BindTask(SqliteCommand cmd, SwarmTask t, long seq)
    {
        object N(object? v) => v ?? DBNull.Value;
        cmd.Parameters.AddWithValue("$id", t.Id);
        cmd.Parameters.AddWithValue("$title", t.Title);
        cmd.Parameters.AddWithValue("$prompt", t.Prompt);
        cmd.Parameters.AddWithValue("$prio", (int)t.Priority);
        cmd.Parameters.AddWithValue("$status", t.Status.ToString());
        cmd.Parameters.AddWithValue("$raf", t.RunAfterFailure ? 1 : 0);
        cmd.Parameters.AddWithValue("$ticket", N(t.Ticket));
        cmd.Parameters.AddWithValue("$provider", N(t.Provider));
        cmd.Parameters.AddWithValue("$base", N(t.Base));
        cmd.Parameters.AddWithValue("$repo", N(t.RepositoryPath));
        cmd.Parameters.AddWithValue("$profile", t.Profile);
        cmd.Parameters.AddWithValue("$command", N(t.Command is null ? null : JsonSerializer.Serialize(t.Command)));
        cmd.Parameters.AddWithValue("$timeout", N(t.TimeoutSeconds));
        cmd.Parameters.AddWithValue("$max", t.MaxAttempts);
        cmd.Parameters.AddWithValue("$backoff", t.RetryBackoffSeconds);
        cmd.Parameters.AddWithValue("$cleanup", t.Cleanup.ToString());
        cmd.Parameters.AddWithValue("$attempts", t.Attempts);
        cmd.Parameters.AddWithValue("$agents", JsonSerializer.Serialize(t.AgentIds));
        cmd.Parameters.AddWithValue("$env", N(t.EnvironmentTicket));
        cmd.Parameters.AddWithValue("$result", N(t.Result));
        cmd.Parameters.AddWithValue("$cost", N(t.CostUsd?.ToString(CultureInfo.InvariantCulture)));
        cmd.Parameters.AddWithValue("$error", N(t.Error));
        cmd.Parameters.AddWithValue("$nb", N(t.NotBefore is { } nb ? Time(nb) : null));
        cmd.Parameters.AddWithValue("$seq", seq);
        cmd.Parameters.AddWithValue("$c", Time(t.CreatedAt));
        cmd.Parameters.AddWithValue("$u", Time(t.UpdatedAt));
        cmd.Parameters.AddWithValue("$st", N(t.StartedAt is { } st ? Time(st) : null));
        cmd.Parameters.AddWithValue("$en", N(t.EndedAt is { } en ? Time(en) : null));
    }

    /// <summary>
    /// Replaces a task row if its status is still <paramref name="expected"/> (compare-and-set),
    /// appending an event for a status change. Returns false when someone else changed it first.
    /// </summary>
    internal bool UpdateTask(SqliteConnection c, SwarmTask t, SwarmTaskStatus expected, string? details = null)
    {
        using var cmd = c.Sql("UPDATE tasks SET status=$status, attempts=$attempts, agent_ids=$agents, environment_ticket=$env, result=$result, cost_usd=$cost, error=$error, not_before=$nb, updated_at=$u, started_at=$st, ended_at=$en WHERE id=$id AND status=$expected");
        BindTask(cmd, t with { UpdatedAt = DateTimeOffset.UtcNow }, t.Sequence);
        cmd.Parameters.AddWithValue("$expected", expected.ToString());
        var ok = cmd.ExecuteNonQuery() == 1;
        if (ok && expected != t.Status) AppendEvent(c, EventKinds.Task, t.Id, expected.ToString(), t.Status.ToString(), details);
        return ok;
    }

    internal bool UpdateTask(SwarmTask t, SwarmTaskStatus expected, string? details = null) => Write(c => UpdateTask(c, t, expected, details));

    public SwarmTask? GetTask(string id) => Read(c => GetTask(c, id));

    /// <summary>The command of the task one of whose attempts <paramref name="agentId"/> served, or null.</summary>
    internal static IReadOnlyList<string>? TaskCommandOfAgent(SqliteConnection c, string agentId)
    {
        using var cmd = c.Sql("SELECT command, agent_ids FROM tasks WHERE instr(agent_ids, $quoted) > 0");
        cmd.Parameters.AddWithValue("$quoted", JsonSerializer.Serialize(agentId));
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            if (r.IsDBNull(0)) continue;
            var ids = JsonSerializer.Deserialize<List<string>>(r.GetString(1)) ?? new();
            if (ids.Contains(agentId)) return JsonSerializer.Deserialize<List<string>>(r.GetString(0));
        }
        return null;
    }

    internal static SwarmTask? GetTask(SqliteConnection c, string id)
    {
        using var cmd = c.Sql($"SELECT {TaskColumns} FROM tasks WHERE id = $id");
        cmd.Parameters.AddWithValue("$id", id);
        using var r = cmd.ExecuteReader();
        if (!r.Read()) return null;
        var t = ReadTask(r);
        return t with { DependsOn = Dependencies(c, t.Id) };
    }

    private static IReadOnlyList<string> Dependencies(SqliteConnection c, string id)
    {
        using var cmd = c.Sql("SELECT depends_on FROM task_deps WHERE task_id = $id ORDER BY rowid");
        cmd.Parameters.AddWithValue("$id", id);
        using var r = cmd.ExecuteReader();
        var list = new List<string>();
        while (r.Read()) list.Add(r.GetString(0));
        return list;
    }

    /// <summary>
    /// Task rows matching <paramref name="where"/> in queue order, at most <paramref name="limit"/>
    /// (-1: all), in ONE statement and WITHOUT their dependency lists (<see cref="SwarmTask.DependsOn"/>
    /// is empty): for the scheduler's per-pass reads, which never need them (a status update does
    /// not touch the edges; propagation reads them itself).
    /// </summary>
    internal static IReadOnlyList<SwarmTask> TaskRowsWhere(SqliteConnection c, string where, int limit, params (string, object)[] args)
    {
        using var cmd = c.Sql($"SELECT {TaskColumns} FROM tasks WHERE {where} ORDER BY priority DESC, seq LIMIT $limit");
        cmd.Parameters.AddWithValue("$limit", limit);
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v);
        using var r = cmd.ExecuteReader();
        var list = new List<SwarmTask>();
        while (r.Read()) list.Add(ReadTask(r));
        return list;
    }

    /// <summary>All tasks in queue order (priority, then age), with their dependencies.</summary>
    public IReadOnlyList<SwarmTask> ListTasks() => Read(c => ListTasks(c, null));

    internal static IReadOnlyList<SwarmTask> ListTasks(SqliteConnection c, string? where, params (string, object)[] args)
    {
        var deps = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        using (var d = c.CreateCommand())
        {
            d.CommandText = "SELECT task_id, depends_on FROM task_deps ORDER BY rowid";
            using var r = d.ExecuteReader();
            while (r.Read())
            {
                if (!deps.TryGetValue(r.GetString(0), out var l)) deps[r.GetString(0)] = l = new List<string>();
                l.Add(r.GetString(1));
            }
        }
        using var cmd = c.Sql($"SELECT {TaskColumns} FROM tasks {(where is null ? "" : "WHERE " + where)} ORDER BY priority DESC, seq");
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v);
        using var rr = cmd.ExecuteReader();
        var list = new List<SwarmTask>();
        while (rr.Read())
        {
            var t = ReadTask(rr);
            list.Add(deps.TryGetValue(t.Id, out var l) ? t with { DependsOn = l } : t);
        }
        return list;
    }

    /// <summary>Ids of the tasks that depend on <paramref name="id"/>.</summary>
    internal static IReadOnlyList<string> Dependents(SqliteConnection c, string id)
    {
        using var cmd = c.Sql("SELECT task_id FROM task_deps WHERE depends_on = $id");
        cmd.Parameters.AddWithValue("$id", id);
        using var r = cmd.ExecuteReader();
        var list = new List<string>();
        while (r.Read()) list.Add(r.GetString(0));
        return list;
    }

    /// <summary>True when some task depends on one of <paramref name="ids"/>.</summary>
    internal static bool AnyDependents(SqliteConnection c, IEnumerable<string> ids)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT 1 FROM task_deps WHERE depends_on IN ({InList(cmd, "d", ids)}) LIMIT 1";
        return cmd.ExecuteScalar() is not null;
    }

    /// <summary>True while some task is Queued, Blocked or Running.</summary>
    internal static bool AnyOpenTasks(SqliteConnection c) =>
        Convert.ToInt64(Scalar(c, "SELECT EXISTS (SELECT 1 FROM tasks WHERE status IN ('Queued', 'Blocked', 'Running'))"), CultureInfo.InvariantCulture) != 0;

    /// <summary>Of the given tasks and agents, the ids of the tasks no longer Running and the agents no longer Starting: one statement.</summary>
    internal static HashSet<string> NoLongerRunningOrStarting(SqliteConnection c, IEnumerable<string> taskIds, IEnumerable<string> agentIds)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT id FROM tasks WHERE id IN ({InList(cmd, "t", taskIds)}) AND status <> 'Running' " +
                          $"UNION ALL SELECT id FROM agents WHERE id IN ({InList(cmd, "a", agentIds)}) AND status <> 'Starting'";
        var ids = new HashSet<string>(StringComparer.Ordinal);
        using var r = cmd.ExecuteReader();
        while (r.Read()) ids.Add(r.GetString(0));
        return ids;
    }

    public bool DeleteTask(string id) => Write(c =>
    {
        var before = GetTask(c, id);
        using var cmd = c.Sql("DELETE FROM tasks WHERE id = $id");
        cmd.Parameters.AddWithValue("$id", id);
        var n = cmd.ExecuteNonQuery() > 0;
        if (n && before is not null) AppendEvent(c, EventKinds.Task, id, before.Status.ToString(), "Removed");
        return n;
    });

    private static SwarmTask ReadTask(SqliteDataReader r)
    {
        string? S(int i) => r.IsDBNull(i) ? null : r.GetString(i);
        return new SwarmTask
        {
            Id = r.GetString(0), Title = r.GetString(1), Prompt = r.GetString(2), Priority = (TaskPriority)r.GetInt32(3),
            Status = Enum.TryParse<SwarmTaskStatus>(r.GetString(4), out var st) ? st : SwarmTaskStatus.Failed,
            RunAfterFailure = r.GetInt32(5) != 0, Ticket = S(6), Provider = S(7), Base = S(8), RepositoryPath = S(9), Profile = r.GetString(10),
            Command = S(11) is { } cmd ? JsonSerializer.Deserialize<List<string>>(cmd) : null,
            TimeoutSeconds = r.IsDBNull(12) ? null : r.GetInt32(12), MaxAttempts = r.GetInt32(13), RetryBackoffSeconds = r.GetInt32(14),
            Cleanup = Enum.TryParse<EnvironmentCleanup>(r.GetString(15), out var cl) ? cl : EnvironmentCleanup.KeepOnFailure,
            Attempts = r.GetInt32(16), AgentIds = JsonSerializer.Deserialize<List<string>>(r.GetString(17)) ?? new List<string>(),
            EnvironmentTicket = S(18), Result = S(19), CostUsd = S(20) is { } cost ? decimal.Parse(cost, CultureInfo.InvariantCulture) : null,
            Error = S(21), NotBefore = S(22) is { } nb ? ParseTime(nb) : null, Sequence = r.GetInt64(23),
            CreatedAt = ParseTime(r.GetString(24)), UpdatedAt = ParseTime(r.GetString(25)),
            StartedAt = S(26) is { } s1 ? ParseTime(s1) : null, EndedAt = S(27) is { } e1 ? ParseTime(e1) : null,
        };
    }

    // ------------------------------------------------------------------ leases

    /// <summary>
    /// Takes (or renews) the named lease for <paramref name="holder"/> until now + <paramref name="ttl"/>.
    /// Fails when another holder has it, is alive, and it has not expired.
    /// </summary>
    public bool TryAcquireLease(string name, string holder, TimeSpan ttl, out string? currentHolder) 
    {
        string? other = null;
        var ok = Write(c =>
        {
            using (var q = c.CreateCommand())
            {
                q.CommandText = "SELECT holder, expires_at FROM leases WHERE name = $n";
                q.Parameters.AddWithValue("$n", name);
                using var r = q.ExecuteReader();
                if (r.Read())
                {
                    var h = r.GetString(0);
                    var expires = ParseTime(r.GetString(1));
                    if (h != holder && expires > DateTimeOffset.UtcNow && Processes.ProcessIdentity.IsAlive(h)) { other = h; return false; }
                }
            }
            using var cmd = c.Sql("INSERT INTO leases (name, holder, expires_at) VALUES ($n, $h, $e) ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at");
            cmd.Parameters.AddWithValue("$n", name);
            cmd.Parameters.AddWithValue("$h", holder);
            cmd.Parameters.AddWithValue("$e", Time(DateTimeOffset.UtcNow + ttl));
            cmd.ExecuteNonQuery();
            return true;
        });
        currentHolder = other;
        return ok;
    }

    public void ReleaseLease(string name, string holder) => Write(c =>
    {
        using var cmd = c.Sql("DELETE FROM leases WHERE name = $n AND holder = $h");
        cmd.Parameters.AddWithValue("$n", name);
        cmd.Parameters.AddWithValue("$h", holder);
        return cmd.ExecuteNonQuery();
    });

    public string? LeaseHolder(string name) => Read(c =>
    {
        using var cmd = c.Sql("SELECT holder, expires_at FROM leases WHERE name = $n");
        cmd.Parameters.AddWithValue("$n", name);
        using var r = cmd.ExecuteReader();
        if (!r.Read()) return null;
        var h = r.GetString(0);
        return ParseTime(r.GetString(1)) > DateTimeOffset.UtcNow && Processes.ProcessIdentity.IsAlive(h) ? h : null;
    });
}
