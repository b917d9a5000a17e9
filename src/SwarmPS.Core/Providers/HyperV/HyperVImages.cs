using SwarmPS.Core.Registry;

namespace SwarmPS.Core.Providers.HyperV;

/// <summary>Base VHDX files of the Hyper-V provider. Registration checks the file; it is never modified or deleted.</summary>
public static class HyperVImages
{
    /// <summary>
    /// Registers <paramref name="path"/> (a .vhdx or .vhd with cloud-init and hv_kvp_daemon installed) as base
    /// image <paramref name="name"/>. Each environment gets a differencing disk on it, so it must stay unchanged.
    /// </summary>
    public static SwarmBaseImage Register(SwarmRegistry registry, string name, string path, string? osNote = null, int cpus = 2, int memoryMb = 4096, string sshUser = "root")
    {
        Names.Ticket(name);
        if (string.IsNullOrWhiteSpace(path) || path.Any(char.IsControl))
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, "The VHDX path is empty or contains control characters.", name);
        var full = Path.GetFullPath(path);
        var ext = Path.GetExtension(full).ToLowerInvariant();
        if (ext is not (".vhdx" or ".vhd"))
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"'{full}' is not a .vhdx or .vhd file (Hyper-V base images are virtual hard disks; convert with Convert-VHD or qemu-img convert -O vhdx).", name);
        if (!File.Exists(full)) throw new SwarmException(SwarmRegistry.ImageNotFound, SwarmErrorKind.NotFound, $"'{full}' does not exist.", name);
        Validate(name, cpus, memoryMb, sshUser);
        return registry.AddBaseImage(new SwarmBaseImage { Name = name, Provider = HyperVProvider.ProviderName, Path = full, OsNote = osNote, SshUser = sshUser, Cpus = cpus, MemoryMb = memoryMb });
    }

    internal static void Validate(string name, int cpus, int memoryMb, string sshUser)
    {
        if (cpus is < 1 or > 256 || memoryMb is < 32 or > 12 * 1024 * 1024)
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"Invalid defaults: cpus {cpus} (1-256), memory {memoryMb} MiB.", name);
        if (!System.Text.RegularExpressions.Regex.IsMatch(sshUser, "^[a-z_][a-z0-9_-]{0,31}$"))
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"Invalid ssh user '{Names.Describe(sshUser)}'.", name);
    }
}
