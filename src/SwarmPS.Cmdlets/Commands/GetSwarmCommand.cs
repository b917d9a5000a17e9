using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core.Swarms;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>
/// Gets swarms with the status of each node: one batched squeue call per poll for all of them,
/// scontrol/sacct only for jobs squeue no longer lists, heartbeats for liveness. A node is dead only
/// after its TTL. -Offline reads the registry only (no Slurm call).
/// </summary>
[Cmdlet(VerbsCommon.Get, "Swarm")]
[OutputType(typeof(Swarm))]
public sealed class GetSwarmCommand : SwarmCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(SwarmIdCompleter))]
    public string[]? SwarmId { get; set; }

    [Parameter]
    public SwitchParameter Offline { get; set; }

    protected override void ProcessRecord()
    {
        var ids = SwarmId is { Length: > 0 } s ? s : null;
        if (TryItem(ids?.FirstOrDefault(), () => Run((_, ct) => Service.Swarms.GetAsync(ids, !Offline, ct)), out var swarms))
            foreach (var swarm in swarms) WriteObject(swarm);
    }
}
