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

    /// <summary>The identity of a running process, or null if it is gone.</summary>
    public static string? Of(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return p.HasExited ? null : Format(pid, SafeStart(p));
        }
        catch (ArgumentException) { return null; }
        catch (InvalidOperationException) { return null; }
    }

    public static bool IsAlive(string? identity)
    {
        if (string.IsNullOrEmpty(identity)) return false;
        var parts = identity.Split('@');
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) return false;
        try
        {
            using var p = Process.GetProcessById(pid);
            if (p.HasExited || IsZombie(pid)) return false;
            return Format(pid, SafeStart(p)) == identity;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    /// <summary>
    /// A killed process whose parent has not reaped it yet (for a detached supervisor the parent is
    /// init, which in some containers never reaps) still has a pid but is dead.
    /// </summary>
    private static bool IsZombie(int pid)
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var close = stat.LastIndexOf(')');
            return close > 0 && close + 2 < stat.Length && stat[close + 2] is 'Z' or 'X';
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    private static long SafeStart(Process p)
    {
        try { return p.StartTime.ToUniversalTime().Ticks / TimeSpan.TicksPerSecond; }
        catch (InvalidOperationException) { return 0; }
        catch (System.ComponentModel.Win32Exception) { return 0; }
    }

    private static string Format(int pid, long start) => string.Create(CultureInfo.InvariantCulture, $"{pid}@{start}");
}
