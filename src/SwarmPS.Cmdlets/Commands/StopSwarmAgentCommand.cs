using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core.Agents;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>Stops agents: kills each agent's whole process tree and records Stopped. A finished agent stays as it is.</summary>
[Cmdlet(VerbsLifecycle.Stop, "SwarmAgent", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(SwarmAgent))]
public sealed class StopSwarmAgentCommand : SwarmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("AgentId")]
    [ArgumentCompleter(typeof(AgentIdCompleter))]
    public string[] Id { get; set; } = Array.Empty<string>();

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var id in Id)
        {
            if (!ShouldProcessItem(id, "Stop agent (kills its process tree)")) continue;
            if (TryItem(id, () => Run((_, ct) => Service.Agents.StopAsync(id, ct)), out var agent) && PassThru)
                WriteObject(agent);
        }
    }
}
