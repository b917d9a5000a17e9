using SwarmPS.Core.Processes.Detached;

namespace SwarmPS.Module.Tests;

/// <summary>
/// The test runner never calls this. DetachedProcessTests start this assembly as a separate .NET
/// process ("the parent") that launches a detached helper and then exits or is killed, to prove the
/// helper outlives it:
///   dotnet SwarmPS.Module.Tests.dll detached-parent exit|wait STATE_DIR FILE [ARG...]
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length < 4 || args[0] != "detached-parent") return 0;
        var launched = DetachedLauncher.ForCurrentPlatform().Start(new DetachedProcessSpec(args[3], args.Skip(4), args[2]));
        Console.Out.WriteLine(launched.Pid);
        Console.Out.Flush();
        if (args[1] == "wait") Thread.Sleep(TimeSpan.FromMinutes(2));
        return 0;
    }
}
