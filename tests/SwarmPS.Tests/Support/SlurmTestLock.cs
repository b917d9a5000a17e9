namespace SwarmPS.Tests.Support;

/// <summary>
/// Serializes tests that use the shared Slurm of .ci/backends/slurm.sh across test PROCESSES (dotnet test
/// runs the test assemblies in parallel; [Collection] only orders tests inside one assembly), so their
/// swarms and jobs never compete for the one node. No test stops the shared daemons: one that stops or
/// restarts slurmctld/slurmd owns a <c>PrivateSlurm</c> and needs no lock. One file, linked into the CLI tests too.
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
