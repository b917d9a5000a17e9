using System.Diagnostics;
using System.Net.Sockets;
using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Providers;
using SwarmPS.Core.Providers.Kvm;
using SwarmPS.Tests.Contract;
using Xunit;

namespace SwarmPS.Tests.Kvm;

/// <summary>
/// A real guest under libvirt/QEMU: the tiny Linux guest that <c>.ci/backends/tiny-guest.sh build</c> makes
/// (Debian kernel + busybox/dropbear initramfs, direct kernel boot, an ext2 base disk mounted at /data).
/// Its init applies SwarmPS's per-environment NoCloud seed, so SSH works only with the key SwarmPS made.
/// Artifacts: $SWARMPS_TINYGUEST_DIR (default /tmp/swarmps-backends/tinyguest/out). Skipped loudly when
/// libvirt or the artifacts are missing; SWARMPS_REQUIRE_BACKENDS=1 makes that a failure.
/// TCG on a loaded 2-core machine is slow: every wait is generous.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class KvmTinyGuestTests : IDisposable
{
    private readonly string _home = Path.Combine(Path.GetTempPath(), "swarmps-kvmtg-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly List<string> _progress = new();

    public static string ArtifactDirectory =>
        Environment.GetEnvironmentVariable("SWARMPS_TINYGUEST_DIR") is { Length: > 0 } d ? d : "/tmp/swarmps-backends/tinyguest/out";

    private static readonly Lazy<string?> Skip = new(() =>
    {
        var a = new KvmProvider(new KvmOptions()).CheckAvailabilityAsync(default).GetAwaiter().GetResult();
        if (!a.Available) return "KVM provider: " + a.Reason;
        if (CloudInitSeed.FindIsoTool() is null) return "KVM provider: genisoimage/xorriso is not installed (cloud-init seeds).";
        foreach (var f in new[] { "vmlinuz", "initrd.img", "base.qcow2", "cmdline" })
            if (!File.Exists(Path.Combine(ArtifactDirectory, f)))
                return $"tiny guest not built ({Path.Combine(ArtifactDirectory, f)} missing): bash .ci/backends/tiny-guest.sh build";
        return null;
    });

    private static KvmProvider Provider(TimeSpan readiness) => new(new KvmOptions
    {
        ReadinessTimeout = readiness, AddressTimeout = readiness, SshTimeout = readiness,
        ShutdownTimeout = TimeSpan.FromSeconds(90), CommandTimeout = TimeSpan.FromSeconds(120),
        DomainType = Environment.GetEnvironmentVariable("SWARMPS_KVM_DOMAIN_TYPE") ?? "auto",
    });

    private SwarmService Service(KvmProvider provider) =>
        new(new SwarmHome(_home), new SwarmConfig(), new ProviderCatalog(new IEnvironmentProvider[] { provider }, provider.Name));

    private async Task RegisterTinyAsync(SwarmService s)
    {
        var d = ArtifactDirectory;
        await new KvmImages(s.Registry).RegisterAsync("tiny", Path.Combine(d, "base.qcow2"), "tiny guest (busybox + dropbear)", cpus: 1, memoryMb: 256,
            kernel: Path.Combine(d, "vmlinuz"), initrd: Path.Combine(d, "initrd.img"), cmdline: File.ReadAllText(Path.Combine(d, "cmdline")).Trim());
    }

    private sealed class Recorder(List<string> sink) : IProgress<SwarmProgress>
    {
        public void Report(SwarmProgress value) { lock (sink) sink.Add(value.Status); }
    }

    [Fact]
    public async Task A_tiny_guest_becomes_ready_runs_commands_listens_on_its_ports_and_reverts_its_disk()
    {
        if (Backends.Missing(Skip.Value)) return;
        var provider = Provider(TimeSpan.FromMinutes(6));
        var s = Service(provider);
        await RegisterTinyAsync(s);
        var ticket = "kt-" + Guid.NewGuid().ToString("N")[..6];
        var domain = KvmProvider.DomainName(s.Home, ticket);

        // create -> ready: an address (lease/agent/arp) and a working SSH login, with progress
        var sw = Stopwatch.StartNew();
        var env = await s.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = ticket, Provider = "kvm", Image = "tiny" }, new Recorder(_progress));
        var readyAfter = sw.Elapsed;
        env.Status.Should().Be(EnvironmentStatus.Running);
        env.Address.Should().MatchRegex(@"^\d+\.\d+\.\d+\.\d+$");
        lock (_progress) _progress.Should().Contain(p => p.Contains("waiting for SSH", StringComparison.Ordinal));
        Console.Error.WriteLine($"tiny guest {ticket}: ready at {env.Address} after {readyAfter.TotalSeconds:0.0} s");

        // connection: host, port, user, key (0600), per-environment known_hosts holding the guest's key
        var c = await s.GetConnectionAsync(ticket);
        c.Host.Should().Be(env.Address);
        c.Port.Should().Be(22);
        c.User.Should().Be("root");
        File.Exists(c.KeyPath).Should().BeTrue();
        File.GetUnixFileMode(c.KeyPath!).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.ReadAllText(c.KnownHostsPath!).Should().Contain(domain);

        // exec: the seed's hostname, argument-safe quoting, exit codes as data, stdin
        var uname = await s.ExecAsync(ticket, new[] { "uname", "-n" });
        uname.ExitCode.Should().Be(0);
        uname.StandardOutput.Trim().Should().Be(ticket);
        var hostile = "a'b \"c\" $(id) `x` ; * \\";
        (await s.ExecAsync(ticket, new[] { "printf", "%s", hostile })).StandardOutput.Should().Be(hostile);
        (await s.ExecAsync(ticket, new[] { "sh", "-c", "exit 7" })).ExitCode.Should().Be(7);
        (await s.ExecAsync(ticket, new[] { "cat" }, "from stdin\n")).StandardOutput.Should().Be("from stdin\n");

        // the port block arrived through the seed (/etc/swarm/env) and on exec's command line
        var port = env.Ports.Start;
        (await s.ExecAsync(ticket, new[] { "cat", "/etc/swarm/env" })).StandardOutput.Should().Contain($"SWARM_PORT_BASE='{port}'");
        (await s.ExecAsync(ticket, new[] { "sh", "-c", "echo $SWARM_PORT_BASE" })).StandardOutput.Trim().Should().Be(port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        // a process listening on the first port of the block, reached from the host
        var listen = await s.ExecAsync(ticket, new[] { "sh", "-c", "setsid nc -l -p \"$SWARM_PORT_BASE\" -e echo hello-from-guest </dev/null >/dev/null 2>&1 & echo started" });
        listen.StandardOutput.Should().Contain("started");
        (await ReadBannerAsync(env.Address!, port)).Should().Contain("hello-from-guest");

        // checkpoint -> write a file on the guest's disk -> restore while running -> the file is gone
        await s.CheckpointAsync(ticket, "clean");
        (await s.ExecAsync(ticket, new[] { "sh", "-c", "echo after > /data/proof && sync && cat /data/proof" })).StandardOutput.Should().Be("after\n");
        var restoring = Stopwatch.StartNew();
        await s.RestoreAsync(ticket, "clean");
        Console.Error.WriteLine($"tiny guest {ticket}: restore (running) + SSH back in {restoring.Elapsed.TotalSeconds:0.0} s");
        (await s.GetEnvironmentsAsync()).Single(e => e.Ticket == ticket).Status.Should().Be(EnvironmentStatus.Running);
        var gone = await s.ExecAsync(ticket, new[] { "sh", "-c", "test -e /data/proof && echo present || echo absent; grep -q \" /data \" /proc/mounts && echo mounted" });
        gone.StandardOutput.Should().Be("absent\nmounted\n");

        // the agent path: ssh argv with the prompt copied into the guest
        var plan = provider.PlanAgentLaunch(s.GetEnvironment(ticket), new[] { "cat", "/host/run/prompt.txt" },
            new Dictionary<string, string> { ["SWARM_PROMPT_FILE"] = "/host/run/prompt.txt", ["SWARM_AGENT_ID"] = "a1", ["SWARM_AGENT_RUN"] = "1", [KvmProvider.PromptDeliveryVariable] = "file" });
        plan.PromptOnStandardInput.Should().BeTrue();
        var agent = await Run(plan.FileName, plan.Arguments, "prompt 'with' $quotes\n");
        agent.Code.Should().Be(0);
        agent.Output.Should().Be("prompt 'with' $quotes\n");

        // a real agent run (detached supervisor -> ssh -> the guest): the command profile gets the prompt on
        // stdin and in SWARM_PROMPT_FILE, both inside the guest
        var agents = new SwarmPS.Core.Agents.AgentService(s);
        var prompt = "line one\n'quoted' $HOME `x`\n";
        var started = await agents.StartAsync(new SwarmPS.Core.Agents.AgentStartRequest
        {
            Ticket = ticket, Profile = "command", Prompt = prompt,
            Command = new[] { "sh", "-c", "cat; echo \"--$(uname -n)--\"; cat \"$SWARM_PROMPT_FILE\"" },
        });
        var done = (await agents.WaitAsync(new[] { started.Id }, TimeSpan.FromMinutes(3), any: false)).Single();
        var output = string.Concat(agents.ReadOutput(started.Id, raw: true).Where(o => o.Stream == "stdout").Select(o => o.Text + "\n"));
        done.Status.Should().Be(SwarmPS.Core.Agents.AgentStatus.Succeeded, output);
        output.Should().Be(prompt + "--" + ticket + "--\n" + prompt);
        (await s.ExecAsync(ticket, new[] { "sh", "-c", "ls /tmp/swarmps-root/prompts | grep -c '^" + started.Id + "-' || true" })).StandardOutput.Trim()
            .Should().Be("0", "the prompt copy and pid file are deleted when the agent ends");
        var failing = await agents.StartAsync(new SwarmPS.Core.Agents.AgentStartRequest { Ticket = ticket, Profile = "command", Prompt = "p", Command = new[] { "sh", "-c", "exit 3" } });
        (await agents.WaitAsync(new[] { failing.Id }, TimeSpan.FromMinutes(3), any: false)).Single().Status.Should().Be(SwarmPS.Core.Agents.AgentStatus.Failed, "the agent's exit code reaches the host");

        // stopping an agent stops it inside the guest too (the ssh client alone would leave it running)
        var sleeper = await agents.StartAsync(new SwarmPS.Core.Agents.AgentStartRequest
        {
            Ticket = ticket, Profile = "command", Prompt = "p", Command = new[] { "sh", "-c", "sleep 4242 & wait" },
        });
        var seen = false;
        for (var i = 0; i < 60 && !seen; i++)
        {
            seen = (await s.ExecAsync(ticket, new[] { "sh", "-c", "ps | grep -v grep | grep -c 'sleep 4242' || true" })).StandardOutput.Trim() != "0";
            if (!seen) await Task.Delay(500);
        }
        seen.Should().BeTrue("the agent runs inside the guest");
        (await agents.StopAsync(sleeper.Id)).Status.Should().Be(SwarmPS.Core.Agents.AgentStatus.Stopped);
        (await s.ExecAsync(ticket, new[] { "sh", "-c", "ps | grep -v grep | grep -c 'sleep 4242' || true" })).StandardOutput.Trim().Should().Be("0");

        // stop (ACPI, the guest's acpid powers off) -> remove -> nothing of ours left
        sw.Restart();
        (await s.StopEnvironmentAsync(ticket)).Status.Should().Be(EnvironmentStatus.Stopped);
        Console.Error.WriteLine($"tiny guest {ticket}: ACPI stop in {sw.Elapsed.TotalSeconds:0.0} s");
        sw.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(90), "the guest handles the ACPI power button");
        await s.RemoveEnvironmentAsync(ticket);
        (await LeftoversAsync(provider, domain)).Should().BeEmpty();
        File.Exists(Path.Combine(ArtifactDirectory, "base.qcow2")).Should().BeTrue("remove never touches the base image");
    }

    [Fact]
    public async Task No_wait_returns_once_the_domain_runs_and_start_waits_for_ssh_later()
    {
        if (Backends.Missing(Skip.Value)) return;
        var provider = Provider(TimeSpan.FromMinutes(6));
        var s = Service(provider);
        await RegisterTinyAsync(s);
        var ticket = "kw-" + Guid.NewGuid().ToString("N")[..6];
        var domain = KvmProvider.DomainName(s.Home, ticket);
        var env = await s.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = ticket, Provider = "kvm", Image = "tiny" }.WithOption(KvmProvider.OptionNoWait, "true"));
        env.Status.Should().Be(EnvironmentStatus.Running);
        env.Address.Should().BeNullOrEmpty("no readiness was awaited");
        KvmContractFixtureVirsh("domstate", domain).Output.Trim().Should().Be("running");
        // the SSH step of readiness: with a key the guest does not know, start fails with ReadinessTimeout naming
        // the address, the user, the key and what to check (the VM keeps running; the row is untouched)
        var key = env.Metadata["key"];
        var goodKey = File.ReadAllBytes(key);
        var goodPub = File.ReadAllBytes(key + ".pub");
        File.Delete(key);
        File.Delete(key + ".pub");
        (await Run("ssh-keygen", new[] { "-q", "-t", "ed25519", "-N", "", "-f", key }, "")).Code.Should().Be(0);
        var impatient = new KvmProvider(new KvmOptions
        {
            ReadinessTimeout = TimeSpan.FromMinutes(6), AddressTimeout = TimeSpan.FromMinutes(6), SshTimeout = TimeSpan.FromSeconds(10),
            CommandTimeout = TimeSpan.FromSeconds(120), DomainType = Environment.GetEnvironmentVariable("SWARMPS_KVM_DOMAIN_TYPE") ?? "auto",
        });
        var wrongKey = () => Service(impatient).StartEnvironmentAsync(ticket);
        var sshEx = (await wrongKey.Should().ThrowAsync<SwarmException>()).Which;
        sshEx.ErrorId.Should().Be(ErrorIds.ReadinessTimeout);
        sshEx.Message.Should().Contain("ssh root@").And.Contain(key).And.Contain("did not work within").And.Contain("NoCloud seed");
        File.WriteAllBytes(key, goodKey);
        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllBytes(key + ".pub", goodPub);
        s.Registry.GetEnvironment(ticket)!.Status.Should().Be(EnvironmentStatus.Running);

        // a forced stop skips ACPI; start then waits for readiness and records the address
        var forced = Stopwatch.StartNew();
        (await s.StopEnvironmentAsync(ticket, force: true)).Status.Should().Be(EnvironmentStatus.Stopped);
        forced.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(30), "a forced stop does not wait for the guest");
        KvmContractFixtureVirsh("domstate", domain).Output.Trim().Should().Be("shut off");
        var started = await s.StartEnvironmentAsync(ticket);
        started.Address.Should().NotBeNullOrEmpty();
        (await s.ExecAsync(ticket, new[] { "hostname" })).StandardOutput.Trim().Should().Be(ticket);
        await s.RemoveEnvironmentAsync(ticket, new RemoveOptions { Force = true });
        (await LeftoversAsync(provider, domain)).Should().BeEmpty();
    }

    [Fact]
    public async Task Readiness_timeout_names_what_did_not_come_up_and_leaves_nothing()
    {
        if (Backends.Missing(Skip.Value)) return;
        // A guest that never gets an address: the tiny kernel with an initrd that is no initramfs panics
        // (panic=-1 reboots it, again and again), so no lease, no agent, no ARP entry.
        var provider = Provider(TimeSpan.FromSeconds(8));
        var s = Service(provider);
        var broken = Path.Combine(_home, "not-an-initrd.img");
        Directory.CreateDirectory(_home);
        File.WriteAllText(broken, "this is not an initramfs\n");
        File.SetUnixFileMode(_home, (UnixFileMode)0x1ED);
        var d = ArtifactDirectory;
        await new KvmImages(s.Registry).RegisterAsync("broken", Path.Combine(d, "base.qcow2"), cpus: 1, memoryMb: 128,
            kernel: Path.Combine(d, "vmlinuz"), initrd: broken, cmdline: "console=ttyS0 panic=-1");
        var ticket = "kr-" + Guid.NewGuid().ToString("N")[..6];
        var create = () => s.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = ticket, Provider = "kvm", Image = "broken" });
        var ex = (await create.Should().ThrowAsync<SwarmException>()).Which;
        ex.ErrorId.Should().Be(ErrorIds.ReadinessTimeout);
        ex.Message.Should().Contain("no IPv4 address").And.Contain("domifaddr").And.Contain("serial.log").And.Contain("readinessTimeoutSeconds");
        s.Registry.GetEnvironment(ticket).Should().BeNull();
        (await LeftoversAsync(provider, KvmProvider.DomainName(s.Home, ticket))).Should().BeEmpty();
    }

    private static async Task<string> ReadBannerAsync(string host, int port)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(host, port).WaitAsync(TimeSpan.FromSeconds(10));
                using var reader = new StreamReader(client.GetStream());
                return await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(20));
            }
            catch (Exception e) when (e is SocketException or TimeoutException or IOException && DateTime.UtcNow < deadline)
            {
                await Task.Delay(500);
            }
        }
    }

    private static async Task<(int Code, string Output)> Run(string file, IEnumerable<string> args, string stdin)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        await p.StandardInput.WriteAsync(stdin);
        p.StandardInput.Close();
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        return (p.ExitCode, await o + await e);
    }

    private static (int Code, string Output) KvmContractFixtureVirsh(params string[] args) => KvmFixture.Virsh(args);

    /// <summary>Only our names: other engineers and test classes use the same libvirt concurrently.</summary>
    private async Task<IReadOnlyList<string>> LeftoversAsync(KvmProvider provider, string domain)
    {
        var left = new List<string>();
        var (_, names) = KvmFixture.Virsh("list", "--all", "--name");
        left.AddRange(names.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(n => n.Trim() == domain).Select(n => "domain " + n.Trim()));
        var pool = await provider.PoolDirectoryAsync(default);
        left.AddRange(Directory.EnumerateFiles(pool).Where(f => Path.GetFileName(f).StartsWith(domain, StringComparison.Ordinal)));
        var keys = Path.Combine(_home, "kvm", "keys");
        if (Directory.Exists(keys)) left.AddRange(Directory.EnumerateFiles(keys).Where(f => Path.GetFileName(f).StartsWith(domain, StringComparison.Ordinal)));
        return left;
    }

    public void Dispose()
    {
        if (Skip.Value is null && Directory.Exists(_home))
        {
            var s = Service(Provider(TimeSpan.FromSeconds(5)));
            foreach (var e in s.Registry.ListEnvironments())
                try { s.RemoveEnvironmentAsync(e.Ticket, new RemoveOptions { Force = true }).GetAwaiter().GetResult(); } catch (SwarmException) { }
            try { s.RepairAsync(fix: true).GetAwaiter().GetResult(); } catch (SwarmException) { }
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { if (Directory.Exists(_home)) Directory.Delete(_home, true); } catch (IOException) { }
    }
}
