using System.Globalization;
using System.Runtime.InteropServices;
using SwarmPS.Core.Processes;
using SwarmPS.Core.Processes.Detached;
using SwarmPS.Core.Providers.Kvm;
using SwarmPS.Core.Registry;

namespace SwarmPS.Core.Providers.Tart;

/// <summary>
/// One Tart VM per ticket on an Apple Silicon Mac: an APFS copy-on-write <c>tart clone</c> of a registered
/// base VM, <c>tart set</c> for CPU and memory, <c>tart run --no-graphics</c> as a detached process (the
/// process is the VM), <c>tart ip --wait</c> and an SSH probe. Tart has no snapshots: a checkpoint is a
/// stopped VM cloned to <c>&lt;vm&gt;--cp-&lt;name&gt;</c> (no memory), and a restore swaps that clone back in.
/// VMs are named <c>swarm-&lt;homeId&gt;-&lt;ticket&gt;</c> (Tart has no labels; the home id keeps homes apart).
/// </summary>
public sealed class TartProvider : SshVmProvider
{
    public const string ProviderName = "tart";
    public const string CheckpointSeparator = "--cp-";
    public const string MacOSVmLimitErrorId = "TartMacOSVmLimit";

    private readonly TartOptions _options;
    private readonly TartCli _tart;
    private readonly IDetachedLauncher _launcher;

    /// <param name="runner">Runs tart (ssh runs through the default runner).</param>
    public TartProvider(TartOptions? options = null, ISshProbe? sshProbe = null, ProcessRunner? runner = null, IDetachedLauncher? launcher = null) : base(null, sshProbe)
    {
        _options = options ?? TartOptions.FromEnvironment();
        _tart = new TartCli(_options, runner);
        _launcher = launcher ?? DetachedLauncher.ForCurrentPlatform();
    }

    public TartOptions Options => _options;
    public TartCli Cli => _tart;
    public override string Name => ProviderName;
    public override string Description => "A Tart VM per ticket (macOS, Apple Silicon): copy-on-write clone of a base VM, SSH access; checkpoints are clones of the stopped VM (no memory).";
    /// <summary>No CheckpointWhileRunning and no MemoryState: a checkpoint needs a stopped VM and keeps its disk only.</summary>
    public override ProviderCapabilities Capabilities =>
        ProviderCapabilities.Checkpoint | ProviderCapabilities.CopyOnWriteClone | ProviderCapabilities.Exec | ProviderCapabilities.StartStop;

    public override async Task<ProviderAvailability> CheckAvailabilityAsync(CancellationToken ct)
    {
        if (_options.RequireMacOS && !OperatingSystem.IsMacOS()) return ProviderAvailability.No("the Tart provider runs on macOS hosts only (Apple Silicon).");
        if (_options.RequireMacOS && RuntimeInformation.OSArchitecture != Architecture.Arm64) return ProviderAvailability.No("Tart needs an Apple Silicon (arm64) Mac.");
        try
        {
            var r = await _tart.RawAsync(ct, TimeSpan.FromSeconds(30), "list", "--format", "json", "--source", "local").ConfigureAwait(false);
            if (!r.Success) return ProviderAvailability.No($"'{r.Spec.Display}' failed ({r.ExitCode}): {TartCli.FirstError(r)}");
        }
        catch (SwarmException ex) when (ex.Kind != SwarmErrorKind.Cancelled)
        {
            return ProviderAvailability.No($"tart ({_options.Executable}) could not be run: {ex.Message} Install it: brew install cirruslabs/cli/tart (or set SWARMPS_TART).");
        }
        return ProviderAvailability.Yes;
    }

    // ------------------------------------------------------------------ naming

    public static string VmName(SwarmHome home, string ticket) => InstanceName(home, ticket);
    public static string CheckpointVm(string vm, string checkpoint) => vm + CheckpointSeparator + checkpoint;
    private static string RunDirectory(SwarmHome home, string vm) => Path.Combine(home.Path, "tart", "run", vm);
    /// <summary>One key per home: Tart guests have no cloud-init, so the key is authorized once in the base VM.</summary>
    public static string KeyPath(SwarmHome home) => Path.Combine(home.Path, "tart", "keys", "id_ed25519");

    private static string Vm(SwarmEnvironment env) => env.InstanceId ?? throw new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidState, $"'{env.Ticket}' has no VM name recorded.", env.Ticket);

    /// <summary>
    /// The key is one per home, so the guest host keys are kept per environment in its run folder (removed with it):
    /// a VM cloned again under the same name from another base does not meet an old host key.
    /// </summary>
    protected override string KnownHosts(SwarmEnvironment env) => Meta(env, "runDir") is { Length: > 0 } d ? Path.Combine(d, "known_hosts") : base.KnownHosts(env);

    // ------------------------------------------------------------------ create

    public override Task<SwarmEnvironment> PrepareAsync(NewEnvironmentRequest request, ProviderContext context, CancellationToken ct)
    {
        var ticket = Names.Ticket(request.Ticket);
        var image = RequireBaseImage(request, context, ProviderName, ticket, "base VM", "<tart VM name>");
        var cpus = request.Cpus ?? (image.Cpus > 0 ? image.Cpus : 2);
        var memory = request.MemoryMb ?? (image.MemoryMb > 0 ? image.MemoryMb : 4096);
        if (cpus is < 1 or > 64) throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"The vCPU count must be 1-64 (got {cpus}).", ticket) { Hint = Hints.Cpus };
        if (memory is < 512 or > 1024 * 1024) throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"The memory must be 512-1048576 MiB (got {memory}).", ticket) { Hint = Hints.MemoryMb };
        var vm = VmName(context.Home, ticket);
        return Task.FromResult(new SwarmEnvironment
        {
            Ticket = ticket, Provider = Name, BaseRef = image.Name, InstanceId = vm,
            Metadata = new Dictionary<string, string>
            {
                ["image"] = image.Name, ["baseVm"] = image.Path, ["user"] = image.SshUser, ["key"] = KeyPath(context.Home),
                ["runDir"] = RunDirectory(context.Home, vm),
                ["cpus"] = cpus.ToString(CultureInfo.InvariantCulture), ["memoryMb"] = memory.ToString(CultureInfo.InvariantCulture),
                ["homeId"] = KvmProvider.HomeId(context.Home), ["creator"] = ProcessIdentity.Current(),
            },
        });
    }

    public override async Task<SwarmEnvironment> CreateAsync(SwarmEnvironment env, NewEnvironmentRequest request, ProviderContext context, CancellationToken ct)
    {
        const string activity = "Creating environment";
        var vm = Vm(env);
        var baseVm = Meta(env, "baseVm");
        var meta = new Dictionary<string, string>(env.Metadata);

        // Everything that can refuse does so before the clone.
        context.Report(activity, $"{env.Ticket}: checking running VMs", 5);
        IReadOnlyList<TartVm> vms;
        try
        {
            vms = await _tart.ListLocalAsync(env.Ticket, ct).ConfigureAwait(false);
        }
        catch (SwarmException ex) when (ex.Kind == SwarmErrorKind.Unavailable)
        {
            // tart could not be started: say why the provider is unavailable here (not macOS, not installed).
            var a = await CheckAvailabilityAsync(CancellationToken.None).ConfigureAwait(false);
            throw new SwarmException(ErrorIds.ProviderUnavailable, SwarmErrorKind.Unavailable, $"The {Name} provider is not available here: {(a.Available ? ex.Message : a.Reason)}", env.Ticket, ex);
        }
        if (vms.Any(v => v.Name == vm))
            throw new SwarmException(ErrorIds.EnvironmentExists, SwarmErrorKind.AlreadyExists, $"A Tart VM named {vm} already exists but no environment owns it.", env.Ticket) { Hint = Hints.RepairFixRemoves };
        await CheckMacOSLimitAsync(env.Ticket, baseVm, vms, ct).ConfigureAwait(false);

        var cloned = false;
        try
        {
            context.Report(activity, $"{env.Ticket}: tart clone {baseVm} {vm}", 10);
            cloned = true;
            await _tart.RunAsync(env.Ticket, ct, "clone", baseVm, vm).ConfigureAwait(false);
            await _tart.RunAsync(env.Ticket, ct, "set", vm, "--cpu", meta["cpus"], "--memory", meta["memoryMb"]).ConfigureAwait(false);
            context.Report(activity, $"{env.Ticket}: SSH key", 20);
            await VmAccess.GenerateKeyAsync(meta["key"], "swarmps-tart", env.Ticket, ct, keepExisting: true).ConfigureAwait(false);
            var ip = await RunAndWaitAsync(env.With(metadata: meta), context, activity, ct).ConfigureAwait(false);
            meta.Remove("creator");
            context.Report(activity, $"{env.Ticket}: ready{(ip is null ? "" : " at " + ip)}", 100);
            return env.With(status: EnvironmentStatus.Running, metadata: meta, address: ip ?? "");
        }
        catch
        {
            if (cloned) await DeleteEverythingAsync(env.With(metadata: meta), CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Apple allows <see cref="TartOptions.MaxRunningMacOSVms"/> running macOS guests; a third fails late and obscurely in tart run, so refuse early.</summary>
    private async Task CheckMacOSLimitAsync(string ticket, string baseVm, IReadOnlyList<TartVm> vms, CancellationToken ct)
    {
        var os = await _tart.OsAsync(baseVm, ct).ConfigureAwait(false);
        if (os is not null && os != "darwin") return; // Linux guests do not count
        var runningMac = new List<string>();
        foreach (var v in vms.Where(v => v.Running || v.State == "running"))
            if (await _tart.OsAsync(v.Name, ct).ConfigureAwait(false) is null or "darwin") runningMac.Add(v.Name);
        if (runningMac.Count >= _options.MaxRunningMacOSVms)
            throw new SwarmException(MacOSVmLimitErrorId, SwarmErrorKind.Unavailable,
                $"Apple allows at most {_options.MaxRunningMacOSVms} running macOS VMs per host, and {runningMac.Count} run already ({string.Join(", ", runningMac)}). " +
                "Nothing was cloned.", ticket) { Hint = Hints.StopEnvironment("TICKET") };
    }

    /// <summary><c>tart run NAME --no-graphics</c> detached, then <c>tart ip --wait</c> and the SSH probe.</summary>
    private async Task<string?> RunAndWaitAsync(SwarmEnvironment env, ProviderContext? context, string activity, CancellationToken ct)
    {
        var vm = Vm(env);
        context?.Report(activity, $"{env.Ticket}: tart run {vm} --no-graphics", 40);
        var runDir = Meta(env, "runDir");
        var run = _launcher.Start(new DetachedProcessSpec(_options.Executable, new[] { "run", vm, "--no-graphics" }, runDir) { Environment = _options.Environment });
        if (_options.WaitFor == KvmWaitFor.Running)
        {
            await WaitRunningAsync(env, run, ct).ConfigureAwait(false);
            return null;
        }
        context?.Report(activity, $"{env.Ticket}: tart ip {vm} --wait", 50);
        var seconds = Math.Max(1, (int)Math.Ceiling(_options.AddressTimeout.TotalSeconds));
        var ipResult = await _tart.RawAsync(ct, _options.AddressTimeout + TimeSpan.FromSeconds(30), "ip", vm, "--wait", seconds.ToString(CultureInfo.InvariantCulture)).ConfigureAwait(false);
        if (run.HasExited) throw RunEnded(env, run);
        if (!ipResult.Success)
            throw new SwarmException(ErrorIds.Timeout, SwarmErrorKind.OperationFailed,
                $"'{env.Ticket}': Tart VM {vm} got no IP address within {seconds} s ({TartCli.FirstError(ipResult)}). " +
                $"Check: 'tart ip {vm} --resolver arp'; the run log {Path.Combine(runDir, DetachedProcess.StderrFileName)}; that the guest has finished booting.", env.Ticket);
        var ip = ipResult.StandardOutput.Trim();
        await VmAccess.WaitForSshAsync(c => ProbeSshAsync(env, ip, c), _options.SshTimeout, _options.PollInterval,
            error => $"'{env.Ticket}': Tart VM {vm} has {ip}, but 'ssh {Meta(env, "user")}@{ip}' with key {Meta(env, "key")} did not work within {_options.SshTimeout.TotalSeconds:0} s (last error: {error}). " +
                     $"Check: Remote Login is on in the base VM and {Meta(env, "key")}.pub is in ~{Meta(env, "user")}/.ssh/authorized_keys there.",
            env.Ticket, elapsed => context?.Report(activity, $"{env.Ticket}: waiting for SSH at {ip} ({elapsed.TotalSeconds:0} s)", 75), ct, Hints.TartSshSetup).ConfigureAwait(false);
        return ip;
    }

    private async Task WaitRunningAsync(SwarmEnvironment env, DetachedProcess run, CancellationToken ct)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (sw.Elapsed < _options.AddressTimeout)
        {
            if (run.HasExited) throw RunEnded(env, run);
            if ((await _tart.GetAsync(Vm(env), env.Ticket, ct).ConfigureAwait(false))?.State == "running") return;
            await Task.Delay(TimeSpan.FromMilliseconds(100), ct).ConfigureAwait(false);
        }
        throw new SwarmException(ErrorIds.Timeout, SwarmErrorKind.OperationFailed, $"'{env.Ticket}': Tart VM {Vm(env)} did not reach 'running' within {_options.AddressTimeout.TotalSeconds:0} s.", env.Ticket);
    }

    private static SwarmException RunEnded(SwarmEnvironment env, DetachedProcess run)
    {
        var err = "";
        try { err = File.Exists(run.StderrFile) ? File.ReadAllText(run.StderrFile).Trim() : ""; } catch (IOException) { }
        return new SwarmException(ErrorIds.ProcessFailed, SwarmErrorKind.OperationFailed,
            $"'{env.Ticket}': 'tart run {Vm(env)} --no-graphics' ended with {run.ExitCode}: {(err.Length > 0 ? err.Split('\n')[0] : "(no output)")}", env.Ticket);
    }

    // ------------------------------------------------------------------ lifecycle

    public static EnvironmentStatus MapState(TartVm? vm) => vm is null ? EnvironmentStatus.Missing : vm.State switch
    {
        "running" => EnvironmentStatus.Running,
        "stopped" or "suspended" => EnvironmentStatus.Stopped,
        _ => vm.Running ? EnvironmentStatus.Running : EnvironmentStatus.Stopped,
    };

    public override async Task<EnvironmentStatus> GetStatusAsync(SwarmEnvironment env, CancellationToken ct)
    {
        if (env.Status == EnvironmentStatus.Creating) return EnvironmentStatus.Creating;
        if (env.InstanceId is null) return EnvironmentStatus.Missing;
        return MapState(await _tart.GetAsync(env.InstanceId, env.Ticket, ct).ConfigureAwait(false));
    }

    private async Task<TartVm> RequireVmAsync(SwarmEnvironment env, CancellationToken ct) =>
        await _tart.GetAsync(Vm(env), env.Ticket, ct).ConfigureAwait(false)
        ?? throw new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidState, $"Tart VM {env.InstanceId} of '{env.Ticket}' does not exist.", env.Ticket) { Hint = Hints.Repair };

    public override async Task<SwarmEnvironment> StartAsync(SwarmEnvironment env, ProviderContext context, CancellationToken ct)
    {
        var vm = await RequireVmAsync(env, ct).ConfigureAwait(false);
        if (MapState(vm) == EnvironmentStatus.Running)
        {
            var ip = await AddressAsync(env, ct).ConfigureAwait(false);
            return env.With(status: EnvironmentStatus.Running, address: ip ?? env.Address);
        }
        var vms = await _tart.ListLocalAsync(env.Ticket, ct).ConfigureAwait(false);
        await CheckMacOSLimitAsync(env.Ticket, Vm(env), vms, ct).ConfigureAwait(false);
        var address = await RunAndWaitAsync(env, context, "Starting environment", ct).ConfigureAwait(false);
        return env.With(status: EnvironmentStatus.Running, address: address ?? env.Address);
    }

    public override async Task<SwarmEnvironment> StopAsync(SwarmEnvironment env, ProviderContext context, CancellationToken ct)
    {
        await RequireVmAsync(env, ct).ConfigureAwait(false);
        context.Report("Stopping environment", $"{env.Ticket}: tart stop {env.InstanceId}", 10);
        await StopVmAsync(env, ct).ConfigureAwait(false);
        return env.With(status: EnvironmentStatus.Stopped);
    }

    /// <summary><c>tart stop</c>; exit 2 "is not running" is success. Then waits for the detached run process to end.</summary>
    private async Task StopVmAsync(SwarmEnvironment env, CancellationToken ct)
    {
        var r = await _tart.RawAsync(ct, TimeSpan.FromSeconds(_options.StopTimeoutSeconds + 60), "stop", Vm(env), "-t", _options.StopTimeoutSeconds.ToString(CultureInfo.InvariantCulture)).ConfigureAwait(false);
        if (!r.Success && TartCli.Classify(r) is not (TartFailure.NotRunning or TartFailure.NotFound)) throw TartCli.Failed(r, env.Ticket);
        if (Meta(env, "runDir") is { Length: > 0 } dir && Directory.Exists(dir))
        {
            var run = new DetachedProcess(dir);
            if (run.Pid is not null && !run.HasExited)
                try { await run.WaitForExitAsync(TimeSpan.FromSeconds(_options.StopTimeoutSeconds + 5), ct).ConfigureAwait(false); }
                catch (SwarmException ex) when (ex.Kind != SwarmErrorKind.Cancelled) { /* tart reports stopped; a supervisor that lingers is harmless */ }
        }
    }

    public override async Task RemoveAsync(SwarmEnvironment env, RemoveOptions options, ProviderContext context, CancellationToken ct)
    {
        context.Report("Removing environment", $"{env.Ticket}: removing Tart VM {env.InstanceId} and its checkpoint clones", 10);
        await DeleteEverythingAsync(env, ct).ConfigureAwait(false);
    }

    /// <summary>Stops the VM, deletes it and its checkpoint clones, and the run folder. Never the base VM. Idempotent.</summary>
    private async Task DeleteEverythingAsync(SwarmEnvironment env, CancellationToken ct)
    {
        if (env.InstanceId is { } vm && vm != Meta(env, "baseVm"))
        {
            var names = (await _tart.ListLocalAsync(env.Ticket, ct).ConfigureAwait(false)).Select(v => v.Name).ToList();
            if (names.Contains(vm)) await StopVmAsync(env, ct).ConfigureAwait(false);
            var doomed = names.Where(n => n == vm || n.StartsWith(vm + CheckpointSeparator, StringComparison.Ordinal)).ToArray();
            foreach (var n in doomed)
            {
                var r = await _tart.RawAsync(ct, "delete", n).ConfigureAwait(false);
                if (!r.Success && TartCli.Classify(r) != TartFailure.NotFound) throw TartCli.Failed(r, env.Ticket);
            }
        }
        if (Meta(env, "runDir") is { Length: > 0 } dir) VmAccess.TryDeleteDirectory(dir);
    }

    // ------------------------------------------------------------------ checkpoints (clones of the stopped VM)

    public override async Task<string> CheckpointAsync(SwarmEnvironment env, string name, ProviderContext context, CancellationToken ct)
    {
        Names.Checkpoint(name);
        var vm = await RequireVmAsync(env, ct).ConfigureAwait(false);
        if (MapState(vm) == EnvironmentStatus.Running)
            throw new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidState,
                $"The tart provider can only checkpoint a stopped VM (Tart has no snapshots; a checkpoint is a clone). Stop '{env.Ticket}' first, or use Checkpoint-SwarmEnvironment, which offers to stop and restart it.", env.Ticket);
        var clone = CheckpointVm(Vm(env), name);
        context.Report("Checkpoint", $"{env.Ticket}: tart clone {vm.Name} {clone}", 10);
        await _tart.RunAsync(env.Ticket, ct, "clone", vm.Name, clone).ConfigureAwait(false);
        return clone;
    }

    /// <summary>
    /// Swaps the checkpoint's clone back in: <c>tart delete VM</c>, <c>tart clone CP VM</c> (copy-on-write, so the
    /// checkpoint stays). A running VM is stopped first and started again afterwards (the caller's
    /// ShouldProcess already asked); processes do not survive, Tart keeps no memory.
    /// </summary>
    public override async Task RestoreAsync(SwarmEnvironment env, SwarmCheckpoint checkpoint, ProviderContext context, CancellationToken ct)
    {
        var vm = await RequireVmAsync(env, ct).ConfigureAwait(false);
        var clone = checkpoint.ProviderReference ?? CheckpointVm(vm.Name, checkpoint.Name);
        if (!clone.StartsWith(vm.Name + CheckpointSeparator, StringComparison.Ordinal)) throw new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidState, $"Checkpoint reference '{clone}' does not belong to {vm.Name}.", env.Ticket);
        Names.Checkpoint(clone[(vm.Name.Length + CheckpointSeparator.Length)..]);
        if (!(await _tart.ListLocalAsync(env.Ticket, ct).ConfigureAwait(false)).Any(v => v.Name == clone))
            throw new SwarmException(ErrorIds.CheckpointNotFound, SwarmErrorKind.NotFound, $"Tart VM {clone} (checkpoint '{checkpoint.Name}' of {vm.Name}) does not exist.", env.Ticket) { Hint = Hints.RepairCheckpoints };
        var wasRunning = MapState(vm) == EnvironmentStatus.Running;
        if (wasRunning)
        {
            context.Report("Restore", $"{env.Ticket}: stopping {vm.Name}", 10);
            await StopVmAsync(env, ct).ConfigureAwait(false);
        }
        context.Report("Restore", $"{env.Ticket}: swapping {clone} in as {vm.Name}", 40);
        await _tart.RunAsync(env.Ticket, ct, "delete", vm.Name).ConfigureAwait(false);
        await _tart.RunAsync(env.Ticket, ct, "clone", clone, vm.Name).ConfigureAwait(false);
        if (wasRunning)
        {
            var ip = await RunAndWaitAsync(env, context, "Restore", ct).ConfigureAwait(false);
            if (ip is not null && ip != env.Address) context.Registry.Update(env.With(address: ip));
        }
    }

    public override async Task<IReadOnlyList<string>> ListCheckpointsAsync(SwarmEnvironment env, CancellationToken ct)
    {
        if (env.InstanceId is null) return Array.Empty<string>();
        var prefix = env.InstanceId + CheckpointSeparator;
        return (await _tart.ListLocalAsync(env.Ticket, ct).ConfigureAwait(false))
            .Where(v => v.Name.StartsWith(prefix, StringComparison.Ordinal)).Select(v => v.Name[prefix.Length..]).Where(Names.IsValid).OrderBy(n => n, StringComparer.Ordinal).ToList();
    }

    public override async Task RemoveCheckpointAsync(SwarmEnvironment env, SwarmCheckpoint checkpoint, ProviderContext context, CancellationToken ct)
    {
        var clone = checkpoint.ProviderReference ?? CheckpointVm(Vm(env), checkpoint.Name);
        if (!clone.StartsWith(Vm(env) + CheckpointSeparator, StringComparison.Ordinal)) return;
        var r = await _tart.RawAsync(ct, "delete", clone).ConfigureAwait(false);
        if (!r.Success && TartCli.Classify(r) != TartFailure.NotFound) throw TartCli.Failed(r, env.Ticket);
    }

    // ------------------------------------------------------------------ access

    /// <summary><c>tart ip NAME</c> without waiting; null when the VM has none (stopped).</summary>
    private async Task<string?> AddressAsync(SwarmEnvironment env, CancellationToken ct)
    {
        if (env.InstanceId is null) return null;
        var r = await _tart.RawAsync(ct, TimeSpan.FromSeconds(30), "ip", env.InstanceId).ConfigureAwait(false);
        return r.Success && r.StandardOutput.Trim() is { Length: > 0 } ip ? ip : null;
    }

    public override async Task<SwarmConnection> GetConnectionAsync(SwarmEnvironment env, CancellationToken ct)
    {
        var ip = await AddressAsync(env, ct).ConfigureAwait(false);
        return SshConnection(env, ip);
    }

    protected override async Task<string> RequireHostAsync(SwarmEnvironment env, CancellationToken ct)
    {
        var c = await GetConnectionAsync(env, ct).ConfigureAwait(false);
        return c.Host ?? throw new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidState, $"'{env.Ticket}' has no IP address (Tart VM {env.InstanceId}). Is it running?", env.Ticket) { Hint = Hints.StartEnvironment(env.Ticket) };
    }

    // ------------------------------------------------------------------ repair

    public override async Task<IReadOnlyList<SwarmRepairItem>> RepairAsync(IReadOnlyList<SwarmEnvironment> owned, bool fix, ProviderContext context, CancellationToken ct)
    {
        var items = new List<SwarmRepairItem>();
        var prefix = $"{KvmProvider.DomainPrefix}{KvmProvider.HomeId(context.Home)}-";
        var vms = (await _tart.ListLocalAsync(null, ct).ConfigureAwait(false)).Where(v => v.Name.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(v => v.Name, StringComparer.Ordinal);
        var rowVms = new HashSet<string>(owned.Select(e => e.InstanceId ?? ""), StringComparer.Ordinal);
        foreach (var env in owned)
        {
            ct.ThrowIfCancellationRequested();
            if (env.Status == EnvironmentStatus.Creating)
            {
                if (ProcessIdentity.IsAlive(env.Metadata.GetValueOrDefault("creator"))) continue;
                if (fix) { await DeleteEverythingAsync(env, ct).ConfigureAwait(false); context.Registry.DeleteEnvironment(env.Ticket); }
                items.Add(Item(RepairIssueKind.IncompleteCreate, env.Ticket, env.InstanceId, "The process creating this VM died before it finished.", "delete the VM, its clones and the row", fix));
                continue;
            }
            if (env.InstanceId is null || !vms.TryGetValue(env.InstanceId, out var vm))
            {
                if (fix) { await DeleteEverythingAsync(env, ct).ConfigureAwait(false); context.Registry.DeleteEnvironment(env.Ticket); }
                items.Add(Item(RepairIssueKind.DanglingRow, env.Ticket, env.InstanceId, $"Tart VM {env.InstanceId} no longer exists.", "delete the row and the checkpoint clones", fix));
                continue;
            }
            var live = MapState(vm);
            if (live != env.Status && live is EnvironmentStatus.Running or EnvironmentStatus.Stopped)
            {
                if (fix) context.Registry.Update(env.With(status: live));
                items.Add(Item(RepairIssueKind.StatusDrift, env.Ticket, env.InstanceId, $"The registry says {env.Status}; the VM is {vm.State}.", $"record {live}", fix));
            }
            var rows = context.Registry.ListCheckpoints(env.Ticket);
            var clones = vms.Keys.Where(n => n.StartsWith(env.InstanceId + CheckpointSeparator, StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
            foreach (var cp in rows.Where(c => !clones.Contains(c.ProviderReference ?? CheckpointVm(env.InstanceId, c.Name))))
            {
                if (fix) context.Registry.DeleteCheckpoint(env.Ticket, cp.Name);
                items.Add(Item(RepairIssueKind.DanglingCheckpoint, env.Ticket, cp.ProviderReference, $"Checkpoint '{cp.Name}' has no Tart clone.", "delete the checkpoint row", fix));
            }
            var refs = rows.Select(c => c.ProviderReference ?? CheckpointVm(env.InstanceId, c.Name)).ToHashSet(StringComparer.Ordinal);
            foreach (var c in clones.Where(c => !refs.Contains(c)))
            {
                if (fix) await _tart.RawAsync(ct, "delete", c).ConfigureAwait(false);
                items.Add(Item(RepairIssueKind.OrphanCheckpoint, env.Ticket, c, $"Tart VM {c} looks like a checkpoint of {env.InstanceId} but has no checkpoint row.", "delete it", fix));
            }
        }
        foreach (var name in vms.Keys.Where(n => !rowVms.Contains(n) && !rowVms.Any(r => r.Length > 0 && n.StartsWith(r + CheckpointSeparator, StringComparison.Ordinal))))
        {
            var ticket = name[prefix.Length..];
            if (!ticket.Contains(CheckpointSeparator, StringComparison.Ordinal) && context.Registry.GetEnvironment(Names.IsValid(ticket) ? ticket : "_") is { } row && row.InstanceId == name) continue;
            if (fix)
            {
                var stop = await _tart.RawAsync(ct, "stop", name).ConfigureAwait(false);
                _ = stop; // exit 2 (not running) is fine
                await _tart.RawAsync(ct, "delete", name).ConfigureAwait(false);
            }
            items.Add(Item(RepairIssueKind.Orphan, null, name, "A Tart VM with this home's prefix that no registry row owns.", "stop and delete it", fix));
        }
        return items;
    }
}
