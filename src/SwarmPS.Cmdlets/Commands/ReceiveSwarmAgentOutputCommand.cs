using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core.Agents;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>
/// Reads an agent's output: the parsed messages of every run (or of one run with -Run), or the raw log
/// lines with -Raw; the last N with -Tail. -Follow streams new output until the agent finishes or Ctrl+C.
/// </summary>
/// <remarks>
/// Receive never consumes anything (unlike Receive-Job): the logs stay, so it is read-only and has
/// no ShouldProcess. -Follow enumerates Core's stream on a worker task; the records are written from
/// the pipeline thread (<see cref="SwarmCmdlet"/>'s Stream). Several ids are followed one after another.
/// </remarks>
[Cmdlet(VerbsCommunications.Receive, "SwarmAgentOutput", DefaultParameterSetName = ReadSet)]
[OutputType(typeof(SwarmAgentOutput))]
public sealed class ReceiveSwarmAgentOutputCommand : SwarmCmdlet
{
    public const string ReadSet = "Read";
    public const string FollowSet = "Follow";

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
    [ValidateRange(0, int.MaxValue)]
    public int Tail { get; set; }

    [Parameter]
    public SwitchParameter Raw { get; set; }

    /// <summary>One run (1 = the first prompt, 2 = the first follow-up...). Named like SwarmAgent.Run and SwarmAgentOutput.Run.</summary>
    [Parameter(ParameterSetName = ReadSet)]
    [ValidateRange(1, int.MaxValue)]
    public int Run { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = FollowSet)]
    public SwitchParameter Follow { get; set; }

    protected override void ProcessRecord()
    {
        int? tail = MyInvocation.BoundParameters.ContainsKey(nameof(Tail)) ? Tail : null;
        int? run = MyInvocation.BoundParameters.ContainsKey(nameof(Run)) ? Run : null;
        foreach (var id in AgentIdsOf(Id, InputObject))
        {
            if (Follow)
            {
                TryItem(id, () => Stream((_, ct) => Service.Agents.FollowAsync(id, Raw, tail, ct)));
            }
            else if (TryItem(id, () => Service.Agents.ReadOutput(id, tail, Raw, run), out var lines))
            {
                foreach (var line in lines) WriteObject(line);
            }
        }
    }
}
