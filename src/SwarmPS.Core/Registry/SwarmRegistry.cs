using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace SwarmPS.Core.Registry;

/// <summary>
/// The SQLite registry: the source of truth for what SwarmPS owns. Safe for many processes at once
/// (WAL, busy timeout, write transactions taken with BEGIN IMMEDIATE so two writers never deadlock).
/// </summary>
public sealed partial class SwarmRegistry
{
    private readonly string _connectionString;

    private SwarmRegistry(string path)
    {
        Path = path;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 60,
        }.ToString();
    }

    public string Path { get; }

    /// <summary>Opens (creating and migrating if needed) the registry under <paramref name="home"/>.</summary>
    public static SwarmRegistry Open(SwarmHome home)
    {
        SqliteNative.EnsureInitialized();
        home.EnsureCreated();
        var path = home.RegistryPath;
        if (!File.Exists(path))
        {
            // Create the file ourselves so it is 0600 from its first byte; SQLite gives its -wal and
            // -shm files the same mode as the database file.
            try
            {
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                using (new FileStream(path, options)) { }
            }
            catch (IOException) when (File.Exists(path))
            {
                // Another process created it first.
            }
        }
        SwarmHome.MakeFilePrivate(path);
        var registry = new SwarmRegistry(path);
        registry.Migrate();
        return registry;
    }

    internal SqliteConnection Connect()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        // The settings belong to the native connection, which the pool keeps open between uses:
        // set them once per native connection, not on every (pooled) open.
        if (c.Handle is { } handle && !Configured.TryGetValue(handle, out _))
        {
            using var cmd = c.Sql("PRAGMA busy_timeout = 60000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;");
            cmd.ExecuteNonQuery();
            Configured.AddOrUpdate(handle, Marker);
        }
        return c;
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SQLitePCL.sqlite3, object> Configured = new();
    private static readonly object Marker = new();

    /// <summary>Runs <paramref name="work"/> in a write transaction (BEGIN IMMEDIATE).</summary>
    internal T Write<T>(Func<SqliteConnection, T> work)
    {
        if (ActiveSession is { } session)
        {
            lock (session.Gate)
            {
                if (!session.IsDisposed)
                {
                    if (session.InWrite) throw new InvalidOperationException("A registry write inside a write on the same session.");
                    session.InWrite = true;
                    try { return InTransaction(session.Connection, work); }
                    finally { session.InWrite = false; }
                }
            }
        }
        using var c = Connect();
        return InTransaction(c, work);
    }

    private static T InTransaction<T>(SqliteConnection c, Func<SqliteConnection, T> work)
    {
        Exec(c, "BEGIN IMMEDIATE");
        try
        {
            var result = work(c);
            Exec(c, "COMMIT");
            return result;
        }
        catch
        {
            try { Exec(c, "ROLLBACK"); } catch (SqliteException) { }
            throw;
        }
    }

    internal T Read<T>(Func<SqliteConnection, T> work)
    {
        if (ActiveSession is { } session)
        {
            lock (session.Gate)
            {
                if (!session.IsDisposed) return work(session.Connection);
            }
        }
        using var c = Connect();
        return work(c);
    }

    private static void Exec(SqliteConnection c, string sql)
    {
        using var cmd = c.Sql(sql);
        cmd.ExecuteNonQuery();
    }

    // ---------------------------------------------------------------- migrations

    /// <summary>Schema migrations, applied in order; the index + 1 is the schema version. Append only.</summary>
    internal static readonly string[] Migrations =
    {
        // 1: environments and checkpoints.
        """
        CREATE TABLE environments (
            ticket          TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
            provider        TEXT NOT NULL COLLATE NOCASE,
            instance_id     TEXT,
            repository_path TEXT,
            base_ref        TEXT,
            branch          TEXT,
            workspace_path  TEXT,
            address         TEXT,
            port_start      INTEGER NOT NULL DEFAULT 0,
            port_count      INTEGER NOT NULL DEFAULT 0,
            status          TEXT NOT NULL,
            created_at      TEXT NOT NULL,
            updated_at      TEXT NOT NULL,
            metadata        TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX environments_ports ON environments(port_start);
        -- A ticket is pinned to the provider it was created on.
        CREATE TRIGGER environments_provider_pinned BEFORE UPDATE OF provider ON environments
        WHEN NEW.provider <> OLD.provider COLLATE NOCASE
        BEGIN SELECT RAISE(ABORT, 'ProviderMismatch: a ticket is pinned to the provider it was created on'); END;
        CREATE TABLE checkpoints (
            ticket       TEXT NOT NULL COLLATE NOCASE REFERENCES environments(ticket) ON DELETE CASCADE,
            name         TEXT NOT NULL COLLATE NOCASE,
            created_at   TEXT NOT NULL,
            provider_ref TEXT,
            PRIMARY KEY (ticket, name)
        );
        """,
        // 2: agents. One row per agent; one agent_runs row per prompt it was given (the first and
        // every follow-up). No foreign key to environments: an agent's history outlives its environment.
        """
        CREATE TABLE agents (
            id                TEXT NOT NULL PRIMARY KEY,
            ticket            TEXT NOT NULL COLLATE NOCASE,
            profile           TEXT NOT NULL,
            status            TEXT NOT NULL,
            run               INTEGER NOT NULL DEFAULT 0,
            session_id        TEXT,
            working_directory TEXT,
            directory         TEXT NOT NULL,
            supervisor        TEXT,
            pid               INTEGER,
            exit_code         INTEGER,
            turns             INTEGER NOT NULL DEFAULT 0,
            tool_calls        INTEGER NOT NULL DEFAULT 0,
            input_tokens      INTEGER NOT NULL DEFAULT 0,
            output_tokens     INTEGER NOT NULL DEFAULT 0,
            cache_read_tokens INTEGER NOT NULL DEFAULT 0,
            cost_usd          TEXT,
            result            TEXT,
            error             TEXT,
            supervisor_rss_kb INTEGER,
            created_at        TEXT NOT NULL,
            updated_at        TEXT NOT NULL,
            started_at        TEXT,
            ended_at          TEXT
        );
        CREATE INDEX agents_ticket ON agents(ticket);
        CREATE INDEX agents_status ON agents(status);
        CREATE TABLE agent_runs (
            agent_id    TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
            run         INTEGER NOT NULL,
            status      TEXT NOT NULL,
            session_id  TEXT,
            exit_code   INTEGER,
            cost_usd    TEXT,
            input_tokens  INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            result      TEXT,
            started_at  TEXT NOT NULL,
            ended_at    TEXT,
            PRIMARY KEY (agent_id, run)
        );
        """,
        // 3: the task queue, the scheduler lease, and the event log.
        """
        CREATE TABLE tasks (
            id                TEXT NOT NULL PRIMARY KEY,
            title             TEXT NOT NULL,
            prompt            TEXT NOT NULL,
            priority          INTEGER NOT NULL,
            status            TEXT NOT NULL,
            run_after_failure INTEGER NOT NULL DEFAULT 0,
            ticket            TEXT,
            provider          TEXT,
            base              TEXT,
            repository_path   TEXT,
            profile           TEXT NOT NULL,
            command           TEXT,
            timeout_seconds   INTEGER,
            max_attempts      INTEGER NOT NULL DEFAULT 1,
            retry_backoff_seconds INTEGER NOT NULL DEFAULT 30,
            cleanup           TEXT NOT NULL,
            attempts          INTEGER NOT NULL DEFAULT 0,
            agent_ids         TEXT NOT NULL DEFAULT '[]',
            environment_ticket TEXT,
            result            TEXT,
            cost_usd          TEXT,
            error             TEXT,
            not_before        TEXT,
            seq               INTEGER NOT NULL,
            created_at        TEXT NOT NULL,
            updated_at        TEXT NOT NULL,
            started_at        TEXT,
            ended_at          TEXT
        );
        CREATE INDEX tasks_ready ON tasks(status, priority DESC, seq);
        CREATE TABLE task_deps (
            task_id    TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
            depends_on TEXT NOT NULL,
            PRIMARY KEY (task_id, depends_on)
        );
        CREATE INDEX task_deps_reverse ON task_deps(depends_on);
        CREATE TABLE leases (
            name       TEXT NOT NULL PRIMARY KEY,
            holder     TEXT NOT NULL,
            expires_at TEXT NOT NULL
        );
        CREATE TABLE events (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            time       TEXT NOT NULL,
            kind       TEXT NOT NULL,
            subject    TEXT NOT NULL,
            old_status TEXT,
            new_status TEXT,
            details    TEXT
        );
        CREATE INDEX events_time ON events(time);
        """,
        // 4: base images for VM providers (KVM first): a disk by name, with default sizes.
        """
        CREATE TABLE base_images (
            name       TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
            provider   TEXT NOT NULL COLLATE NOCASE,
            path       TEXT NOT NULL,
            os_note    TEXT,
            ssh_user   TEXT NOT NULL DEFAULT 'root',
            cpus       INTEGER NOT NULL,
            memory_mb  INTEGER NOT NULL,
            disk_gb    INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        );
        """,
        // 5: Slurm swarms (one job array each) and the prompts injected into them.
        """
        CREATE TABLE swarms (
            id         TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
            job_id     TEXT,
            nodes      INTEGER NOT NULL,
            status     TEXT NOT NULL,
            workdir    TEXT NOT NULL,
            profile    TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            metadata   TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX swarms_status ON swarms(status);
        CREATE TABLE swarm_injections (
            swarm_id     TEXT NOT NULL COLLATE NOCASE REFERENCES swarms(id) ON DELETE CASCADE,
            injection_id TEXT NOT NULL COLLATE NOCASE,
            node         INTEGER,
            nodes        TEXT NOT NULL DEFAULT '[]',
            created_at   TEXT NOT NULL,
            PRIMARY KEY (swarm_id, injection_id)
        );
        """,
        // 6: direct kernel boot for base images (kernel, initrd, kernel command line; all optional).
        """
        ALTER TABLE base_images ADD COLUMN kernel TEXT;
        ALTER TABLE base_images ADD COLUMN initrd TEXT;
        ALTER TABLE base_images ADD COLUMN cmdline TEXT;
        """,
    };

    public int SchemaVersion => Read(c => Convert.ToInt32(Scalar(c, "PRAGMA user_version"), CultureInfo.InvariantCulture));

    private void Migrate()
    {
        using var c = Connect();
        // WAL is persistent in the file; setting it needs no transaction.
        var mode = Scalar(c, "PRAGMA journal_mode = WAL") as string;
        _ = mode;
        var current = Convert.ToInt32(Scalar(c, "PRAGMA user_version"), CultureInfo.InvariantCulture);
        if (current >= Migrations.Length)
        {
            if (current > Migrations.Length)
                throw new SwarmException(ErrorIds.RegistryError, SwarmErrorKind.InvalidState,
                    $"The registry {Path} has schema version {current}, newer than this SwarmPS understands ({Migrations.Length}). Update SwarmPS.", Path);
            return;
        }
        Exec(c, "BEGIN IMMEDIATE");
        try
        {
            current = Convert.ToInt32(Scalar(c, "PRAGMA user_version"), CultureInfo.InvariantCulture);
            for (var v = current; v < Migrations.Length; v++)
            {
                Exec(c, Migrations[v]);
                Exec(c, $"PRAGMA user_version = {v + 1}");
            }
            Exec(c, "COMMIT");
        }
        catch
        {
            try { Exec(c, "ROLLBACK"); } catch (SqliteException) { }
            throw;
        }
    }

    /// <summary>
    /// Binds <paramref name="values"/> as parameters <c>$prefix0, $prefix1, ...</c> of <paramref name="cmd"/>
    /// and returns them comma-separated, for <c>IN (...)</c>.
    /// </summary>
    internal static string InList(SqliteCommand cmd, string prefix, IEnumerable<string> values)
    {
        var names = new List<string>();
        foreach (var v in values)
        {
            var n = "$" + prefix + names.Count.ToString(CultureInfo.InvariantCulture);
            names.Add(n);
            cmd.Parameters.AddWithValue(n, v);
        }
        return string.Join(",", names);
    }

    internal static object? Scalar(SqliteConnection c, string sql, params (string, object?)[] args)
    {
        using var cmd = c.Sql(sql);
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v ?? DBNull.Value);
        return cmd.ExecuteScalar();
    }

    // ---------------------------------------------------------------- environments

    private const string EnvColumns = "ticket, provider, instance_id, repository_path, base_ref, branch, workspace_path, address, port_start, port_count, status, created_at, updated_at, metadata";

    /// <summary>
    /// Atomically claims a ticket and a free port block, inserting a row in status Creating.
    /// Throws EnvironmentExists if the ticket is taken (regardless of case) and PortsExhausted if
    /// no block is free.
    /// </summary>
    /// <param name="admit">
    /// Runs inside the reservation's write transaction with every environment row (the new one not yet among
    /// them) and throws to refuse it; so two concurrent creates cannot both pass a check on what is allocated
    /// (the host oversubscription check).
    /// </param>
    public SwarmEnvironment Reserve(SwarmEnvironment draft, PortConfig ports, Action<IReadOnlyList<SwarmEnvironment>>? admit = null)
    {
        Names.Ticket(draft.Ticket);
        try
        {
            return Write(c =>
            {
                var existing = GetEnvironment(c, draft.Ticket);
                if (existing is not null) throw Exists(draft.Ticket, existing);
                admit?.Invoke(ListEnvironments(c));
                var start = FindFreeBlock(c, ports);
                var now = DateTimeOffset.UtcNow;
                var env = new SwarmEnvironment
                {
                    Ticket = draft.Ticket, Provider = draft.Provider, Status = EnvironmentStatus.Creating, InstanceId = draft.InstanceId,
                    RepositoryPath = draft.RepositoryPath, BaseRef = draft.BaseRef, Branch = draft.Branch, WorkspacePath = draft.WorkspacePath,
                    Address = draft.Address, Ports = new PortBlock(start, ports.BlockSize), CreatedAt = now, UpdatedAt = now, Metadata = draft.Metadata,
                };
                Insert(c, env);
                AppendEvent(c, EventKinds.Environment, env.Ticket, null, env.Status.ToString(), $"provider {env.Provider}");
                return env;
            });
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == 19 /* SQLITE_CONSTRAINT */)
        {
            throw Exists(draft.Ticket, GetEnvironment(draft.Ticket));
        }
    }

    private static SwarmException Exists(string ticket, SwarmEnvironment? existing) =>
        new(ErrorIds.EnvironmentExists, SwarmErrorKind.AlreadyExists,
            existing is null ? $"An environment for ticket '{ticket}' already exists."
                : $"An environment for ticket '{existing.Ticket}' already exists (provider {existing.Provider}, status {existing.Status}). Tickets are unique regardless of case.", ticket);

    private static int FindFreeBlock(SqliteConnection c, PortConfig ports)
    {
        var taken = new List<(int Start, int End)>();
        using (var cmd = c.CreateCommand())
        {
            cmd.CommandText = "SELECT port_start, port_count FROM environments WHERE port_count > 0 ORDER BY port_start";
            using var r = cmd.ExecuteReader();
            while (r.Read()) taken.Add((r.GetInt32(0), r.GetInt32(0) + r.GetInt32(1) - 1));
        }
        var candidate = ports.Start;
        foreach (var (s, e) in taken)
        {
            if (candidate + ports.BlockSize - 1 < s) break;
            if (e >= candidate) candidate = e + 1;
        }
        if (candidate + ports.BlockSize - 1 > ports.End)
            throw new SwarmException(ErrorIds.PortsExhausted, SwarmErrorKind.InvalidState,
                $"No free block of {ports.BlockSize} ports is left in {ports.Start}-{ports.End}. Remove environments you no longer need, or widen 'ports' in config.json.");
        return candidate;
    }

    private static void Insert(SqliteConnection c, SwarmEnvironment e)
    {
        using var cmd = c.Sql($"INSERT INTO environments ({EnvColumns}) VALUES ($t,$p,$i,$r,$b,$br,$w,$a,$ps,$pc,$s,$c,$u,$m)");
        Bind(cmd, e);
        cmd.ExecuteNonQuery();
    }

    private static void Bind(SqliteCommand cmd, SwarmEnvironment e)
    {
        cmd.Parameters.AddWithValue("$t", e.Ticket);
        cmd.Parameters.AddWithValue("$p", e.Provider);
        cmd.Parameters.AddWithValue("$i", (object?)e.InstanceId ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$r", (object?)e.RepositoryPath ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$b", (object?)e.BaseRef ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$br", (object?)e.Branch ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$w", (object?)e.WorkspacePath ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$a", (object?)e.Address ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$ps", e.Ports.Start);
        cmd.Parameters.AddWithValue("$pc", e.Ports.Count);
        cmd.Parameters.AddWithValue("$s", e.Status.ToString());
        cmd.Parameters.AddWithValue("$c", Time(e.CreatedAt));
        cmd.Parameters.AddWithValue("$u", Time(e.UpdatedAt));
        cmd.Parameters.AddWithValue("$m", JsonSerializer.Serialize(e.Metadata));
    }

    /// <summary>Replaces the mutable fields of a row. The provider cannot change (a trigger enforces it).</summary>
    public SwarmEnvironment Update(SwarmEnvironment e)
    {
        var updated = e.With(updatedAt: DateTimeOffset.UtcNow);
        try
        {
            var n = Write(c =>
            {
                var before = GetEnvironment(c, e.Ticket);
                using var cmd = c.Sql("UPDATE environments SET provider=$p, instance_id=$i, repository_path=$r, base_ref=$b, branch=$br, workspace_path=$w, address=$a, port_start=$ps, port_count=$pc, status=$s, created_at=$c, updated_at=$u, metadata=$m WHERE ticket=$t");
                Bind(cmd, updated);
                var rows = cmd.ExecuteNonQuery();
                if (rows > 0 && before is not null && before.Status != updated.Status)
                    AppendEvent(c, EventKinds.Environment, updated.Ticket, before.Status.ToString(), updated.Status.ToString());
                return rows;
            });
            if (n == 0) throw NotFound(e.Ticket);
        }
        catch (SqliteException ex) when (ex.Message.Contains("ProviderMismatch", StringComparison.Ordinal))
        {
            throw new SwarmException(ErrorIds.ProviderMismatch, SwarmErrorKind.InvalidState,
                $"Ticket '{e.Ticket}' is pinned to the provider it was created on; it cannot move to '{e.Provider}'.", e.Ticket, ex);
        }
        return updated;
    }

    public SwarmEnvironment UpdateStatus(string ticket, EnvironmentStatus status)
    {
        var e = GetEnvironment(ticket) ?? throw NotFound(ticket);
        return e.Status == status ? e : Update(e.With(status: status));
    }

    public SwarmEnvironment? GetEnvironment(string ticket) => Read(c => GetEnvironment(c, ticket));

    /// <summary>Gets an environment or throws EnvironmentNotFound.</summary>
    public SwarmEnvironment RequireEnvironment(string ticket) => GetEnvironment(Names.Ticket(ticket)) ?? throw NotFound(ticket);

    internal static SwarmException NotFound(string ticket) =>
        new(ErrorIds.EnvironmentNotFound, SwarmErrorKind.NotFound, $"No environment for ticket '{ticket}'.", ticket) { Hint = Hints.ListEnvironments };

    private static SwarmEnvironment? GetEnvironment(SqliteConnection c, string ticket)
    {
        using var cmd = c.Sql($"SELECT {EnvColumns} FROM environments WHERE ticket = $t");
        cmd.Parameters.AddWithValue("$t", ticket);
        using var r = cmd.ExecuteReader();
        return r.Read() ? ReadEnv(r) : null;
    }

    public IReadOnlyList<SwarmEnvironment> ListEnvironments() => Read(ListEnvironments);

    private static IReadOnlyList<SwarmEnvironment> ListEnvironments(SqliteConnection c)
    {
        using var cmd = c.Sql($"SELECT {EnvColumns} FROM environments ORDER BY created_at, ticket");
        using var r = cmd.ExecuteReader();
        var list = new List<SwarmEnvironment>();
        while (r.Read()) list.Add(ReadEnv(r));
        return list;
    }

    public int CountEnvironments() => Read(c => Convert.ToInt32(Scalar(c, "SELECT count(*) FROM environments"), CultureInfo.InvariantCulture));

    /// <summary>Deletes the row (and, by cascade, its checkpoints), which frees its ports.</summary>
    public bool DeleteEnvironment(string ticket) => Write(c =>
    {
        var before = GetEnvironment(c, ticket);
        using var cmd = c.Sql("DELETE FROM environments WHERE ticket = $t");
        cmd.Parameters.AddWithValue("$t", ticket);
        var removed = cmd.ExecuteNonQuery() > 0;
        if (removed && before is not null) AppendEvent(c, EventKinds.Environment, before.Ticket, before.Status.ToString(), "Removed");
        return removed;
    });

    private static SwarmEnvironment ReadEnv(SqliteDataReader r) => new()
    {
        Ticket = r.GetString(0),
        Provider = r.GetString(1),
        InstanceId = r.IsDBNull(2) ? null : r.GetString(2),
        RepositoryPath = r.IsDBNull(3) ? null : r.GetString(3),
        BaseRef = r.IsDBNull(4) ? null : r.GetString(4),
        Branch = r.IsDBNull(5) ? null : r.GetString(5),
        WorkspacePath = r.IsDBNull(6) ? null : r.GetString(6),
        Address = r.IsDBNull(7) ? null : r.GetString(7),
        Ports = new PortBlock(r.GetInt32(8), r.GetInt32(9)),
        Status = Enum.TryParse<EnvironmentStatus>(r.GetString(10), out var s) ? s : EnvironmentStatus.Error,
        CreatedAt = ParseTime(r.GetString(11)),
        UpdatedAt = ParseTime(r.GetString(12)),
        Metadata = JsonSerializer.Deserialize<Dictionary<string, string>>(r.GetString(13)) ?? new Dictionary<string, string>(),
    };

    // ---------------------------------------------------------------- checkpoints

    public SwarmCheckpoint AddCheckpoint(SwarmCheckpoint cp)
    {
        try
        {
            Write(c =>
            {
                using var cmd = c.Sql("INSERT INTO checkpoints (ticket, name, created_at, provider_ref) VALUES ($t, $n, $c, $r)");
                cmd.Parameters.AddWithValue("$t", cp.Ticket);
                cmd.Parameters.AddWithValue("$n", cp.Name);
                cmd.Parameters.AddWithValue("$c", Time(cp.CreatedAt));
                cmd.Parameters.AddWithValue("$r", (object?)cp.ProviderReference ?? DBNull.Value);
                return cmd.ExecuteNonQuery();
            });
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == 19)
        {
            throw new SwarmException(ErrorIds.CheckpointExists, SwarmErrorKind.AlreadyExists,
                $"Ticket '{cp.Ticket}' already has a checkpoint named '{cp.Name}'.", cp.Ticket, ex);
        }
        return cp;
    }

    /// <summary>Checkpoints of a ticket, oldest first.</summary>
    public IReadOnlyList<SwarmCheckpoint> ListCheckpoints(string? ticket = null) => Read(c =>
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = ticket is null
            ? "SELECT ticket, name, created_at, provider_ref FROM checkpoints ORDER BY ticket, created_at, rowid"
            : "SELECT ticket, name, created_at, provider_ref FROM checkpoints WHERE ticket = $t ORDER BY created_at, rowid";
        if (ticket is not null) cmd.Parameters.AddWithValue("$t", ticket);
        using var r = cmd.ExecuteReader();
        var list = new List<SwarmCheckpoint>();
        while (r.Read())
            list.Add(new SwarmCheckpoint { Ticket = r.GetString(0), Name = r.GetString(1), CreatedAt = ParseTime(r.GetString(2)), ProviderReference = r.IsDBNull(3) ? null : r.GetString(3) });
        return (IReadOnlyList<SwarmCheckpoint>)list;
    });

    public bool DeleteCheckpoint(string ticket, string name) => Write(c =>
    {
        using var cmd = c.Sql("DELETE FROM checkpoints WHERE ticket = $t AND name = $n");
        cmd.Parameters.AddWithValue("$t", ticket);
        cmd.Parameters.AddWithValue("$n", name);
        return cmd.ExecuteNonQuery() > 0;
    });

    // ---------------------------------------------------------------- helpers

    internal static string Time(DateTimeOffset t) => t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
    internal static DateTimeOffset ParseTime(string s) => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}
