using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using SwarmPS.Core.Processes;
using SwarmPS.Core.Registry;

namespace SwarmPS.Core.Providers.Kvm;

/// <summary>What <c>New-SwarmBaseImage -Provider Kvm</c> / <c>swarmps image build</c> builds.</summary>
public sealed class KvmImageBuildRequest
{
    /// <summary>The image name (the ticket rules).</summary>
    public required string Name { get; init; }
    /// <summary>The source: a cloud image (qcow2, raw, vmdk, ... anything qemu-img reads). Read, never modified.</summary>
    public required string From { get; init; }
    /// <summary>A script file run once as root inside the builder VM (for example setup-base.sh). Null: boot once and power off.</summary>
    public string? ProvisionScript { get; init; }
    public string? OsNote { get; init; }
    /// <summary>Defaults recorded with the image for environments made from it.</summary>
    public int Cpus { get; init; } = 2;
    public int MemoryMb { get; init; } = 4096;
    /// <summary>The virtual disk is grown to this size (GiB) when the source is smaller; 0 keeps the source's size.</summary>
    public int DiskGb { get; init; } = 20;
    public string SshUser { get; init; } = "root";
    /// <summary>The builder VM's size (package installs want memory).</summary>
    public int BuildCpus { get; init; } = 2;
    public int BuildMemoryMb { get; init; } = 2048;
    /// <summary>How long the builder VM may run before the build fails.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(60);
}

/// <summary>
/// Builds a KVM base image: copies/converts the source into a new qcow2 in the SwarmPS pool (the source is
/// only read), boots it once with a NoCloud seed whose user-data runs the provisioning script — which is
/// a file on the seed, never text inside the YAML — waits (with progress and a timeout) for the VM to power
/// off, checks the script's exit status that the guest wrote to its serial console, undefines the builder
/// domain and registers the result. On any failure, timeout or cancellation the builder domain, the partial
/// image and the seed are removed; the serial log is kept in SWARMPS_HOME/logs for diagnosis.
/// <para>Files: the image is <c>&lt;pool&gt;/swarmbase-&lt;homeId&gt;-&lt;name&gt;.qcow2</c>; the builder domain
/// is <c>swarmbuild-&lt;homeId&gt;-&lt;name&gt;</c> (neither matches the <c>swarm-&lt;homeId&gt;-</c> names repair owns).</para>
/// </summary>
public sealed class KvmImageBuilder
{
    public const string ImagePrefix = "swarmbase-";
    public const string BuilderPrefix = "swarmbuild-";
    /// <summary>The line the guest writes to its serial console when the script is done: <c>SWARMPS-PROVISION-EXIT=&lt;code&gt;</c>.</summary>
    public const string ExitMarker = "SWARMPS-PROVISION-EXIT=";
    /// <summary>Where the seed's user-data puts the (fixed) wrapper inside the guest.</summary>
    public const string GuestWrapperPath = "/var/lib/swarmps/build-wrapper.sh";
    /// <summary>The provisioning script's name on the seed.</summary>
    public const string SeedScriptName = "provision.sh";

    private const string Activity = "Building base image";
    private readonly SwarmRegistry _registry;
    private readonly SwarmHome _home;
    private readonly KvmProvider _provider;
    private readonly Func<ProcessSpec, CancellationToken, Task<ProcessResult>> _run;

    /// <param name="run">Runs one process (default: <see cref="ProcessRunner.Default"/>); tests replay recorded virsh outputs.</param>
    public KvmImageBuilder(SwarmRegistry registry, SwarmHome home, KvmProvider? provider = null, Func<ProcessSpec, CancellationToken, Task<ProcessResult>>? run = null)
    {
        _registry = registry;
        _home = home;
        _provider = provider ?? new KvmProvider();
        _run = run ?? ProcessRunner.Default.RunAsync;
    }

    /// <summary>How often the builder domain's state is polled.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>How long a conversion (qemu-img convert of a large image) may take.</summary>
    public TimeSpan ConvertTimeout { get; init; } = TimeSpan.FromMinutes(30);

    private KvmOptions Options => _provider.Options;

    public static string ImageFileName(SwarmHome home, string name) => $"{ImagePrefix}{KvmProvider.HomeId(home)}-{name.ToLowerInvariant()}.qcow2";
    public static string BuilderDomainName(SwarmHome home, string name) => $"{BuilderPrefix}{KvmProvider.HomeId(home)}-{name.ToLowerInvariant()}";

    public async Task<SwarmBaseImage> BuildAsync(KvmImageBuildRequest request, IProgress<SwarmProgress>? progress = null, CancellationToken ct = default)
    {
        // ---- every check before anything is made
        var name = Names.Ticket(request.Name);
        if (_registry.GetBaseImage(name) is { } existing)
            throw new SwarmException(SwarmRegistry.ImageExists, SwarmErrorKind.AlreadyExists, $"A base image named '{existing.Name}' is already registered ({existing.Path}).", name);
        if (request.Cpus is < 1 or > 256 || request.MemoryMb is < 32 or > 4 * 1024 * 1024 || request.DiskGb is < 0 or > 65536 ||
            request.BuildCpus is < 1 or > 256 || request.BuildMemoryMb is < 128 or > 4 * 1024 * 1024)
            throw Invalid(name, $"Invalid sizes: cpus {request.Cpus} (1-256), memory {request.MemoryMb} MiB (32-4194304), disk {request.DiskGb} GiB (0-65536), build cpus {request.BuildCpus} (1-256), build memory {request.BuildMemoryMb} MiB (at least 128).");
        if (!Regex.IsMatch(request.SshUser, "^[a-z_][a-z0-9_-]{0,31}$"))
            throw Invalid(name, $"Invalid ssh user '{Names.Describe(request.SshUser)}'.");
        if (request.Timeout <= TimeSpan.Zero) throw Invalid(name, "The timeout must be positive.");
        var source = ExistingFile(request.From, "source image", name);
        string? script = request.ProvisionScript is null ? null : ExistingFile(request.ProvisionScript, "provisioning script", name);
        var isoTool = CloudInitSeed.FindIsoTool()
            ?? throw new SwarmException(ErrorIds.ProviderUnavailable, SwarmErrorKind.Unavailable, "No ISO tool for the cloud-init seed: install genisoimage (or xorriso).", name);

        void Report(string status, int percent) => progress?.Report(new SwarmProgress(Activity, $"{name}: {status}", percent));

        Report("checking the source image", 2);
        var info = await Run(name, ct, Tool("qemu-img", new[] { "info", "-U", "--output=json", source })).ConfigureAwait(false);
        var (format, virtualSize) = ParseInfo(info.StandardOutput);
        if (format is null) throw Invalid(name, $"qemu-img cannot tell the format of '{source}'.");

        Report("finding the storage pool", 5);
        var pool = await PoolAsync(ct).ConfigureAwait(false);
        var final = Path.Combine(pool, ImageFileName(_home, name));
        var partial = final + ".partial";
        var domain = BuilderDomainName(_home, name);
        var seed = Path.Combine(pool, domain + "-seed.iso");
        var serial = Path.Combine(pool, domain + "-serial.log");
        if (string.Equals(Path.GetFullPath(source), final, StringComparison.Ordinal))
            throw Invalid(name, $"The source is the file the build would write ({final}).");
        if (File.Exists(final))
            throw new SwarmException(SwarmRegistry.ImageExists, SwarmErrorKind.AlreadyExists,
                $"{final} already exists (an earlier build whose image was unregistered?). Register it, or delete it.", name) { Hint = Hints.RegisterImageFile(name, "kvm", final) };
        if (await DomStateAsync(domain, ct).ConfigureAwait(false) is { Length: > 0 } st)
            throw new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidState,
                $"Builder domain {domain} already exists ({st}): another build of '{name}' runs, or one was killed. Check, then 'virsh -c {Options.Uri} destroy {domain}; virsh -c {Options.Uri} undefine {domain}'.", name);

        var keptLog = Path.Combine(_home.LogsPath, $"image-build-{name}-serial.log");
        var defined = false;
        try
        {
            // ---- 1. copy/convert (the source is opened read-only with -U; the output is a new file)
            Report($"converting {Path.GetFileName(source)} ({format}) to qcow2", 10);
            await Run(name, ct, Tool("qemu-img", new[] { "convert", "-U", "-f", format, "-O", "qcow2", source, partial }, ConvertTimeout)).ConfigureAwait(false);
            var wantBytes = (long)request.DiskGb * 1024 * 1024 * 1024;
            if (request.DiskGb > 0 && (virtualSize is null || virtualSize < wantBytes))
            {
                Report($"growing the virtual disk to {request.DiskGb} GiB", 25);
                await Run(name, ct, Tool("qemu-img", new[] { "resize", "-f", "qcow2", partial, request.DiskGb.ToString(CultureInfo.InvariantCulture) + "G" })).ConfigureAwait(false);
            }

            // ---- 2. the seed: meta-data, user-data (fixed text) and the script as a file of its own
            Report("writing the cloud-init seed", 30);
            await BuildSeedAsync(name, domain, script, isoTool, seed, ct).ConfigureAwait(false);

            // ---- 3. define + start the builder domain
            var type = Options.DomainType.Trim().ToLowerInvariant() is "kvm" or "qemu" ? Options.DomainType.Trim().ToLowerInvariant() : await _provider.DomainTypeAsync(ct).ConfigureAwait(false);
            var xml = BuilderXml(new KvmDomainSpec
            {
                Name = domain, Ticket = name, Type = type, Cpus = request.BuildCpus, MemoryMb = request.BuildMemoryMb,
                DiskPath = partial, SeedPath = seed, SerialLogPath = serial, Network = Options.Network,
                HomeId = KvmProvider.HomeId(_home), HomePath = Path.GetFullPath(_home.Path),
            });
            var xmlFile = Path.Combine(pool, domain + ".xml.tmp");
            await File.WriteAllTextAsync(xmlFile, xml, ct).ConfigureAwait(false);
            try
            {
                Report($"defining builder domain {domain} ({type})", 35);
                defined = true;
                await Run(name, ct, VirshSpec("define", xmlFile)).ConfigureAwait(false);
            }
            finally { TryDelete(xmlFile); }
            Report($"starting {domain}", 38);
            await Run(name, ct, VirshSpec("start", domain)).ConfigureAwait(false);

            // ---- 4. wait for the power-off
            var sw = Stopwatch.StartNew();
            while (true)
            {
                var state = await DomStateAsync(domain, ct).ConfigureAwait(false);
                if (state is "shut off" or "") break;
                if (sw.Elapsed > request.Timeout)
                    throw new SwarmException(ErrorIds.Timeout, SwarmErrorKind.OperationFailed,
                        $"Building '{name}': the builder VM {domain} did not power off within {request.Timeout.TotalMinutes:0.#} min (state '{state}'). " +
                        $"Its console log is kept in {keptLog}. Check that the source image runs cloud-init with the NoCloud datasource, and the provisioning script's output (/var/log/swarmps-provision.log in the guest, echoed to the console).", name) { Hint = Hints.BuildTimeout };
                var pct = 40 + (int)Math.Min(50, 50 * sw.Elapsed.TotalSeconds / Math.Max(1, request.Timeout.TotalSeconds));
                Report($"provisioning in {domain} ({sw.Elapsed.TotalSeconds:0} s){LastLine(serial) switch { null => "", var l => ": " + l }}", pct);
                await Task.Delay(PollInterval, ct).ConfigureAwait(false);
            }

            // ---- 5. did the script succeed?
            var console = ReadText(serial);
            var exit = ParseExitCode(console);
            if (exit != 0)
            {
                throw new SwarmException(ErrorIds.ProcessFailed, SwarmErrorKind.OperationFailed, exit is null
                    ? $"Building '{name}': the builder VM powered off without reporting the provisioning result ({ExitMarker}N on its serial console). Did cloud-init run the seed? Console log: {keptLog}."
                    : $"Building '{name}': the provisioning script exited with {exit}. Its output is in the console log {keptLog} (and /var/log/swarmps-provision.log in the guest).", name);
            }

            // ---- 6. undefine the builder, keep only the image
            Report($"undefining {domain}", 92);
            await UndefineAsync(domain, CancellationToken.None).ConfigureAwait(false);
            defined = false;
            TryDelete(seed);
            File.Move(partial, final);
            Report("registering", 96);
            try
            {
                var image = _registry.AddBaseImage(new SwarmBaseImage
                {
                    Name = name, Provider = KvmProvider.ProviderName, Path = final, SshUser = request.SshUser,
                    OsNote = request.OsNote ?? $"built from {Path.GetFileName(source)}{(script is null ? "" : " with " + Path.GetFileName(script))}",
                    Cpus = request.Cpus, MemoryMb = request.MemoryMb, DiskGb = request.DiskGb,
                });
                TryDelete(serial);
                progress?.Report(new SwarmProgress(Activity, name, 100, Completed: true));
                return image;
            }
            catch
            {
                TryDelete(final);
                throw;
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            progress?.Report(new SwarmProgress(Activity, $"{name}: failed, cleaning up", 100, Completed: true));
            if (defined) await UndefineAsync(domain, CancellationToken.None).ConfigureAwait(false);
            KeepLog(serial, keptLog);
            foreach (var f in new[] { partial, seed, serial }) TryDelete(f);
            if (ex is OperationCanceledException && ex is not SwarmException)
                throw new SwarmException(ErrorIds.OperationCancelled, SwarmErrorKind.Cancelled, $"Building '{name}' was cancelled; the builder VM and the partial image were removed.", name, ex);
            throw;
        }
    }

    // ------------------------------------------------------------------ seed

    public static string MetaData(string domain) => CloudInitSeed.MetaData(domain + "-" + DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), "swarmps-build");

    /// <summary>
    /// The wrapper the guest runs: mounts the seed (label cidata), copies <see cref="SeedScriptName"/> out,
    /// runs it as root with <c>SWARMPS_PROVISIONING=1</c> (output to /var/log/swarmps-provision.log, its tail to the
    /// console), empties /etc/machine-id (so every clone gets its own, hence its own DHCP lease), and writes
    /// <see cref="ExitMarker"/> with the script's exit code to the serial console. Fixed text: nothing the
    /// user gives is in it.
    /// </summary>
    public const string Wrapper = """
        #!/bin/sh
        # SwarmPS image build: run the seed's provision.sh once, report its exit code on the console.
        set -u
        log=/var/log/swarmps-provision.log
        mnt=/run/swarmps-seed
        say() { for c in /dev/ttyS0 /dev/console; do [ -w "$c" ] && echo "$*" > "$c" 2>/dev/null; done; return 0; }
        mkdir -p "$mnt"
        dev=$(blkid -L cidata 2>/dev/null || blkid -L CIDATA 2>/dev/null || true)
        rc=0
        if [ -n "$dev" ] && mount -o ro "$dev" "$mnt"; then
          if [ -f "$mnt/provision.sh" ]; then
            cp "$mnt/provision.sh" /root/swarmps-provision.sh && chmod 0700 /root/swarmps-provision.sh
          fi
          umount "$mnt"
        else
          say "swarmps: cannot mount the cidata seed"; rc=98
        fi
        if [ $rc -eq 0 ] && [ -f /root/swarmps-provision.sh ]; then
          say "swarmps: running the provisioning script (log: $log)"
          SWARMPS_PROVISIONING=1 DEBIAN_FRONTEND=noninteractive /root/swarmps-provision.sh >> "$log" 2>&1 || rc=$?
          tail -n 30 "$log" | while IFS= read -r line; do say "provision: $line"; done
        fi
        rm -f /root/swarmps-provision.sh
        : > /etc/machine-id 2>/dev/null || true
        rm -f /var/lib/dbus/machine-id
        sync
        say "SWARMPS-PROVISION-EXIT=$rc"
        """;

    /// <summary>
    /// user-data: writes <see cref="Wrapper"/> (JSON-quoted, which YAML reads as a plain string), runs it
    /// once (runcmd with an argv, no shell line), then cloud-init powers the VM off whatever the result.
    /// </summary>
    public static string UserData()
    {
        var sb = new StringBuilder("#cloud-config\n");
        sb.Append("write_files:\n  - path: ").Append(GuestWrapperPath).Append("\n    permissions: \"0700\"\n    owner: \"root:root\"\n    content: ")
          .Append(JsonSerializer.Serialize(Wrapper.Replace("\r\n", "\n", StringComparison.Ordinal) + "\n")).Append('\n');
        sb.Append("runcmd:\n  - [\"/bin/sh\", \"").Append(GuestWrapperPath).Append("\"]\n");
        sb.Append("power_state:\n  mode: poweroff\n  message: \"SwarmPS image build done\"\n  timeout: 300\n  condition: true\n");
        return sb.ToString();
    }

    private async Task BuildSeedAsync(string name, string domain, string? script, string isoTool, string iso, CancellationToken ct)
    {
        var dir = Path.Combine(Path.GetTempPath(), "swarmps-build-" + Guid.NewGuid().ToString("N")[..12]);
        SwarmHome.EnsurePrivateDirectory(dir);
        try
        {
            await File.WriteAllTextAsync(Path.Combine(dir, "meta-data"), MetaData(domain), ct).ConfigureAwait(false);
            await File.WriteAllTextAsync(Path.Combine(dir, "user-data"), UserData(), ct).ConfigureAwait(false);
            var files = new List<string> { Path.Combine(dir, "user-data"), Path.Combine(dir, "meta-data") };
            if (script is not null)
            {
                var copy = Path.Combine(dir, SeedScriptName);
                File.Copy(script, copy);
                files.Add(copy);
            }
            var args = CloudInitSeed.IsoArguments(isoTool, dir, iso).ToList();
            args.AddRange(files.Skip(2)); // the script after user-data and meta-data
            await Run(name, ct, Tool(isoTool, args)).ConfigureAwait(false);
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    /// <summary>The environment domain XML, described as a builder (and never labelled as an environment of a ticket).</summary>
    public static string BuilderXml(KvmDomainSpec spec)
    {
        var doc = XDocument.Parse(KvmDomainXml.Build(spec));
        doc.Root!.Element("description")!.Value = "SwarmPS base image build " + spec.Ticket;
        doc.Root.Element("metadata")?.Remove();
        return doc.Root.ToString();
    }

    // ------------------------------------------------------------------ helpers

    private async Task<string> PoolAsync(CancellationToken ct)
    {
        var r = await _run(VirshSpec("pool-dumpxml", Options.PoolName), ct).ConfigureAwait(false);
        if (r.Success && Virsh.ParsePoolPath(r.StandardOutput) is { } dir && (Options.PoolDirectory is null || Path.GetFullPath(Options.PoolDirectory) == Path.GetFullPath(dir)))
        {
            var info = await _run(VirshSpec("pool-info", Options.PoolName), ct).ConfigureAwait(false);
            if (info.StandardOutput.Split('\n').Any(l => l.StartsWith("State:", StringComparison.Ordinal) && l.Contains("running", StringComparison.Ordinal))) return dir;
        }
        return await _provider.PoolDirectoryAsync(ct).ConfigureAwait(false); // defines/starts it, or explains the mismatch
    }

    private async Task<string> DomStateAsync(string domain, CancellationToken ct)
    {
        var r = await _run(VirshSpec("domstate", domain), ct).ConfigureAwait(false);
        if (r.Success) return Virsh.ParseDomState(r.StandardOutput);
        if (Virsh.IsNoDomain(r)) return "";
        throw Virsh.Failed(r, domain);
    }

    private async Task UndefineAsync(string domain, CancellationToken ct)
    {
        var state = await DomStateAsync(domain, ct).ConfigureAwait(false);
        if (state.Length == 0) return;
        if (state != "shut off") await _run(VirshSpec("destroy", domain), ct).ConfigureAwait(false);
        var u = await _run(VirshSpec("undefine", domain), ct).ConfigureAwait(false);
        if (!u.Success && !Virsh.IsNoDomain(u)) throw Virsh.Failed(u, domain);
    }

    private static readonly IReadOnlyDictionary<string, string?> CLocale = new Dictionary<string, string?> { ["LC_ALL"] = "C", ["LANG"] = "C", ["LIBVIRT_DEFAULT_URI"] = null };

    private ProcessSpec VirshSpec(params string[] args) =>
        new("virsh", _provider.Virsh.Args(args)) { Environment = CLocale, Timeout = Options.CommandTimeout };

    private ProcessSpec Tool(string file, IEnumerable<string> args, TimeSpan? timeout = null) =>
        new(file, args) { Environment = CLocale, Timeout = timeout ?? Options.CommandTimeout };

    private async Task<ProcessResult> Run(string name, CancellationToken ct, ProcessSpec spec)
    {
        var r = await _run(spec, ct).ConfigureAwait(false);
        if (!r.Success) throw Virsh.Failed(r, name);
        return r;
    }

    /// <summary>(format, virtual-size) of <c>qemu-img info --output=json</c>.</summary>
    public static (string? Format, long? VirtualSize) ParseInfo(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement.ValueKind == JsonValueKind.Array ? doc.RootElement[0] : doc.RootElement;
            var format = root.TryGetProperty("format", out var f) ? f.GetString() : null;
            long? size = root.TryGetProperty("virtual-size", out var v) && v.TryGetInt64(out var n) ? n : null;
            return (format is { Length: > 0 } && format.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-') ? format : null, size);
        }
        catch (JsonException)
        {
            return (null, null);
        }
    }

    /// <summary>The last <see cref="ExitMarker"/> code in the console output; null when the guest never reported.</summary>
    public static int? ParseExitCode(string console)
    {
        var m = Regex.Matches(console, Regex.Escape(ExitMarker) + "([0-9]{1,3})");
        return m.Count == 0 ? null : int.Parse(m[^1].Groups[1].Value, CultureInfo.InvariantCulture);
    }

    private static string ExistingFile(string path, string what, string name)
    {
        if (string.IsNullOrWhiteSpace(path) || path.Any(char.IsControl)) throw Invalid(name, $"The {what} path is empty or contains control characters.");
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"The {what} '{full}' does not exist.", name);
        return full;
    }

    private static SwarmException Invalid(string name, string message) => new(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, message, name);

    private static string ReadText(string path)
    {
        try { return File.Exists(path) ? File.ReadAllText(path) : ""; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return ""; }
    }

    private static string? LastLine(string path)
    {
        var line = ReadText(path).Split('\n').Select(l => new string(l.Where(c => !char.IsControl(c)).ToArray()).Trim()).LastOrDefault(l => l.Length > 0);
        return line is null ? null : line.Length > 100 ? line[..100] + "..." : line;
    }

    private void KeepLog(string serial, string kept)
    {
        try
        {
            if (!File.Exists(serial)) return;
            SwarmHome.EnsurePrivateDirectory(_home.Path);
            Directory.CreateDirectory(_home.LogsPath);
            File.Copy(serial, kept, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
    }

    private static void TryDelete(string path)
    {
        try { if (File.Exists(path)) File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
