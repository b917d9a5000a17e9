using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Providers;
using SwarmPS.Core.Providers.HyperV;
using SwarmPS.Tests.Contract;
using Xunit;

namespace SwarmPS.Tests.HyperV;

/// <summary>The Hyper-V provider's own rules, against the fake host: cmdlet sequence, one NetNat, readiness errors, availability.</summary>
public sealed class HyperVProviderTests : IDisposable
{
    private readonly HyperVFixture _f = new();
    public void Dispose() => _f.Dispose();

    private static T Run<T>(Task<T> t) => t.GetAwaiter().GetResult();
    private static void Run(Task t) => t.GetAwaiter().GetResult();
    private bool Skip() => Backends.Missing(_f.SkipReason);

    private IReadOnlyDictionary<string, object?> Call(string cmdlet) => _f.Host.Calls.Single(c => c.Cmdlet == cmdlet).Parameters;

    [Fact]
    public void Create_makes_a_differencing_gen2_vm_with_standard_checkpoints_and_a_nocloud_seed()
    {
        if (Skip()) return;
        var env = Run(_f.CreateService().NewEnvironmentAsync(_f.Request("HV-1")));
        var vm = HyperVProvider.VmName(_f.Home, "HV-1");
        env.InstanceId.Should().Be(vm);
        env.Address.Should().StartWith("192.168.250.");

        var diff = _f.Host.Calls.First(c => c.Cmdlet == "New-VHD").Parameters;
        diff["ParentPath"].Should().Be(_f.BaseVhdx);
        diff["Differencing"].Should().Be(CmdletSwitch.Present);
        ((string)diff["Path"]!).Should().EndWith(vm + ".vhdx");

        var newVm = Call("New-VM");
        newVm["Generation"].Should().Be(2);
        newVm["MemoryStartupBytes"].Should().Be(2048L * 1024 * 1024);
        newVm["SwitchName"].Should().Be("SwarmPS");
        Call("Set-VMProcessor")["Count"].Should().Be(2);
        var setVm = Call("Set-VM");
        setVm["CheckpointType"].Should().Be("Standard");
        setVm["AutomaticCheckpointsEnabled"].Should().Be(false);
        _f.Host.Vms[vm].CheckpointType.Should().Be("Standard");

        // The seed: a FAT32 CIDATA disk holding hostname, key, ports and a static address; attached, then dismounted.
        Call("Format-Volume")["NewFileSystemLabel"].Should().Be("CIDATA");
        var seedPath = (string)Call("Add-VMHardDiskDrive")["Path"]!;
        _f.Host.Mounted.Should().BeEmpty();
        var seed = _f.Host.SeedFiles[seedPath];
        seed["meta-data"].Should().Contain("local-hostname: \"hv-1\"");
        seed["user-data"].Should().Contain("ssh-ed25519 ").And.Contain($"SWARM_PORT_BASE='{env.Ports.Start}'").And.Contain("name: \"swarm\"");
        seed["network-config"].Should().Contain("addresses: [192.168.250.10/24]").And.Contain("via: 192.168.250.1");
        File.ReadAllText(env.Metadata["key"] + ".pub").Trim().Should().Be(System.Text.RegularExpressions.Regex.Match(seed["user-data"], "\"(ssh-ed25519 [^\"]+)\"").Groups[1].Value);

        // Readiness: adapter polled until KVP reports, then one SSH probe as the image's user with the env's key.
        _f.Host.CallNames.Count(c => c == "Get-VMNetworkAdapter").Should().BeGreaterThan(1);
        _f.Probe.Destinations.Should().ContainSingle().Which.Should().StartWith("swarm@192.168.250.").And.EndWith(env.Metadata["key"]);
        // The probe records the guest's host key in the environment's own known_hosts (removed with the environment).
        _f.Probe.KnownHosts.Should().ContainSingle().Which.Should().Be($"{env.Metadata["key"]}.known_hosts {vm}");
        File.WriteAllText(env.Metadata["key"] + ".known_hosts", "swarm-x ssh-ed25519 AAAA\n");
        Run(_f.CreateService().RemoveEnvironmentAsync("HV-1", new RemoveOptions { Force = true }));
        File.Exists(env.Metadata["key"] + ".known_hosts").Should().BeFalse();
    }

    [Fact]
    public void The_switch_and_its_NetNat_are_created_once()
    {
        if (Skip()) return;
        var svc = _f.CreateService();
        Run(svc.NewEnvironmentAsync(_f.Request("SW-1")));
        Run(svc.NewEnvironmentAsync(_f.Request("SW-2")));
        _f.Host.CallNames.Count(c => c == "New-VMSwitch").Should().Be(1);
        _f.Host.CallNames.Count(c => c == "New-NetNat").Should().Be(1);
        _f.Host.CallNames.Count(c => c == "New-NetIPAddress").Should().Be(1);
        Call("New-NetNat")["InternalIPInterfaceAddressPrefix"].Should().Be("192.168.250.0/24");
        // Disjoint port blocks give disjoint static addresses.
        _f.Host.SeedFiles.Values.Select(s => s["network-config"]).Distinct().Should().HaveCount(2);
        Run(svc.RemoveEnvironmentAsync("SW-1", new RemoveOptions { Force = true }));
        Run(svc.RemoveEnvironmentAsync("SW-2", new RemoveOptions { Force = true }));
    }

    [Fact]
    public void Another_NetNat_on_the_host_is_refused_with_the_way_out_and_nothing_is_created()
    {
        if (Skip()) return;
        _f.Host.Nats["DockerNAT"] = "172.20.0.0/16";
        var svc = _f.CreateService();
        var act = () => Run(svc.NewEnvironmentAsync(_f.Request("NAT-1")));
        var ex = act.Should().Throw<SwarmException>().Which;
        ex.ErrorId.Should().Be(HyperVProvider.OneNetNatErrorId);
        ex.Message.Should().Contain("only one NetNat per host").And.Contain("DockerNAT").And.Contain("SWARMPS_HYPERV_SWITCH").And.Contain("Remove-NetNat");
        _f.Host.CallNames.Should().NotContain(new[] { "New-VMSwitch", "New-NetNat", "New-VHD", "New-VM" });
        svc.Registry.GetEnvironment("NAT-1").Should().BeNull();
        Run(_f.LeftoversAsync("NAT-1")).Should().BeEmpty();
    }

    [Fact]
    public void A_configured_existing_switch_is_used_as_is_and_gets_no_static_address()
    {
        if (Skip()) return;
        _f.Host.Switches.Add("Default Switch");
        var p = new HyperVProvider(_f.Host, new HyperVOptions { SwitchName = "Default Switch", PollInterval = TimeSpan.FromMilliseconds(10) }, _f.Probe);
        var svc = new SwarmService(_f.Home, new SwarmConfig(), new ProviderCatalog(new[] { p }, p.Name));
        Run(svc.NewEnvironmentAsync(_f.Request("DS-1")));
        _f.Host.CallNames.Should().NotContain(new[] { "New-VMSwitch", "New-NetNat", "Get-NetNat" });
        Call("New-VM")["SwitchName"].Should().Be("Default Switch");
        _f.Host.SeedFiles.Values.Single().Should().NotContainKey("network-config");
        Run(svc.RemoveEnvironmentAsync("DS-1", new RemoveOptions { Force = true }));

        var missing = new HyperVProvider(_f.Host, new HyperVOptions { SwitchName = "Nope" }, _f.Probe);
        var svc2 = new SwarmService(_f.Home, new SwarmConfig(), new ProviderCatalog(new[] { missing }, missing.Name));
        var act = () => Run(svc2.NewEnvironmentAsync(_f.Request("DS-2")));
        act.Should().Throw<SwarmException>().Which.Message.Should().Contain("'Nope'").And.Contain("does not exist");
        Run(_f.LeftoversAsync("DS-2")).Should().BeEmpty();
    }

    [Fact]
    public void A_readiness_timeout_names_the_switch_the_vm_and_what_to_check_and_leaves_nothing()
    {
        if (Skip()) return;
        _f.Host.NoGuestAddress = true;
        var p = new HyperVProvider(_f.Host, _f.Options(TimeSpan.FromMilliseconds(100)), _f.Probe);
        var svc = new SwarmService(_f.Home, new SwarmConfig(), new ProviderCatalog(new[] { p }, p.Name));
        var act = () => Run(svc.NewEnvironmentAsync(_f.Request("TO-1")));
        var ex = act.Should().Throw<SwarmException>().Which;
        var vm = HyperVProvider.VmName(_f.Home, "TO-1");
        ex.ErrorId.Should().Be(ErrorIds.Timeout);
        ex.Message.Should().Contain($"VM {vm}").And.Contain("switch 'SwarmPS'").And.Contain("hv_kvp_daemon").And.Contain("Get-VMNetworkAdapter").And.Contain("192.168.250.10");
        svc.Registry.GetEnvironment("TO-1").Should().BeNull();
        Run(_f.LeftoversAsync("TO-1")).Should().BeEmpty();
    }

    [Fact]
    public void An_ssh_timeout_names_the_address_user_and_key()
    {
        if (Skip()) return;
        _f.Probe.Error = "ssh: connect to host 192.168.250.10 port 22: Connection refused";
        var act = () => Run(_f.CreateService().NewEnvironmentAsync(_f.Request("SSH-1")));
        var ex = act.Should().Throw<SwarmException>().Which;
        ex.ErrorId.Should().Be(ErrorIds.Timeout);
        ex.Message.Should().Contain("ssh swarm@192.168.250.").And.Contain("Connection refused").And.Contain("switch 'SwarmPS'");
        Run(_f.LeftoversAsync("SSH-1")).Should().BeEmpty();
    }

    [Fact]
    public void Remove_deletes_the_vhdx_files_that_Remove_VM_leaves_behind()
    {
        if (Skip()) return;
        var env = Run(_f.CreateService().NewEnvironmentAsync(_f.Request("RM-1")));
        File.Exists(env.Metadata["overlay"]).Should().BeTrue();
        File.Exists(env.Metadata["seed"]).Should().BeTrue();
        Run(_f.CreateService().RemoveEnvironmentAsync("RM-1", new RemoveOptions { Force = true }));
        _f.Host.CallNames.Should().Contain("Remove-VM");
        File.Exists(env.Metadata["overlay"]).Should().BeFalse();
        File.Exists(env.Metadata["seed"]).Should().BeFalse();
        Directory.Exists(env.Metadata["folder"]).Should().BeFalse();
        File.Exists(env.Metadata["key"]).Should().BeFalse();
        File.Exists(_f.BaseVhdx).Should().BeTrue();
    }

    [Fact]
    public void A_late_cmdlet_failure_removes_the_vm_and_files()
    {
        if (Skip()) return;
        _f.Host.FailCmdlet = "Start-VM";
        var act = () => Run(_f.CreateService().NewEnvironmentAsync(_f.Request("LATE-1")));
        act.Should().Throw<SwarmException>().Which.Message.Should().Contain("Start-VM failed").And.Contain("OperationFailed,Start-VM");
        Run(_f.LeftoversAsync("LATE-1")).Should().BeEmpty();
    }

    [Fact]
    public void A_seed_disk_failure_says_that_it_needs_elevation_and_leaves_nothing()
    {
        if (Skip()) return;
        _f.Host.FailCmdlet = "Format-Volume";
        var act = () => Run(_f.CreateService().NewEnvironmentAsync(_f.Request("SEED-1")));
        act.Should().Throw<SwarmException>().Which.Message.Should().Contain("Format-Volume failed").And.Contain("elevated pwsh");
        _f.Host.Mounted.Should().BeEmpty("the seed is dismounted even when formatting fails");
        Run(_f.LeftoversAsync("SEED-1")).Should().BeEmpty();
    }

    [Fact]
    public void Restoring_a_running_vms_checkpoint_confirms_nothing_and_resumes_it()
    {
        if (Skip()) return;
        var svc = _f.CreateService();
        var env = Run(svc.NewEnvironmentAsync(_f.Request("RS-1")));
        Run(_f.WriteMarkerAsync(env, "before"));
        Run(svc.NeedsStopAsync("RS-1")).Should().BeFalse();
        Run(svc.CheckpointAsync("RS-1", "one")); // while running: Standard checkpoints allow it
        Run(_f.WriteMarkerAsync(env, "after"));
        Run(svc.RestoreAsync("RS-1", "one"));
        Call("Restore-VMSnapshot")["Confirm"].Should().Be(CmdletSwitch.Off);
        _f.Host.Vms[env.InstanceId!].State.Should().Be("Running", "a Standard checkpoint comes back Saved and the provider resumes it");
        Run(_f.ReadMarkerAsync(env)).Should().Be("before");
        Run(svc.RemoveEnvironmentAsync("RS-1", new RemoveOptions { Force = true }));
    }

    [Fact]
    public void Capabilities_report_standard_checkpoints_with_memory()
    {
        var caps = _f.Provider.Capabilities;
        caps.Should().HaveFlag(ProviderCapabilities.MemoryState).And.HaveFlag(ProviderCapabilities.CheckpointWhileRunning).And.HaveFlag(ProviderCapabilities.Checkpoint);
        _f.Provider.Description.Should().Contain("Standard checkpoints");
    }

    [Fact]
    public void Without_a_host_the_provider_is_unavailable_and_says_why()
    {
        var p = new HyperVProvider(null);
        var a = Run(p.CheckAvailabilityAsync(default));
        a.Available.Should().BeFalse();
        a.Reason.Should().Be(OperatingSystem.IsWindows() ? HyperVAvailability.NotInPwsh : HyperVAvailability.NotWindows);

        var svc = new SwarmService(_f.Home, new SwarmConfig(), new ProviderCatalog(new IEnvironmentProvider[] { p }, p.Name));
        var act = () => Run(svc.NewEnvironmentAsync(_f.Request("NOHOST-1")));
        var ex = act.Should().Throw<SwarmException>().Which;
        ex.ErrorId.Should().Be(ErrorIds.ProviderUnavailable);
        ex.Message.Should().Contain(a.Reason);
        svc.Registry.CountEnvironments().Should().Be(0);

        // The default catalog registers both providers; on this Linux host neither is available.
        var all = Run(new SwarmService(_f.Home, new SwarmConfig(), ProviderCatalog.CreateDefault()).GetProvidersAsync());
        all.Should().Contain(i => i.Name == "hyperv").And.Contain(i => i.Name == "tart");
        if (!OperatingSystem.IsWindows()) all.Single(i => i.Name == "hyperv").Available.Should().BeFalse();
        if (!OperatingSystem.IsMacOS()) all.Single(i => i.Name == "tart").Reason.Should().Contain("macOS");
    }

    [Fact]
    public void Missing_cmdlets_turn_into_ProviderUnavailable_with_the_hosts_reason()
    {
        // pwsh on Linux/macOS: the module hands its host over, but there is no Hyper-V module to call.
        _f.Host.Availability = ProviderAvailability.No(HyperVAvailability.NotWindows);
        _f.Host.MissingCommands = true;
        var act = () => Run(_f.CreateService().NewEnvironmentAsync(_f.Request("CNF-1")));
        var ex = act.Should().Throw<SwarmException>().Which;
        ex.ErrorId.Should().Be(ErrorIds.ProviderUnavailable);
        ex.Message.Should().Contain("Windows hosts only");
        Run(_f.LeftoversAsync("CNF-1")).Should().BeEmpty();
    }

    [Fact]
    public void The_hosts_availability_verdict_is_passed_through()
    {
        _f.Host.Availability = ProviderAvailability.No("the current user is neither in Administrators nor in Hyper-V Administrators");
        Run(_f.Provider.CheckAvailabilityAsync(default)).Reason.Should().Contain("Hyper-V Administrators");
    }

    [Theory]
    [InlineData(false, true, true, false, "Windows hosts only")]
    [InlineData(true, false, true, false, "Hyper-V PowerShell module was not found")]
    [InlineData(true, true, false, false, "S-1-5-32-578")]
    [InlineData(true, true, false, true, null)]
    [InlineData(true, true, true, false, null)]
    public void Availability_rules(bool windows, bool module, bool admin, bool hvAdmin, string? reason)
    {
        var a = HyperVAvailability.Decide(windows, module, admin, hvAdmin);
        a.Available.Should().Be(reason is null);
        if (reason is not null) a.Reason.Should().Contain(reason);
        HyperVAvailability.Decide(true, true, true, false, vmmsRunning: false).Reason.Should().Contain("vmms");
        HyperVAvailability.Decide(true, true, true, false, hypervisorPresent: false).Reason.Should().Contain("HypervisorPresent");
    }

    [Fact]
    public void Repair_finds_a_vm_whose_row_is_gone_and_removes_it_with_its_files()
    {
        if (Skip()) return;
        var svc = _f.CreateService();
        var env = Run(svc.NewEnvironmentAsync(_f.Request("ORPH-1")));
        svc.Registry.DeleteEnvironment("ORPH-1");
        var items = Run(svc.RepairAsync(fix: true));
        items.Should().Contain(i => i.Kind == RepairIssueKind.Orphan && i.Path == env.InstanceId && i.Fixed);
        Run(_f.LeftoversAsync("ORPH-1")).Should().BeEmpty();
    }

    [Fact]
    public void Vm_states_map_to_statuses()
    {
        HyperVProvider.MapState("Running").Should().Be(EnvironmentStatus.Running);
        HyperVProvider.MapState("Off").Should().Be(EnvironmentStatus.Stopped);
        HyperVProvider.MapState("Saved").Should().Be(EnvironmentStatus.Stopped);
        HyperVProvider.MapState(null).Should().Be(EnvironmentStatus.Missing);
        HyperVProvider.MapState("Critical").Should().Be(EnvironmentStatus.Error);
        HyperVProvider.FirstIPv4(new[] { "fe80::1", "169.254.3.4", "172.29.1.5" }).Should().Be("172.29.1.5");
    }

    [Fact]
    public void Property_bags_and_cmdlet_errors_are_read_the_way_the_provider_needs()
    {
        var o = new HyperVObject(new Dictionary<string, object?> { ["State"] = "Running", ["DiskNumber"] = 7u, ["IPAddresses"] = new[] { "10.0.0.5", "fe80::1" }, ["Empty"] = null });
        o.String("state").Should().Be("Running");
        o.Int64("DiskNumber").Should().Be(7);
        o.Strings("IPAddresses").Should().Equal("10.0.0.5", "fe80::1");
        o.Strings("Empty").Should().BeEmpty();
        o.String("Missing").Should().BeNull();

        new HyperVCommandException("Get-VM", "Hyper-V was unable to find a virtual machine with name \"x\".", "InvalidParameter,Microsoft.HyperV.PowerShell.Commands.GetVM", "InvalidArgument").IsNotFound.Should().BeTrue();
        new HyperVCommandException("Get-NetIPAddress", "No matching MSFT_NetIPAddress objects found", "CmdletizationQuery_NotFound,Get-NetIPAddress", "ObjectNotFound").IsNotFound.Should().BeTrue();
        var missing = new HyperVCommandException("Get-VM", "The term 'Get-VM' is not recognized", "CommandNotFoundException", "ObjectNotFound");
        missing.IsNotFound.Should().BeFalse();
        missing.IsCommandNotFound.Should().BeTrue();
        HyperVCalls.Failed(missing, "T").Kind.Should().Be(SwarmErrorKind.Unavailable);
        new HyperVCommandException("Start-VM", "The operation failed.", "OperationFailed,Start-VM", "InvalidOperation").IsNotFound.Should().BeFalse();
    }
}
