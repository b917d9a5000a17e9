using System.Xml.Linq;
using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Providers;
using SwarmPS.Core.Providers.Kvm;
using SwarmPS.Core.Registry;
using Xunit;

namespace SwarmPS.Tests.Kvm;

/// <summary>Readiness, config, ssh and agent-plan logic of the KVM provider against recorded virsh outputs (no libvirt needed).</summary>
public sealed class KvmReadinessUnitTests
{
    [Fact]
    public void Addresses_come_from_lease_agent_or_arp_tables_and_skip_loopback()
    {
        // virsh 9 domifaddr --source lease
        Virsh.ParseFirstIPv4(" Name       MAC address          Protocol     Address\n-------------------------------------------------------------------------------\n vnet3      52:54:00:6e:1f:0a    ipv4         192.168.122.57/24\n\n")
            .Should().Be("192.168.122.57");
        // --source agent lists lo first; the way in is eth0
        Virsh.ParseFirstIPv4(" lo         00:00:00:00:00:00    ipv4         127.0.0.1/8\n -          -                    ipv6         ::1/128\n eth0       52:54:00:6e:1f:0a    ipv4         192.168.122.58/24\n")
            .Should().Be("192.168.122.58");
        // --source arp has no prefix length
        Virsh.ParseFirstIPv4(" vnet3      52:54:00:6e:1f:0a    ipv4         192.168.122.59/0\n").Should().Be("192.168.122.59");
        Virsh.ParseFirstIPv4(" eth0       52:54:00:6e:1f:0a    ipv4         169.254.3.4/16\n").Should().BeNull();
        Virsh.ParseFirstIPv4("").Should().BeNull();
        KvmProvider.AddressSources.Should().Equal("lease", "agent", "arp");
    }

    [Fact]
    public void Options_come_from_defaults_then_config_then_environment_variables()
    {
        var none = KvmOptions.Resolve(null, _ => null);
        none.Uri.Should().Be("qemu:///system");
        none.DefaultCpus.Should().Be(2);
        none.DefaultMemoryMb.Should().Be(4096);
        none.ReadinessTimeout.Should().Be(TimeSpan.FromMinutes(5));
        var cfg = new KvmConfig { Uri = "qemu+ssh://h/system", Pool = "p", PoolDirectory = "/pool", DomainType = "qemu", Cpus = 1, MemoryMb = 512, ReadinessTimeoutSeconds = 42, ShutdownTimeoutSeconds = 7, SshUser = "dev" };
        var fromConfig = KvmOptions.Resolve(cfg, _ => null);
        fromConfig.Uri.Should().Be("qemu+ssh://h/system");
        fromConfig.PoolName.Should().Be("p");
        fromConfig.PoolDirectory.Should().Be("/pool");
        fromConfig.DomainType.Should().Be("qemu");
        fromConfig.DefaultCpus.Should().Be(1);
        fromConfig.DefaultMemoryMb.Should().Be(512);
        fromConfig.ReadinessTimeout.Should().Be(TimeSpan.FromSeconds(42));
        fromConfig.SshTimeout.Should().Be(TimeSpan.FromSeconds(42));
        fromConfig.ShutdownTimeout.Should().Be(TimeSpan.FromSeconds(7));
        fromConfig.SshUser.Should().Be("dev");
        var env = new Dictionary<string, string> { ["SWARMPS_KVM_URI"] = "qemu:///session", ["SWARMPS_KVM_DOMAIN_TYPE"] = "kvm", ["SWARMPS_KVM_READINESS_TIMEOUT"] = "9" };
        var overridden = KvmOptions.Resolve(cfg, n => env.GetValueOrDefault(n));
        overridden.Uri.Should().Be("qemu:///session");
        overridden.DomainType.Should().Be("kvm");
        overridden.ReadinessTimeout.Should().Be(TimeSpan.FromSeconds(9));
        overridden.PoolName.Should().Be("p");
    }

    [Fact]
    public void The_default_catalog_reads_the_kvm_section_of_the_services_config()
    {
        var home = Path.Combine(Path.GetTempPath(), "swarmps-kvmcfg-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var service = new SwarmService(new SwarmHome(home), new SwarmConfig { Kvm = new KvmConfig { MemoryMb = 384, ShutdownTimeoutSeconds = 5 } });
            var kvm = (KvmProvider)service.Providers.Get("kvm");
            kvm.Options.DefaultMemoryMb.Should().Be(384);
            kvm.Options.ShutdownTimeout.Should().Be(TimeSpan.FromSeconds(5));
            // explicit options (tests, embedders) are never replaced by config
            var fixedOptions = new KvmProvider(new KvmOptions { DefaultMemoryMb = 64 });
            fixedOptions.Configure(new SwarmConfig { Kvm = new KvmConfig { MemoryMb = 999 } });
            fixedOptions.Options.DefaultMemoryMb.Should().Be(64);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (Directory.Exists(home)) Directory.Delete(home, true);
        }
    }

    [Theory]
    [InlineData("{\"kvm\": {\"domainType\": \"xen\"}}", "domainType")]
    [InlineData("{\"kvm\": {\"cpus\": 0}}", "cpus")]
    [InlineData("{\"kvm\": {\"readinessTimeoutSeconds\": 0}}", "readinessTimeoutSeconds")]
    [InlineData("{\"kvm\": {\"sshUser\": \"-oProxyCommand=x\"}}", "sshUser")]
    [InlineData("{\"kvm\": {\"uri\": \"-c\"}}", "uri")]
    public void Bad_kvm_config_is_refused_with_ConfigInvalid(string json, string field)
    {
        var home = Path.Combine(Path.GetTempPath(), "swarmps-kvmcfg-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(home);
        try
        {
            var h = new SwarmHome(home);
            File.WriteAllText(h.ConfigPath, json);
            var load = () => SwarmConfig.Load(h);
            load.Should().Throw<SwarmException>().Where(e => e.ErrorId == ErrorIds.ConfigInvalid && e.Message.Contains("kvm." + field));
        }
        finally { Directory.Delete(home, true); }
    }

    [Fact]
    public void A_kvm_config_section_is_read()
    {
        var home = Path.Combine(Path.GetTempPath(), "swarmps-kvmcfg-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(home);
        try
        {
            var h = new SwarmHome(home);
            File.WriteAllText(h.ConfigPath, "{\"kvm\": {\"domainType\": \"qemu\", \"memoryMb\": 256, \"readinessTimeoutSeconds\": 600}}");
            var c = SwarmConfig.Load(h);
            c.Kvm.DomainType.Should().Be("qemu");
            KvmOptions.Resolve(c.Kvm, _ => null).ReadinessTimeout.Should().Be(TimeSpan.FromMinutes(10));
        }
        finally { Directory.Delete(home, true); }
    }

    [Fact]
    public void Direct_kernel_boot_is_emitted_escaped_and_the_disk_stays_qcow2()
    {
        var xml = KvmDomainXml.Build(new KvmDomainSpec
        {
            Name = "n", Ticket = "t", Type = "qemu", Cpus = 1, MemoryMb = 256, DiskPath = "/pool/n.qcow2", HomeId = "h", HomePath = "/h",
            KernelPath = "/k/vmlinuz&<x>", InitrdPath = "/k/initrd'\".img", KernelCommandLine = "console=ttyS0 x=\"<y>\" & z",
        });
        xml.Should().Contain("&amp;").And.Contain("&lt;");
        var os = XDocument.Parse(xml).Root!.Element("os")!;
        os.Element("kernel")!.Value.Should().Be("/k/vmlinuz&<x>");
        os.Element("initrd")!.Value.Should().Be("/k/initrd'\".img");
        os.Element("cmdline")!.Value.Should().Be("console=ttyS0 x=\"<y>\" & z");
        os.Element("boot").Should().BeNull();
        XDocument.Parse(xml).Descendants("disk").First().Element("driver")!.Attribute("type")!.Value.Should().Be("qcow2");
        KvmDomainXml.InternalSnapshotBlocker(xml).Should().BeNull();
        XDocument.Parse(xml).Descendants("channel").Single().Element("target")!.Attribute("name")!.Value.Should().Be("org.qemu.guest_agent.0");
    }

    [Fact]
    public void Domains_that_cannot_take_internal_snapshots_are_recognised()
    {
        KvmDomainXml.InternalSnapshotBlocker("<domain><os firmware='efi'><type>hvm</type></os><devices/></domain>").Should().Contain("UEFI");
        KvmDomainXml.InternalSnapshotBlocker("<domain><os><loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader></os><devices/></domain>").Should().Contain("UEFI");
        KvmDomainXml.InternalSnapshotBlocker("<domain><os/><devices><disk device='disk'><driver type='raw'/><target dev='vda'/></disk></devices></domain>").Should().Contain("vda").And.Contain("raw");
        KvmDomainXml.InternalSnapshotBlocker("<domain><os/><devices><disk device='cdrom'><driver type='raw'/><readonly/></disk><disk device='disk'><driver type='qcow2'/></disk></devices></domain>").Should().BeNull();
    }

    [Fact]
    public void Ssh_remembers_host_keys_per_environment_and_escapes_option_values()
    {
        var args = KvmSsh.Arguments("/h/keys/swarm-1-t%d", "root", "192.168.122.5", new[] { "id" }, null, 5, "/h o/keys/swarm-1-t.known_hosts", "swarm-1-t");
        args.Should().ContainInOrder("-i", "/h/keys/swarm-1-t%%d");
        args.Should().Contain("StrictHostKeyChecking=accept-new").And.Contain("UserKnownHostsFile=\"/h o/keys/swarm-1-t.known_hosts\"")
            .And.Contain("HostKeyAlias=swarm-1-t").And.Contain("BatchMode=yes").And.NotContain("StrictHostKeyChecking=no");
        var bad = () => KvmSsh.Arguments("/k", "root", "h", new[] { "x" }, null, 5, "/a\"b", null);
        bad.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.InvalidArgument);
        var interactive = KvmSsh.InteractiveArguments("/k", "dev", "10.0.0.2", "/kh", "d");
        interactive.TakeLast(2).Should().Equal("-t", "dev@10.0.0.2");
        interactive.Should().NotContain("BatchMode=yes");
    }

    [Fact]
    public void An_agent_plan_copies_the_prompt_into_the_guest_over_stdin()
    {
        var env = new SwarmEnvironment
        {
            Ticket = "T-1", Provider = "kvm", InstanceId = "swarm-0123abcd-t-1", Address = "192.168.122.9",
            Metadata = new Dictionary<string, string> { ["user"] = "dev", ["key"] = "/h/kvm/keys/swarm-0123abcd-t-1" },
        };
        var p = new KvmProvider(new KvmOptions());
        var vars = new Dictionary<string, string> { ["SWARM_PROMPT_FILE"] = "/h/agents/a1/1/prompt.txt", ["SWARM_AGENT_ID"] = "a1", ["SWARM_AGENT_RUN"] = "2", [KvmProvider.PromptDeliveryVariable] = "stdin" };
        var plan = p.PlanAgentLaunch(env, new[] { "agent", "--prompt-file", "/h/agents/a1/1/prompt.txt", "it's" }, vars);
        plan.FileName.Should().Be("ssh");
        plan.PromptOnStandardInput.Should().BeTrue();
        plan.Arguments.Should().Contain("dev@192.168.122.9").And.Contain("HostKeyAlias=swarm-0123abcd-t-1");
        var remote = plan.Arguments[^1];
        var guest = KvmProvider.GuestPromptPath("dev", "a1", "2");
        remote.Should().StartWith("umask 077 && mkdir -p '/tmp/swarmps-dev/prompts' && cat > '" + guest + "' && echo $$ > '/tmp/swarmps-dev/prompts/a1-2.pid' && { env ");
        remote.Should().Contain("SWARM_PROMPT_FILE='" + guest + "'").And.Contain("'agent' '--prompt-file' '" + guest + "' 'it'\\''s'").And.EndWith(" < '" + guest + "'; rc=$?; rm -f '" + guest + "' '/tmp/swarmps-dev/prompts/a1-2.pid'; exit $rc; }");
        remote.Should().NotContain("/h/agents").And.NotContain(KvmProvider.PromptDeliveryVariable);
        vars[KvmProvider.PromptDeliveryVariable] = "argument";
        p.PlanAgentLaunch(env, new[] { "agent", "hi" }, vars).Arguments[^1].Should().Contain("'agent' 'hi' < /dev/null; rc=$?");
        var noAddress = () => p.PlanAgentLaunch(env.With(address: ""), new[] { "x" }, vars);
        noAddress.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.InvalidState);
    }

    [Fact]
    public async Task Kernel_files_are_validated_when_an_image_is_registered()
    {
        var home = Path.Combine(Path.GetTempPath(), "swarmps-kvmk-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(home);
        try
        {
            var k = Path.Combine(home, "vmlinuz");
            File.WriteAllText(k, "k");
            KvmImages.ValidateKernel("i", k, null, "console=ttyS0").Should().Be((k, (string?)null, "console=ttyS0"));
            var noKernel = () => KvmImages.ValidateKernel("i", null, k, null);
            noKernel.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.InvalidArgument);
            var missing = () => KvmImages.ValidateKernel("i", Path.Combine(home, "nope"), null, null);
            missing.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.ImageNotFound);
            var control = () => KvmImages.ValidateKernel("i", k, null, "a\nb");
            control.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.InvalidArgument);

            var reg = SwarmRegistry.Open(new SwarmHome(home));
            reg.AddBaseImage(new SwarmBaseImage { Name = "tiny", Provider = "kvm", Path = "/b.qcow2", KernelPath = k, InitrdPath = "/i.img", KernelCommandLine = "console=ttyS0 'q'" });
            var back = reg.RequireBaseImage("TINY");
            (back.KernelPath, back.InitrdPath, back.KernelCommandLine).Should().Be((k, "/i.img", "console=ttyS0 'q'"));
            reg.AddBaseImage(new SwarmBaseImage { Name = "disk", Provider = "kvm", Path = "/d.qcow2" });
            reg.RequireBaseImage("disk").KernelPath.Should().BeNull();
            await Task.CompletedTask;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(home, true);
        }
    }

    [Fact]
    public void Unknown_request_options_are_refused_before_anything_is_made()
    {
        var home = Path.Combine(Path.GetTempPath(), "swarmps-kvmo-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(home);
        try
        {
            var image = Path.Combine(home, "b.qcow2");
            File.WriteAllText(image, "not really qcow2; PrepareAsync checks only that it exists");
            var h = new SwarmHome(home);
            var reg = SwarmRegistry.Open(h);
            reg.AddBaseImage(new SwarmBaseImage { Name = "b", Provider = "kvm", Path = image });
            var ctx = new ProviderContext { Home = h, Config = new SwarmConfig(), Registry = reg };
            var p = new KvmProvider(new KvmOptions());
            var req = new NewEnvironmentRequest { Ticket = "T-1", Provider = "kvm", Image = "b" };
            p.PrepareAsync(req.WithOption("noWait", "true"), ctx, default).Result.Metadata["noWait"].Should().Be("true");
            var bad = () => p.PrepareAsync(req.WithOption("turbo", "true"), ctx, default);
            bad.Should().ThrowAsync<SwarmException>().Result.Which.ErrorId.Should().Be(ErrorIds.InvalidArgument);
            var badValue = () => p.PrepareAsync(req.WithOption("NOWAIT", "maybe"), ctx, default);
            badValue.Should().ThrowAsync<SwarmException>().Result.Which.Message.Should().Contain("noWait");
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(home, true);
        }
    }
}
