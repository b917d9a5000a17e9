using Microsoft.Data.Sqlite;

namespace SwarmPS.Core.Registry;

/// <summary>The event log: appended in the same transaction as the change it records.</summary>
public sealed partial class SwarmRegistry
{
    internal static void AppendEvent(SqliteConnection c, string kind, string subject, string? oldStatus, string? newStatus, string? details = null)
    {
        using var cmd = c.Sql("INSERT INTO events (time, kind, subject, old_status, new_status, details) VALUES ($t, $k, $s, $o, $n, $d)");
        cmd.Parameters.AddWithValue("$t", Time(DateTimeOffset.UtcNow));
        cmd.Parameters.AddWithValue("$k", kind);
        cmd.Parameters.AddWithValue("$s", subject);
        cmd.Parameters.AddWithValue("$o", (object?)oldStatus ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$n", (object?)newStatus ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$d", (object?)details ?? DBNull.Value);
        cmd.ExecuteNonQuery();
    }

    /// <summary>Appends an event in its own transaction.</summary>
    public void AppendEvent(string kind, string subject, string? oldStatus, string? newStatus, string? details = null) =>
        Write(c => { AppendEvent(c, kind, subject, oldStatus, newStatus, details); return 0; });

    /// <summary>Events after <paramref name="afterId"/> and/or since <paramref name="since"/>, oldest first.</summary>
    public IReadOnlyList<SwarmEvent> ListEvents(long afterId = 0, DateTimeOffset? since = null, IReadOnlyCollection<string>? kinds = null, int limit = 10_000) =>
        Read(c => ListEvents(c, afterId, since, kinds, limit));

    internal static IReadOnlyList<SwarmEvent> ListEvents(SqliteConnection c, long afterId = 0, DateTimeOffset? since = null, IReadOnlyCollection<string>? kinds = null, int limit = 10_000)
    {
        using var cmd = c.CreateCommand();
        var where = "id > $after";
        if (since is not null) where += " AND time >= $since";
        if (kinds is { Count: > 0 }) where += " AND kind IN (" + InList(cmd, "k", kinds) + ")";
        cmd.CommandText = $"SELECT id, time, kind, subject, old_status, new_status, details FROM events WHERE {where} ORDER BY id LIMIT $limit";
        cmd.Parameters.AddWithValue("$after", afterId);
        if (since is not null) cmd.Parameters.AddWithValue("$since", Time(since.Value));
        cmd.Parameters.AddWithValue("$limit", limit);
        using var r = cmd.ExecuteReader();
        var list = new List<SwarmEvent>();
        while (r.Read())
            list.Add(new SwarmEvent
            {
                Id = r.GetInt64(0), Time = ParseTime(r.GetString(1)), Kind = r.GetString(2), Subject = r.GetString(3),
                OldStatus = r.IsDBNull(4) ? null : r.GetString(4), NewStatus = r.IsDBNull(5) ? null : r.GetString(5), Details = r.IsDBNull(6) ? null : r.GetString(6),
            });
        return list;
    }
}
