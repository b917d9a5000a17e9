using System.Text.Json;
using SwarmPS.Core.Registry;

namespace SwarmPS.Core.Providers.Kvm;

/// <summary>Base images of the KVM provider: register (validated with qemu-img), list, unregister. Files are never touched.</summary>
public sealed class KvmImages
{
    private readonly SwarmRegistry _registry;
    private readonly Virsh _tools;

    public KvmImages(SwarmRegistry registry, KvmOptions? options = null, Processes.ProcessRunner? runner = null)
    {
        _registry = registry;
        _tools = new Virsh(options ?? KvmOptions.FromEnvironment(), runner);
    }

    /// <summary>
    /// Registers a qcow2 file as base image <paramref name="name"/>. The path must be absolute after
    /// resolution, readable and a qcow2 image (<c>qemu-img info -U --output=json</c>).
    /// </summary>
    public async Task<SwarmBaseImage> RegisterAsync(string name, string path, string? osNote = null, int cpus = 2, int memoryMb = 4096, int diskGb = 0,
        string sshUser = "root", CancellationToken ct = default, string? kernel = null, string? initrd = null, string? cmdline = null)
    {
        Names.Ticket(name);
        if (string.IsNullOrWhiteSpace(path) || path.Any(char.IsControl))
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, "The image path is empty or contains control characters.", name);
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new SwarmException(ErrorIds.ImageNotFound, SwarmErrorKind.NotFound, $"'{full}' does not exist.", name);
        var (kernelPath, initrdPath, commandLine) = ValidateKernel(name, kernel, initrd, cmdline);
        if (cpus is < 1 or > 256 || memoryMb is < 32 or > 4 * 1024 * 1024 || diskGb is < 0 or > 65536)
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"Invalid defaults: cpus {cpus} (1-256), memory {memoryMb} MiB (32-4194304), disk {diskGb} GiB (0-65536).", name);
        if (!IsValidUser(sshUser))
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"Invalid ssh user '{Names.Describe(sshUser)}'.", name);
        var info = await _tools.QemuImgAsync(ct, "info", "-U", "--output=json", full).ConfigureAwait(false);
        if (!info.Success) throw Virsh.Failed(info, name);
        var format = ParseFormat(info.StandardOutput);
        if (format != "qcow2")
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument,
                $"'{full}' is a {format ?? "unknown"} image; base images must be qcow2 (convert: qemu-img convert -O qcow2 in out.qcow2).", name);
        return _registry.AddBaseImage(new SwarmBaseImage
        {
            Name = name, Provider = KvmProvider.ProviderName, Path = full, OsNote = osNote, SshUser = sshUser, Cpus = cpus, MemoryMb = memoryMb, DiskGb = diskGb,
            KernelPath = kernelPath, InitrdPath = initrdPath, KernelCommandLine = commandLine,
        });
    }

    /// <summary>
    /// Direct kernel boot: the kernel (and initrd) must be existing files; initrd and command line need a
    /// kernel. The command line is one line of at most 4096 characters (it goes into the domain XML as text).
    /// </summary>
    public static (string? Kernel, string? Initrd, string? CommandLine) ValidateKernel(string name, string? kernel, string? initrd, string? cmdline)
    {
        kernel = string.IsNullOrWhiteSpace(kernel) ? null : kernel;
        initrd = string.IsNullOrWhiteSpace(initrd) ? null : initrd;
        cmdline = string.IsNullOrEmpty(cmdline) ? null : cmdline;
        if (kernel is null && (initrd is not null || cmdline is not null))
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, "An initrd or kernel command line needs a kernel (direct kernel boot).", name) { Hint = Hints.KernelForInitrd };
        if (cmdline is not null && (cmdline.Any(char.IsControl) || cmdline.Length > 4096))
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, "The kernel command line must be one line without control characters, at most 4096 characters.", name);
        string? Full(string? p, string what)
        {
            if (p is null) return null;
            if (p.Any(char.IsControl)) throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"The {what} path contains control characters.", name);
            var f = Path.GetFullPath(p);
            if (!File.Exists(f)) throw new SwarmException(ErrorIds.ImageNotFound, SwarmErrorKind.NotFound, $"The {what} '{f}' does not exist.", name);
            return f;
        }
        return (Full(kernel, "kernel"), Full(initrd, "initrd"), cmdline);
    }

    /// <summary>A POSIX user name as useradd accepts it (lower case; never an ssh option).</summary>
    public static bool IsValidUser(string user) => System.Text.RegularExpressions.Regex.IsMatch(user, "^[a-z_][a-z0-9_-]{0,31}$");

    public IReadOnlyList<SwarmBaseImage> List() => _registry.ListBaseImages(KvmProvider.ProviderName);

    /// <summary>Removes the registration (not the file) of a base image of any provider; refused while an environment still uses it (<see cref="SwarmRegistry.UnregisterBaseImage"/>).</summary>
    public SwarmBaseImage Unregister(string name) => _registry.UnregisterBaseImage(name);

    /// <summary>The "format" of <c>qemu-img info --output=json</c>.</summary>
    public static string? ParseFormat(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement.ValueKind == JsonValueKind.Array ? doc.RootElement[0] : doc.RootElement;
            return root.TryGetProperty("format", out var f) ? f.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
