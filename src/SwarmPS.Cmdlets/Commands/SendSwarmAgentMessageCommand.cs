using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core.Agents;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>
/// Gives finished agents a follow-up prompt: a new run that resumes the agent's session in the same
/// working directory, recorded as the next run of the same agent. Returns the agent at once.
/// </summary>
[Cmdlet(VerbsCommunications.Send, "SwarmAgentMessage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(SwarmAgent))]
public sealed class SendSwarmAgentMessageCommand : SwarmCmdlet
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

    [Parameter(Mandatory = true, Position = 1)]
    public string Prompt { get; set; } = "";

    protected override void ProcessRecord()
    {
        foreach (var id in AgentIdsOf(Id, InputObject))
        {
            if (!ShouldProcessItem(id, "Send a follow-up prompt (starts the agent's next run)")) continue;
            if (TryItem(id, () => Run((_, ct) => Service.Agents.SendAsync(id, Prompt, ct)), out var agent))
                WriteObject(agent);
        }
    }
}
