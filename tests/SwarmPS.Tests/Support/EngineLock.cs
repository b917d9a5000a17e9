namespace SwarmPS.Tests.Support;

/// <summary>
/// A cross-process lock on the shared Docker Engine (test assemblies run in parallel under
/// <c>dotnet test SwarmPS.slnx</c>): tests in other assemblies that use the engine hold it shared; the
/// engine-failure test holds it exclusively while it stops and restarts the engine. An advisory file
/// lock (flock on Unix, share modes on Windows) that the OS releases if a test process dies.
/// </summary>
public static class EngineLock
{
    public static string LockPath
    {
        get
        {
            var dir = Environment.GetEnvironmentVariable("SWARMPS_BACKENDS_DIR") is { Length: > 0 } d ? d : Path.Combine(Path.GetTempPath(), "swarmps-backends");
            Directory.CreateDirectory(dir);
            return Path.Combine(dir, "docker-engine.lock");
        }
    }

    /// <summary>Held while a test uses the engine; waits while the engine-failure test has it stopped.</summary>
    public static IDisposable Shared(TimeSpan? timeout = null) => Acquire(FileShare.ReadWrite, timeout ?? TimeSpan.FromMinutes(3));

    /// <summary>Held while the engine is stopped and restarted; waits for the shared holders to finish.</summary>
    public static IDisposable Exclusive(TimeSpan? timeout = null) => Acquire(FileShare.None, timeout ?? TimeSpan.FromMinutes(3));

    private static FileStream Acquire(FileShare share, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                return new FileStream(LockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, share);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(100);
            }
        }
    }
}
