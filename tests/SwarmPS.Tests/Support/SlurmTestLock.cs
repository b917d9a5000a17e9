namespace SwarmPS.Tests.Support;

/// <summary>
/// Serializes tests that use the one Slurm controller across test PROCESSES (dotnet test runs the
/// test assemblies in parallel; [Collection] only orders tests inside one assembly). One test stops
/// and restarts slurmctld, so every Slurm test holds this lock while it runs. One file, linked into the CLI tests too.
/// </summary>
internal static class SlurmTestLock
{
    public static IDisposable Acquire()
    {
        var path = Path.Combine(Path.GetTempPath(), "swarmps-slurm-tests.lock");
        var deadline = DateTime.UtcNow.AddMinutes(10);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(200);
            }
        }
    }
}
