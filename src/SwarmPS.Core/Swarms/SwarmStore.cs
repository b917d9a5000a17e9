using System.Text.Json;
using Microsoft.Data.Sqlite;
using SwarmPS.Core.Slurm;
using SwarmPS.Core.Swarms;

namespace SwarmPS.Core.Registry;

/// <summary>Swarm rows (migration 5). Every status change appends an event of kind <c>swarm</c> in the same transaction.</summary>
public sealed partial class SwarmRegistry
{
    private const string SwarmColumns = "id, job_id, nodes, status, workdir, profile, created_at, updated_at, metadata";

    public Swarm AddSwarm(Swarm swarm)
    {
        Names.Ticket(swarm.SwarmId);
        try
        {
            return Write(c =>
            {
                if (GetSwarm(c, swarm.SwarmId) is not null) throw SwarmExists(swarm.SwarmId);
                using var cmd = c.CreateCommand();
                cmd.CommandText = $"INSERT INTO swarms ({SwarmColumns}) VALUES ($id,$j,$n,$s,$w,$p,$c,$u,$m)";
                BindSwarm(cmd, swarm);
                cmd.ExecuteNonQuery();
                AppendEvent(c, EventKinds.Swarm, swarm.SwarmId, null, swarm.Status.ToString(), $"{swarm.NodeCount} nodes, profile {swarm.Profile}");
                return swarm;
            });
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == 19)
        {
            throw SwarmExists(swarm.SwarmId);
        }
    }

    private static SwarmException SwarmExists(string id) =>
        new(SlurmErrorIds.SwarmExists, SwarmErrorKind.AlreadyExists, $"A swarm named '{id}' already exists (ids are unique regardless of case).", id);

    private static void BindSwarm(SqliteCommand cmd, Swarm s)
    {
        cmd.Parameters.AddWithValue("$id", s.SwarmId);
        cmd.Parameters.AddWithValue("$j", (object?)s.JobId ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$n", s.NodeCount);
        cmd.Parameters.AddWithValue("$s", s.Status.ToString());
        cmd.Parameters.AddWithValue("$w", s.Directory);
        cmd.Parameters.AddWithValue("$p", s.Profile);
        cmd.Parameters.AddWithValue("$c", Time(s.CreatedAt));
        cmd.Parameters.AddWithValue("$u", Time(s.UpdatedAt));
        cmd.Parameters.AddWithValue("$m", JsonSerializer.Serialize(s.Metadata));
    }

    /// <summary>Sets the job id and/or status; appends an event when the status changes. Returns the stored row.</summary>
    public Swarm UpdateSwarm(string id, SwarmStatus status, string? jobId = null, string? details = null) => Write(c =>
    {
        var before = GetSwarm(c, id) ?? throw SwarmNotFound(id);
        var after = before.With(status: status, jobId: jobId, updatedAt: DateTimeOffset.UtcNow);
        using var cmd = c.CreateCommand();
        cmd.CommandText = "UPDATE swarms SET job_id=$j, status=$s, updated_at=$u WHERE id=$id";
        cmd.Parameters.AddWithValue("$id", before.SwarmId);
        cmd.Parameters.AddWithValue("$j", (object?)after.JobId ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$s", after.Status.ToString());
        cmd.Parameters.AddWithValue("$u", Time(after.UpdatedAt));
        cmd.ExecuteNonQuery();
        if (before.Status != after.Status) AppendEvent(c, EventKinds.Swarm, before.SwarmId, before.Status.ToString(), after.Status.ToString(), details);
        return after;
    });

    public bool DeleteSwarm(string id) => Write(c =>
    {
        var before = GetSwarm(c, id);
        using var cmd = c.CreateCommand();
        cmd.CommandText = "DELETE FROM swarms WHERE id = $id";
        cmd.Parameters.AddWithValue("$id", id);
        var removed = cmd.ExecuteNonQuery() > 0;
        if (removed && before is not null) AppendEvent(c, EventKinds.Swarm, before.SwarmId, before.Status.ToString(), "Removed");
        return removed;
    });

    internal static SwarmException SwarmNotFound(string id) =>
        new(SlurmErrorIds.SwarmNotFound, SwarmErrorKind.NotFound, $"No swarm '{Names.Describe(id)}'.", id) { Hint = Hints.ListSwarms };

    public Swarm? GetSwarm(string id) => Read(c => GetSwarm(c, id));

    public Swarm RequireSwarm(string id)
    {
        if (!Names.IsValid(id))
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"Invalid swarm id '{Names.Describe(id)}': {Names.Problem(id)}.", id);
        return GetSwarm(id) ?? throw SwarmNotFound(id);
    }

    private static Swarm? GetSwarm(SqliteConnection c, string id)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT {SwarmColumns} FROM swarms WHERE id = $id";
        cmd.Parameters.AddWithValue("$id", id);
        using var r = cmd.ExecuteReader();
        return r.Read() ? ReadSwarm(r) : null;
    }

    public IReadOnlyList<Swarm> ListSwarms() => Read(c =>
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT {SwarmColumns} FROM swarms ORDER BY created_at, id";
        using var r = cmd.ExecuteReader();
        var list = new List<Swarm>();
        while (r.Read()) list.Add(ReadSwarm(r));
        return (IReadOnlyList<Swarm>)list;
    });

    private static Swarm ReadSwarm(SqliteDataReader r) => new()
    {
        SwarmId = r.GetString(0),
        JobId = r.IsDBNull(1) ? null : r.GetString(1),
        NodeCount = r.GetInt32(2),
        Status = Enum.TryParse<SwarmStatus>(r.GetString(3), out var s) ? s : SwarmStatus.Dead,
        Directory = r.GetString(4),
        Profile = r.GetString(5),
        CreatedAt = ParseTime(r.GetString(6)),
        UpdatedAt = ParseTime(r.GetString(7)),
        Metadata = JsonSerializer.Deserialize<Dictionary<string, string>>(r.GetString(8)) ?? new Dictionary<string, string>(),
    };

    // ---------------------------------------------------------------- injections

    public SwarmInjection AddInjection(SwarmInjection injection)
    {
        try
        {
            return Write(c =>
            {
                using var cmd = c.CreateCommand();
                cmd.CommandText = "INSERT INTO swarm_injections (swarm_id, injection_id, node, nodes, created_at) VALUES ($s,$i,$n,$ns,$c)";
                cmd.Parameters.AddWithValue("$s", injection.SwarmId);
                cmd.Parameters.AddWithValue("$i", injection.InjectionId);
                cmd.Parameters.AddWithValue("$n", (object?)injection.Node ?? DBNull.Value);
                cmd.Parameters.AddWithValue("$ns", JsonSerializer.Serialize(injection.Nodes));
                cmd.Parameters.AddWithValue("$c", Time(injection.CreatedAt));
                cmd.ExecuteNonQuery();
                return injection;
            });
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == 19)
        {
            throw new SwarmException(SlurmErrorIds.InjectionExists, SwarmErrorKind.AlreadyExists,
                $"Swarm '{injection.SwarmId}' already has an injection '{injection.InjectionId}' (ids are unique per swarm regardless of case).", injection.InjectionId, ex);
        }
    }

    public IReadOnlyList<SwarmInjection> ListInjections(string swarmId) => Read(c =>
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT swarm_id, injection_id, node, nodes, created_at FROM swarm_injections WHERE swarm_id = $s ORDER BY created_at, rowid";
        cmd.Parameters.AddWithValue("$s", swarmId);
        using var r = cmd.ExecuteReader();
        var list = new List<SwarmInjection>();
        while (r.Read())
            list.Add(new SwarmInjection
            {
                SwarmId = r.GetString(0), InjectionId = r.GetString(1), Node = r.IsDBNull(2) ? null : r.GetInt32(2),
                Nodes = JsonSerializer.Deserialize<List<int>>(r.GetString(3)) ?? new List<int>(), CreatedAt = ParseTime(r.GetString(4)),
            });
        return (IReadOnlyList<SwarmInjection>)list;
    });
}
