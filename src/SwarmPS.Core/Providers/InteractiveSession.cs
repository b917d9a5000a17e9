using SwarmPS.Core.Providers.Kvm;

namespace SwarmPS.Core.Providers;

/// <summary>How an interactive session into an environment is opened (<c>swarmps env ssh</c>, Enter-SwarmEnvironment).</summary>
public enum InteractiveKind
{
    /// <summary>A VM: <c>ssh -t user@address</c> with the environment's key and known_hosts.</summary>
    Ssh,
    /// <summary>A container: <c>docker exec -it</c> a login shell in /workspace.</summary>
    ContainerExec,
    /// <summary>A worktree on this machine: a shell (CLI) or Set-Location (PowerShell) in the worktree.</summary>
    LocalDirectory,
}

/// <summary>The process to run for an interactive session (stdin/stdout/stderr stay the caller's terminal).</summary>
public sealed record InteractivePlan(InteractiveKind Kind, string FileName, IReadOnlyList<string> Arguments, string? WorkingDirectory,
    IReadOnlyDictionary<string, string> Environment, string Description);

/// <summary>
/// Builds the interactive session of an environment, generically over providers: the SSH VM providers (kvm, hyperv, tart) through ssh,
/// docker through the provider's own exec plan (with a terminal), worktree as a local shell in the worktree
/// (SWARM_* set). Nothing is run here; the CLI and the cmdlet start the process with the terminal attached.
/// </summary>
public static class InteractiveSession
{
    /// <summary>The shell started inside containers: bash when the image has it, else sh.</summary>
    public static readonly IReadOnlyList<string> ContainerShell = new[] { "sh", "-c", "if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh -l; fi" };

    public static async Task<InteractivePlan> PlanAsync(SwarmService service, string ticket, CancellationToken ct = default)
    {
        var env = service.GetEnvironment(ticket);
        var provider = service.Providers.Get(env.Provider);
        switch (provider)
        {
            case SshVmProvider vm:
            {
                var args = await vm.InteractiveSshArgumentsAsync(env, ct).ConfigureAwait(false);
                return new InteractivePlan(InteractiveKind.Ssh, "ssh", args, null, new Dictionary<string, string>(),
                    $"ssh {args[^1]} ({env.Ticket}, {(vm is KvmProvider ? "domain" : "VM")} {env.InstanceId})");
            }
            case Worktree.WorktreeProvider:
            {
                if (env.WorkspacePath is null || !Directory.Exists(env.WorkspacePath))
                    throw new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidState, $"The worktree of '{env.Ticket}' ({env.WorkspacePath}) is missing.", env.Ticket) { Hint = Hints.Repair };
                var shell = System.Environment.GetEnvironmentVariable("SHELL") is { Length: > 0 } sh && File.Exists(sh) ? sh : OperatingSystem.IsWindows() ? "cmd.exe" : "/bin/sh";
                return new InteractivePlan(InteractiveKind.LocalDirectory, shell, Array.Empty<string>(), env.WorkspacePath,
                    new Dictionary<string, string>(EnvironmentVariables.For(env), StringComparer.Ordinal), $"{shell} in {env.WorkspacePath} (exit to leave)");
            }
            default:
            {
                if (!provider.Capabilities.HasFlag(ProviderCapabilities.Exec))
                    throw new SwarmException(ErrorIds.CapabilityNotSupported, SwarmErrorKind.NotSupported, $"The {provider.Name} provider has no interactive access; '{env.Ticket}' lives on it.", env.Ticket);
                // Container providers: their agent plan is the exec call; ask it for a terminal as well.
                var plan = provider.PlanAgentLaunch(env, ContainerShell, EnvironmentVariables.For(env));
                var args = plan.Arguments.ToList();
                if (args.Count > 0 && args[0] == "exec" && !args.Contains("-t")) args.Insert(1, "-t");
                return new InteractivePlan(InteractiveKind.ContainerExec, plan.FileName, args, plan.WorkingDirectory, plan.Environment,
                    $"{Path.GetFileName(plan.FileName)} exec -it ({env.Ticket})");
            }
        }
    }

    /// <summary>Runs the plan with the caller's terminal attached and returns its exit code.</summary>
    public static int Run(InteractivePlan plan)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(plan.FileName) { UseShellExecute = false };
        foreach (var a in plan.Arguments) psi.ArgumentList.Add(a);
        if (plan.WorkingDirectory is not null) psi.WorkingDirectory = plan.WorkingDirectory;
        foreach (var (k, v) in plan.Environment) psi.Environment[k] = v;
        try
        {
            using var p = System.Diagnostics.Process.Start(psi)!;
            p.WaitForExit();
            return p.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new SwarmException(ErrorIds.ProcessFailed, SwarmErrorKind.Unavailable, $"Could not start '{plan.FileName}': {ex.Message}", null, ex);
        }
    }
}
