using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core.Swarms;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>
/// Launches a swarm on Slurm: one job array of -Nodes tasks, each running the SwarmPS worker with
/// the agent profile and the system prompt. Cluster parameters (account, qos, extra sbatch options)
/// come from the <c>slurm</c> section of config.json.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "Swarm", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(Swarm))]
public sealed class StartSwarmCommand : SwarmCmdlet
{
    [Parameter(Mandatory = true)]
    [ValidateRange(1, 10000)]
    public int Nodes { get; set; }

    /// <summary>The system prompt (written to a file in the swarm directory; never part of the batch script).</summary>
    [Parameter(Mandatory = true)]
    [AllowEmptyString]
    public string Prompt { get; set; } = "";

    [Parameter(Mandatory = true)]
    [ArgumentCompleter(typeof(AgentProfileCompleter))]
    public string Profile { get; set; } = "";

    /// <summary>The argv of the command profile.</summary>
    [Parameter]
    public string[]? Command { get; set; }

    [Parameter]
    public string? Partition { get; set; }

    [Parameter]
    public string? TimeLimit { get; set; }

    /// <summary>A directory on the shared filesystem; the swarm directory is created under it.</summary>
    [Parameter]
    public string? WorkDir { get; set; }

    /// <summary>Seconds without a heartbeat before a node is dead (default: slurm.nodeTtlSeconds).</summary>
    [Parameter]
    [ValidateRange(2, 86400)]
    public int NodeTtlSeconds { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess($"{Nodes} node(s), profile {Profile}", "Submit a Slurm job array (Start-Swarm)")) return;
        var request = new SwarmLaunchRequest
        {
            Nodes = Nodes, Prompt = Prompt, Profile = Profile, Command = Command is { Length: > 0 } ? Command : null, Partition = Partition, TimeLimit = TimeLimit,
            WorkDir = WorkDir is null ? null : ResolvePathOrTerminate(WorkDir, nameof(WorkDir)),
            NodeTtlSeconds = MyInvocation.BoundParameters.ContainsKey(nameof(NodeTtlSeconds)) ? NodeTtlSeconds : null,
            WorkingDirectory = CurrentDirectory,
        };
        if (TryItem(Profile, () => Run((p, ct) => Service.Swarms.StartAsync(request, p, ct)), out var swarm))
            WriteObject(swarm);
    }
}
