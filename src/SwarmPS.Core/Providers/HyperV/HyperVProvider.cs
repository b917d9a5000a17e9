using System.Globalization;
using SwarmPS.Core.Providers.Kvm;
using SwarmPS.Core.Processes;
using SwarmPS.Core.Registry;

namespace SwarmPS.Core.Providers.HyperV;

/// <summary>
/// One Hyper-V VM per ticket, driven in-process through <see cref="IHyperVHost"/> (the module's runspace):
/// a differencing VHDX on a registered base VHDX, a Generation 2 VM on the SwarmPS NAT switch, a NoCloud
/// seed disk, Standard checkpoints (memory kept), commands and agents through ssh. VMs are named
/// <c>swarm-&lt;homeId&gt;-&lt;ticket&gt;</c> and carry their home in Notes, so several homes can share a host.
/// </summary>
public sealed class HyperVProvider : SshVmProvider
{
    public const string ProviderName = "hyperv";
    public const string NatName = "SwarmPS";
    public const string OneNetNatErrorId = "HyperVNetNatConflict";

    private readonly IHyperVHost? _host;
    private readonly HyperVOptions _options;

    /// <param name="host">The cmdlet door; null outside pwsh (the CLI): the provider is then unavailable and says why.</param>
    public HyperVProvider(IHyperVHost? host = null, HyperVOptions? options = null, ISshProbe? sshProbe = null) : base(null, sshProbe)
    {
        _host = host;
        _options = options ?? HyperVOptions.FromEnvironment();
    }

    public HyperVOptions Options => _options;
    public override string Name => ProviderName;
    public override string Description => "A Hyper-V VM per ticket (in-process Hyper-V cmdlets): differencing VHDX on a base VHDX, Standard checkpoints (memory kept), SSH access.";
    /// <summary>Checkpoints are Standard (Set-VM -CheckpointType Standard): they keep memory and work while the VM runs.</summary>
    public override ProviderCapabilities Capabilities =>
        ProviderCapabilities.Checkpoint | ProviderCapabilities.CheckpointWhileRunning | ProviderCapabilities.MemoryState |
        ProviderCapabilities.CopyOnWriteClone | ProviderCapabilities.Exec | ProviderCapabilities.StartStop;

    public override Task<ProviderAvailability> CheckAvailabilityAsync(CancellationToken ct)
    {
        if (_host is null) return Task.FromResult(ProviderAvailability.No(OperatingSystem.IsWindows() ? HyperVAvailability.NotInPwsh : HyperVAvailability.NotWindows));
        return _host.CheckAvailabilityAsync(ct);
    }

    private HyperVCalls Hv => new(_host ?? throw new SwarmException(ErrorIds.ProviderUnavailable, SwarmErrorKind.Unavailable,
        "The hyperv provider is not available here: " + (OperatingSystem.IsWindows() ? HyperVAvailability.NotInPwsh : HyperVAvailability.NotWindows)));

    // ------------------------------------------------------------------ naming

    public static string VmName(SwarmHome home, string ticket) => InstanceName(home, ticket);
    public string VmRoot(SwarmHome home) => Path.GetFullPath(_options.VmDirectory ?? Path.Combine(home.Path, "hyperv", "vms"));
    private static string KeyDirectory(SwarmHome home) => Path.Combine(home.Path, "hyperv", "keys");
    /// <summary>What Notes carries, so repair only ever touches VMs of this home.</summary>
    public static string Label(SwarmHome home, string ticket) => $"SwarmPS home={Path.GetFullPath(home.Path)} ticket={ticket}";

    private static string Vm(SwarmEnvironment env) => env.InstanceId ?? throw new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidState, $"'{env.Ticket}' has no VM name recorded.", env.Ticket);

    // ------------------------------------------------------------------ create

    public override Task<SwarmEnvironment> PrepareAsync(NewEnvironmentRequest request, ProviderContext context, CancellationToken ct)
    {
        var ticket = Names.Ticket(request.Ticket);
        _ = Hv; // unavailable: say so before anything else
        var image = RequireBaseImage(request, context, ProviderName, ticket, "base VHDX", "base.vhdx");
        if (!File.Exists(image.Path))
            throw new SwarmException(SwarmRegistry.ImageNotFound, SwarmErrorKind.NotFound, $"The base VHDX of image '{image.Name}' ({image.Path}) does not exist.", ticket);
        var cpus = request.Cpus ?? (image.Cpus > 0 ? image.Cpus : _options.DefaultCpus);
        var memory = request.MemoryMb ?? (image.MemoryMb > 0 ? image.MemoryMb : _options.DefaultMemoryMb);
        if (cpus is < 1 or > 240) throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"The vCPU count must be 1-240 (got {cpus}).", ticket) { Hint = Hints.Cpus };
        // Generation 2 VMs need at least 32 MiB; Hyper-V wants an even number of MiB.
        if (memory is < 32 or > 12 * 1024 * 1024 || memory % 2 != 0)
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"The memory must be an even number of MiB in 32-12582912 (got {memory}).", ticket) { Hint = Hints.MemoryMb };
        if (!_options.OwnsSwitch && string.IsNullOrWhiteSpace(_options.SwitchName))
            throw new SwarmException(ErrorIds.ConfigInvalid, SwarmErrorKind.InvalidArgument, "SWARMPS_HYPERV_SWITCH is empty.", ticket);
        if (_options.OwnsSwitch) _options.Network24();

        var vm = VmName(context.Home, ticket);
        var folder = Path.Combine(VmRoot(context.Home), vm);
        return Task.FromResult(new SwarmEnvironment
        {
            Ticket = ticket, Provider = Name, BaseRef = image.Name, InstanceId = vm,
            Metadata = new Dictionary<string, string>
            {
                ["image"] = image.Name, ["basePath"] = image.Path, ["user"] = image.SshUser,
                ["key"] = Path.Combine(KeyDirectory(context.Home), vm), ["folder"] = folder,
                ["overlay"] = Path.Combine(folder, vm + ".vhdx"), ["seed"] = Path.Combine(folder, vm + "-seed.vhdx"),
                ["switch"] = _options.SwitchName,
                ["cpus"] = cpus.ToString(CultureInfo.InvariantCulture), ["memoryMb"] = memory.ToString(CultureInfo.InvariantCulture),
                ["homeId"] = KvmProvider.HomeId(context.Home), ["creator"] = ProcessIdentity.Current(),
            },
        });
    }

    public override async Task<SwarmEnvironment> CreateAsync(SwarmEnvironment env, NewEnvironmentRequest request, ProviderContext context, CancellationToken ct)
    {
        const string activity = "Creating environment";
        var hv = Hv;
        var vm = Vm(env);
        var meta = new Dictionary<string, string>(env.Metadata);
        var created = false;
        try
        {
            context.Report(activity, $"{env.Ticket}: switch '{_options.SwitchName}'", 5);
            await EnsureSwitchAsync(hv, env.Ticket, ct).ConfigureAwait(false);
            if (await hv.GetOrNullAsync("Get-VM", env.Ticket, ct, ("Name", vm)).ConfigureAwait(false) is { Count: > 0 })
                throw new SwarmException(ErrorIds.EnvironmentExists, SwarmErrorKind.AlreadyExists,
                    $"A Hyper-V VM named {vm} already exists but no environment owns it.", env.Ticket) { Hint = Hints.RepairFixRemoves };
            var folder = meta["folder"];
            if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any())
                throw new SwarmException(ErrorIds.EnvironmentExists, SwarmErrorKind.AlreadyExists,
                    $"{folder} already exists but no environment owns it.", env.Ticket) { Hint = Hints.RepairFixRemoves };
            created = true;
            Directory.CreateDirectory(folder);

            context.Report(activity, $"{env.Ticket}: differencing VHDX on {meta["basePath"]}", 10);
            await hv.RunAsync("New-VHD", env.Ticket, ct, ("Path", meta["overlay"]), ("ParentPath", meta["basePath"]), ("Differencing", CmdletSwitch.Present)).ConfigureAwait(false);

            context.Report(activity, $"{env.Ticket}: SSH key and cloud-init seed", 20);
            var publicKey = await VmAccess.GenerateKeyAsync(meta["key"], "swarmps-" + env.Ticket, env.Ticket, ct).ConfigureAwait(false);
            string? network = null;
            if (_options.OwnsSwitch)
            {
                var net = _options.Network24();
                var address = HyperVSeed.StaticAddress(net, env.Ports, context.Config.Ports, env.Ticket);
                meta["staticAddress"] = address;
                network = HyperVSeed.NetworkConfig(address, net + ".1", _options.DnsServers);
            }
            var files = HyperVSeed.Files(vm + "-" + Guid.NewGuid().ToString("N")[..8], CloudInitSeed.HostName(env.Ticket), meta["user"], publicKey, EnvironmentVariables.For(env), network);
            await HyperVSeed.BuildAsync(hv, meta["seed"], _options.SeedSizeMb, files, env.Ticket, ct).ConfigureAwait(false);

            var cpus = int.Parse(meta["cpus"], CultureInfo.InvariantCulture);
            var bytes = long.Parse(meta["memoryMb"], CultureInfo.InvariantCulture) * 1024 * 1024;
            context.Report(activity, $"{env.Ticket}: New-VM {vm} (Generation 2, {cpus} vCPU, {meta["memoryMb"]} MiB)", 30);
            await hv.RunAsync("New-VM", env.Ticket, ct, ("Name", vm), ("Generation", 2), ("MemoryStartupBytes", bytes), ("VHDPath", meta["overlay"]),
                ("SwitchName", _options.SwitchName), ("Path", VmRoot(context.Home))).ConfigureAwait(false);
            await hv.RunAsync("Set-VMProcessor", env.Ticket, ct, ("VMName", vm), ("Count", cpus)).ConfigureAwait(false);
            await hv.RunAsync("Set-VMMemory", env.Ticket, ct, ("VMName", vm), ("DynamicMemoryEnabled", false), ("StartupBytes", bytes)).ConfigureAwait(false);
            // Linux guests boot with Secure Boot only under the UEFI CA template.
            await hv.RunAsync("Set-VMFirmware", env.Ticket, ct, ("VMName", vm), ("SecureBootTemplate", "MicrosoftUEFICertificateAuthority")).ConfigureAwait(false);
            // Standard checkpoints keep memory (Production ones leave the VM off after a restore);
            // automatic checkpoints would add snapshots SwarmPS does not own at every Start-VM.
            await hv.RunAsync("Set-VM", env.Ticket, ct, ("Name", vm), ("CheckpointType", "Standard"), ("AutomaticCheckpointsEnabled", false),
                ("Notes", Label(context.Home, env.Ticket))).ConfigureAwait(false);
            await hv.RunAsync("Add-VMHardDiskDrive", env.Ticket, ct, ("VMName", vm), ("Path", meta["seed"])).ConfigureAwait(false);

            context.Report(activity, $"{env.Ticket}: Start-VM {vm}", 40);
            await hv.RunAsync("Start-VM", env.Ticket, ct, ("Name", vm)).ConfigureAwait(false);
            var ip = await WaitReadyAsync(hv, env.With(metadata: meta), context, activity, ct).ConfigureAwait(false);
            meta.Remove("creator");
            context.Report(activity, $"{env.Ticket}: ready{(ip is null ? "" : " at " + ip)}", 100);
            return env.With(status: EnvironmentStatus.Running, metadata: meta, address: ip ?? "");
        }
        catch (Exception ex)
        {
            if (created) await DeleteEverythingAsync(hv, env.With(metadata: meta), CancellationToken.None).ConfigureAwait(false);
            if (ex is SwarmException { Kind: SwarmErrorKind.Unavailable } missing)
            {
                // A cmdlet that does not exist here (pwsh without Hyper-V): say why, as the service does for Prepare.
                var a = await CheckAvailabilityAsync(CancellationToken.None).ConfigureAwait(false);
                throw new SwarmException(ErrorIds.ProviderUnavailable, SwarmErrorKind.Unavailable,
                    $"The {Name} provider is not available here: {(a.Available ? missing.Message : a.Reason)}", env.Ticket, ex);
            }
            throw;
        }
    }

    /// <summary>
    /// The SwarmPS internal switch and its NetNat, created once. Windows allows one NetNat per host: when
    /// another one exists, this refuses with the way out instead of breaking the other NAT.
    /// A configured switch other than "SwarmPS" must already exist (SwarmPS creates nothing then).
    /// </summary>
    public async Task EnsureSwitchAsync(HyperVCalls hv, string? ticket, CancellationToken ct)
    {
        var sw = await hv.GetOrNullAsync("Get-VMSwitch", ticket, ct, ("Name", _options.SwitchName)).ConfigureAwait(false);
        if (!_options.OwnsSwitch)
        {
            if (sw is not { Count: > 0 })
                throw new SwarmException(ErrorIds.ConfigInvalid, SwarmErrorKind.InvalidArgument,
                    $"The Hyper-V switch '{_options.SwitchName}' (SWARMPS_HYPERV_SWITCH) does not exist. Get-VMSwitch lists the switches; unset SWARMPS_HYPERV_SWITCH to let SwarmPS create its own NAT switch.", ticket);
            return;
        }
        var net = _options.Network24();
        var nats = await hv.GetOrNullAsync("Get-NetNat", ticket, ct).ConfigureAwait(false) ?? Array.Empty<HyperVObject>();
        var ours = nats.FirstOrDefault(n => string.Equals(n.String("Name"), NatName, StringComparison.OrdinalIgnoreCase));
        var other = nats.FirstOrDefault(n => !string.Equals(n.String("Name"), NatName, StringComparison.OrdinalIgnoreCase));
        if (ours is null && other is not null)
            throw new SwarmException(OneNetNatErrorId, SwarmErrorKind.Conflict,
                $"Windows allows only one NetNat per host, and '{other.String("Name")}' ({other.String("InternalIPInterfaceAddressPrefix")}) already exists, so SwarmPS cannot create its NAT '{NatName}' ({_options.NatPrefix}) for switch '{_options.SwitchName}'. " +
                "Either use a switch that already has NAT and DHCP (set SWARMPS_HYPERV_SWITCH, for example to 'Default Switch'), or remove the other NAT (Remove-NetNat) if nothing needs it.", ticket);
        if (sw is not { Count: > 0 })
            await hv.RunAsync("New-VMSwitch", ticket, ct, ("Name", _options.SwitchName), ("SwitchType", "Internal")).ConfigureAwait(false);
        var alias = $"vEthernet ({_options.SwitchName})";
        var addresses = await hv.GetOrNullAsync("Get-NetIPAddress", ticket, ct, ("InterfaceAlias", alias), ("AddressFamily", "IPv4")).ConfigureAwait(false) ?? Array.Empty<HyperVObject>();
        if (!addresses.Any(a => a.String("IPAddress") == net + ".1"))
            await hv.RunAsync("New-NetIPAddress", ticket, ct, ("IPAddress", net + ".1"), ("PrefixLength", 24), ("InterfaceAlias", alias)).ConfigureAwait(false);
        if (ours is null)
            await hv.RunAsync("New-NetNat", ticket, ct, ("Name", NatName), ("InternalIPInterfaceAddressPrefix", _options.NatPrefix)).ConfigureAwait(false);
    }

    /// <summary>Polls the adapter's IP addresses (guest KVP) until an IPv4 shows, then an SSH login; returns the IPv4.</summary>
    private async Task<string?> WaitReadyAsync(HyperVCalls hv, SwarmEnvironment env, ProviderContext? context, string activity, CancellationToken ct)
    {
        var vm = Vm(env);
        var state = await StateAsync(hv, vm, env.Ticket, ct).ConfigureAwait(false);
        if (state != "Running")
            throw new SwarmException(ErrorIds.Timeout, SwarmErrorKind.OperationFailed, $"'{env.Ticket}': VM {vm} is '{state ?? "missing"}' right after Start-VM. Check the Hyper-V-Worker event log (Get-WinEvent -LogName Microsoft-Windows-Hyper-V-Worker-Admin -MaxEvents 20).", env.Ticket);
        if (_options.WaitFor == KvmWaitFor.Running) return null;

        var sw = System.Diagnostics.Stopwatch.StartNew();
        string? ip = null;
        while (ip is null)
        {
            var adapters = await hv.RunAsync("Get-VMNetworkAdapter", env.Ticket, ct, ("VMName", vm)).ConfigureAwait(false);
            ip = FirstIPv4(adapters.SelectMany(a => a.Strings("IPAddresses")));
            if (ip is not null) break;
            if (sw.Elapsed >= _options.AddressTimeout)
                throw new SwarmException(ErrorIds.Timeout, SwarmErrorKind.OperationFailed,
                    $"'{env.Ticket}': VM {vm} on switch '{Meta(env, "switch")}' reported no IPv4 address after {_options.AddressTimeout.TotalSeconds:0} s. " +
                    $"Check: (Get-VMNetworkAdapter -VMName {vm}).IPAddresses; that the guest runs hv_kvp_daemon (linux-cloud-tools / hyperv-daemons) so Hyper-V can see its address; " +
                    $"that cloud-init applied the seed {Meta(env, "seed")}" + (Meta(env, "staticAddress") is { Length: > 0 } a ? $" (static {a}); that Get-NetNat shows '{NatName}' for {_options.NatPrefix}" : "; that the switch hands out DHCP leases") +
                    $"; the console: vmconnect localhost {vm}.", env.Ticket);
            context?.Report(activity, $"{env.Ticket}: waiting for an IP address ({sw.Elapsed.TotalSeconds:0} s)", 50);
            await Task.Delay(_options.PollInterval, ct).ConfigureAwait(false);
        }
        var found = ip;
        await VmAccess.WaitForSshAsync(c => ProbeSshAsync(env, found, c), _options.SshTimeout, _options.PollInterval,
            error => $"'{env.Ticket}': VM {vm} on switch '{Meta(env, "switch")}' has {found}, but 'ssh {Meta(env, "user")}@{found}' with key {Meta(env, "key")} did not work within {_options.SshTimeout.TotalSeconds:0} s (last error: {error}). " +
                     $"Check: that the image runs an SSH server and cloud-init applied the seed (user '{Meta(env, "user")}'); the console: vmconnect localhost {vm}.",
            env.Ticket, elapsed => context?.Report(activity, $"{env.Ticket}: waiting for SSH at {found} ({elapsed.TotalSeconds:0} s)", 75), ct).ConfigureAwait(false);
        return ip;
    }

    public static string? FirstIPv4(IEnumerable<string> addresses) =>
        addresses.FirstOrDefault(a => System.Net.IPAddress.TryParse(a, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !a.StartsWith("169.254.", StringComparison.Ordinal));

    /// <summary>Get-VM's State by name (Running, Off, Saved, Paused, ...); null when there is no such VM.</summary>
    public async Task<string?> StateAsync(HyperVCalls hv, string vm, string? ticket, CancellationToken ct)
    {
        var r = await hv.GetOrNullAsync("Get-VM", ticket, ct, ("Name", vm)).ConfigureAwait(false);
        return r is { Count: > 0 } ? r[0].String("State") : null;
    }

    public static EnvironmentStatus MapState(string? state) => state switch
    {
        null => EnvironmentStatus.Missing,
        "Running" or "Starting" or "Stopping" or "Saving" or "Pausing" or "Resuming" or "Reset" => EnvironmentStatus.Running,
        "Off" or "Saved" or "Paused" or "FastSaved" => EnvironmentStatus.Stopped,
        _ => EnvironmentStatus.Error,
    };

    // ------------------------------------------------------------------ lifecycle

    public override async Task<EnvironmentStatus> GetStatusAsync(SwarmEnvironment env, CancellationToken ct)
    {
        if (env.Status == EnvironmentStatus.Creating) return EnvironmentStatus.Creating;
        if (env.InstanceId is null) return EnvironmentStatus.Missing;
        return MapState(await StateAsync(Hv, env.InstanceId, env.Ticket, ct).ConfigureAwait(false));
    }

    private async Task<string> RequireVmAsync(HyperVCalls hv, SwarmEnvironment env, CancellationToken ct) =>
        await StateAsync(hv, Vm(env), env.Ticket, ct).ConfigureAwait(false)
        ?? throw new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidState, $"VM {env.InstanceId} of '{env.Ticket}' does not exist in Hyper-V.", env.Ticket) { Hint = Hints.Repair };

    public override async Task<SwarmEnvironment> StartAsync(SwarmEnvironment env, ProviderContext context, CancellationToken ct)
    {
        var hv = Hv;
        var state = await RequireVmAsync(hv, env, ct).ConfigureAwait(false);
        if (state != "Running")
        {
            context.Report("Starting environment", $"{env.Ticket}: Start-VM {env.InstanceId}", 10);
            await hv.RunAsync(state == "Paused" ? "Resume-VM" : "Start-VM", env.Ticket, ct, ("Name", Vm(env))).ConfigureAwait(false);
        }
        var ip = await WaitReadyAsync(hv, env, context, "Starting environment", ct).ConfigureAwait(false);
        return env.With(status: EnvironmentStatus.Running, address: ip ?? env.Address);
    }

    /// <summary>Stop-VM -Force: a guest shutdown, and Hyper-V turns the VM off when the guest does not comply.</summary>
    public override async Task<SwarmEnvironment> StopAsync(SwarmEnvironment env, ProviderContext context, CancellationToken ct)
    {
        var hv = Hv;
        var state = await RequireVmAsync(hv, env, ct).ConfigureAwait(false);
        if (state != "Off")
        {
            context.Report("Stopping environment", $"{env.Ticket}: Stop-VM {env.InstanceId}", 10);
            await hv.RunAsync("Stop-VM", env.Ticket, ct, ("Name", Vm(env)), ("Force", CmdletSwitch.Present)).ConfigureAwait(false);
        }
        return env.With(status: EnvironmentStatus.Stopped);
    }

    public override async Task RemoveAsync(SwarmEnvironment env, RemoveOptions options, ProviderContext context, CancellationToken ct)
    {
        context.Report("Removing environment", $"{env.Ticket}: removing VM {env.InstanceId} and its VHDX files", 10);
        await DeleteEverythingAsync(Hv, env, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The VM (turned off, then Remove-VM -Force), and the files Remove-VM leaves behind: the VM folder with the
    /// differencing and seed VHDX and any checkpoint .avhdx, and the key. Never the base VHDX. Idempotent.
    /// </summary>
    private async Task DeleteEverythingAsync(HyperVCalls hv, SwarmEnvironment env, CancellationToken ct)
    {
        if (env.InstanceId is { } vm)
        {
            var state = await StateAsync(hv, vm, env.Ticket, ct).ConfigureAwait(false);
            if (state is not null)
            {
                if (state != "Off") await hv.TryRunAsync("Stop-VM", ct, ("Name", vm), ("TurnOff", CmdletSwitch.Present), ("Force", CmdletSwitch.Present)).ConfigureAwait(false);
                await hv.RunAsync("Remove-VM", env.Ticket, ct, ("Name", vm), ("Force", CmdletSwitch.Present)).ConfigureAwait(false);
            }
        }
        var basePath = Meta(env, "basePath") is { Length: > 0 } b ? Path.GetFullPath(b) : "";
        foreach (var key in new[] { "overlay", "seed" })
            if (Meta(env, key) is { Length: > 0 } f && !string.Equals(Path.GetFullPath(f), basePath, StringComparison.OrdinalIgnoreCase))
            {
                // A seed still mounted (a create killed mid-way) would keep its file locked.
                if (key == "seed") await hv.TryRunAsync("Dismount-VHD", ct, ("Path", f)).ConfigureAwait(false);
                VmAccess.TryDelete(f);
            }
        if (Meta(env, "folder") is { Length: > 0 } folder && (basePath.Length == 0 || !basePath.StartsWith(Path.GetFullPath(folder) + Path.DirectorySeparatorChar, StringComparison.OrdinalIgnoreCase)))
            VmAccess.TryDeleteDirectory(folder);
        if (Meta(env, "key") is { Length: > 0 } k) { VmAccess.TryDelete(k); VmAccess.TryDelete(k + ".pub"); VmAccess.TryDelete(k + ".known_hosts"); VmAccess.TryDelete(k + ".known_hosts.old"); }
    }

    // ------------------------------------------------------------------ checkpoints (Standard)

    public override async Task<string> CheckpointAsync(SwarmEnvironment env, string name, ProviderContext context, CancellationToken ct)
    {
        Names.Checkpoint(name);
        var hv = Hv;
        await RequireVmAsync(hv, env, ct).ConfigureAwait(false);
        context.Report("Checkpoint", $"{env.Ticket}: Checkpoint-VM {env.InstanceId} -SnapshotName {name}", 10);
        await hv.RunAsync("Checkpoint-VM", env.Ticket, ct, ("Name", Vm(env)), ("SnapshotName", name)).ConfigureAwait(false);
        return name;
    }

    /// <summary>
    /// Restore-VMSnapshot -Confirm:$false (the caller's ShouldProcess already asked). A Standard checkpoint of a
    /// running VM comes back Saved: the VM is resumed when it was running before, and turned off when it was off.
    /// </summary>
    public override async Task RestoreAsync(SwarmEnvironment env, SwarmCheckpoint checkpoint, ProviderContext context, CancellationToken ct)
    {
        var hv = Hv;
        var vm = Vm(env);
        var before = await RequireVmAsync(hv, env, ct).ConfigureAwait(false);
        var reference = checkpoint.ProviderReference ?? checkpoint.Name;
        Names.Checkpoint(reference);
        if (!(await ListCheckpointsAsync(env, ct).ConfigureAwait(false)).Contains(reference, StringComparer.Ordinal))
            throw new SwarmException(ErrorIds.CheckpointNotFound, SwarmErrorKind.NotFound, $"VM {vm} has no checkpoint '{reference}'.", env.Ticket) { Hint = Hints.RepairCheckpoints };
        context.Report("Restore", $"{env.Ticket}: Restore-VMSnapshot {reference} of {vm}", 10);
        await hv.RunAsync("Restore-VMSnapshot", env.Ticket, ct, ("VMName", vm), ("Name", reference), ("Confirm", CmdletSwitch.Off)).ConfigureAwait(false);
        var after = await StateAsync(hv, vm, env.Ticket, ct).ConfigureAwait(false);
        if (MapState(before) == EnvironmentStatus.Running && after != "Running")
            await hv.RunAsync("Start-VM", env.Ticket, ct, ("Name", vm)).ConfigureAwait(false);
        else if (MapState(before) != EnvironmentStatus.Running && after is not ("Off" or null))
            await hv.RunAsync("Stop-VM", env.Ticket, ct, ("Name", vm), ("TurnOff", CmdletSwitch.Present), ("Force", CmdletSwitch.Present)).ConfigureAwait(false);
    }

    public override async Task<IReadOnlyList<string>> ListCheckpointsAsync(SwarmEnvironment env, CancellationToken ct)
    {
        if (env.InstanceId is null) return Array.Empty<string>();
        var r = await Hv.GetOrNullAsync("Get-VMSnapshot", env.Ticket, ct, ("VMName", env.InstanceId)).ConfigureAwait(false);
        return r is null ? Array.Empty<string>() : r.Select(s => s.String("Name")).Where(n => n is not null).Select(n => n!).ToList();
    }

    public override async Task RemoveCheckpointAsync(SwarmEnvironment env, SwarmCheckpoint checkpoint, ProviderContext context, CancellationToken ct)
    {
        var reference = checkpoint.ProviderReference ?? checkpoint.Name;
        Names.Checkpoint(reference);
        if (!(await ListCheckpointsAsync(env, ct).ConfigureAwait(false)).Contains(reference, StringComparer.Ordinal)) return;
        await Hv.RunAsync("Remove-VMSnapshot", env.Ticket, ct, ("VMName", Vm(env)), ("Name", reference)).ConfigureAwait(false);
    }

    // ------------------------------------------------------------------ access

    public override async Task<SwarmConnection> GetConnectionAsync(SwarmEnvironment env, CancellationToken ct)
    {
        string? ip = null;
        if (env.InstanceId is not null && _host is not null)
        {
            var adapters = await Hv.GetOrNullAsync("Get-VMNetworkAdapter", env.Ticket, ct, ("VMName", env.InstanceId)).ConfigureAwait(false);
            ip = adapters is null ? null : FirstIPv4(adapters.SelectMany(a => a.Strings("IPAddresses")));
        }
        return SshConnection(env, ip);
    }

    protected override async Task<string> RequireHostAsync(SwarmEnvironment env, CancellationToken ct)
    {
        var c = await GetConnectionAsync(env, ct).ConfigureAwait(false);
        return c.Host ?? throw new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidState,
            $"'{env.Ticket}' has no IP address (VM {env.InstanceId} reports none on switch '{Meta(env, "switch")}'). Is it running?", env.Ticket) { Hint = Hints.StartEnvironment(env.Ticket) };
    }

    // ------------------------------------------------------------------ repair

    public override async Task<IReadOnlyList<SwarmRepairItem>> RepairAsync(IReadOnlyList<SwarmEnvironment> owned, bool fix, ProviderContext context, CancellationToken ct)
    {
        var items = new List<SwarmRepairItem>();
        if (_host is null)
        {
            if (owned.Count > 0)
                items.Add(Item(RepairIssueKind.StatusDrift, null, null, $"{owned.Count} hyperv environment(s) cannot be checked: " + (await CheckAvailabilityAsync(ct).ConfigureAwait(false)).Reason, "none (run repair inside pwsh on the Windows host)", false));
            return items;
        }
        var hv = Hv;
        var prefix = $"{KvmProvider.DomainPrefix}{KvmProvider.HomeId(context.Home)}-";
        var all = await hv.RunAsync("Get-VM", null, ct).ConfigureAwait(false);
        var ours = all.Where(v => v.String("Name") is { } n && n.StartsWith(prefix, StringComparison.Ordinal) &&
                                  (v.String("Notes") ?? "").StartsWith($"SwarmPS home={Path.GetFullPath(context.Home.Path)} ", StringComparison.Ordinal))
                      .ToDictionary(v => v.String("Name")!, v => v.String("State"), StringComparer.Ordinal);
        var rowVms = new HashSet<string>(owned.Select(e => e.InstanceId ?? ""), StringComparer.Ordinal);
        foreach (var env in owned)
        {
            ct.ThrowIfCancellationRequested();
            if (env.Status == EnvironmentStatus.Creating)
            {
                if (ProcessIdentity.IsAlive(env.Metadata.GetValueOrDefault("creator"))) continue;
                if (fix) { await DeleteEverythingAsync(hv, env, ct).ConfigureAwait(false); context.Registry.DeleteEnvironment(env.Ticket); }
                items.Add(Item(RepairIssueKind.IncompleteCreate, env.Ticket, env.InstanceId, "The process creating this VM died before it finished.", "remove the VM, its VHDX files, key and row", fix));
                continue;
            }
            if (env.InstanceId is null || !ours.TryGetValue(env.InstanceId, out var state))
            {
                if (fix) { await DeleteEverythingAsync(hv, env, ct).ConfigureAwait(false); context.Registry.DeleteEnvironment(env.Ticket); }
                items.Add(Item(RepairIssueKind.DanglingRow, env.Ticket, env.InstanceId, $"VM {env.InstanceId} no longer exists in Hyper-V.", "delete the row and the environment's files", fix));
                continue;
            }
            var live = MapState(state);
            if (live != env.Status && live is EnvironmentStatus.Running or EnvironmentStatus.Stopped)
            {
                if (fix) context.Registry.Update(env.With(status: live));
                items.Add(Item(RepairIssueKind.StatusDrift, env.Ticket, env.InstanceId, $"The registry says {env.Status}; the VM is {state}.", $"record {live}", fix));
            }
            var rows = context.Registry.ListCheckpoints(env.Ticket);
            var snaps = await ListCheckpointsAsync(env, ct).ConfigureAwait(false);
            foreach (var cp in rows.Where(c => !snaps.Contains(c.ProviderReference ?? c.Name, StringComparer.Ordinal)))
            {
                if (fix) context.Registry.DeleteCheckpoint(env.Ticket, cp.Name);
                items.Add(Item(RepairIssueKind.DanglingCheckpoint, env.Ticket, cp.ProviderReference, $"Checkpoint '{cp.Name}' has no Hyper-V checkpoint in {env.InstanceId}.", "delete the checkpoint row", fix));
            }
            var refs = new HashSet<string>(rows.Select(c => c.ProviderReference ?? c.Name), StringComparer.Ordinal);
            foreach (var s in snaps.Where(s => !refs.Contains(s)))
            {
                if (fix) await hv.TryRunAsync("Remove-VMSnapshot", ct, ("VMName", env.InstanceId), ("Name", s)).ConfigureAwait(false);
                items.Add(Item(RepairIssueKind.OrphanCheckpoint, env.Ticket, s, $"Hyper-V checkpoint '{s}' of {env.InstanceId} has no checkpoint row.", "remove the checkpoint", fix));
            }
        }
        foreach (var vm in ours.Keys.Where(v => !rowVms.Contains(v)))
        {
            var ticket = vm[prefix.Length..];
            if (context.Registry.GetEnvironment(Names.IsValid(ticket) ? ticket : "_") is { } row && row.InstanceId == vm) continue;
            var folder = Path.Combine(VmRoot(context.Home), vm);
            var orphan = new SwarmEnvironment
            {
                Ticket = ticket, Provider = Name, InstanceId = vm,
                Metadata = new Dictionary<string, string>
                {
                    ["folder"] = folder, ["overlay"] = Path.Combine(folder, vm + ".vhdx"), ["seed"] = Path.Combine(folder, vm + "-seed.vhdx"),
                    ["key"] = Path.Combine(KeyDirectory(context.Home), vm),
                },
            };
            if (fix) await DeleteEverythingAsync(hv, orphan, ct).ConfigureAwait(false);
            items.Add(Item(RepairIssueKind.Orphan, Names.IsValid(ticket) ? ticket : null, vm, "A SwarmPS Hyper-V VM that no registry row owns.", "turn it off, remove it and delete its VHDX files and key", fix));
        }
        return items;
    }
}
