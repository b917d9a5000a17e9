using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core;
using SwarmPS.Core.Providers;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>
/// Opens an interactive session in an environment. kvm: ssh into the VM with its own key; docker: docker exec
/// -it a login shell in /workspace; both take over the console until the session ends ($LASTEXITCODE is its
/// exit code). worktree: there is nothing to log into, so the current location moves into the worktree
/// (Push-Location; Pop-Location returns), which is what Enter-PSSession-like muscle memory expects.
/// </summary>
[Cmdlet(VerbsCommon.Enter, "SwarmEnvironment", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(void))]
public sealed class EnterSwarmEnvironmentCommand : SwarmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(TicketCompleter))]
    public string[] Ticket { get; set; } = Array.Empty<string>();

    protected override void ProcessRecord()
    {
        foreach (var raw in Ticket)
            if (TryTicket(raw, out var ticket)) Enter(ticket);
    }

    private void Enter(string ticket)
    {
        if (!ShouldProcessItem(ticket, "Open an interactive session")) return;
        if (!TryItem(ticket, () => Run((_, ct) => InteractiveSession.PlanAsync(Service, ticket, ct)), out var plan)) return;
        if (plan.Kind == InteractiveKind.LocalDirectory)
        {
            SessionState.Path.PushCurrentLocation(string.Empty);
            SessionState.Path.SetLocation(plan.WorkingDirectory!);
            WriteVerbose($"{ticket}: now in its worktree {plan.WorkingDirectory}; Pop-Location goes back.");
            return;
        }
        WriteVerbose(plan.Description);
        if (!TryItem(ticket, () => InteractiveSession.Run(plan), out var code)) return;
        SessionState.PSVariable.Set("global:LASTEXITCODE", code);
    }
}
