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
            if (!long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var recorded)) return false;
            using var p = Process.GetProcessById(pid);
            if (p.HasExited || IsZombie(pid)) return false;
            // Whole seconds, and identities recorded by other processes (or by earlier versions, which read
            // .NET's Process.StartTime: boot time derived from "now" at every call, so a start near a second
            // boundary could come out one second off) may differ by a rounding: a recycled pid that started
            // within the same two seconds as the original is not a real risk.
            return Math.Abs(SafeStart(p) - recorded) <= StartToleranceSeconds;
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

    /// <summary>How far two readings of one process's start (whole seconds) may differ.</summary>
    internal const int StartToleranceSeconds = 2;

    private static long SafeStart(Process p)
    {
        // Linux: the kernel's own start (clock ticks since boot) plus the boot time /proc/stat states, the same
        // value on every read. Process.StartTime derives the boot time from the current time at each call,
        // so it jitters (milliseconds, more on a loaded machine) and its whole second could flip.
        if (OperatingSystem.IsLinux() && LinuxStartSeconds(p.Id) is { } linux) return linux;
        try { return p.StartTime.ToUniversalTime().Ticks / TimeSpan.TicksPerSecond; }
        catch (InvalidOperationException) { return 0; }
        catch (System.ComponentModel.Win32Exception) { return 0; }
    }

    private static readonly Lazy<long?> BootTimeUnixSeconds = new(() =>
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/stat"))
                if (line.StartsWith("btime ", StringComparison.Ordinal) && long.TryParse(line.AsSpan(6).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var b))
                    return b;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    });

    /// <summary>Start of a Linux process in seconds since 0001-01-01 UTC (the unit of <see cref="DateTime.Ticks"/> / s), or null.</summary>
    internal static long? LinuxStartSeconds(int pid)
    {
        if (BootTimeUnixSeconds.Value is not { } boot) return null;
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var close = stat.LastIndexOf(')');
            if (close < 0) return null;
            // After "pid (comm) ": field 3 (state) is index 0, so field 22 (starttime) is index 19.
            var fields = stat[(close + 2)..].Split(' ');
            if (fields.Length < 20 || !long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)) return null;
            // /proc reports in USER_HZ, which is 100 on every Linux architecture .NET runs on.
            return DateTime.UnixEpoch.Ticks / TimeSpan.TicksPerSecond + boot + ticks / 100;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    private static string Format(int pid, long start) => string.Create(CultureInfo.InvariantCulture, $"{pid}@{start}");
}
