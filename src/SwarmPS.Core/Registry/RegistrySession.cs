using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;

namespace SwarmPS.Core.Registry;

public sealed partial class SwarmRegistry
{
    private readonly AsyncLocal<RegistrySession?> _session = new();

    /// <summary>
    /// For a hot loop (the queue scheduler): until the returned session is disposed, the registry
    /// calls made in this async flow (and the tasks it starts) share ONE open connection whose
    /// commands are kept, so SQLite parses each statement once instead of on every call and no
    /// pooled open/close happens per call. Calls are serialized on the session (one at a time, as
    /// SQLite's writer lock would anyway); transactions are the same as without it (each
    /// <see cref="Write{T}"/> is its own BEGIN IMMEDIATE ... COMMIT), so other processes see no
    /// difference. Outside the flow, or after disposal, calls use pooled connections as before.
    /// </summary>
    internal IDisposable OpenSession()
    {
        var c = Connect();
        KeptCommands.Enable(c);
        var s = new RegistrySession(c);
        _session.Value = s;
        return s;
    }

    private RegistrySession? ActiveSession => _session.Value is { IsDisposed: false } s ? s : null;

    internal sealed class RegistrySession(SqliteConnection connection) : IDisposable
    {
        public SqliteConnection Connection { get; } = connection;
        public object Gate { get; } = new();
        public bool InWrite { get; set; }
        public bool IsDisposed { get; private set; }

        public void Dispose()
        {
            lock (Gate)
            {
                if (IsDisposed) return;
                IsDisposed = true;
                KeptCommands.Release(Connection);
                Connection.Dispose();
            }
        }
    }
}

/// <summary>
/// Commands kept per connection (only for session connections): <see cref="Sql"/> hands out the
/// same command for the same text, so Microsoft.Data.Sqlite reuses its prepared statement.
/// </summary>
internal static class KeptCommands
{
    private static readonly ConditionalWeakTable<SqliteConnection, Dictionary<string, KeptCommand>> Caches = new();
    private const int MaxPerConnection = 256;

    public static void Enable(SqliteConnection c) => Caches.AddOrUpdate(c, new Dictionary<string, KeptCommand>(StringComparer.Ordinal));

    public static void Release(SqliteConnection c)
    {
        if (!Caches.TryGetValue(c, out var cache)) return;
        Caches.Remove(c);
        foreach (var cmd in cache.Values) cmd.Release();
    }

    /// <summary>A command for <paramref name="sql"/> on <paramref name="c"/>: kept (parameters cleared) on a session connection, new otherwise. Dispose it either way.</summary>
    public static SqliteCommand Sql(this SqliteConnection c, string sql)
    {
        if (Caches.TryGetValue(c, out var cache))
        {
            if (cache.TryGetValue(sql, out var kept))
            {
                kept.Parameters.Clear();
                return kept;
            }
            if (cache.Count < MaxPerConnection)
            {
                kept = new KeptCommand(sql, c);
                cache[sql] = kept;
                return kept;
            }
        }
        var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return cmd;
    }

    internal sealed class KeptCommand(string sql, SqliteConnection c) : SqliteCommand(sql, c)
    {
        private bool _released;

        public void Release()
        {
            _released = true;
            Dispose();
        }

        // A using block around a kept command must not throw its prepared statement away.
        protected override void Dispose(bool disposing)
        {
            if (_released || !disposing) base.Dispose(disposing);
        }
    }
}
