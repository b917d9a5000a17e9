using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core;
using SwarmPS.Core.Providers.Kvm;
using SwarmPS.Core.Registry;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Builds a base image for VM environments from a cloud image and a provisioning script, and registers it.</para>
/// </summary>
/// <remarks>
/// Kvm only: the source is converted into a new qcow2 in the SwarmPS storage pool (the source is only read),
/// booted once with a cloud-init NoCloud seed that runs the script, and registered when the VM has powered off.
/// Paths resolve against the current PowerShell location.
/// </remarks>
[Cmdlet(VerbsCommon.New, "SwarmBaseImage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(SwarmBaseImage))]
public sealed class NewSwarmBaseImageCommand : SwarmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ProviderNameCompleter))]
    public string Provider { get; set; } = "";

    /// <summary>The source cloud image (qcow2, raw, ...). Read, never modified.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Source")]
    public string From { get; set; } = "";

    /// <summary>A script run once as root inside the builder VM.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? ProvisionScript { get; set; }

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
    public int DiskGb { get; set; } = 20;

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string SshUser { get; set; } = "root";

    [Parameter]
    [ValidateRange(128, 4 * 1024 * 1024)]
    public int BuildMemoryMb { get; set; } = 2048;

    [Parameter]
    [ValidateRange(1, 24 * 60)]
    public int TimeoutMinutes { get; set; } = 60;

    protected override void ProcessRecord()
    {
        if (!TryTicket(Name, out var name)) return; // one pipeline record among many: reported, the next one runs
        if (!string.Equals(Provider, KvmProvider.ProviderName, StringComparison.OrdinalIgnoreCase))
            Terminate(new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument,
                $"New-SwarmBaseImage builds images for -Provider {KvmProvider.ProviderName} only (got '{Names.Describe(Provider)}').", name), name);
        if (!TryItem(name, () => ResolvePath(From, nameof(From)), out var from)) return;
        string? script = null;
        if (ProvisionScript is not null && !TryItem(name, () => ResolvePath(ProvisionScript, nameof(ProvisionScript)), out script)) return;
        if (!ShouldProcessItem(name, $"Build kvm base image from {from}{(script is null ? "" : " with " + script)}")) return;
        var request = new KvmImageBuildRequest
        {
            Name = name, From = from, ProvisionScript = script, OsNote = OsNote, Cpus = Cpus, MemoryMb = MemoryMb, DiskGb = DiskGb,
            SshUser = SshUser, BuildMemoryMb = BuildMemoryMb, Timeout = TimeSpan.FromMinutes(TimeoutMinutes),
        };
        if (TryItem(name, () => Run((progress, ct) => new KvmImageBuilder(Service.Registry, Service.Home).BuildAsync(request, progress, ct)), out var image))
            WriteObject(image);
    }
}
