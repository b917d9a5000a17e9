using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core.Swarms;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>scancels a swarm's job array, waits until squeue no longer runs it, records Terminated and deletes its directory (unless -KeepFiles).</summary>
[Cmdlet(VerbsLifecycle.Stop, "Swarm", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(Swarm))]
public sealed class StopSwarmCommand : SwarmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(SwarmIdCompleter))]
    public string[] SwarmId { get; set; } = Array.Empty<string>();

    [Parameter]
    public SwitchParameter KeepFiles { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var id in SwarmId)
        {
            if (!ShouldProcessItem(id, KeepFiles ? "Stop swarm (scancel; keep its files)" : "Stop swarm (scancel; delete its directory)")) continue;
            if (TryItem(id, () => Run((_, ct) => Service.Swarms.StopAsync(id, KeepFiles, ct)), out var swarm) && PassThru)
                WriteObject(swarm);
        }
    }
}
