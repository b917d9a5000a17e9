using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>Starts environments (for the worktree provider: checks the worktree is there and marks it Running).</summary>
[Cmdlet(VerbsLifecycle.Start, "SwarmEnvironment", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(SwarmEnvironment))]
public sealed class StartSwarmEnvironmentCommand : SwarmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(TicketCompleter))]
    public string[] Ticket { get; set; } = Array.Empty<string>();

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var raw in Ticket)
        {
            if (!TryTicket(raw, out var ticket)) continue;
            if (!ShouldProcessItem(ticket, "Start environment")) continue;
            if (TryItem(ticket, () => Run((progress, ct) => Service.StartEnvironmentAsync(ticket, progress, ct)), out var env) && PassThru)
                WriteObject(env);
        }
    }
}
