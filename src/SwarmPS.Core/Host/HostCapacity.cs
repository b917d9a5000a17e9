using System.Globalization;

namespace SwarmPS.Core.Host;

/// <summary>One file system: its mount (root directory), size and free space, and which SwarmPS paths live on it.</summary>
public sealed class SwarmHostDisk
{
    public required string Root { get; init; }
    public long TotalBytes { get; init; }
    public long FreeBytes { get; init; }
    /// <summary>What SwarmPS keeps there (home, worktrees, kvm pool).</summary>
    public IReadOnlyList<string> Uses { get; init; } = Array.Empty<string>();
}

/// <summary>What the host has.</summary>
public sealed class HostCapacity
{
    public int LogicalCpus { get; init; }
    public long MemoryMb { get; init; }
    /// <summary>The file systems of the SwarmPS paths; the first is where environment disks grow (the kvm pool when it exists, else the home).</summary>
    public IReadOnlyList<SwarmHostDisk> Disks { get; init; } = Array.Empty<SwarmHostDisk>();
}

/// <summary>Reads the host's capacity. Tests pass a fake.</summary>
public interface IHostCapacitySource
{
    /// <param name="paths">Named SwarmPS paths (name, path) whose file systems are reported; the first one is the disk capacity.</param>
    HostCapacity Read(IReadOnlyList<(string Use, string Path)> paths);
}

/// <summary>
/// The real host: <see cref="Environment.ProcessorCount"/> (logical CPUs this process may use, which honours
/// affinity and cgroup limits), MemTotal of <c>/proc/meminfo</c> on Linux (elsewhere the GC's view of
/// physical memory) and <see cref="DriveInfo"/> of each path's file system.
/// </summary>
public sealed class SystemHostCapacity : IHostCapacitySource
{
    public static SystemHostCapacity Instance { get; } = new();

    public HostCapacity Read(IReadOnlyList<(string Use, string Path)> paths) => new()
    {
        LogicalCpus = Environment.ProcessorCount,
        MemoryMb = TotalMemoryMb(),
        Disks = Disks(paths),
    };

    public static long TotalMemoryMb()
    {
        if (OperatingSystem.IsLinux() && ParseMemTotalKb(TryRead("/proc/meminfo")) is { } kb) return kb / 1024;
        return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024);
    }

    private static string? TryRead(string path)
    {
        try { return File.ReadAllText(path); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>The "MemTotal: N kB" line of /proc/meminfo, in kB; null when absent.</summary>
    public static long? ParseMemTotalKb(string? meminfo)
    {
        if (meminfo is null) return null;
        foreach (var line in meminfo.Split('\n'))
        {
            if (!line.StartsWith("MemTotal:", StringComparison.Ordinal)) continue;
            var f = line["MemTotal:".Length..].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length >= 1 && long.TryParse(f[0], NumberStyles.None, CultureInfo.InvariantCulture, out var kb)) return kb;
        }
        return null;
    }

    private static IReadOnlyList<SwarmHostDisk> Disks(IReadOnlyList<(string Use, string Path)> paths)
    {
        var byRoot = new List<(string Root, long Total, long Free, List<string> Uses)>();
        foreach (var (use, path) in paths)
        {
            var existing = NearestExisting(path);
            if (existing is null) continue;
            try
            {
                // On Unix DriveInfo(path) reports statvfs of the path itself; the mount point comes from the mount table.
                var d = new DriveInfo(existing);
                var root = MountPoint(existing);
                var entry = byRoot.FindIndex(x => x.Root == root);
                if (entry < 0) byRoot.Add((root, d.TotalSize, d.AvailableFreeSpace, new List<string> { use }));
                else byRoot[entry].Uses.Add(use);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException) { }
        }
        return byRoot.Select(x => new SwarmHostDisk { Root = x.Root, TotalBytes = x.Total, FreeBytes = x.Free, Uses = x.Uses }).ToList();
    }

    private static string MountPoint(string path)
    {
        if (OperatingSystem.IsWindows()) return Path.GetPathRoot(path) ?? path;
        string? best = null;
        try
        {
            foreach (var d in DriveInfo.GetDrives())
            {
                var m = d.Name.Length > 1 ? d.Name.TrimEnd('/') : d.Name;
                if ((path == m || path.StartsWith(m == "/" ? "/" : m + "/", StringComparison.Ordinal)) && (best is null || m.Length > best.Length)) best = m;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
        return best ?? path;
    }

    /// <summary>The path itself or its closest existing parent (a pool that is not created yet lives on its parent's file system).</summary>
    private static string? NearestExisting(string path)
    {
        try
        {
            for (var p = Path.GetFullPath(path); !string.IsNullOrEmpty(p); p = Path.GetDirectoryName(p))
                if (Directory.Exists(p)) return p;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException) { }
        return null;
    }
}
