using System.Globalization;
using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Host;
using SwarmPS.Core.Providers;
using SwarmPS.Core.Providers.Worktree;
using SwarmPS.Tests.Support;
using Xunit;

namespace SwarmPS.Tests.Host;

/// <summary>A host of fixed size.</summary>
internal sealed class FakeCapacity : IHostCapacitySource
{
    public int Cpus { get; set; } = 4;
    public long MemoryMb { get; set; } = 8192;
    public long DiskGb { get; set; } = 100;
    public int Reads { get; private set; }

    /// <summary>When set, every read waits here for the others: all concurrent creates have read the host before any reserves.</summary>
    public Barrier? Gate { get; set; }

    public HostCapacity Read(IReadOnlyList<(string Use, string Path)> paths)
    {
        Gate?.SignalAndWait(TimeSpan.FromSeconds(30));
        Reads++;
        return new HostCapacity
        {
            LogicalCpus = Cpus, MemoryMb = MemoryMb,
            Disks = new[] { new SwarmHostDisk { Root = "/fake", TotalBytes = DiskGb * 1024 * 1024 * 1024, FreeBytes = DiskGb * 512 * 1024 * 1024, Uses = paths.Select(p => p.Use).ToList() } },
        };
    }
}

/// <summary>A provider whose environments hold what was requested (cpus, memoryMb, and diskGb from Options) and nothing else.</summary>
internal sealed class AllocatingProvider : EnvironmentProviderBase
{
    public int Creates { get; private set; }
    public override string Name => "vmfake";
    public override string Description => "test provider that allocates host resources";
    public override ProviderCapabilities Capabilities => ProviderCapabilities.None;
    public override Task<ProviderAvailability> CheckAvailabilityAsync(CancellationToken ct) => Task.FromResult(ProviderAvailability.Yes);

    public override Task<SwarmEnvironment> PrepareAsync(NewEnvironmentRequest request, ProviderContext context, CancellationToken ct)
    {
        var meta = new Dictionary<string, string>();
        if (request.Cpus is { } c) meta["cpus"] = c.ToString(CultureInfo.InvariantCulture);
        if (request.MemoryMb is { } m) meta["memoryMb"] = m.ToString(CultureInfo.InvariantCulture);
        if (request.Options?.GetValueOrDefault("diskGb") is { } d) meta["diskGb"] = d;
        return Task.FromResult(new SwarmEnvironment { Ticket = request.Ticket, Provider = Name, InstanceId = "fake-" + request.Ticket, Metadata = meta });
    }

    public override Task<SwarmEnvironment> CreateAsync(SwarmEnvironment reserved, NewEnvironmentRequest request, ProviderContext context, CancellationToken ct)
    {
        Creates++;
        return Task.FromResult(reserved.With(status: EnvironmentStatus.Running));
    }

    public override Task RemoveAsync(SwarmEnvironment env, RemoveOptions options, ProviderContext context, CancellationToken ct) => Task.CompletedTask;
    public override Task<EnvironmentStatus> GetStatusAsync(SwarmEnvironment env, CancellationToken ct) => Task.FromResult(env.Status);
    public override Task<IReadOnlyList<SwarmRepairItem>> RepairAsync(IReadOnlyList<SwarmEnvironment> owned, bool fix, ProviderContext context, CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<SwarmRepairItem>>(Array.Empty<SwarmRepairItem>());
}

public sealed class HostResourcesTests : IDisposable
{
    private readonly TempRepo _r = new(files: 1);
    private readonly FakeCapacity _capacity = new();
    private readonly AllocatingProvider _vm = new();

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _r.Dispose();
    }

    private SwarmService Service(SwarmConfig? config = null)
    {
        var svc = new SwarmService(new SwarmHome(_r.Home), config ?? new SwarmConfig(),
            new ProviderCatalog(new IEnvironmentProvider[] { new WorktreeProvider(), _vm }, WorktreeProvider.ProviderName));
        svc.HostResources.CapacitySource = _capacity;
        return svc;
    }

    private static NewEnvironmentRequest Vm(string ticket, int? cpus = null, int? memoryMb = null, int? diskGb = null, bool force = false) => new()
    {
        Ticket = ticket, Provider = "vmfake", Cpus = cpus, MemoryMb = memoryMb, Force = force,
        Options = diskGb is { } d ? new Dictionary<string, string> { ["diskGb"] = d.ToString(CultureInfo.InvariantCulture) } : null,
    };

    private static SwarmHostResource R(SwarmHostInfo info, string name) => info.Resources.Single(r => r.Resource == name);

    [Fact]
    public void Allocated_is_the_sum_of_what_providers_recorded_and_worktrees_add_nothing()
    {
        var svc = Service();
        Sync.Run(svc.NewEnvironmentAsync(Vm("VM-1", cpus: 2, memoryMb: 2048, diskGb: 20)));
        Sync.Run(svc.NewEnvironmentAsync(Vm("VM-2", cpus: 1, memoryMb: 512)));
        Sync.Run(svc.NewEnvironmentAsync(Vm("CT-1"))); // a container without limits: nothing
        Sync.Run(svc.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = "WT-1", RepositoryPath = _r.Repo }));

        var info = svc.HostResources.Get();
        info.Environments.Should().Be(4);
        info.LogicalCpus.Should().Be(4);
        R(info, "Cpu").Allocated.Should().Be(3);
        R(info, "Cpu").Environments.Should().Be(2);
        R(info, "Cpu").Ratio.Should().Be(0.75);
        R(info, "Cpu").Limit.Should().Be(16, "4 CPUs x the default cpuOvercommit 4.0");
        R(info, "Cpu").Available.Should().Be(13);
        R(info, "Memory").Allocated.Should().Be(2560);
        R(info, "Memory").Limit.Should().Be(8192, "memoryOvercommit defaults to 1.0");
        R(info, "Disk").Allocated.Should().Be(20);
        R(info, "Disk").Capacity.Should().Be(100);
        R(info, "Disk").Limit.Should().BeNull("disk is not checked by default");
        R(info, "Disk").Overcommit.Should().BeNull();
    }

    [Fact]
    public void Stopped_environments_keep_their_claim()
    {
        var svc = Service();
        var e = Sync.Run(svc.NewEnvironmentAsync(Vm("VM-1", cpus: 2, memoryMb: 1024)));
        svc.Registry.Update(e.With(status: EnvironmentStatus.Stopped));
        R(svc.HostResources.Get(), "Memory").Allocated.Should().Be(1024);
    }

    [Fact]
    public void Create_that_would_oversubscribe_memory_is_refused_before_anything_is_created()
    {
        var svc = Service();
        Sync.Run(svc.NewEnvironmentAsync(Vm("VM-1", cpus: 1, memoryMb: 6144)));
        var act = () => Sync.Run(svc.NewEnvironmentAsync(Vm("VM-2", cpus: 1, memoryMb: 4096)));
        var ex = act.Should().Throw<SwarmException>().Which;
        ex.ErrorId.Should().Be(ErrorIds.HostOversubscribed);
        ex.Kind.Should().Be(SwarmErrorKind.InvalidState);
        ex.Target.Should().Be("VM-2");
        ex.Message.Should().Contain("memory").And.Contain("requested 4096 MiB").And.Contain("allocated 6144 MiB").And.Contain("limit 8192 MiB")
            .And.Contain("capacity 8192 MiB").And.Contain("memoryOvercommit");
        ex.MessageFor(FrontEnd.Cli).Should().Contain("--force");
        ex.MessageFor(FrontEnd.PowerShell).Should().Contain("-Force").And.NotContain("--");
        ex.Message.Should().NotContain("cpu:", "2 of 16 vCPUs is within the limit");
        ex.Details.Should().ContainSingle();
        _vm.Creates.Should().Be(1, "the refused create never reached the provider");
        svc.Registry.GetEnvironment("VM-2").Should().BeNull("nothing was reserved");
    }

    /// <summary>
    /// Eight creates at once (separate services on one registry, as separate processes would be), each wanting
    /// 2 GiB of an 8 GiB host at memoryOvercommit 1.0. Every one of them has read the host before any reserves
    /// (the barrier); the check runs against the rows inside the reservation's transaction, so exactly four get in.
    /// </summary>
    [Fact]
    public void Concurrent_creates_are_admitted_one_by_one_and_never_oversubscribe_together()
    {
        Service().Registry.ListEnvironments().Should().BeEmpty();
        _capacity.Gate = new Barrier(8);
        var results = Enumerable.Range(1, 8).Select(i => Task.Run(() =>
        {
            try { Sync.Run(Service().NewEnvironmentAsync(Vm($"RACE-{i}", cpus: 1, memoryMb: 2048))); return (string?)null; }
            catch (SwarmException ex) { return ex.ErrorId; }
        })).ToArray();
        Task.WaitAll(results, TimeSpan.FromSeconds(60)).Should().BeTrue();
        results.Count(r => r.Result is null).Should().Be(4);
        results.Where(r => r.Result is not null).Select(r => r.Result).Should().AllBe(ErrorIds.HostOversubscribed);
        var rows = Service().Registry.ListEnvironments();
        rows.Should().HaveCount(4);
        rows.Sum(e => HostAllocation.Of(e).MemoryMb).Should().Be(8192);
    }

    [Fact]
    public void Exactly_reaching_the_limit_is_allowed()
    {
        var svc = Service();
        Sync.Run(svc.NewEnvironmentAsync(Vm("VM-1", memoryMb: 4096)));
        Sync.Run(svc.NewEnvironmentAsync(Vm("VM-2", memoryMb: 4096)));
        R(svc.HostResources.Get(), "Memory").Available.Should().Be(0);
    }

    [Fact]
    public void Every_resource_over_its_limit_is_named()
    {
        var config = new SwarmConfig { Host = new HostConfig { CpuOvercommit = 1.0, MemoryOvercommit = 1.0, DiskOvercommit = 0.5 } };
        var svc = Service(config);
        var act = () => Sync.Run(svc.NewEnvironmentAsync(Vm("BIG-1", cpus: 5, memoryMb: 9000, diskGb: 51)));
        var ex = act.Should().Throw<SwarmException>().Which;
        ex.ErrorId.Should().Be(ErrorIds.HostOversubscribed);
        ex.Details.Should().HaveCount(3);
        ex.Message.Should().Contain("cpu: requested 5 vCPU + allocated 0 vCPU = 5 vCPU > limit 4 vCPU").And.Contain("disk: requested 51 GiB");
    }

    [Fact]
    public void Force_creates_anyway_and_the_host_then_shows_the_oversubscription()
    {
        var svc = Service();
        Sync.Run(svc.NewEnvironmentAsync(Vm("VM-1", memoryMb: 8192)));
        var e = Sync.Run(svc.NewEnvironmentAsync(Vm("VM-2", memoryMb: 2048, force: true)));
        e.Status.Should().Be(EnvironmentStatus.Running);
        var mem = R(svc.HostResources.Get(), "Memory");
        mem.Ratio.Should().Be(1.25);
        mem.Available.Should().Be(-2048);
    }

    [Fact]
    public void A_ratio_set_to_null_is_not_checked_and_a_custom_ratio_is()
    {
        var svc = Service(new SwarmConfig { Host = new HostConfig { CpuOvercommit = null, MemoryOvercommit = 2.0 } });
        Sync.Run(svc.NewEnvironmentAsync(Vm("VM-1", cpus: 64, memoryMb: 16384)));
        var act = () => Sync.Run(svc.NewEnvironmentAsync(Vm("VM-2", cpus: 1, memoryMb: 1)));
        act.Should().Throw<SwarmException>().Which.Message.Should().Contain("limit 16384 MiB").And.NotContain("cpu:");
    }

    [Fact]
    public void Environments_that_allocate_nothing_are_never_refused_and_do_not_read_the_host()
    {
        _capacity.Cpus = 1; _capacity.MemoryMb = 64;
        var svc = Service();
        Sync.Run(svc.NewEnvironmentAsync(Vm("VM-1", cpus: 4, memoryMb: 64, force: true)));
        var reads = _capacity.Reads;
        Sync.Run(svc.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = "WT-1", RepositoryPath = _r.Repo })).Provider.Should().Be("worktree");
        Sync.Run(svc.NewEnvironmentAsync(Vm("CT-1"))).Status.Should().Be(EnvironmentStatus.Running);
        _capacity.Reads.Should().Be(reads);
    }

    [Theory]
    [InlineData("{ \"host\": { \"cpuOvercommit\": 0 } }")]
    [InlineData("{ \"host\": { \"memoryOvercommit\": -1 } }")]
    [InlineData("{ \"host\": { \"diskOvercommit\": 5000 } }")]
    public void Invalid_ratios_in_config_json_are_ConfigInvalid(string json)
    {
        Directory.CreateDirectory(_r.Home);
        var home = new SwarmHome(_r.Home);
        File.WriteAllText(home.ConfigPath, json);
        var act = () => SwarmConfig.Load(home);
        act.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.ConfigInvalid);
    }

    [Fact]
    public void Config_json_sets_the_ratios_and_null_switches_a_check_off()
    {
        Directory.CreateDirectory(_r.Home);
        var home = new SwarmHome(_r.Home);
        File.WriteAllText(home.ConfigPath, "{ \"host\": { \"cpuOvercommit\": 2.5, \"memoryOvercommit\": null, \"diskOvercommit\": 1.0 } }");
        var c = SwarmConfig.Load(home).Host;
        c.CpuOvercommit.Should().Be(2.5);
        c.MemoryOvercommit.Should().BeNull();
        c.DiskOvercommit.Should().Be(1.0);
        new SwarmConfig().Host.CpuOvercommit.Should().Be(4.0);
        new SwarmConfig().Host.MemoryOvercommit.Should().Be(1.0);
        new SwarmConfig().Host.DiskOvercommit.Should().BeNull();
    }

    [Theory]
    [InlineData("MemTotal:       24684012 kB\nMemFree:        24039464 kB\n", 24684012L)]
    [InlineData("MemFree: 1 kB\nMemTotal: 2048 kB\n", 2048L)]
    [InlineData("MemFree: 1 kB\n", null)]
    [InlineData("MemTotal: lots kB\n", null)]
    public void MemTotal_is_read_from_proc_meminfo(string text, long? kb) => SystemHostCapacity.ParseMemTotalKb(text).Should().Be(kb);

    [Fact]
    public void Garbage_metadata_counts_as_nothing()
    {
        var env = new SwarmEnvironment { Ticket = "X", Provider = "kvm", Metadata = new Dictionary<string, string> { ["cpus"] = "-3", ["memoryMb"] = "4 GiB", ["diskGb"] = "99999999999" } };
        HostAllocation.Of(env).IsEmpty.Should().BeTrue();
    }

    /// <summary>The real host and a real registry: what the machine reports, and rows written the way providers write them.</summary>
    [Fact]
    public void Real_host_and_registry()
    {
        var svc = new SwarmService(new SwarmHome(_r.Home), new SwarmConfig());
        svc.Registry.Reserve(new SwarmEnvironment
        {
            Ticket = "KVM-1", Provider = "kvm", InstanceId = "swarm-x-kvm-1",
            Metadata = new Dictionary<string, string> { ["cpus"] = "2", ["memoryMb"] = "4096", ["diskGb"] = "20", ["image"] = "deb12" },
        }, svc.Config.Ports);
        svc.Registry.Reserve(new SwarmEnvironment { Ticket = "DOCKER-1", Provider = "docker", Metadata = new Dictionary<string, string> { ["cpus"] = "1", ["memoryMb"] = "512" } }, svc.Config.Ports);

        var info = svc.HostResources.Get();
        info.LogicalCpus.Should().Be(Environment.ProcessorCount);
        info.MemoryMb.Should().BeGreaterThan(0);
        if (OperatingSystem.IsLinux())
            info.MemoryMb.Should().Be(SystemHostCapacity.ParseMemTotalKb(File.ReadAllText("/proc/meminfo"))!.Value / 1024);
        info.Disks.Should().NotBeEmpty();
        info.Disks.SelectMany(d => d.Uses).Should().Contain("home").And.Contain("worktrees");
        info.Disks[0].TotalBytes.Should().BeGreaterThan(0);
        info.Disks[0].FreeBytes.Should().BeInRange(1, info.Disks[0].TotalBytes);
        R(info, "Cpu").Allocated.Should().Be(3);
        R(info, "Memory").Allocated.Should().Be(4608);
        R(info, "Disk").Allocated.Should().Be(20);
        R(info, "Disk").Capacity.Should().Be(info.Disks[0].TotalBytes / (1024L * 1024 * 1024));
    }
}
