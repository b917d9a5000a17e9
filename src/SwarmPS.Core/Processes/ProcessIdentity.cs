using System.Diagnostics;
using System.Globalization;

namespace SwarmPS.Core.Processes;

/// <summary>
/// Identifies a process by pid plus start time, so a recycled pid is never mistaken for the
/// original process (after a crash or a reboot).
/// </summary>
public static class ProcessIdentity
{
    public static string Current()
    {
        using var p = Process.GetCurrentProcess();
        return Format(p.Id, SafeStart(p));
    }

    public static bool IsAlive(string? identity)
    {
        if (string.IsNullOrEmpty(identity)) return false;
        var parts = identity.Split('@');
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) return false;
        try
        {
            using var p = Process.GetProcessById(pid);
            if (p.HasExited) return false;
            return Format(pid, SafeStart(p)) == identity;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    private static long SafeStart(Process p)
    {
        try { return p.StartTime.ToUniversalTime().Ticks / TimeSpan.TicksPerSecond; }
        catch (InvalidOperationException) { return 0; }
        catch (System.ComponentModel.Win32Exception) { return 0; }
    }

    private static string Format(int pid, long start) => string.Create(CultureInfo.InvariantCulture, $"{pid}@{start}");
}
