using System.Globalization;
using SwarmPS.Core.Processes;
using SwarmPS.Core.Providers.Kvm;
using SwarmPS.Core.Registry;

namespace SwarmPS.Core.Providers;

/// <summary>
/// What the VM providers reached over ssh (kvm, hyperv, tart) share once the guest has an address: the
/// environment's key, user and own known_hosts; commands over ssh; agents launched over ssh with the prompt
/// copied into the guest and their pid recorded there; stopping an agent's process tree inside the guest;
/// the interactive login; the readiness probe. The provider supplies the address and its own messages
/// (they name the domain, the switch, the Tart VM).
/// </summary>
public abstract class SshVmProvider : EnvironmentProviderBase
{
    /// <summary>The variable AgentService sets to the profile's prompt delivery (argument, stdin, file); providers that copy the prompt read it.</summary>
    public const string PromptDeliveryVariable = "SWARM_PROMPT_DELIVERY";

    /// <param name="runner">Runs ssh (exec, agent stop).</param>
    /// <param name="sshProbe">The readiness login check; tests substitute one that needs no sshd.</param>
    protected SshVmProvider(ProcessRunner? runner, ISshProbe? sshProbe)
    {
        SshRunner = runner ?? ProcessRunner.Default;
        Probe = sshProbe ?? (runner is null ? SshProbe.Default : new SshProbe(runner));
    }

    protected ProcessRunner SshRunner { get; }
    protected ISshProbe Probe { get; }

    /// <summary>
    /// The registered base image a request names (<c>--image</c>, or a base ref other than HEAD), which must be one
    /// of <paramref name="provider"/>'s. <paramref name="what"/> names it in the error ("base image", "base VHDX");
    /// <paramref name="examplePath"/> is the --path / -Path example of the hint when none is registered.
    /// </summary>
    protected static SwarmBaseImage RequireBaseImage(NewEnvironmentRequest request, ProviderContext context, string provider, string ticket, string what, string examplePath)
    {
        var imageName = request.Image ?? (request.BaseRef is { Length: > 0 } b && b != "HEAD" ? b : null);
        if (string.IsNullOrWhiteSpace(imageName))
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument,
                $"The {provider} provider needs a {what}. Registered: {string.Join(", ", context.Registry.ListBaseImages(provider).Select(i => i.Name)) switch { "" => "(none)", var s => s }}.", ticket)
            {
                Hint = context.Registry.ListBaseImages(provider).Count == 0 ? Hints.RegisterFirstImage(provider, examplePath) : Hints.PassImage,
            };
        var image = context.Registry.RequireBaseImage(imageName);
        if (!string.Equals(image.Provider, provider, StringComparison.OrdinalIgnoreCase))
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"Base image '{image.Name}' is a {image.Provider} image, not a {provider} one.", ticket);
        return image;
    }

    /// <summary><c>swarm-&lt;homeId&gt;-&lt;ticket&gt;</c>: the name of a ticket's VM (libvirt domain, Hyper-V VM, Tart VM) in a home.</summary>
    public static string InstanceName(SwarmHome home, string ticket) => $"{KvmProvider.DomainPrefix}{KvmProvider.HomeId(home)}-{ticket.ToLowerInvariant()}";

    protected static string Meta(SwarmEnvironment env, string key) => env.Metadata.GetValueOrDefault(key) ?? "";

    /// <summary>
    /// The environment's own known_hosts: the guest's host key, recorded at the first login (readiness) and
    /// checked afterwards. Default: next to the environment's key.
    /// </summary>
    protected virtual string KnownHosts(SwarmEnvironment env) => Meta(env, "key") is { Length: > 0 } k ? k + ".known_hosts" : "/dev/null";

    /// <summary>The ssh argv (without "ssh") for <paramref name="host"/> with the environment's key, user and known_hosts.</summary>
    public IReadOnlyList<string> SshArguments(SwarmEnvironment env, string host, IReadOnlyList<string> argv, IReadOnlyDictionary<string, string>? variables = null, int connectTimeoutSeconds = 10) =>
        KvmSsh.Arguments(Meta(env, "key"), Meta(env, "user"), host, argv, variables, connectTimeoutSeconds, KnownHosts(env), env.InstanceId);

    /// <summary>The connection with the environment's user, key and known_hosts; <paramref name="liveAddress"/> wins over the recorded one.</summary>
    protected SwarmConnection SshConnection(SwarmEnvironment env, string? liveAddress) => new()
    {
        Ticket = env.Ticket, Provider = Name, Host = liveAddress ?? (string.IsNullOrEmpty(env.Address) ? null : env.Address), Port = 22,
        User = Meta(env, "user"), KeyPath = Meta(env, "key"), KnownHostsPath = KnownHosts(env), HostKeyAlias = env.InstanceId,
    };

    /// <summary>One login attempt with the environment's key and known_hosts (the host key is recorded at the first one); null when it worked.</summary>
    protected Task<string?> ProbeSshAsync(SwarmEnvironment env, string host, CancellationToken ct) =>
        Probe.ProbeAsync(Meta(env, "key"), Meta(env, "user"), host, KnownHosts(env), env.InstanceId, ct);

    /// <summary>Called first by the shared operations that get the operation's context (a provider applies its config there).</summary>
    protected virtual void UseContext(ProviderContext context) { }

    /// <summary>The guest's current address, or an InvalidState error in the provider's words (it names the domain, switch or VM).</summary>
    protected abstract Task<string> RequireHostAsync(SwarmEnvironment env, CancellationToken ct);

    /// <summary>The error message when an agent is planned for an environment with no recorded address.</summary>
    protected virtual FrontEndHint NoRecordedAddressHint(SwarmEnvironment env) => Hints.StartWithReadiness(env.Ticket, mentionNoWait: false);

    /// <summary>ssh with the environment's key; every argv element single-quoted for the remote shell; SWARM_* set on the remote command line.</summary>
    public override async Task<SwarmExecResult> ExecAsync(SwarmEnvironment env, IReadOnlyList<string> command, string? standardInput, ProviderContext context, CancellationToken ct)
    {
        UseContext(context);
        var host = await RequireHostAsync(env, ct).ConfigureAwait(false);
        var r = await SshRunner.RunAsync(new ProcessSpec("ssh", SshArguments(env, host, command, EnvironmentVariables.For(env)))
        {
            StandardInput = standardInput,
        }, ct).ConfigureAwait(false);
        // ssh itself exits 255 when it cannot connect or log in: that is no result of the command.
        if (r.ExitCode == 255 && (r.StandardError.StartsWith("ssh:", StringComparison.Ordinal) || r.StandardError.Contains("Permission denied (", StringComparison.Ordinal) ||
                                  r.StandardError.Contains("Host key verification failed", StringComparison.Ordinal)))
            throw new SwarmException(ErrorIds.SshFailed, SwarmErrorKind.OperationFailed,
                $"'{env.Ticket}': ssh {Meta(env, "user")}@{host} failed: {Virsh.FirstError(r)}.", env.Ticket) { Hint = Hints.IsVmUp(env.Ticket) };
        return new SwarmExecResult { Ticket = env.Ticket, ExitCode = r.ExitCode, StandardOutput = r.StandardOutput, StandardError = r.StandardError };
    }

    /// <summary>
    /// The argv of an interactive ssh session into the environment (<c>swarmps env ssh</c>, Enter-SwarmEnvironment):
    /// a login shell with a terminal, the environment's key and known_hosts.
    /// </summary>
    public async Task<IReadOnlyList<string>> InteractiveSshArgumentsAsync(SwarmEnvironment env, CancellationToken ct)
    {
        var host = await RequireHostAsync(env, ct).ConfigureAwait(false);
        return KvmSsh.InteractiveArguments(Meta(env, "key"), Meta(env, "user"), host, KnownHosts(env), env.InstanceId);
    }

    /// <summary>Where an agent's prompt is copied inside the guest (the agent's SWARM_PROMPT_FILE there).</summary>
    public static string GuestPromptPath(string user, string agentId, string run) =>
        $"/tmp/swarmps-{user}/prompts/{agentId}-{run}.txt";

    /// <summary>
    /// An agent on a VM is the local process <c>ssh ... -- 'remote command'</c> to the address recorded at
    /// readiness. The prompt file is a host path the guest cannot read, so the plan asks for the prompt on
    /// ssh's stdin (<see cref="AgentLaunchPlan.PromptOnStandardInput"/>): the remote command first copies it
    /// into a private file in the guest, then runs the agent with every argv element single-quoted, the
    /// host prompt path replaced by the guest one, SWARM_* variables set, and stdin = the prompt only when
    /// the profile delivers it on stdin (else /dev/null).
    /// </summary>
    public override AgentLaunchPlan PlanAgentLaunch(SwarmEnvironment env, IReadOnlyList<string> argv, IReadOnlyDictionary<string, string> variables)
    {
        if (string.IsNullOrEmpty(env.Address))
            throw new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidState, $"'{env.Ticket}' has no recorded IP address.", env.Ticket) { Hint = NoRecordedAddressHint(env) };
        var vars = new Dictionary<string, string>(EnvironmentVariables.For(env), StringComparer.Ordinal);
        foreach (var (k, v) in variables) vars[k] = v;
        var user = Meta(env, "user");
        var hostPrompt = vars.GetValueOrDefault("SWARM_PROMPT_FILE");
        var guestPrompt = GuestPromptPath(user, Safe(vars.GetValueOrDefault("SWARM_AGENT_ID") ?? "agent"), Safe(vars.GetValueOrDefault("SWARM_AGENT_RUN") ?? "1"));
        var remoteArgv = argv.Select(a => hostPrompt is not null && a == hostPrompt ? guestPrompt : a).ToList();
        if (hostPrompt is not null) vars["SWARM_PROMPT_FILE"] = guestPrompt;
        var stdinToAgent = vars.GetValueOrDefault(PromptDeliveryVariable) == "stdin";
        vars.Remove(PromptDeliveryVariable);
        var dir = guestPrompt[..guestPrompt.LastIndexOf('/')];
        // The variables go through env(1) ("NAME=v cmd" after && would be fine, but env also covers argv[0] lookups
        // consistently). $$ is the remote sh, which stays the agent's parent: the pid file names the root of the
        // agent's process tree (StopAgentAsync), and when the agent ends by itself the sh deletes the prompt copy
        // and the pid file, then exits with the agent's exit code.
        var q = KvmSsh.Quote(guestPrompt);
        var pid = KvmSsh.Quote(GuestPidPath(guestPrompt));
        var remote = "umask 077 && mkdir -p " + KvmSsh.Quote(dir) + " && cat > " + q + " && echo $$ > " + pid +
                     " && { env " + KvmSsh.RemoteCommand(remoteArgv, vars) + " < " + (stdinToAgent ? q : "/dev/null") +
                     "; rc=$?; rm -f " + q + " " + pid + "; exit $rc; }";
        return new AgentLaunchPlan("ssh", KvmSsh.Arguments(Meta(env, "key"), user, env.Address, remote, 10, KnownHosts(env), env.InstanceId), null, new Dictionary<string, string>())
        {
            PromptOnStandardInput = true,
        };
    }

    private static string GuestPidPath(string guestPrompt) => guestPrompt[..^".txt".Length] + ".pid";

    // The agent's process tree (pid, parent pid pairs from /proc on Linux guests, busybox and GNU alike;
    // from `ps -A -o pid= -o ppid=` where there is no /proc, as on macOS Tart guests): TERM, up to 2 s,
    // then KILL the same pids.
    internal const string StopAgentScript =
        "p=$(cat \"$1\" 2>/dev/null); " +
        "if [ -n \"$p\" ] && kill -0 \"$p\" 2>/dev/null; then " +
        // cat, not awk over the files: a process that ends between the glob and the read makes mawk stop at once
        // (a truncated list: the agent's children were missed on a busy machine); cat reads on past it.
        "pids=$( { if [ -r /proc/1/status ]; then cat /proc/[0-9]*/status | awk '$1==\"Pid:\"{p=$2} $1==\"PPid:\"{print p, $2}'; " +
        "else ps -A -o pid= -o ppid=; fi; } 2>/dev/null | " +
        "awk -v root=\"$p\" '{par[$1]=$2} END{n=1; q[1]=root; out=root; for(i=1;i<=n;i++) for(c in par) if(par[c]==q[i]) {q[++n]=c; out=out\" \"c} print out}'); " +
        "kill -TERM $pids 2>/dev/null; i=0; while kill -0 \"$p\" 2>/dev/null && [ $i -lt 20 ]; do sleep 0.1; i=$((i+1)); done; kill -KILL $pids 2>/dev/null; " +
        "fi; rm -f \"$1\" \"$2\"";

    /// <summary>
    /// Stops an agent inside the guest: TERM to the pid the launch recorded (and its children), KILL after
    /// 2 s, then the prompt copy and pid file are deleted. Killing the local ssh client alone would leave the
    /// remote process running (no terminal, so no hangup). Unreachable VMs: nothing to do here (the caller
    /// still stops the local process).
    /// </summary>
    public override async Task StopAgentAsync(SwarmEnvironment env, string agentId, int run, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(env.Address) || Meta(env, "key").Length == 0) return;
        var prompt = GuestPromptPath(Meta(env, "user"), Safe(agentId), run.ToString(CultureInfo.InvariantCulture));
        var host = (await GetConnectionAsync(env, ct).ConfigureAwait(false)).Host ?? env.Address;
        var r = await SshRunner.RunAsync(new ProcessSpec("ssh", SshArguments(env, host, new[] { "sh", "-c", StopAgentScript, "sh", GuestPidPath(prompt), prompt }, null, 5))
        {
            Environment = Virsh.CLocale, Timeout = TimeSpan.FromSeconds(30),
        }, ct).ConfigureAwait(false);
        if (r.ExitCode == 255)
            throw new SwarmException(ErrorIds.SshFailed, SwarmErrorKind.OperationFailed, $"'{env.Ticket}': could not reach {host} to stop agent {agentId} there: {Virsh.FirstError(r)}", env.Ticket);
    }

    private static string Safe(string s) => new(s.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray());
}
