using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core.Swarms;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>Injects a prompt into every node of a swarm (or one node) and returns the injection with its id.</summary>
[Cmdlet(VerbsCommunications.Send, "SwarmPrompt", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(SwarmInjection))]
public sealed class SendSwarmPromptCommand : SwarmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(SwarmIdCompleter))]
    public string[] SwarmId { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true, Position = 1)]
    public string Prompt { get; set; } = "";

    /// <summary>Only this node (0-based).</summary>
    [Parameter]
    [ValidateRange(0, 9999)]
    public int Node { get; set; }

    /// <summary>The injection id (default: generated). Unique in the swarm; the ticket rules apply.</summary>
    [Parameter]
    public string? InjectionId { get; set; }

    protected override void ProcessRecord()
    {
        int? node = MyInvocation.BoundParameters.ContainsKey(nameof(Node)) ? Node : null;
        foreach (var id in SwarmId)
        {
            if (!ShouldProcessItem(id, node is null ? "Inject a prompt into every node" : $"Inject a prompt into node {node}")) continue;
            if (TryItem(id, () => Service.Swarms.Inject(id, Prompt, node, InjectionId), out var injection))
                WriteObject(injection);
        }
    }
}
