using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core.Swarms;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>
/// Reads the per-node responses of a swarm (all injections, or one). With -Wait it streams each
/// response as it arrives until every targeted node answered or -Timeout passes. Read-only: the
/// responses stay in the swarm directory.
/// </summary>
[Cmdlet(VerbsCommunications.Receive, "SwarmResponse")]
[OutputType(typeof(SwarmResponse))]
public sealed class ReceiveSwarmResponseCommand : SwarmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(SwarmIdCompleter))]
    public string SwarmId { get; set; } = "";

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? InjectionId { get; set; }

    [Parameter]
    public SwitchParameter Wait { get; set; }

    /// <summary>With -Wait: seconds to wait at most.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int Timeout { get; set; }

    protected override void ProcessRecord()
    {
        TimeSpan? timeout = MyInvocation.BoundParameters.ContainsKey(nameof(Timeout)) ? TimeSpan.FromSeconds(Timeout) : null;
        TryItem(SwarmId, () => Stream((_, ct) => Service.Swarms.ReceiveAsync(SwarmId, InjectionId, Wait, timeout, ct)));
    }
}
