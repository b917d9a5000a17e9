using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core;
using SwarmPS.Core.Agents;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>
/// Waits until every agent given (or, with -Any, the first of them) has finished, with progress, and
/// writes the finished agents. A timeout is a non-terminating error (ErrorId Timeout); the agents keep running.
/// </summary>
/// <remarks>
/// The ids of the whole pipeline are collected first and waited for together in EndProcessing, so
/// <c>Get-SwarmAgent -Status Running | Wait-SwarmAgent -Any</c> returns when the first of them ends.
/// </remarks>
[Cmdlet(VerbsLifecycle.Wait, "SwarmAgent")]
[OutputType(typeof(SwarmAgent))]
public sealed class WaitSwarmAgentCommand : SwarmCmdlet
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

    /// <summary>Seconds to wait; -1 (the default) waits until they finish, as Wait-Job does.</summary>
    [Parameter]
    [ValidateRange(-1, int.MaxValue)]
    public int Timeout { get; set; } = -1;

    [Parameter]
    public SwitchParameter Any { get; set; }

    private readonly List<string> _ids = new();

    protected override void ProcessRecord()
    {
        foreach (var id in AgentIdsOf(Id, InputObject))
        {
            // Unknown ids are reported one by one and left out; a malformed id terminates.
            if (TryItem(id, () => Service.Agents.RequireAgent(id), out var agent) && !_ids.Contains(agent.Id, StringComparer.Ordinal))
                _ids.Add(agent.Id);
        }
    }

    protected override void EndProcessing()
    {
        if (_ids.Count > 0)
        {
            TimeSpan? timeout = Timeout < 0 ? null : TimeSpan.FromSeconds(Timeout);
            SwarmException? timedOut = null;
            var ok = TryItem(null, () =>
            {
                try
                {
                    return Run((progress, ct) => Service.Agents.WaitAsync(_ids, timeout, Any, progress, ct));
                }
                catch (SwarmException ex) when (ex.ErrorId == ErrorIds.Timeout)
                {
                    timedOut = ex;
                    return Array.Empty<SwarmAgent>();
                }
            }, out var finished);
            CompleteProgress();
            if (timedOut is not null)
            {
                // The agents that did finish are still written, then the Timeout error.
                foreach (var id in _ids)
                    if (TryItem(id, () => Service.Agents.Get(id), out var a) && a.IsTerminal) WriteObject(a);
                WriteError(ToErrorRecord(timedOut, timedOut.Target));
            }
            else if (ok)
            {
                foreach (var a in finished) WriteObject(a);
            }
        }
        base.EndProcessing();
    }
}
