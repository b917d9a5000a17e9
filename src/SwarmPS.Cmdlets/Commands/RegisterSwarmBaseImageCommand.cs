using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core;
using SwarmPS.Core.Providers.Kvm;
using SwarmPS.Core.Registry;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>
/// Registers a qcow2 file as a named base image of a VM provider (today: kvm). The file is checked with
/// qemu-img and never modified or deleted. For direct kernel boot give -Kernel (and -Initrd,
/// -KernelCommandLine); the qcow2 stays the disk, so checkpoints (internal snapshots) keep working.
/// </summary>
[Cmdlet(VerbsLifecycle.Register, "SwarmBaseImage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(SwarmBaseImage))]
public sealed class RegisterSwarmBaseImageCommand : SwarmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    public string Name { get; set; } = "";

    /// <summary>The qcow2 file (relative paths resolve against the current PowerShell location).</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    public string Path { get; set; } = "";

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ProviderNameCompleter))]
    public string Provider { get; set; } = KvmProvider.ProviderName;

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? OsNote { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, 256)]
    public int Cpus { get; set; } = 2;

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(32, 4 * 1024 * 1024)]
    public int MemoryMb { get; set; } = 4096;

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(0, 65536)]
    public int DiskGb { get; set; }

    /// <summary>The user SSH logs in as; default: kvm.sshUser in config.json, else root.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? SshUser { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("KernelPath")]
    public string? Kernel { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("InitrdPath")]
    public string? Initrd { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Cmdline")]
    public string? KernelCommandLine { get; set; }

    protected override void ProcessRecord()
    {
        if (!TryTicket(Name, out var name)) return; // one pipeline record among many: reported, the next one runs
        if (!string.Equals(Provider, KvmProvider.ProviderName, StringComparison.OrdinalIgnoreCase))
            Terminate(new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument,
                $"The {Provider} provider has no registered base images; use -Provider {KvmProvider.ProviderName}.", name), name);
        string? path = null, kernel = null, initrd = null;
        if (!TryItem(name, () =>
            {
                path = ResolvePath(Path, nameof(Path));
                kernel = string.IsNullOrWhiteSpace(Kernel) ? null : ResolvePath(Kernel, nameof(Kernel));
                initrd = string.IsNullOrWhiteSpace(Initrd) ? null : ResolvePath(Initrd, nameof(Initrd));
            })) return;
        if (!ShouldProcessItem(name, $"Register base image from {path}")) return;
        if (TryItem(name, () => Run((_, ct) =>
            {
                var user = SshUser ?? KvmOptions.Resolve(Service.Config.Kvm).SshUser;
                return new KvmImages(Service.Registry).RegisterAsync(name, path!, OsNote, Cpus, MemoryMb, DiskGb, user, ct, kernel, initrd, KernelCommandLine);
            }), out var image))
            WriteObject(image);
    }
}
