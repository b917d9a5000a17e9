using System.Security.Cryptography;
using System.Xml.Linq;
using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Processes;
using SwarmPS.Core.Providers.Kvm;
using SwarmPS.Core.Registry;
using SwarmPS.Tests.Contract;
using Xunit;

namespace SwarmPS.Tests.Kvm;

/// <summary>
/// A virsh / qemu-img / genisoimage stand-in that replays recorded outputs (LC_ALL=C, libvirt 9) and acts on
/// files the way the real tools do (convert writes the output, genisoimage the ISO, start makes the serial log).
/// It captures what the seed and the domain XML contained at the time they were used.
/// </summary>
internal sealed class RecordedKvmHost
{
    public string Pool { get; }
    public List<ProcessSpec> Calls { get; } = new();
    public Dictionary<string, string> SeedFiles { get; } = new();
    public string? DefinedXml { get; private set; }
    /// <summary>domstate answers after start: "running" this many times, then "shut off".</summary>
    public int RunningPolls { get; set; } = 2;
    /// <summary>What the guest writes to its serial console before it powers off.</summary>
    public string Console { get; set; } = "[    0.000000] Linux version 6.1.0-27-amd64\r\nCloud-init v. 22.4.2 running 'modules:final'\r\nSWARMPS-PROVISION-EXIT=0\r\nreboot: Power down\r\n";
    public bool Defined { get; private set; }
    public bool Started { get; private set; }
    public int Undefines { get; private set; }
    public int Destroys { get; private set; }
    private int _polls;
    private string? _serial;

    public RecordedKvmHost(string pool) => Pool = pool;

    private static ProcessResult R(ProcessSpec s, int code = 0, string stdout = "", string stderr = "") => new() { Spec = s, ExitCode = code, StandardOutput = stdout, StandardError = stderr };

    public Task<ProcessResult> Run(ProcessSpec s, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        Calls.Add(s);
        s.Environment.Should().Contain(new KeyValuePair<string, string?>("LC_ALL", "C"));
        var a = s.Arguments;
        if (s.FileName == "qemu-img")
        {
            switch (a[0])
            {
                case "info": return Task.FromResult(R(s, 0, "{\n    \"virtual-size\": 2147483648,\n    \"filename\": \"" + a[^1] + "\",\n    \"format\": \"qcow2\",\n    \"actual-size\": 331407360\n}\n"));
                case "convert": File.WriteAllText(a[^1], "QFI\u00fb converted"); return Task.FromResult(R(s));
                case "resize": return Task.FromResult(R(s, 0, "Image resized.\n"));
            }
        }
        if (s.FileName is "genisoimage" or "mkisofs" or "xorriso")
        {
            foreach (var f in a.Where(File.Exists)) SeedFiles[Path.GetFileName(f)] = File.ReadAllText(f);
            File.WriteAllText(a[a.ToList().IndexOf("-output") + 1], "ISO");
            return Task.FromResult(R(s));
        }
        if (s.FileName == "virsh")
        {
            a.Take(3).Should().Equal("-q", "-c", "qemu:///system");
            var domain = a.Count > 4 ? a[4] : "";
            switch (a[3])
            {
                case "pool-dumpxml": return Task.FromResult(R(s, 0, $"<pool type='dir'>\n  <name>swarmps</name>\n  <target>\n    <path>{Pool}</path>\n  </target>\n</pool>\n\n"));
                case "pool-info": return Task.FromResult(R(s, 0, "Name:           swarmps\nState:          running\nAutostart:      no\n\n"));
                case "domstate":
                    if (!Defined) return Task.FromResult(R(s, 1, "", $"error: failed to get domain '{domain}'\n"));
                    if (!Started) return Task.FromResult(R(s, 0, "shut off\n\n"));
                    if (_polls++ < RunningPolls) return Task.FromResult(R(s, 0, "running\n\n"));
                    File.WriteAllText(_serial!, Console);
                    Started = false;
                    return Task.FromResult(R(s, 0, "shut off\n\n"));
                case "define":
                    DefinedXml = File.ReadAllText(a[4]);
                    _serial = XDocument.Parse(DefinedXml).Descendants("serial").Single().Element("source")!.Attribute("path")!.Value;
                    Defined = true;
                    return Task.FromResult(R(s, 0, $"Domain '{XDocument.Parse(DefinedXml).Root!.Element("name")!.Value}' defined from {a[4]}\n\n"));
                case "start": Started = true; File.WriteAllText(_serial!, "[    0.000000] Linux version 6.1.0-27-amd64\r\n"); return Task.FromResult(R(s, 0, $"Domain '{domain}' started\n\n"));
                case "destroy": Destroys++; Started = false; return Task.FromResult(R(s, 0, $"Domain '{domain}' destroyed\n\n"));
                case "undefine": Undefines++; Defined = false; return Task.FromResult(R(s, 0, $"Domain '{domain}' has been undefined\n\n"));
            }
        }
        throw new InvalidOperationException("unexpected call: " + s.Display);
    }

    public int IndexOf(string file, string sub) => Calls.FindIndex(c => c.FileName == file && c.Arguments.Contains(sub));
}

/// <summary>The build flow against recorded tool outputs: seed content, domain XML, power-off wait, register, cleanup on failure, timeout and cancel.</summary>
public sealed class KvmImageBuilderTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "swarmps-kib-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly SwarmHome _home;
    private readonly SwarmRegistry _registry;
    private readonly RecordedKvmHost _host;
    private readonly string _source;
    private readonly string _script;
    private readonly List<SwarmProgress> _progress = new();

    /// <summary>Text a naive template would break: YAML syntax, quotes, shell expansions, a here-doc end, non-ASCII.</summary>
    private const string HostileScript = "#!/bin/bash\nset -euo pipefail\n# runcmd: [ \"rm -rf /\" ]\necho \"$(whoami)\" '\"' `id` ${HOME}\ncat <<'EOF'\n---\nkey: value\n  - item\nEOF\necho 'ünïcødé' && exit 0\n";

    public KvmImageBuilderTests()
    {
        Directory.CreateDirectory(Path.Combine(_root, "pool"));
        _home = new SwarmHome(Path.Combine(_root, "home"));
        _home.EnsureCreated();
        _registry = SwarmRegistry.Open(_home);
        _host = new RecordedKvmHost(Path.Combine(_root, "pool"));
        _source = Path.Combine(_root, "debian-12-genericcloud-amd64.qcow2");
        File.WriteAllText(_source, "QFI\u00fb original cloud image");
        _script = Path.Combine(_root, "setup-base.sh");
        File.WriteAllText(_script, HostileScript);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_root, true); } catch (IOException) { }
    }

    private KvmImageBuilder Builder() => new(_registry, _home, new KvmProvider(new KvmOptions { DomainType = "qemu" }), _host.Run) { PollInterval = TimeSpan.FromMilliseconds(10) };

    private KvmImageBuildRequest Request(TimeSpan? timeout = null, string? script = "") => new()
    {
        Name = "deb12-dev", From = _source, ProvisionScript = script == "" ? _script : script, OsNote = "Debian 12 + dev tools", MemoryMb = 8192, Cpus = 4,
        Timeout = timeout ?? TimeSpan.FromMinutes(5),
    };

    private Progress Sink() => new(_progress);
    private sealed class Progress(List<SwarmProgress> list) : IProgress<SwarmProgress> { public void Report(SwarmProgress value) { lock (list) list.Add(value); } }

    private string Final => Path.Combine(_host.Pool, KvmImageBuilder.ImageFileName(_home, "deb12-dev"));
    private string Domain => KvmImageBuilder.BuilderDomainName(_home, "deb12-dev");

    private void NothingLeft()
    {
        Directory.EnumerateFiles(_host.Pool).Should().BeEmpty("the partial image, the seed and the serial log are removed");
        _host.Defined.Should().BeFalse("the builder domain is undefined");
        _registry.GetBaseImage("deb12-dev").Should().BeNull();
        File.ReadAllText(_source).Should().Be("QFI\u00fb original cloud image");
    }

    [Fact]
    public async Task Builds_registers_and_leaves_only_the_image()
    {
        var image = await Builder().BuildAsync(Request(), Sink());

        image.Name.Should().Be("deb12-dev");
        image.Provider.Should().Be("kvm");
        image.Path.Should().Be(Final);
        image.Cpus.Should().Be(4);
        image.MemoryMb.Should().Be(8192);
        image.DiskGb.Should().Be(20);
        image.OsNote.Should().Be("Debian 12 + dev tools");
        _registry.RequireBaseImage("deb12-dev").Path.Should().Be(Final);
        File.Exists(Final).Should().BeTrue();
        Directory.EnumerateFiles(_host.Pool).Should().Equal(Final);
        File.ReadAllText(_source).Should().Be("QFI\u00fb original cloud image", "the source is never modified");
        _host.Defined.Should().BeFalse();
        _host.Undefines.Should().Be(1);

        // source read-only (-U), converted into the pool, grown to 20 GiB (the source is 2 GiB)
        var convert = _host.Calls.Single(c => c.FileName == "qemu-img" && c.Arguments[0] == "convert");
        convert.Arguments.Should().Equal("convert", "-U", "-f", "qcow2", "-O", "qcow2", _source, Final + ".partial");
        _host.Calls.Single(c => c.Arguments[0] == "resize").Arguments.Should().Equal("resize", "-f", "qcow2", Final + ".partial", "20G");
        _host.IndexOf("qemu-img", "convert").Should().BeLessThan(_host.IndexOf("virsh", "define"));
        _host.IndexOf("virsh", "define").Should().BeLessThan(_host.IndexOf("virsh", "start"));
        _host.IndexOf("virsh", "start").Should().BeLessThan(_host.IndexOf("virsh", "undefine"));
        _host.Calls.Count(c => c.Arguments.Contains("domstate")).Should().BeGreaterThan(3, "the state is polled until shut off");
        _progress.Should().Contain(p => p.Status.Contains("provisioning in " + Domain) && p.PercentComplete >= 40);
        _progress.Last().Completed.Should().BeTrue();
    }

    [Fact]
    public async Task The_script_goes_into_the_seed_as_a_file_and_never_into_the_user_data()
    {
        await Builder().BuildAsync(Request());

        _host.SeedFiles.Keys.Should().BeEquivalentTo("user-data", "meta-data", "provision.sh");
        _host.SeedFiles["provision.sh"].Should().Be(HostileScript, "byte for byte");
        var userData = _host.SeedFiles["user-data"];
        userData.Should().Be(KvmImageBuilder.UserData());
        userData.Should().StartWith("#cloud-config\n").And.NotContain("whoami").And.NotContain("rm -rf").And.NotContain("ünïcødé");
        userData.Should().Contain("runcmd:\n  - [\"/bin/sh\", \"/var/lib/swarmps/build-wrapper.sh\"]").And.Contain("power_state:\n  mode: poweroff");
        _host.SeedFiles["meta-data"].Should().Contain("instance-id: \"" + Domain + "-").And.Contain("local-hostname: \"swarmps-build\"");
        var iso = _host.Calls.Single(c => c.FileName is "genisoimage" or "mkisofs" or "xorriso").Arguments;
        iso.Should().Contain("cidata");
    }

    [Fact]
    public void The_wrapper_inside_the_user_data_round_trips_as_yaml_text()
    {
        // The content is one JSON-quoted scalar: decode it the way a YAML parser reads a double-quoted string.
        var line = KvmImageBuilder.UserData().Split('\n').Single(l => l.TrimStart().StartsWith("content: ", StringComparison.Ordinal));
        var decoded = System.Text.Json.JsonSerializer.Deserialize<string>(line.TrimStart()["content: ".Length..]);
        decoded.Should().Be(KvmImageBuilder.Wrapper.Replace("\r\n", "\n") + "\n");
        decoded.Should().StartWith("#!/bin/sh\n").And.Contain("blkid -L cidata").And.Contain("SWARMPS-PROVISION-EXIT=$rc").And.Contain(": > /etc/machine-id");
    }

    [Fact]
    public async Task The_builder_domain_boots_the_partial_image_with_the_seed_and_is_not_labelled_as_an_environment()
    {
        await Builder().BuildAsync(Request());
        var x = XDocument.Parse(_host.DefinedXml!).Root!;
        x.Attribute("type")!.Value.Should().Be("qemu");
        x.Element("name")!.Value.Should().Be(Domain).And.StartWith("swarmbuild-");
        x.Element("description")!.Value.Should().Be("SwarmPS base image build deb12-dev");
        x.Element("metadata").Should().BeNull("repair must never take the builder for an environment");
        x.Element("on_poweroff")!.Value.Should().Be("destroy");
        var disks = x.Descendants("disk").ToList();
        disks[0].Element("source")!.Attribute("file")!.Value.Should().Be(Final + ".partial");
        disks[1].Attribute("device")!.Value.Should().Be("cdrom");
        disks[1].Element("source")!.Attribute("file")!.Value.Should().Be(Path.Combine(_host.Pool, Domain + "-seed.iso"));
        x.Element("memory")!.Value.Should().Be("2048");
        x.Descendants("interface").Single().Element("source")!.Attribute("network")!.Value.Should().Be("default");
    }

    [Fact]
    public async Task Without_a_script_the_seed_has_no_provision_file()
    {
        await Builder().BuildAsync(Request(script: null));
        _host.SeedFiles.Keys.Should().BeEquivalentTo("user-data", "meta-data");
        _registry.RequireBaseImage("deb12-dev").OsNote.Should().Be("Debian 12 + dev tools");
    }

    [Fact]
    public async Task A_timeout_destroys_and_undefines_the_builder_and_keeps_the_console_log()
    {
        _host.RunningPolls = int.MaxValue;
        var act = () => Builder().BuildAsync(Request(TimeSpan.FromMilliseconds(300)), Sink());
        var ex = (await act.Should().ThrowAsync<SwarmException>()).Which;
        ex.ErrorId.Should().Be(ErrorIds.Timeout);
        ex.Message.Should().Contain("did not power off within").And.Contain(Domain).And.Contain("NoCloud").And.Contain("image-build-deb12-dev-serial.log");
        _host.Destroys.Should().Be(1);
        NothingLeft();
        File.ReadAllText(Path.Combine(_home.LogsPath, "image-build-deb12-dev-serial.log")).Should().Contain("Linux version");
    }

    [Fact]
    public async Task A_failing_script_fails_the_build_with_its_exit_code_and_registers_nothing()
    {
        _host.Console = "provision: E: Unable to locate package postgresql-15-pgvector\r\nSWARMPS-PROVISION-EXIT=100\r\n";
        var act = () => Builder().BuildAsync(Request());
        var ex = (await act.Should().ThrowAsync<SwarmException>()).Which;
        ex.ErrorId.Should().Be(ErrorIds.ProcessFailed);
        ex.Message.Should().Contain("exited with 100");
        _host.Destroys.Should().Be(0, "the VM is already off");
        NothingLeft();
        File.ReadAllText(Path.Combine(_home.LogsPath, "image-build-deb12-dev-serial.log")).Should().Contain("postgresql-15-pgvector");
    }

    [Fact]
    public async Task A_power_off_without_the_exit_marker_is_a_failure()
    {
        _host.Console = "reboot: Power down\r\n";
        var act = () => Builder().BuildAsync(Request());
        (await act.Should().ThrowAsync<SwarmException>()).Which.Message.Should().Contain("without reporting the provisioning result");
        NothingLeft();
    }

    [Fact]
    public async Task Cancelling_while_waiting_cleans_up()
    {
        _host.RunningPolls = int.MaxValue;
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var act = () => Builder().BuildAsync(Request(), null, cts.Token);
        (await act.Should().ThrowAsync<SwarmException>()).Which.Kind.Should().Be(SwarmErrorKind.Cancelled);
        NothingLeft();
    }

    [Fact]
    public async Task Bad_input_is_refused_before_any_process_runs()
    {
        _registry.AddBaseImage(new SwarmBaseImage { Name = "taken", Provider = "kvm", Path = "/x.qcow2" });
        var cases = new (KvmImageBuildRequest Request, string ErrorId)[]
        {
            (new() { Name = "../evil", From = _source }, ErrorIds.InvalidTicket),
            (new() { Name = "TAKEN", From = _source }, SwarmRegistry.ImageExists),
            (new() { Name = "n1", From = Path.Combine(_root, "missing.qcow2") }, ErrorIds.InvalidArgument),
            (new() { Name = "n2", From = _source, ProvisionScript = Path.Combine(_root, "missing.sh") }, ErrorIds.InvalidArgument),
            (new() { Name = "n3", From = _source, MemoryMb = 1 }, ErrorIds.InvalidArgument),
            (new() { Name = "n4", From = _source, SshUser = "root;id" }, ErrorIds.InvalidArgument),
            (new() { Name = "n5", From = _source, Timeout = TimeSpan.Zero }, ErrorIds.InvalidArgument),
        };
        foreach (var (request, id) in cases)
        {
            var act = () => Builder().BuildAsync(request);
            (await act.Should().ThrowAsync<SwarmException>()).Which.ErrorId.Should().Be(id, request.Name);
        }
        _host.Calls.Should().BeEmpty();
    }

    [Fact]
    public async Task An_existing_image_file_or_builder_domain_is_refused_before_anything_is_made()
    {
        File.WriteAllText(Final, "an earlier build");
        var act = () => Builder().BuildAsync(Request());
        (await act.Should().ThrowAsync<SwarmException>()).Which.ErrorId.Should().Be(SwarmRegistry.ImageExists);
        File.ReadAllText(Final).Should().Be("an earlier build");
        _host.Calls.Should().NotContain(c => c.Arguments.Contains("convert") || c.Arguments.Contains("define"));
    }

    [Theory]
    [InlineData("SWARMPS-PROVISION-EXIT=0\r\n", 0)]
    [InlineData("noise SWARMPS-PROVISION-EXIT=98\nSWARMPS-PROVISION-EXIT=3\n", 3)]
    [InlineData("SWARMPS-PROVISION-EXIT=\n", null)]
    [InlineData("", null)]
    public void The_exit_marker_is_the_last_one_on_the_console(string console, int? code) => KvmImageBuilder.ParseExitCode(console).Should().Be(code);

    [Fact]
    public void Qemu_img_info_is_parsed_and_odd_formats_are_refused()
    {
        KvmImageBuilder.ParseInfo("{\"virtual-size\": 2147483648, \"format\": \"raw\"}").Should().Be(("raw", 2147483648L));
        KvmImageBuilder.ParseInfo("{\"format\": \"-f evil\"}").Format.Should().BeNull();
        KvmImageBuilder.ParseInfo("not json").Should().Be((null, null));
    }
}

/// <summary>
/// The build against real libvirt/QEMU with boot-sector "cloud images" made at test time: one writes the exit
/// marker to COM1 and powers off through ACPI (PIIX4 PM1a_CNT at 0x604, as an OS would after provisioning),
/// one reports a failure, one halts and never powers off. No OS runs, so the seed's script is not executed;
/// what is real is the conversion, the seed ISO, define/start, the power-off wait, the console check,
/// undefine, register and the cleanup. Skipped loudly without libvirt.
/// </summary>
[Collection("kvm-image-build")]
public sealed class KvmImageBuilderLibvirtTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "swarmps-kibr-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly SwarmHome _home;
    private readonly List<string> _made = new();

    public KvmImageBuilderLibvirtTests()
    {
        Directory.CreateDirectory(_root);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(_root, (UnixFileMode)0x1ED);
        _home = new SwarmHome(Path.Combine(_root, "home"));
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var f in _made) try { File.Delete(f); } catch (IOException) { }
        try { Directory.Delete(_root, true); } catch (IOException) { }
    }

    private static string? SkipReason()
    {
        var a = new KvmProvider(new KvmOptions()).CheckAvailabilityAsync(default).GetAwaiter().GetResult();
        if (!a.Available) return "KVM provider: " + a.Reason;
        return CloudInitSeed.FindIsoTool() is null ? "KVM provider: genisoimage/xorriso is not installed (cloud-init seeds)." : null;
    }

    /// <summary>A raw 1 MiB disk whose boot sector prints <paramref name="console"/> to COM1, then powers off (or halts).</summary>
    private string BootSector(string console, bool powerOff)
    {
        var code = new List<byte> { 0xBA, 0xF8, 0x03 };                                          // mov dx,0x3f8
        foreach (var ch in console) code.AddRange(new byte[] { 0xB0, (byte)ch, 0xEE });          // mov al,ch ; out dx,al
        if (powerOff) code.AddRange(new byte[] { 0xBA, 0x04, 0x06, 0xB8, 0x00, 0x20, 0xEF });    // mov dx,0x604 ; mov ax,0x2000 (SLP_EN, S5) ; out dx,ax
        code.AddRange(new byte[] { 0xFA, 0xF4, 0xEB, 0xFD });                                    // cli ; hlt ; jmp hlt
        var raw = new byte[1024 * 1024];
        code.CopyTo(raw);
        raw[510] = 0x55; raw[511] = 0xAA;
        var path = Path.Combine(_root, "source-" + Guid.NewGuid().ToString("N")[..6] + ".img");
        File.WriteAllBytes(path, raw);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, (UnixFileMode)0x1A4);
        return path;
    }

    private KvmImageBuilder Builder(SwarmRegistry registry) => new(registry, _home, new KvmProvider(new KvmOptions
    {
        DomainType = Environment.GetEnvironmentVariable("SWARMPS_KVM_DOMAIN_TYPE") ?? "auto", CommandTimeout = TimeSpan.FromSeconds(60),
    })) { PollInterval = TimeSpan.FromMilliseconds(250) };

    private static string Hash(string f) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)));

    private void NoLeftovers(string name, string pool)
    {
        var domain = KvmImageBuilder.BuilderDomainName(_home, name);
        KvmFixture.Virsh("list", "--all", "--name").Output.Split('\n').Select(l => l.Trim()).Should().NotContain(domain);
        Directory.EnumerateFiles(pool).Where(f => Path.GetFileName(f).StartsWith(domain, StringComparison.Ordinal) ||
            Path.GetFileName(f).StartsWith(KvmImageBuilder.ImageFileName(_home, name), StringComparison.Ordinal)).Should().BeEmpty();
    }

    [Fact]
    public async Task Builds_a_real_image_from_a_raw_source_and_registers_it()
    {
        if (Backends.Missing(SkipReason())) return;
        _home.EnsureCreated();
        var registry = SwarmRegistry.Open(_home);
        var source = BootSector("BIOS noise\r\nSWARMPS-PROVISION-EXIT=0\r\n", powerOff: true);
        var script = Path.Combine(_root, "provision.sh");
        File.WriteAllText(script, "#!/bin/sh\necho \"$(id)\" > /tmp/x\n");
        var before = Hash(source);

        var image = await Builder(registry).BuildAsync(new KvmImageBuildRequest
        {
            Name = "bootsector-built", From = source, ProvisionScript = script, DiskGb = 1, BuildCpus = 1, BuildMemoryMb = 128, Timeout = TimeSpan.FromMinutes(3),
        });
        _made.Add(image.Path);

        Hash(source).Should().Be(before, "the source is only read");
        File.Exists(image.Path).Should().BeTrue();
        var pool = Path.GetDirectoryName(image.Path)!;
        var (code, info) = RunQemuImg("info", "--output=json", image.Path);
        code.Should().Be(0);
        KvmImageBuilder.ParseInfo(info).Should().Be(("qcow2", 1024L * 1024 * 1024));
        registry.RequireBaseImage("bootsector-built").Path.Should().Be(image.Path);
        KvmFixture.Virsh("list", "--all", "--name").Output.Should().NotContain(KvmImageBuilder.BuilderDomainName(_home, "bootsector-built"));
        Directory.EnumerateFiles(pool).Where(f => Path.GetFileName(f).StartsWith(KvmImageBuilder.BuilderDomainName(_home, "bootsector-built"), StringComparison.Ordinal)).Should().BeEmpty();
        File.Exists(image.Path + ".partial").Should().BeFalse();
    }

    [Fact]
    public async Task A_reported_failure_and_a_guest_that_never_powers_off_leave_nothing_behind()
    {
        if (Backends.Missing(SkipReason())) return;
        _home.EnsureCreated();
        var registry = SwarmRegistry.Open(_home);
        var builder = Builder(registry);
        var pool = await new KvmProvider().PoolDirectoryAsync(default);

        var failing = BootSector("provision: boom\r\nSWARMPS-PROVISION-EXIT=7\r\n", powerOff: true);
        var fail = () => builder.BuildAsync(new KvmImageBuildRequest { Name = "bs-fail", From = failing, DiskGb = 0, BuildCpus = 1, BuildMemoryMb = 128, Timeout = TimeSpan.FromMinutes(3) });
        (await fail.Should().ThrowAsync<SwarmException>()).Which.Message.Should().Contain("exited with 7");
        NoLeftovers("bs-fail", pool);
        File.ReadAllText(Path.Combine(_home.LogsPath, "image-build-bs-fail-serial.log")).Should().Contain("provision: boom");

        var hanging = BootSector("still booting\r\n", powerOff: false);
        var hang = () => builder.BuildAsync(new KvmImageBuildRequest { Name = "bs-hang", From = hanging, DiskGb = 0, BuildCpus = 1, BuildMemoryMb = 128, Timeout = TimeSpan.FromSeconds(4) });
        (await hang.Should().ThrowAsync<SwarmException>()).Which.ErrorId.Should().Be(ErrorIds.Timeout);
        NoLeftovers("bs-hang", pool);
        registry.ListBaseImages().Should().BeEmpty();
    }

    private static (int Code, string Output) RunQemuImg(params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("qemu-img") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, o);
    }
}
