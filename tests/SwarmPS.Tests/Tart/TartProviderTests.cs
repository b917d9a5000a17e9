using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Processes;
using SwarmPS.Core.Providers;
using SwarmPS.Core.Providers.Tart;
using SwarmPS.Tests.Contract;
using Xunit;

namespace SwarmPS.Tests.Tart;

/// <summary>The Tart provider's own rules against the fake tart: exact argv, the macOS VM limit, exit code 2, checkpoints of a stopped VM.</summary>
public sealed class TartProviderTests : IDisposable
{
    private readonly TartFixture _f = new();
    public void Dispose() => _f.Dispose();

    private static T Run<T>(Task<T> t) => t.GetAwaiter().GetResult();
    private static void Run(Task t) => t.GetAwaiter().GetResult();
    private bool Skip() => Backends.Missing(_f.SkipReason);

    private string Vm(string ticket) => TartProvider.VmName(_f.Home, ticket);

    [Fact]
    public void Create_clones_sets_runs_detached_and_waits_for_the_ip_with_exact_argv()
    {
        if (Skip()) return;
        var env = Run(_f.CreateService().NewEnvironmentAsync(_f.Request("ARGV-1")));
        var vm = Vm("ARGV-1");
        var calls = _f.Calls().Select(c => string.Join(' ', c)).ToList();
        calls.Should().ContainInOrder(
            $"clone {TartFixture.BaseVm} {vm}",
            $"set {vm} --cpu 4 --memory 8192");
        // run is detached (it may log after ip, which then waits for it).
        calls.Should().Contain($"run {vm} --no-graphics").And.Contain($"ip {vm} --wait 20");
        env.Address.Should().StartWith("192.168.64.");
        _f.Probe.Destinations.Should().ContainSingle().Which.Should().StartWith("admin@" + env.Address).And.EndWith(TartProvider.KeyPath(_f.Home));
        // One key per home, but the guest's host key is kept per environment, in its run folder.
        _f.Probe.KnownHosts.Should().ContainSingle().Which.Should().Be($"{Path.Combine(env.Metadata["runDir"], "known_hosts")} {vm}");
        File.Exists(TartProvider.KeyPath(_f.Home) + ".pub").Should().BeTrue();
        Run(_f.Provider.GetStatusAsync(env, default)).Should().Be(EnvironmentStatus.Running);
        Run(_f.CreateService().RemoveEnvironmentAsync("ARGV-1", new RemoveOptions { Force = true }));
        Run(_f.LeftoversAsync("ARGV-1")).Should().BeEmpty();
    }

    [Fact]
    public void A_third_running_macOS_vm_is_refused_before_anything_is_cloned()
    {
        if (Skip()) return;
        var svc = _f.CreateService();
        // Force: three VMs of 4 vCPU / 8 GiB are past this (Linux, 2-core) host's capacity check, which would refuse
        // first; the Apple limit is the Mac's own and is what this test is about.
        NewEnvironmentRequest Forced(string ticket) => new() { Ticket = ticket, Provider = TartProvider.ProviderName, Image = TartFixture.ImageName, Force = true };
        Run(svc.NewEnvironmentAsync(Forced("MAC-1")));
        Run(svc.NewEnvironmentAsync(Forced("MAC-2")));
        var act = () => Run(svc.NewEnvironmentAsync(Forced("MAC-3")));
        var ex = act.Should().Throw<SwarmException>().Which;
        ex.ErrorId.Should().Be(TartProvider.MacOSVmLimitErrorId);
        ex.Message.Should().Contain("at most 2 running macOS VMs").And.Contain(Vm("MAC-1")).And.Contain(Vm("MAC-2")).And.Contain("Nothing was cloned");
        _f.Calls().Should().NotContain(c => c.Contains(Vm("MAC-3")));
        svc.Registry.GetEnvironment("MAC-3").Should().BeNull();

        // A stopped one frees a slot.
        Run(svc.StopEnvironmentAsync("MAC-1"));
        Run(svc.NewEnvironmentAsync(Forced("MAC-3"))).Status.Should().Be(EnvironmentStatus.Running);
        // Starting the stopped one now is refused the same way.
        var start = () => Run(svc.StartEnvironmentAsync("MAC-1"));
        start.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(TartProvider.MacOSVmLimitErrorId);
        foreach (var t in new[] { "MAC-1", "MAC-2", "MAC-3" }) Run(svc.RemoveEnvironmentAsync(t, new RemoveOptions { Force = true }));
    }

    [Fact]
    public void Linux_guests_do_not_count_against_the_macOS_limit()
    {
        if (Skip()) return;
        _f.AddBaseVm("ubuntu-base", "linux");
        var svc = _f.CreateService();
        svc.Registry.AddBaseImage(new Core.Registry.SwarmBaseImage { Name = "ubuntu", Provider = "tart", Path = "ubuntu-base", SshUser = "admin" });
        var p = _f.NewProvider(noIp: false, maxMacOS: 1);
        var one = new SwarmService(_f.Home, new SwarmConfig(), new ProviderCatalog(new[] { p }, p.Name));
        Run(one.NewEnvironmentAsync(_f.Request("MIX-1")));
        Run(one.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = "LNX-1", Provider = "tart", Image = "ubuntu" })).Status.Should().Be(EnvironmentStatus.Running);
        Run(one.RemoveEnvironmentAsync("MIX-1", new RemoveOptions { Force = true }));
        Run(one.RemoveEnvironmentAsync("LNX-1", new RemoveOptions { Force = true }));
    }

    [Fact]
    public void Exit_code_2_is_told_apart_by_stderr()
    {
        if (Skip()) return;
        var env = Run(_f.CreateService().NewEnvironmentAsync(_f.Request("EXIT-1")));
        var cli = ((TartProvider)_f.Provider).Cli;
        var vm = env.InstanceId!;

        var notFound = Run(cli.RawAsync(default, "get", "no-such-vm", "--format", "json"));
        (notFound.ExitCode, notFound.StandardError.Trim()).Should().Be((2, "the specified VM \"no-such-vm\" does not exist"));
        TartCli.Classify(notFound).Should().Be(TartFailure.NotFound);

        var already = Run(cli.RawAsync(default, "run", vm, "--no-graphics"));
        (already.ExitCode, already.StandardError.Trim()).Should().Be((2, $"VM \"{vm}\" is already running"));
        TartCli.Classify(already).Should().Be(TartFailure.AlreadyRunning);

        var running = Run(cli.RawAsync(default, "delete", vm));
        (running.ExitCode, running.StandardError.Trim()).Should().Be((1, $"VM \"{vm}\" is running"));
        TartCli.Classify(running).Should().Be(TartFailure.Other);

        Run(_f.CreateService().StopEnvironmentAsync("EXIT-1"));
        var notRunning = Run(cli.RawAsync(default, "stop", vm));
        (notRunning.ExitCode, notRunning.StandardError.Trim()).Should().Be((2, $"VM \"{vm}\" is not running"));
        TartCli.Classify(notRunning).Should().Be(TartFailure.NotRunning);
        // Stopping a stopped environment again is not an error (exit 2 "not running" is success for stop).
        Run(_f.CreateService().StopEnvironmentAsync("EXIT-1")).Status.Should().Be(EnvironmentStatus.Stopped);

        var ip = Run(cli.RawAsync(default, "ip", vm));
        (ip.ExitCode, ip.StandardError.Trim()).Should().Be((1, "no IP address found, is your VM running?"));
        TartCli.Classify(Run(cli.RawAsync(default, "frobnicate"))).Should().Be(TartFailure.Usage);

        TartCli.Failed(notFound, "EXIT-1").Kind.Should().Be(SwarmErrorKind.InvalidState);
        TartCli.Failed(running, "EXIT-1").ErrorId.Should().Be(ErrorIds.ProcessFailed);
        Run(_f.CreateService().RemoveEnvironmentAsync("EXIT-1", new RemoveOptions { Force = true }));
    }

    [Fact]
    public void Checkpoints_need_a_stopped_vm_and_are_clones_that_restore_swaps_back()
    {
        if (Skip()) return;
        var svc = _f.CreateService();
        var env = Run(svc.NewEnvironmentAsync(_f.Request("CPS-1")));
        _f.Provider.Capabilities.Should().NotHaveFlag(ProviderCapabilities.CheckpointWhileRunning).And.NotHaveFlag(ProviderCapabilities.MemoryState);

        var running = () => Run(svc.CheckpointAsync("CPS-1", "one"));
        running.Should().Throw<SwarmException>().Which.Message.Should().Contain("stopped");
        var direct = () => Run(_f.Provider.CheckpointAsync(env, "one", new ProviderContext { Home = _f.Home, Config = new SwarmConfig(), Registry = svc.Registry }, default));
        direct.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.InvalidState);
        _f.Calls().Should().NotContain(c => c[0] == "clone" && c.Length > 2 && c[2].Contains(TartProvider.CheckpointSeparator));

        Run(svc.StopEnvironmentAsync("CPS-1"));
        Run(_f.WriteMarkerAsync(env, "one"));
        var cp = Run(svc.CheckpointAsync("CPS-1", "one"));
        cp.ProviderReference.Should().Be(env.InstanceId + "--cp-one");
        _f.Calls().Select(c => string.Join(' ', c)).Should().Contain($"clone {env.InstanceId} {env.InstanceId}--cp-one");

        // Restore of a running VM: stop, delete + clone back, run again.
        Run(svc.StartEnvironmentAsync("CPS-1"));
        Run(_f.WriteMarkerAsync(env, "two"));
        Run(svc.RestoreAsync("CPS-1", "one"));
        Run(_f.ReadMarkerAsync(env)).Should().Be("one");
        Run(_f.Provider.GetStatusAsync(env, default)).Should().Be(EnvironmentStatus.Running);
        var tail = _f.Calls().Select(c => string.Join(' ', c)).SkipWhile(c => !c.StartsWith("stop " + env.InstanceId, StringComparison.Ordinal)).ToList();
        tail.Should().ContainInOrder($"delete {env.InstanceId}", $"clone {env.InstanceId}--cp-one {env.InstanceId}", $"run {env.InstanceId} --no-graphics");

        Run(svc.RemoveEnvironmentAsync("CPS-1", new RemoveOptions { Force = true }));
        Run(_f.LeftoversAsync("CPS-1")).Should().BeEmpty("remove deletes the checkpoint clones too");
    }

    [Fact]
    public void With_consent_a_running_vm_is_stopped_checkpointed_and_started_again()
    {
        if (Skip()) return;
        var svc = _f.CreateService();
        var env = Run(svc.NewEnvironmentAsync(_f.Request("CONS-1")));
        Run(svc.NeedsStopAsync("CONS-1")).Should().BeTrue();
        Run(_f.WriteMarkerAsync(env, "m"));
        var cp = Run(svc.CheckpointStoppingAsync("CONS-1", "c1"));
        cp.Name.Should().Be("c1");
        Run(_f.Provider.GetStatusAsync(env, default)).Should().Be(EnvironmentStatus.Running);
        svc.GetEnvironment("CONS-1").Status.Should().Be(EnvironmentStatus.Running);
        Run(_f.Provider.ListCheckpointsAsync(env, default)).Should().Equal("c1");
        Run(svc.StopEnvironmentAsync("CONS-1"));
        Run(svc.NeedsStopAsync("CONS-1")).Should().BeFalse();
        Run(svc.RemoveEnvironmentAsync("CONS-1", new RemoveOptions { Force = true }));
    }

    [Fact]
    public void No_ip_in_time_names_the_vm_and_what_to_check_and_leaves_nothing()
    {
        if (Skip()) return;
        var svc = _f.CreateService(_f.FailingCreateConfig());
        var act = () => Run(svc.NewEnvironmentAsync(_f.Request("NOIP-1")));
        var ex = act.Should().Throw<SwarmException>().Which;
        ex.ErrorId.Should().Be(ErrorIds.Timeout);
        ex.Message.Should().Contain($"Tart VM {Vm("NOIP-1")}").And.Contain("no IP address found").And.Contain("--resolver arp").And.Contain("stderr.log");
        Run(_f.LeftoversAsync("NOIP-1")).Should().BeEmpty();
    }

    [Fact]
    public void Availability_reasons()
    {
        var onLinux = new TartProvider(new TartOptions { Executable = TartFixture.FakeTart });
        if (!OperatingSystem.IsMacOS()) Run(onLinux.CheckAvailabilityAsync(default)).Reason.Should().Contain("macOS hosts only");
        var missing = new TartProvider(new TartOptions { Executable = "/nonexistent/tart", RequireMacOS = false });
        var a = Run(missing.CheckAvailabilityAsync(default));
        a.Available.Should().BeFalse();
        a.Reason.Should().Contain("brew install cirruslabs/cli/tart");
        if (!Skip()) Run(_f.Provider.CheckAvailabilityAsync(default)).Available.Should().BeTrue();
    }

    [Fact]
    public void List_json_is_parsed_by_key()
    {
        var list = TartCli.ParseList("""
            [{"Source":"local","Name":"ci-1","Disk":50,"Size":23,"Accessed":"2026-05-01T10:02:03Z","Running":true,"State":"running"},
             {"Source":"OCI","Name":"ghcr.io/cirruslabs/macos-sequoia-base:latest","Disk":50,"Size":22,"Accessed":"2026-04-28T08:00:00Z","Running":false,"State":"stopped"}]
            """);
        list.Should().Equal(new TartVm("ci-1", "local", true, "running"), new TartVm("ghcr.io/cirruslabs/macos-sequoia-base:latest", "OCI", false, "stopped"));
        TartCli.ParseOs("""{"OS":"darwin","CPU":4,"Memory":8192,"Disk":50,"DiskFormat":"raw","Size":"23.456","Display":"1024x768","Running":false,"State":"stopped"}""").Should().Be("darwin");
        TartProvider.MapState(new TartVm("x", "local", false, "suspended")).Should().Be(EnvironmentStatus.Stopped);
        TartProvider.MapState(null).Should().Be(EnvironmentStatus.Missing);
    }

    [Fact]
    public void Repair_removes_a_vm_and_its_clones_whose_row_is_gone()
    {
        if (Skip()) return;
        var svc = _f.CreateService();
        var env = Run(svc.NewEnvironmentAsync(_f.Request("ORPH-1")));
        Run(svc.StopEnvironmentAsync("ORPH-1"));
        Run(svc.CheckpointAsync("ORPH-1", "a"));
        svc.Registry.DeleteEnvironment("ORPH-1");
        var items = Run(svc.RepairAsync(fix: true));
        items.Where(i => i.Kind == RepairIssueKind.Orphan).Select(i => i.Path).Should().BeEquivalentTo(new[] { env.InstanceId, env.InstanceId + "--cp-a" });
        Run(_f.LeftoversAsync("ORPH-1")).Where(l => !l.Contains("/run/", StringComparison.Ordinal)).Should().BeEmpty();
    }
}
