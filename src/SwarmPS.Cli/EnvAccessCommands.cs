using System.CommandLine;
using SwarmPS.Cli.Output;
using SwarmPS.Core;
using SwarmPS.Core.Providers;

namespace SwarmPS.Cli;

/// <summary>
/// <c>swarmps env ssh T</c>: an interactive session into an environment, the same for every provider
/// (kvm: ssh with the environment's key; docker: docker exec -it a login shell; worktree: your $SHELL
/// in the worktree with SWARM_* set). The plan comes from Core (<see cref="InteractiveSession"/>);
/// with --json only the plan is printed (argv, nothing run), for scripts that start it themselves.
/// </summary>
internal sealed partial class CliApp
{
    private Command EnvSsh()
    {
        var ticket = TicketArgument();
        var cmd = new Command("ssh", "Open an interactive shell in an environment (kvm: ssh; docker: exec -it; worktree: a shell in the worktree). Exits with the session's exit code.") { ticket };
        Define(cmd, async inv =>
        {
            var plan = await InteractiveSession.PlanAsync(inv.Service, inv.Get(ticket), inv.Ct).ConfigureAwait(false);
            if (inv.Json)
            {
                inv.Out.WriteLine(CliJson.Interactive(plan));
                return ExitCodes.Success;
            }
            _err.WriteLine($"swarmps: {plan.Description}");
            _err.Flush();
            return InteractiveSession.Run(plan);
        });
        return cmd;
    }
}
