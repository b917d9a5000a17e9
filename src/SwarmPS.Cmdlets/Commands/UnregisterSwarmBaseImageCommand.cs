using System.Management.Automation;
using SwarmPS.Core;
using SwarmPS.Core.Providers.Kvm;
using SwarmPS.Core.Registry;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>Removes base image registrations (never their files). Refused while an environment still uses the image.</summary>
[Cmdlet(VerbsLifecycle.Unregister, "SwarmBaseImage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(SwarmBaseImage))]
public sealed class UnregisterSwarmBaseImageCommand : SwarmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    public string[] Name { get; set; } = Array.Empty<string>();

    /// <summary>Write the removed registration to the pipeline.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var raw in Name)
        {
            if (!TryTicket(raw, out var name)) continue;
            if (!ShouldProcessItem(name, "Unregister base image (the file stays)")) continue;
            if (TryItem(name, () => new KvmImages(Service.Registry).Unregister(name), out var image) && PassThru)
                WriteObject(image);
        }
    }
}
