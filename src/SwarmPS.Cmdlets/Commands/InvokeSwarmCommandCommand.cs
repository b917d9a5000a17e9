using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>
/// Runs a command inside each environment and returns a <see cref="SwarmExecResult"/> (output, error output,
/// exit code). The command is an argument list, never a shell string: worktree runs it as a local process in
/// the worktree, docker through exec in the container, kvm through ssh with every element single-quoted for
/// the remote shell. A non-zero exit code is data in the result, not an error; an error is written only when
/// the command could not be run at all (no environment, VM unreachable, provider without exec).
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "SwarmCommand", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(SwarmExecResult))]
public sealed class InvokeSwarmCommandCommand : SwarmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(TicketCompleter))]
    public string[] Ticket { get; set; } = Array.Empty<string>();

    /// <summary>The program and its arguments, one element each.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string[] Command { get; set; } = Array.Empty<string>();

    /// <summary>Text written to the command's standard input (then closed).</summary>
    [Parameter]
    [Alias("StandardInput")]
    public string? InputObject { get; set; }

    protected override void ProcessRecord()
    {
        if (Command.Length == 0 || string.IsNullOrEmpty(Command[0]))
            Terminate(new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, "-Command needs at least a program name."));
        foreach (var raw in Ticket)
        {
            if (!TryTicket(raw, out var ticket)) continue;
            if (!ShouldProcessItem(ticket, $"Run '{Command[0]}' ({Command.Length - 1} argument(s))")) continue;
            if (TryItem(ticket, () => Run((_, ct) => Service.ExecAsync(ticket, Command, InputObject, ct)), out var result))
                WriteObject(result);
        }
    }
}
