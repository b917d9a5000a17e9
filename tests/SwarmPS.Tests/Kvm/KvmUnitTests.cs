using System.Diagnostics;
using System.Xml.Linq;
using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Providers.Kvm;
using SwarmPS.Core.Registry;
using Xunit;

namespace SwarmPS.Tests.Kvm;

/// <summary>KVM provider logic that needs no libvirt: XML, quoting, parsing of recorded virsh output.</summary>
public sealed class KvmUnitTests
{
    private static KvmDomainSpec Spec(string ticket = "T-1", string path = "/pool/d.qcow2") => new()
    {
        Name = "swarm-0123abcd-t-1", Ticket = ticket, Type = "qemu", Cpus = 1, MemoryMb = 64, DiskPath = path,
        SeedPath = path + "-seed.iso", SerialLogPath = path + ".log", HomeId = "0123abcd", HomePath = "/home/<x>&'\"y",
    };

    [Theory]
    [InlineData("/pool/a'b\"c<d>&e]]>.qcow2")]
    [InlineData("/pool/</source><source file='/etc/shadow'/>.qcow2")]
    [InlineData("/pool/$(id) `id`;rm -rf ~.qcow2")]
    public void Domain_xml_escapes_hostile_paths_and_round_trips_them(string path)
    {
        var xml = KvmDomainXml.Build(Spec("A.b_c-1", path));
        var doc = XDocument.Parse(xml);
        var sources = doc.Descendants("source").Select(s => (string?)s.Attribute("file")).Where(s => s is not null).ToList();
        sources.Should().Equal(path, path + "-seed.iso");
        doc.Descendants("disk").Should().HaveCount(2);
        doc.Root!.Element("description")!.Value.Should().Be("SwarmPS environment A.b_c-1");
        KvmDomainXml.ReadLabel(xml).Should().Be(("A.b_c-1", "0123abcd", "/home/<x>&'\"y"));
    }

    [Fact]
    public void Domain_xml_has_the_requested_shape()
    {
        var doc = XDocument.Parse(KvmDomainXml.Build(Spec()));
        doc.Root!.Attribute("type")!.Value.Should().Be("qemu");
        doc.Root.Element("memory")!.Value.Should().Be("64");
        doc.Root.Element("memory")!.Attribute("unit")!.Value.Should().Be("MiB");
        doc.Root.Element("vcpu")!.Value.Should().Be("1");
        doc.Descendants("interface").Single().Element("source")!.Attribute("network")!.Value.Should().Be("default");
        doc.Descendants("cpu").Should().BeEmpty(); // host-passthrough only with kvm
        XDocument.Parse(KvmDomainXml.Build(new KvmDomainSpec
        {
            Name = "n", Ticket = "t", Type = "kvm", Cpus = 2, MemoryMb = 4096, DiskPath = "/d", HomeId = "h", HomePath = "/h",
            KernelPath = "/k", InitrdPath = "/i", KernelCommandLine = "console=ttyS0 a='b'",
        })).Root!.Element("os")!.Element("cmdline")!.Value.Should().Be("console=ttyS0 a='b'");
    }

    [Fact]
    public void Control_characters_and_bad_types_are_refused()
    {
        var bad = () => KvmDomainXml.Build(Spec(path: "/pool/a\u0001b"));
        bad.Should().Throw<ArgumentException>();
        var type = () => KvmDomainXml.Build(new KvmDomainSpec { Name = "n", Ticket = "t", Type = "xen", Cpus = 1, MemoryMb = 64, DiskPath = "/d", HomeId = "h", HomePath = "/h" });
        type.Should().Throw<ArgumentException>();
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("it's")]
    [InlineData("a b\tc\nd")]
    [InlineData("$(touch /tmp/pwned) `id` ; | & > < * ? ~ # !")]
    [InlineData("'\"'\"\\'")]
    [InlineData("")]
    [InlineData("-n")]
    public void Ssh_remote_command_is_read_back_verbatim_by_a_real_sh(string arg)
    {
        if (OperatingSystem.IsWindows()) return;
        // What the guest's login shell does with the string: sh -c "<remote command>".
        var remote = KvmSsh.RemoteCommand(new[] { "printf", "[%s]\\n", arg, "x y" }, new Dictionary<string, string> { ["SWARM_T"] = "v'al $x" });
        var psi = new ProcessStartInfo("sh") { RedirectStandardOutput = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(remote + "; printf '%s' \"$SWARM_T\" >/dev/null");
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        output.Should().Be($"[{arg}]\n[x y]\n");
        // The variable reaches the command's environment unchanged.
        var env = KvmSsh.RemoteCommand(new[] { "sh", "-c", "printf %s \"$SWARM_T\"" }, new Dictionary<string, string> { ["SWARM_T"] = "v'al $x" });
        var psi2 = new ProcessStartInfo("sh") { RedirectStandardOutput = true };
        psi2.ArgumentList.Add("-c");
        psi2.ArgumentList.Add(env);
        using var p2 = Process.Start(psi2)!;
        p2.StandardOutput.ReadToEnd().Should().Be("v'al $x");
        p2.WaitForExit();
    }

    [Fact]
    public void Ssh_arguments_are_key_only_batch_mode_and_refuse_bad_names()
    {
        var args = KvmSsh.Arguments("/k/key", "root", "192.168.122.5", new[] { "id" });
        args.Should().ContainInOrder("-i", "/k/key");
        args.Should().Contain("BatchMode=yes").And.Contain("IdentitiesOnly=yes");
        args.TakeLast(3).Should().Equal("root@192.168.122.5", "--", "'id'");
        var badVar = () => KvmSsh.RemoteCommand(new[] { "x" }, new Dictionary<string, string> { ["A;B"] = "1" });
        badVar.Should().Throw<SwarmException>();
        var badHost = () => KvmSsh.Arguments("/k", "root", "-oProxyCommand=x", new[] { "x" });
        badHost.Should().Throw<SwarmException>();
        var empty = () => KvmSsh.RemoteCommand(Array.Empty<string>());
        empty.Should().Throw<SwarmException>();
    }

    // Recorded outputs (libvirt 9.0, cli-facts.md section 2).
    private const string DomIfAddr = """
         Name       MAC address          Protocol     Address
        -------------------------------------------------------------------------------
         vnet0      52:54:00:3a:91:7c    ipv4         192.168.122.57/24

        """;

    [Fact]
    public void Virsh_output_is_parsed()
    {
        Virsh.ParseFirstIPv4(DomIfAddr).Should().Be("192.168.122.57");
        Virsh.ParseFirstIPv4(" Name       MAC address          Protocol     Address\n-------------------------------------------\n\n").Should().BeNull();
        Virsh.ParseFirstIPv4(" vnet0  52:54:00:3a:91:7c  ipv6  fe80::1/64\n -  -  ipv4  10.0.0.9/8\n").Should().Be("10.0.0.9");
        Virsh.ParseNames("swarm-a\nswarm-b\n\n").Should().Equal("swarm-a", "swarm-b");
        Virsh.ParseNames("\n").Should().BeEmpty();
        Virsh.ParseDomState("shut off\n\n").Should().Be("shut off");
        Virsh.MapState("running").Should().Be(EnvironmentStatus.Running);
        Virsh.MapState("in shutdown").Should().Be(EnvironmentStatus.Running);
        Virsh.MapState("shut off").Should().Be(EnvironmentStatus.Stopped);
        Virsh.MapState("paused").Should().Be(EnvironmentStatus.Stopped);
        Virsh.MapState("crashed").Should().Be(EnvironmentStatus.Error);
        Virsh.ParsePoolPath("<pool type='dir'><name>swarmps</name><target><path>/var/lib/swarmps/pool</path></target></pool>").Should().Be("/var/lib/swarmps/pool");
        KvmImages.ParseFormat("""{"virtual-size":21474836480,"filename":"ovl.qcow2","format":"qcow2","backing-filename":"/abs/base.qcow2"}""").Should().Be("qcow2");
        KvmImages.ParseFormat("""[{"format":"raw"}]""").Should().Be("raw");
        KvmImages.ParseFormat("nope").Should().BeNull();
    }

    [Fact]
    public void Virsh_calls_always_name_the_connection()
    {
        new Virsh(new KvmOptions()).Args("domstate", "d").Should().Equal("-q", "-c", "qemu:///system", "domstate", "d");
    }

    [Fact]
    public void Cloud_init_seed_quotes_everything()
    {
        CloudInitSeed.HostName("FEAT_12.x").Should().Be("feat-12-x");
        CloudInitSeed.HostName("___").Should().Be("swarm");
        CloudInitSeed.HostName(new string('a', 64)).Should().HaveLength(63);
        var ud = CloudInitSeed.UserData("h", "swarm", "ssh-ed25519 AAAA k\n", new Dictionary<string, string> { ["SWARM_PORTS"] = "20000-20009" });
        ud.Should().StartWith("#cloud-config\n").And.Contain("  - \"ssh-ed25519 AAAA k\"\n").And.Contain("name: \"swarm\"")
            .And.Contain("content: \"SWARM_PORTS='20000-20009'\\n\"");
        CloudInitSeed.MetaData("i-1", "h").Should().Be("instance-id: \"i-1\"\nlocal-hostname: \"h\"\n");
    }

    [Fact]
    public void Base_images_are_registered_by_name()
    {
        var home = Path.Combine(Path.GetTempPath(), "swarmps-kvmimg-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var reg = SwarmRegistry.Open(new SwarmHome(home));
            reg.AddBaseImage(new SwarmBaseImage { Name = "deb12", Provider = "kvm", Path = "/img/deb12.qcow2", OsNote = "Debian 12", Cpus = 1, MemoryMb = 256 });
            reg.GetBaseImage("DEB12")!.Path.Should().Be("/img/deb12.qcow2");
            reg.ListBaseImages("kvm").Select(i => i.Name).Should().Equal("deb12");
            var dup = () => reg.AddBaseImage(new SwarmBaseImage { Name = "Deb12", Provider = "kvm", Path = "/x" });
            dup.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(SwarmRegistry.ImageExists);
            var bad = () => reg.AddBaseImage(new SwarmBaseImage { Name = "../x", Provider = "kvm", Path = "/x" });
            bad.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.InvalidTicket);
            reg.RemoveBaseImage("deb12").Should().BeTrue();
            var missing = () => reg.RequireBaseImage("deb12");
            missing.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(SwarmRegistry.ImageNotFound);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(home, true);
        }
    }
}
