using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core;
using SwarmPS.Core.Providers;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>
/// Removes environments: worktree, branch (unless -KeepBranch), checkpoints, ports and the
/// registry row. Refuses an environment with uncommitted or unmerged work unless -Force.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "SwarmEnvironment", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(void))]
public sealed class RemoveSwarmEnvironmentCommand : SwarmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(TicketCompleter))]
    public string[] Ticket { get; set; } = Array.Empty<string>();

    /// <summary>Removes even with uncommitted or unmerged work (it is lost), and skips the confirmation prompt.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    [Parameter]
    public SwitchParameter KeepBranch { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var raw in Ticket)
        {
            if (!TryTicket(raw, out var ticket)) continue;
            var what = KeepBranch ? "Remove environment (keep its branch)" : "Remove environment and its branch";
            if (!ShouldProcessItem(ticket, what, Force)) continue;
            var options = new RemoveOptions { Force = Force, KeepBranch = KeepBranch };
            if (TryItem(ticket, () => Run((progress, ct) => Service.RemoveEnvironmentAsync(ticket, options, progress, ct)), out var removed))
                WriteVerbose($"Removed '{removed.Ticket}' ({removed.Provider}).");
        }
    }
}
