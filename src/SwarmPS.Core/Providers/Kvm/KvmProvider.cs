using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using SwarmPS.Core.Processes;
using SwarmPS.Core.Registry;

namespace SwarmPS.Core.Providers.Kvm;

/// <summary>
/// One libvirt/QEMU VM per ticket: a qcow2 overlay on a registered base image (O(1) in image size) in
/// the pool SwarmPS owns, a per-environment NoCloud seed and SSH key, internal snapshots as checkpoints,
/// commands and agents through ssh. Domains are named <c>swarm-&lt;homeId&gt;-&lt;ticket&gt;</c> and labelled
/// in their &lt;metadata&gt;, so several SWARMPS_HOMEs can share one libvirt without touching each other.
/// </summary>
public sealed class KvmProvider : SshVmProvider
{
    public const string ProviderName = "kvm";
    public const string DomainPrefix = "swarm-";

    /// <summary>The request option (<see cref="NewEnvironmentRequest.Options"/>) that skips the readiness wait.</summary>
    public const string OptionNoWait = "noWait";

    private KvmOptions _options;
    private Virsh _virsh;
    private readonly ProcessRunner _runner;
    private readonly bool _explicitOptions;
    private SwarmConfig? _configApplied;
    private string? _probedType;

    /// <summary>
    /// With <paramref name="options"/> those are used as given (tests); without, the provider reads the
    /// <c>kvm</c> section of each operation's config, overridden by SWARMPS_KVM_* variables.
    /// </summary>
    public KvmProvider(KvmOptions? options = null, ProcessRunner? runner = null, ISshProbe? sshProbe = null) : base(runner, sshProbe)
    {
        _explicitOptions = options is not null;
        _options = options ?? KvmOptions.FromEnvironment();
        _runner = runner ?? ProcessRunner.Default;
        _virsh = new Virsh(_options, _runner);
    }

    /// <summary>Applies the operation's config (unless options were given explicitly); cheap when it is the same config.</summary>
    private void Use(ProviderContext? context)
    {
        if (context is not null) Configure(context.Config);
    }

    /// <summary>
    /// Reads the <c>kvm</c> section of <paramref name="config"/> (SWARMPS_KVM_* still win), also for the calls
    /// that get no operation context (status, connection, checkpoints list). No effect when the provider was
    /// built with explicit options.
    /// </summary>
    public void Configure(SwarmConfig config)
    {
        if (_explicitOptions || ReferenceEquals(config, _configApplied)) return;
        var o = KvmOptions.Resolve(config.Kvm);
        _configApplied = config;
        if (o.Uri != _options.Uri || o.PoolName != _options.PoolName || o.PoolDirectory != _options.PoolDirectory) _poolDir = null;
        if (o.DomainType != _options.DomainType || o.Uri != _options.Uri) _probedType = null;
        _options = o;
        _virsh = new Virsh(o, _runner);
    }

    public KvmOptions Options => _options;
    public Virsh Virsh => _virsh;
    public override string Name => ProviderName;
    public override string Description => "A libvirt/QEMU VM per ticket: qcow2 overlay on a base image, internal snapshots, SSH access.";
    public override ProviderCapabilities Capabilities =>
        ProviderCapabilities.Checkpoint | ProviderCapabilities.CheckpointWhileRunning | ProviderCapabilities.MemoryState |
        ProviderCapabilities.CopyOnWriteClone | ProviderCapabilities.Exec | ProviderCapabilities.StartStop;

    public override async Task<ProviderAvailability> CheckAvailabilityAsync(CancellationToken ct)
    {
        if (!OperatingSystem.IsLinux()) return ProviderAvailability.No("the KVM provider runs on Linux hosts only.");
        if (CloudInitSeed.OnPath("virsh") is null) return ProviderAvailability.No("virsh was not found on PATH. Install libvirt-clients and libvirt-daemon-system (.ci/backends/libvirt.sh start does it).");
        if (CloudInitSeed.OnPath("qemu-img") is null) return ProviderAvailability.No("qemu-img was not found on PATH. Install qemu-utils.");
        try
        {
            var r = await _runner.RunAsync(new ProcessSpec("virsh", _virsh.Args("version")) { Environment = new Dictionary<string, string?> { ["LC_ALL"] = "C" }, Timeout = TimeSpan.FromSeconds(15) }, ct).ConfigureAwait(false);
            if (!r.Success) return ProviderAvailability.No($"libvirt is not reachable at {_options.Uri}: {Virsh.FirstError(r).TrimEnd('.')}. Start libvirtd and virtlogd (.ci/backends/libvirt.sh start).");
        }
        catch (SwarmException ex) when (ex.Kind != SwarmErrorKind.Cancelled)
        {
            return ProviderAvailability.No($"libvirt is not reachable at {_options.Uri}: {ex.Message}");
        }
        return ProviderAvailability.Yes;
    }

    // ------------------------------------------------------------------ naming

    /// <summary>8 hex characters identifying a SwarmPS home (its full path).</summary>
    public static string HomeId(SwarmHome home) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(home.Path))))[..8].ToLowerInvariant();

    public static string DomainName(SwarmHome home, string ticket) => InstanceName(home, ticket);

    private static string KeyDirectory(SwarmHome home) => Path.Combine(home.Path, "kvm", "keys");

    private static string Domain(SwarmEnvironment env) => env.InstanceId ?? throw new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidState, $"'{env.Ticket}' has no domain name recorded.", env.Ticket);

    // ------------------------------------------------------------------ domain type + pool

    /// <summary>
    /// kvm only when the host really virtualizes: /dev/kvm opens read-write, the CPU advertises VMX/SVM
    /// (a /dev/kvm without them, e.g. kvm_pvm, hangs stock guests) and libvirt offers a kvm domain.
    /// Otherwise qemu (TCG). The option forces one or the other.
    /// </summary>
    public async Task<string> DomainTypeAsync(CancellationToken ct)
    {
        var configured = _options.DomainType.Trim().ToLowerInvariant();
        if (configured is "kvm" or "qemu") return configured;
        if (_probedType is not null) return _probedType;
        var type = "qemu";
        if (HostHasHardwareVirtualization())
        {
            var r = await _virsh.RawAsync(ct, "domcapabilities", "--virttype", "kvm", "--arch", "x86_64").ConfigureAwait(false);
            if (r.Success) type = "kvm";
        }
        return _probedType = type;
    }

    private static bool HostHasHardwareVirtualization()
    {
        try
        {
            using (File.Open("/dev/kvm", FileMode.Open, FileAccess.ReadWrite)) { }
            var flags = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal)) ?? "";
            var words = flags.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return words.Contains("vmx") || words.Contains("svm");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private string? _poolDir;

    /// <summary>The pool directory; the pool is defined, built and started when libvirt does not know it yet.</summary>
    public async Task<string> PoolDirectoryAsync(CancellationToken ct)
    {
        if (_poolDir is not null) return _poolDir;
        var info = await _virsh.RawAsync(ct, "pool-dumpxml", _options.PoolName).ConfigureAwait(false);
        string dir;
        if (info.Success && Virsh.ParsePoolPath(info.StandardOutput) is { } existing)
        {
            dir = existing;
            if (_options.PoolDirectory is not null && Path.GetFullPath(_options.PoolDirectory) != Path.GetFullPath(dir))
                throw new SwarmException(ErrorIds.ConfigInvalid, SwarmErrorKind.InvalidArgument,
                    $"libvirt pool '{_options.PoolName}' points at {dir}, not the configured {_options.PoolDirectory}.", _options.PoolName);
        }
        else
        {
            dir = Path.GetFullPath(_options.PoolDirectory ?? "/var/lib/swarmps/pool");
            Directory.CreateDirectory(dir);
            await _virsh.RunAsync(null, ct, "pool-define-as", _options.PoolName, "dir", "--target", dir).ConfigureAwait(false);
        }
        var state = await _virsh.RawAsync(ct, "pool-info", _options.PoolName).ConfigureAwait(false);
        if (!state.StandardOutput.Split('\n').Any(l => l.StartsWith("State:", StringComparison.Ordinal) && l.Contains("running", StringComparison.Ordinal)))
        {
            Directory.CreateDirectory(dir);
            await _virsh.RunAsync(null, ct, "pool-start", _options.PoolName).ConfigureAwait(false);
        }
        return _poolDir = dir;
    }

    // ------------------------------------------------------------------ create

    public override Task<SwarmEnvironment> PrepareAsync(NewEnvironmentRequest request, ProviderContext context, CancellationToken ct)
    {
        var ticket = Names.Ticket(request.Ticket);
        var image = RequireBaseImage(request, context, ProviderName, ticket, "base image", "base.qcow2");
        if (!File.Exists(image.Path))
            throw new SwarmException(ErrorIds.ImageNotFound, SwarmErrorKind.NotFound, $"The file of base image '{image.Name}' ({image.Path}) does not exist.", ticket);
        Use(context);
        var noWait = false;
        foreach (var (key, value) in request.Options ?? new Dictionary<string, string>())
        {
            if (!key.Equals(OptionNoWait, StringComparison.OrdinalIgnoreCase))
                throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"The kvm provider has no option '{Names.Describe(key)}'. Known: {OptionNoWait}.", ticket);
            if (!bool.TryParse(value, out noWait))
                throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"Option {OptionNoWait} must be true or false, not '{Names.Describe(value)}'.", ticket);
        }
        foreach (var (what, file) in new[] { ("kernel", image.KernelPath), ("initrd", image.InitrdPath) })
            if (file is not null && !File.Exists(file))
                throw new SwarmException(ErrorIds.ImageNotFound, SwarmErrorKind.NotFound, $"The {what} of base image '{image.Name}' ({file}) does not exist.", ticket);
        var cpus = request.Cpus ?? (image.Cpus > 0 ? image.Cpus : _options.DefaultCpus);
        var memory = request.MemoryMb ?? (image.MemoryMb > 0 ? image.MemoryMb : _options.DefaultMemoryMb);
        if (cpus is < 1 or > 256) throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"The vCPU count must be 1-256 (got {cpus}).", ticket) { Hint = Hints.Cpus };
        if (memory is < 32 or > 4 * 1024 * 1024) throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"The memory must be 32-4194304 MiB (got {memory}).", ticket) { Hint = Hints.MemoryMb };

        var domain = DomainName(context.Home, ticket);
        var keyPath = Path.Combine(KeyDirectory(context.Home), domain);
        var metadata = new Dictionary<string, string>
            {
                ["image"] = image.Name, ["basePath"] = image.Path, ["user"] = image.SshUser, ["key"] = keyPath,
                ["cpus"] = cpus.ToString(CultureInfo.InvariantCulture), ["memoryMb"] = memory.ToString(CultureInfo.InvariantCulture),
                ["diskGb"] = image.DiskGb.ToString(CultureInfo.InvariantCulture),
                ["homeId"] = HomeId(context.Home), ["creator"] = ProcessIdentity.Current(),
            };
        if (image.KernelPath is not null) metadata["kernel"] = image.KernelPath;
        if (image.InitrdPath is not null) metadata["initrd"] = image.InitrdPath;
        if (image.KernelCommandLine is not null) metadata["cmdline"] = image.KernelCommandLine;
        if (noWait) metadata["noWait"] = "true";
        return Task.FromResult(new SwarmEnvironment { Ticket = ticket, Provider = Name, BaseRef = image.Name, InstanceId = domain, Metadata = metadata });
    }

    public override async Task<SwarmEnvironment> CreateAsync(SwarmEnvironment env, NewEnvironmentRequest request, ProviderContext context, CancellationToken ct)
    {
        const string activity = "Creating environment";
        Use(context);
        var domain = Domain(env);
        var meta = new Dictionary<string, string>(env.Metadata);
        try
        {
            context.Report(activity, $"{env.Ticket}: preparing the storage pool", 5);
            var pool = await PoolDirectoryAsync(ct).ConfigureAwait(false);
            var overlay = Path.Combine(pool, domain + ".qcow2");
            var seed = Path.Combine(pool, domain + "-seed.iso");
            var serial = Path.Combine(pool, domain + "-serial.log");
            meta["overlay"] = overlay; meta["seed"] = seed; meta["serialLog"] = serial;
            if (File.Exists(overlay) || File.Exists(seed))
                throw new SwarmException(ErrorIds.EnvironmentExists, SwarmErrorKind.AlreadyExists,
                    $"{overlay} already exists but no environment owns it.", env.Ticket) { Hint = Hints.RepairFixRemoves };

            context.Report(activity, $"{env.Ticket}: qcow2 overlay on {meta["basePath"]}", 10);
            var args = new List<string> { "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", meta["basePath"], overlay };
            if (int.TryParse(meta.GetValueOrDefault("diskGb"), out var gb) && gb > 0) args.Add(gb.ToString(CultureInfo.InvariantCulture) + "G");
            var img = await _virsh.QemuImgAsync(ct, args.ToArray()).ConfigureAwait(false);
            if (!img.Success) throw Virsh.Failed(img, env.Ticket);

            context.Report(activity, $"{env.Ticket}: SSH key and cloud-init seed", 20);
            var publicKey = await VmAccess.GenerateKeyAsync(meta["key"], "swarmps-" + env.Ticket, env.Ticket, ct, runner: _runner).ConfigureAwait(false);
            await BuildSeedAsync(env, publicKey, seed, ct).ConfigureAwait(false);

            var type = await DomainTypeAsync(ct).ConfigureAwait(false);
            meta["domainType"] = type;
            var xml = KvmDomainXml.Build(new KvmDomainSpec
            {
                Name = domain, Ticket = env.Ticket, Type = type,
                Cpus = int.Parse(meta["cpus"], CultureInfo.InvariantCulture), MemoryMb = int.Parse(meta["memoryMb"], CultureInfo.InvariantCulture),
                DiskPath = overlay, SeedPath = seed, SerialLogPath = serial, Network = _options.Network,
                KernelPath = meta.GetValueOrDefault("kernel") ?? _options.KernelPath,
                InitrdPath = meta.ContainsKey("kernel") ? meta.GetValueOrDefault("initrd") : _options.InitrdPath,
                KernelCommandLine = meta.ContainsKey("kernel") ? meta.GetValueOrDefault("cmdline") : _options.KernelCommandLine,
                HomeId = meta["homeId"], HomePath = Path.GetFullPath(context.Home.Path),
            });
            context.Report(activity, $"{env.Ticket}: defining domain {domain} ({type})", 30);
            var xmlFile = Path.Combine(pool, domain + ".xml.tmp");
            await File.WriteAllTextAsync(xmlFile, xml, ct).ConfigureAwait(false);
            try { await _virsh.RunAsync(env.Ticket, ct, "define", xmlFile).ConfigureAwait(false); }
            finally { VmAccess.TryDelete(xmlFile); }

            context.Report(activity, $"{env.Ticket}: starting {domain}", 40);
            await _virsh.RunAsync(env.Ticket, ct, "start", domain).ConfigureAwait(false);
            var noWait = meta.Remove("noWait");
            var ready = env.With(metadata: meta);
            var address = await WaitReadyAsync(ready, context, activity, noWait, ct).ConfigureAwait(false);
            meta.Remove("creator");
            context.Report(activity, $"{env.Ticket}: ready{(address is null ? "" : " at " + address)}", 100);
            return env.With(status: EnvironmentStatus.Running, metadata: meta, address: address ?? "");
        }
        catch
        {
            await DeleteEverythingAsync(env.With(metadata: meta), CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    private async Task BuildSeedAsync(SwarmEnvironment env, string publicKey, string iso, CancellationToken ct)
    {
        var tool = CloudInitSeed.FindIsoTool() ?? throw new SwarmException(ErrorIds.ProviderUnavailable, SwarmErrorKind.Unavailable,
            "No ISO tool for the cloud-init seed: install genisoimage (or xorriso).", env.Ticket);
        var dir = Path.Combine(Path.GetTempPath(), "swarmps-seed-" + Guid.NewGuid().ToString("N"));
        SwarmHome.EnsurePrivateDirectory(dir);
        try
        {
            var host = CloudInitSeed.HostName(env.Ticket);
            await File.WriteAllTextAsync(Path.Combine(dir, "meta-data"), CloudInitSeed.MetaData(Domain(env) + "-" + Guid.NewGuid().ToString("N")[..8], host), ct).ConfigureAwait(false);
            await File.WriteAllTextAsync(Path.Combine(dir, "user-data"), CloudInitSeed.UserData(host, Meta(env, "user"), publicKey, EnvironmentVariables.For(env)), ct).ConfigureAwait(false);
            var r = await _virsh.ToolAsync(tool, CloudInitSeed.IsoArguments(tool, dir, iso), ct).ConfigureAwait(false);
            if (!r.Success) throw Virsh.Failed(r, env.Ticket);
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    /// <summary>
    /// Readiness: the domain runs; then (unless <paramref name="noWait"/> or <see cref="KvmWaitFor.Running"/>)
    /// an IPv4 address (DHCP lease, then guest agent, then ARP) and a working SSH login with the environment's
    /// key, all within <see cref="KvmOptions.ReadinessTimeout"/>. Returns the address when it was awaited.
    /// </summary>
    private async Task<string?> WaitReadyAsync(SwarmEnvironment env, ProviderContext? context, string activity, bool noWait, CancellationToken ct)
    {
        var domain = Domain(env);
        var state = await DomStateAsync(domain, ct).ConfigureAwait(false);
        if (state != "running")
            throw new SwarmException(ErrorIds.ReadinessTimeout, SwarmErrorKind.OperationFailed,
                $"'{env.Ticket}': domain {domain} is '{state}' right after start. Check {Meta(env, "serialLog")} and /var/log/libvirt/qemu/{domain}.log.", env.Ticket);
        if (noWait || _options.WaitFor == KvmWaitFor.Running) return null;

        var total = _options.ReadinessTimeout;
        var addressLimit = _options.AddressTimeout < total ? _options.AddressTimeout : total;
        var sw = Stopwatch.StartNew();
        string? ip;
        string source;
        while (true)
        {
            (ip, source) = await FindAddressAsync(domain, ct).ConfigureAwait(false);
            if (ip is not null) break;
            if (sw.Elapsed > addressLimit)
                throw new SwarmException(ErrorIds.ReadinessTimeout, SwarmErrorKind.OperationFailed,
                    $"'{env.Ticket}': domain {domain} runs but got no IPv4 address within {addressLimit.TotalSeconds:0} s (tried its DHCP lease on network '{_options.Network}', the guest agent and the host's ARP table). " +
                    $"Check: the guest console log {Meta(env, "serialLog")}; 'virsh -c {_options.Uri} domifaddr {domain} --source lease'; " +
                    $"'virsh -c {_options.Uri} net-info {_options.Network}' says Active: yes; the image runs a DHCP client on its virtio NIC and applies the NoCloud seed (label cidata). " +
                    "The environment was not kept; raise kvm.readinessTimeoutSeconds in config.json for slow (TCG) hosts.", env.Ticket);
            if (await DomStateAsync(domain, ct).ConfigureAwait(false) != "running")
                throw new SwarmException(ErrorIds.ReadinessTimeout, SwarmErrorKind.OperationFailed,
                    $"'{env.Ticket}': domain {domain} stopped while waiting for its IP address. Check the guest console log {Meta(env, "serialLog")}.", env.Ticket);
            context?.Report(activity, $"{env.Ticket}: waiting for an IP address of {domain} (lease, guest agent, ARP; {sw.Elapsed.TotalSeconds:0}/{addressLimit.TotalSeconds:0} s)", 50);
            await Task.Delay(1000, ct).ConfigureAwait(false);
        }
        context?.Report(activity, $"{env.Ticket}: {ip} (from the {source}); waiting for SSH", 70);
        var sshLimit = total - sw.Elapsed;
        if (_options.SshTimeout < sshLimit) sshLimit = _options.SshTimeout;
        var sshWatch = Stopwatch.StartNew();
        while (true)
        {
            var error = await ProbeSshAsync(env, ip, ct).ConfigureAwait(false);
            if (error is null) return ip;
            if (sshWatch.Elapsed > sshLimit)
                throw new SwarmException(ErrorIds.ReadinessTimeout, SwarmErrorKind.OperationFailed,
                    $"'{env.Ticket}': {domain} has address {ip} (from the {source}) but 'ssh {Meta(env, "user")}@{ip}' with key {Meta(env, "key")} did not work within {sshLimit.TotalSeconds:0} s " +
                    $"(last error: {error}). Check: the guest console log {Meta(env, "serialLog")}; that the image runs an SSH server on port 22 " +
                    $"and applies the NoCloud seed (it authorizes the environment's key for user '{Meta(env, "user")}'); that nothing on the host blocks {ip}:22. " +
                    "The environment was not kept; raise kvm.readinessTimeoutSeconds in config.json for slow (TCG) hosts.", env.Ticket);
            context?.Report(activity, $"{env.Ticket}: waiting for SSH at {ip} ({sw.Elapsed.TotalSeconds:0}/{total.TotalSeconds:0} s)", 80);
            await Task.Delay(1000, ct).ConfigureAwait(false);
            // A renewed lease may move the guest: follow it.
            if ((await FindAddressAsync(domain, ct).ConfigureAwait(false)) is { Address: { } newer, Source: var s2 }) { ip = newer; source = s2; }
        }
    }

    /// <summary>The sources tried in order for a guest's IPv4 address (virsh domifaddr --source ...).</summary>
    public static readonly IReadOnlyList<string> AddressSources = new[] { "lease", "agent", "arp" };

    /// <summary>The guest's first IPv4 address (not loopback) and where it came from: DHCP lease, guest agent, ARP. Null when none knows one yet.</summary>
    public async Task<(string? Address, string Source)> FindAddressAsync(string domain, CancellationToken ct)
    {
        foreach (var source in AddressSources)
        {
            var r = await _virsh.RawAsync(ct, "domifaddr", domain, "--source", source).ConfigureAwait(false);
            if (r.Success && Virsh.ParseFirstIPv4(r.StandardOutput) is { } ip) return (ip, source == "lease" ? "DHCP lease" : source == "agent" ? "guest agent" : "ARP table");
        }
        return (null, "");
    }

    /// <summary>The guest's IPv4 address (lease, agent, ARP), or null.</summary>
    public async Task<string?> AddressAsync(string domain, CancellationToken ct) => (await FindAddressAsync(domain, ct).ConfigureAwait(false)).Address;

    /// <summary>domstate's first line; "" when the domain does not exist.</summary>
    public async Task<string> DomStateAsync(string domain, CancellationToken ct)
    {
        var r = await _virsh.RawAsync(ct, "domstate", domain).ConfigureAwait(false);
        if (r.Success) return Virsh.ParseDomState(r.StandardOutput);
        if (Virsh.IsNoDomain(r)) return "";
        throw Virsh.Failed(r, domain);
    }

    // ------------------------------------------------------------------ lifecycle

    public override async Task<EnvironmentStatus> GetStatusAsync(SwarmEnvironment env, CancellationToken ct)
    {
        if (env.Status == EnvironmentStatus.Creating) return EnvironmentStatus.Creating;
        if (env.InstanceId is null) return EnvironmentStatus.Missing;
        var state = await DomStateAsync(env.InstanceId, ct).ConfigureAwait(false);
        return state.Length == 0 ? EnvironmentStatus.Missing : Virsh.MapState(state);
    }

    public override async Task<SwarmEnvironment> StartAsync(SwarmEnvironment env, ProviderContext context, CancellationToken ct)
    {
        Use(context);
        var domain = Domain(env);
        var state = await RequireDomainAsync(env, ct).ConfigureAwait(false);
        if (state == "paused") await _virsh.RunAsync(env.Ticket, ct, "resume", domain).ConfigureAwait(false);
        else if (Virsh.MapState(state) != EnvironmentStatus.Running)
        {
            context.Report("Starting environment", $"{env.Ticket}: starting {domain}", 10);
            await _virsh.RunAsync(env.Ticket, ct, "start", domain).ConfigureAwait(false);
        }
        var ip = await WaitReadyAsync(env, context, "Starting environment", noWait: false, ct).ConfigureAwait(false);
        return env.With(status: EnvironmentStatus.Running, address: ip ?? env.Address);
    }

    /// <summary>ACPI shutdown, polled until the domain is off; destroyed when that takes longer than the shutdown timeout.</summary>
    public override async Task<SwarmEnvironment> StopAsync(SwarmEnvironment env, ProviderContext context, CancellationToken ct)
    {
        Use(context);
        await StopDomainAsync(env, force: context.Force, context, ct).ConfigureAwait(false);
        return env.With(status: EnvironmentStatus.Stopped);
    }

    /// <summary>Stops the domain; <paramref name="force"/> skips the ACPI shutdown.</summary>
    public async Task StopDomainAsync(SwarmEnvironment env, bool force, ProviderContext? context, CancellationToken ct)
    {
        var domain = Domain(env);
        var state = await RequireDomainAsync(env, ct).ConfigureAwait(false);
        if (state == "shut off") return;
        if (!force && state is "running" or "idle" or "blocked")
        {
            context?.Report("Stopping environment", $"{env.Ticket}: ACPI shutdown of {domain}", 10);
            var r = await _virsh.RawAsync(ct, "shutdown", domain, "--mode", "acpi").ConfigureAwait(false);
            if (r.Success)
            {
                var sw = Stopwatch.StartNew();
                while (sw.Elapsed < _options.ShutdownTimeout)
                {
                    if (await DomStateAsync(domain, ct).ConfigureAwait(false) is "shut off" or "") return;
                    await Task.Delay(250, ct).ConfigureAwait(false);
                }
            }
            context?.Report("Stopping environment", $"{env.Ticket}: no ACPI shutdown within {_options.ShutdownTimeout.TotalSeconds:0} s; destroying {domain}", 80);
        }
        var d = await _virsh.RawAsync(ct, "destroy", domain).ConfigureAwait(false);
        if (!d.Success && await DomStateAsync(domain, ct).ConfigureAwait(false) is not ("shut off" or "")) throw Virsh.Failed(d, env.Ticket);
    }

    private async Task<string> RequireDomainAsync(SwarmEnvironment env, CancellationToken ct)
    {
        var state = await DomStateAsync(Domain(env), ct).ConfigureAwait(false);
        if (state.Length == 0)
            throw new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidState,
                $"Domain {env.InstanceId} of '{env.Ticket}' does not exist in {_options.Uri}.", env.Ticket) { Hint = Hints.Repair };
        return state;
    }

    public override async Task RemoveAsync(SwarmEnvironment env, RemoveOptions options, ProviderContext context, CancellationToken ct)
    {
        Use(context);
        context.Report("Removing environment", $"{env.Ticket}: removing domain {env.InstanceId}", 10);
        await DeleteEverythingAsync(env, ct).ConfigureAwait(false);
    }

    /// <summary>Domain (with its snapshot metadata), overlay, seed, serial log and key; never the base image. Idempotent.</summary>
    private async Task DeleteEverythingAsync(SwarmEnvironment env, CancellationToken ct)
    {
        if (env.InstanceId is { } domain)
        {
            var state = await DomStateAsync(domain, ct).ConfigureAwait(false);
            if (state.Length > 0)
            {
                if (state != "shut off") await _virsh.RawAsync(ct, "destroy", domain).ConfigureAwait(false);
                var u = await _virsh.RawAsync(ct, "undefine", domain, "--snapshots-metadata").ConfigureAwait(false);
                if (!u.Success && !Virsh.IsNoDomain(u)) throw Virsh.Failed(u, env.Ticket);
            }
        }
        var basePath = Meta(env, "basePath");
        foreach (var key in new[] { "overlay", "seed", "serialLog" })
        {
            var f = Meta(env, key);
            if (f.Length > 0 && !string.Equals(Path.GetFullPath(f), basePath.Length > 0 ? Path.GetFullPath(basePath) : "", StringComparison.Ordinal)) VmAccess.TryDelete(f);
        }
        if (Meta(env, "key") is { Length: > 0 } k) { VmAccess.TryDelete(k); VmAccess.TryDelete(k + ".pub"); VmAccess.TryDelete(k + ".known_hosts"); VmAccess.TryDelete(k + ".known_hosts.old"); }
        if (Meta(env, "overlay").Length > 0) await _virsh.RawAsync(ct, "pool-refresh", _options.PoolName).ConfigureAwait(false);
    }


    // ------------------------------------------------------------------ checkpoints (internal snapshots)

    public override async Task<string> CheckpointAsync(SwarmEnvironment env, string name, ProviderContext context, CancellationToken ct)
    {
        Names.Checkpoint(name);
        Use(context);
        var domain = Domain(env);
        await RequireDomainAsync(env, ct).ConfigureAwait(false);
        await RequireInternalSnapshotsAsync(env, ct).ConfigureAwait(false);
        context.Report("Checkpoint", $"{env.Ticket}: internal snapshot {name} of {domain}", 10);
        await _virsh.RunAsync(env.Ticket, ct, "snapshot-create-as", domain, name, "SwarmPS checkpoint of " + env.Ticket, "--atomic").ConfigureAwait(false);
        return name;
    }

    /// <summary>
    /// Internal snapshots need every writable disk in qcow2 and no UEFI (pflash) firmware; the provider's own
    /// domains always qualify, but a domain changed by hand (or an image needing UEFI) is refused up front
    /// with CapabilityNotSupported instead of a half-made snapshot.
    /// </summary>
    private async Task RequireInternalSnapshotsAsync(SwarmEnvironment env, CancellationToken ct)
    {
        var xml = await _virsh.RunAsync(env.Ticket, ct, "dumpxml", "--inactive", Domain(env)).ConfigureAwait(false);
        if (KvmDomainXml.InternalSnapshotBlocker(xml) is { } why)
            throw new SwarmException(ErrorIds.CapabilityNotSupported, SwarmErrorKind.NotSupported,
                $"'{env.Ticket}': domain {Domain(env)} cannot take internal snapshots: {why}. Checkpoints of this environment are not supported.", env.Ticket);
    }

    /// <summary>Reverts to the snapshot; the domain ends in the state it had before (running stays running, off stays off).</summary>
    public override async Task RestoreAsync(SwarmEnvironment env, SwarmCheckpoint checkpoint, ProviderContext context, CancellationToken ct)
    {
        var domain = Domain(env);
        var before = await RequireDomainAsync(env, ct).ConfigureAwait(false);
        var reference = checkpoint.ProviderReference ?? checkpoint.Name;
        Names.Checkpoint(reference);
        if (!(await ListCheckpointsAsync(env, ct).ConfigureAwait(false)).Contains(reference, StringComparer.Ordinal))
            throw new SwarmException(ErrorIds.CheckpointNotFound, SwarmErrorKind.NotFound, $"Domain {domain} has no snapshot '{reference}'.", env.Ticket) { Hint = Hints.RepairCheckpoints };
        var running = Virsh.MapState(before) == EnvironmentStatus.Running;
        context.Report("Restore", $"{env.Ticket}: reverting {domain} to {reference}", 10);
        Use(context);
        if (running)
        {
            await _virsh.RunAsync(env.Ticket, ct, "snapshot-revert", domain, reference, "--running").ConfigureAwait(false);
            await AfterRunningRevertAsync(env, context, ct).ConfigureAwait(false);
        }
        else
        {
            await _virsh.RunAsync(env.Ticket, ct, "snapshot-revert", domain, reference).ConfigureAwait(false);
            if (await DomStateAsync(domain, ct).ConfigureAwait(false) is not ("shut off" or "")) await _virsh.RawAsync(ct, "destroy", domain).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A running revert restarts QEMU (a new tap device on the bridge; with STP on it forwards only after a
    /// few seconds) and rewinds the guest clock. When the environment had SSH: wait until SSH answers again
    /// (at most the readiness timeout), then step the guest clock to the host's. Neither failing fails the
    /// restore: the disk and memory are reverted either way; the progress says what did not come back.
    /// </summary>
    private async Task AfterRunningRevertAsync(SwarmEnvironment env, ProviderContext context, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(env.Address) || Meta(env, "key").Length == 0 || !File.Exists(Meta(env, "key"))) return;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < _options.ReadinessTimeout)
        {
            var ip = await AddressAsync(Domain(env), ct).ConfigureAwait(false) ?? env.Address;
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            var r = await _virsh.ToolAsync("ssh", KvmSsh.Arguments(Meta(env, "key"), Meta(env, "user"), ip,
                $"date -u -s @{now} >/dev/null 2>&1 || true", 5, KnownHosts(env), env.InstanceId), ct, null, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            if (r.Success) return;
            context.Report("Restore", $"{env.Ticket}: waiting for SSH at {ip} after the revert ({sw.Elapsed.TotalSeconds:0} s)", 60);
            await Task.Delay(500, ct).ConfigureAwait(false);
        }
        context.Report("Restore", $"{env.Ticket}: reverted, but SSH did not answer within {_options.ReadinessTimeout.TotalSeconds:0} s", 100);
    }

    public override async Task<IReadOnlyList<string>> ListCheckpointsAsync(SwarmEnvironment env, CancellationToken ct)
    {
        if (env.InstanceId is null) return Array.Empty<string>();
        var r = await _virsh.RawAsync(ct, "snapshot-list", env.InstanceId, "--name").ConfigureAwait(false);
        if (!r.Success)
        {
            if (Virsh.IsNoDomain(r)) return Array.Empty<string>();
            throw Virsh.Failed(r, env.Ticket);
        }
        return Virsh.ParseNames(r.StandardOutput);
    }

    public override async Task RemoveCheckpointAsync(SwarmEnvironment env, SwarmCheckpoint checkpoint, ProviderContext context, CancellationToken ct)
    {
        var reference = checkpoint.ProviderReference ?? checkpoint.Name;
        Names.Checkpoint(reference);
        if (!(await ListCheckpointsAsync(env, ct).ConfigureAwait(false)).Contains(reference, StringComparer.Ordinal)) return;
        await _virsh.RunAsync(env.Ticket, ct, "snapshot-delete", Domain(env), reference).ConfigureAwait(false);
    }

    // ------------------------------------------------------------------ access

    /// <summary>Host (the live address: lease, agent, ARP; else the one recorded at readiness), port 22, user, key path.</summary>
    public override async Task<SwarmConnection> GetConnectionAsync(SwarmEnvironment env, CancellationToken ct)
    {
        var ip = env.InstanceId is null ? null : await AddressAsync(env.InstanceId, ct).ConfigureAwait(false);
        return SshConnection(env, ip);
    }

    protected override void UseContext(ProviderContext context) => Use(context);

    protected override FrontEndHint NoRecordedAddressHint(SwarmEnvironment env) => Hints.StartWithReadiness(env.Ticket, mentionNoWait: true);

    protected override async Task<string> RequireHostAsync(SwarmEnvironment env, CancellationToken ct)
    {
        var c = await GetConnectionAsync(env, ct).ConfigureAwait(false);
        return c.Host ?? throw new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidState,
            $"'{env.Ticket}' has no IP address (domain {env.InstanceId} has no DHCP lease on '{_options.Network}'). Is it running?", env.Ticket) { Hint = Hints.StartEnvironment(env.Ticket) };
    }

    // ------------------------------------------------------------------ repair

    public override async Task<IReadOnlyList<SwarmRepairItem>> RepairAsync(IReadOnlyList<SwarmEnvironment> owned, bool fix, ProviderContext context, CancellationToken ct)
    {
        var items = new List<SwarmRepairItem>();
        var prefix = $"{DomainPrefix}{HomeId(context.Home)}-";
        var home = Path.GetFullPath(context.Home.Path);
        var list = await _virsh.RunAsync(null, ct, "list", "--all", "--name").ConfigureAwait(false);
        // Ours: our prefix AND our label (a domain someone else named swarm-... is never touched).
        var domains = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in Virsh.ParseNames(list).Where(n => n.StartsWith(prefix, StringComparison.Ordinal)))
        {
            var x = await _virsh.RawAsync(ct, "dumpxml", "--inactive", name).ConfigureAwait(false);
            if (x.Success && KvmDomainXml.ReadLabel(x.StandardOutput) is { } label && label.Home == home) domains.Add(name);
        }
        var rowDomains = new HashSet<string>(owned.Select(e => e.InstanceId ?? ""), StringComparer.Ordinal);

        foreach (var env in owned)
        {
            ct.ThrowIfCancellationRequested();
            if (env.Status == EnvironmentStatus.Creating)
            {
                if (ProcessIdentity.IsAlive(env.Metadata.GetValueOrDefault("creator"))) continue;
                var full = await WithPathsAsync(env, context.Home, ct).ConfigureAwait(false);
                if (fix) { await DeleteEverythingAsync(full, ct).ConfigureAwait(false); context.Registry.DeleteEnvironment(env.Ticket); }
                items.Add(Item(RepairIssueKind.IncompleteCreate, env.Ticket, env.InstanceId, "The process creating this VM died before it finished.", "remove the domain, overlay, seed, key and row", fix));
                continue;
            }
            if (env.InstanceId is null || !domains.Contains(env.InstanceId))
            {
                if (fix) { await DeleteEverythingAsync(env, ct).ConfigureAwait(false); context.Registry.DeleteEnvironment(env.Ticket); }
                items.Add(Item(RepairIssueKind.DanglingRow, env.Ticket, env.InstanceId, $"Domain {env.InstanceId} no longer exists in {_options.Uri}.", "delete the row and the environment's files", fix));
                continue;
            }
            var live = Virsh.MapState(await DomStateAsync(env.InstanceId, ct).ConfigureAwait(false));
            if (live != env.Status && live is EnvironmentStatus.Running or EnvironmentStatus.Stopped)
            {
                if (fix) context.Registry.Update(env.With(status: live));
                items.Add(Item(RepairIssueKind.StatusDrift, env.Ticket, env.InstanceId, $"The registry says {env.Status}; the domain is {live}.", $"record {live}", fix));
            }
            var rows = context.Registry.ListCheckpoints(env.Ticket);
            var snaps = await ListCheckpointsAsync(env, ct).ConfigureAwait(false);
            foreach (var cp in rows.Where(c => !snaps.Contains(c.ProviderReference ?? c.Name, StringComparer.Ordinal)))
            {
                if (fix) context.Registry.DeleteCheckpoint(env.Ticket, cp.Name);
                items.Add(Item(RepairIssueKind.DanglingCheckpoint, env.Ticket, cp.ProviderReference, $"Checkpoint '{cp.Name}' has no snapshot in {env.InstanceId}.", "delete the checkpoint row", fix));
            }
            var refs = new HashSet<string>(rows.Select(c => c.ProviderReference ?? c.Name), StringComparer.Ordinal);
            foreach (var s in snaps.Where(s => !refs.Contains(s)))
            {
                if (fix) await _virsh.RawAsync(ct, "snapshot-delete", env.InstanceId, s).ConfigureAwait(false);
                items.Add(Item(RepairIssueKind.OrphanCheckpoint, env.Ticket, s, $"Snapshot '{s}' of {env.InstanceId} has no checkpoint row.", "delete the snapshot", fix));
            }
        }

        foreach (var d in domains.Where(d => !rowDomains.Contains(d)))
        {
            var ticket = d[prefix.Length..];
            if (context.Registry.GetEnvironment(Names.IsValid(ticket) ? ticket : "_") is { } row && row.InstanceId == d) continue; // created meanwhile
            var orphan = await WithPathsAsync(new SwarmEnvironment { Ticket = ticket, Provider = Name, InstanceId = d }, context.Home, ct).ConfigureAwait(false);
            if (fix) await DeleteEverythingAsync(orphan, ct).ConfigureAwait(false);
            items.Add(Item(RepairIssueKind.Orphan, Names.IsValid(ticket) ? ticket : null, d, "A SwarmPS domain that no registry row owns.", "destroy and undefine it, delete its overlay, seed and key", fix));
        }
        // Files of ours in the pool that neither a domain nor a row owns (a create killed before define).
        var pool = await PoolDirectoryAsync(ct).ConfigureAwait(false);
        if (Directory.Exists(pool))
            foreach (var f in Directory.EnumerateFiles(pool, prefix + "*"))
            {
                var stem = Path.GetFileName(f);
                var owner = domains.Concat(rowDomains).FirstOrDefault(d => d.Length > 0 && (stem == d + ".qcow2" || stem.StartsWith(d + "-", StringComparison.Ordinal) || stem.StartsWith(d + ".", StringComparison.Ordinal)));
                if (owner is not null) continue;
                if (fix) VmAccess.TryDelete(f);
                items.Add(Item(RepairIssueKind.Orphan, null, f, "A file in the SwarmPS pool that no environment owns.", "delete it", fix));
            }
        return items;
    }

    /// <summary>Fills in the file paths derived from the domain name (for rows or orphans created before they were recorded).</summary>
    private async Task<SwarmEnvironment> WithPathsAsync(SwarmEnvironment env, SwarmHome home, CancellationToken ct)
    {
        var pool = await PoolDirectoryAsync(ct).ConfigureAwait(false);
        var d = Domain(env);
        var meta = new Dictionary<string, string>(env.Metadata)
        {
            ["overlay"] = Path.Combine(pool, d + ".qcow2"), ["seed"] = Path.Combine(pool, d + "-seed.iso"), ["serialLog"] = Path.Combine(pool, d + "-serial.log"),
            ["key"] = Path.Combine(KeyDirectory(home), d),
        };
        return env.With(metadata: meta);
    }
}
