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

    /// <summary>
    /// The piped object itself, so a piped task gives its agents (its own Id, which binds to -Id by
    /// name, is a task id). Not for direct use.
    /// </summary>
    [Parameter(ValueFromPipeline = true, DontShow = true)]
    public PSObject? InputObject { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var id in AgentIdsOf(Id, InputObject))
        {
            if (!ShouldProcessItem(id, "Stop agent (kills its process tree)")) continue;
            if (TryItem(id, () => Run((_, ct) => Service.Agents.StopAsync(id, ct)), out var agent) && PassThru)
                WriteObject(agent);
        }
    }
}
