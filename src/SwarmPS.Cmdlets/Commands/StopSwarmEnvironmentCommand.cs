using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>Stops environments (for the worktree provider: marks it Stopped; the files stay).</summary>
[Cmdlet(VerbsLifecycle.Stop, "SwarmEnvironment", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(SwarmEnvironment))]
public sealed class StopSwarmEnvironmentCommand : SwarmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(TicketCompleter))]
    public string[] Ticket { get; set; } = Array.Empty<string>();

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>Stop at once, without a graceful shutdown (kvm: destroy instead of an ACPI shutdown first).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var raw in Ticket)
        {
            if (!TryTicket(raw, out var ticket)) continue;
            if (!ShouldProcessItem(ticket, "Stop environment")) continue;
            if (TryItem(ticket, () => Run((progress, ct) => Service.StopEnvironmentAsync(ticket, Force.IsPresent, progress, ct)), out var env) && PassThru)
                WriteObject(env);
        }
    }
}
