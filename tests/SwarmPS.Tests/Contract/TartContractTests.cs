using SwarmPS.Core;
using SwarmPS.Core.Providers;
using SwarmPS.Core.Providers.Tart;
using SwarmPS.Core.Registry;
using SwarmPS.Tests.HyperV;

namespace SwarmPS.Tests.Contract;

/// <summary>
/// The contract suite against the Tart provider driving the fake <c>tart</c> script (tests/SwarmPS.Tests/
/// Fakes/tart: recorded argv, stdout, stderr and exit codes of cli-facts section 1; state in its own
/// TART_HOME). <c>tart run</c> really runs detached through the platform launcher. The marker is a file in
/// the fake VM's folder, which <c>tart clone</c> copies (as the real clone copies the disk).
/// </summary>
public sealed class TartFixture : IProviderFixture
{
    public const string ImageName = "sequoia-base";
    public const string BaseVm = "macos-sequoia-base";
    private readonly string _home = Path.Combine(Path.GetTempPath(), "swarmps-tartct-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly SwarmConfig _failing = new();

    public static string FakeTart => Path.Combine(AppContext.BaseDirectory, "Fakes", "tart");

    public TartFixture()
    {
        TartHome = Path.Combine(_home, "tart-home");
        AddBaseVm(BaseVm, "darwin");
        Provider = NewProvider(noIp: false);
        if (SkipReason is not null) return;
        CreateService().Registry.AddBaseImage(new SwarmBaseImage { Name = ImageName, Provider = TartProvider.ProviderName, Path = BaseVm, SshUser = "admin", Cpus = 4, MemoryMb = 8192 });
    }

    public string TartHome { get; }
    public FakeSshProbe Probe { get; } = new();

    public TartProvider NewProvider(bool noIp, int maxMacOS = 2) => new(new TartOptions
    {
        Executable = FakeTart, RequireMacOS = false, MaxRunningMacOSVms = maxMacOS,
        AddressTimeout = TimeSpan.FromSeconds(noIp ? 1 : 20), SshTimeout = TimeSpan.FromSeconds(2), PollInterval = TimeSpan.FromMilliseconds(20), StopTimeoutSeconds = 5,
        Environment = new Dictionary<string, string?> { ["TART_HOME"] = TartHome, ["FAKE_TART_NO_IP"] = noIp ? "1" : "0" },
    }, Probe);

    /// <summary>A local VM in the fake's storage (as if pulled and cloned earlier).</summary>
    public void AddBaseVm(string name, string os)
    {
        var dir = Path.Combine(TartHome, "vms", name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "os"), os + "\n");
        File.WriteAllText(Path.Combine(dir, "disk.img"), "disk");
    }

    public IEnvironmentProvider Provider { get; }
    public string? SkipReason => OperatingSystem.IsWindows() ? "Tart fake: needs bash (Linux/macOS test hosts)." : !File.Exists("/bin/bash") ? "Tart fake: /bin/bash is missing." : SshKeygen.Missing;
    public SwarmHome Home => new(_home);

    public SwarmService CreateService(SwarmConfig? config = null)
    {
        // The failing config: tart ip never finds an address, so create fails after clone, set and run.
        var provider = ReferenceEquals(config, _failing) ? NewProvider(noIp: true) : (IEnvironmentProvider)Provider;
        // The fake VMs take nothing from this host; with the real base's 8 GiB each, three of them would
        // trip the host memory check first (HostResourcesTests covers that check).
        return new SwarmService(Home, config ?? new SwarmConfig { Host = new HostConfig { CpuOvercommit = null, MemoryOvercommit = null } },
            new ProviderCatalog(new[] { provider }, provider.Name));
    }

    public NewEnvironmentRequest Request(string ticket) => new() { Ticket = ticket, Provider = TartProvider.ProviderName, Image = ImageName };
    public SwarmConfig FailingCreateConfig() => _failing;

    public Task WriteMarkerAsync(SwarmEnvironment env, string content)
    {
        File.WriteAllText(Path.Combine(TartHome, "vms", env.InstanceId!, "marker"), content);
        return Task.CompletedTask;
    }

    public Task<string?> ReadMarkerAsync(SwarmEnvironment env)
    {
        var f = Path.Combine(TartHome, "vms", env.InstanceId!, "marker");
        return Task.FromResult(File.Exists(f) ? File.ReadAllText(f) : null);
    }

    public Task<IReadOnlyList<string>> LeftoversAsync(string ticket)
    {
        var vm = TartProvider.VmName(Home, ticket);
        var left = new List<string>();
        var vms = Path.Combine(TartHome, "vms");
        if (Directory.Exists(vms)) left.AddRange(Directory.EnumerateDirectories(vms).Select(Path.GetFileName).Where(n => n == vm || n!.StartsWith(vm + TartProvider.CheckpointSeparator, StringComparison.Ordinal))!);
        var run = Path.Combine(_home, "tart", "run", vm);
        if (Directory.Exists(run)) left.Add(run);
        if (!Directory.Exists(Path.Combine(vms, BaseVm))) left.Add("BASE VM DELETED: " + BaseVm);
        return Task.FromResult<IReadOnlyList<string>>(left);
    }

    /// <summary>The fake's call log: one line per call, argv joined by TABs.</summary>
    public IReadOnlyList<string[]> Calls()
    {
        var log = Path.Combine(TartHome, "calls.log");
        return File.Exists(log) ? File.ReadAllLines(log).Select(l => l.Split('\t')).ToList() : new List<string[]>();
    }

    public void Dispose()
    {
        // Stop every fake VM still running (a failed test), so no `tart run` loop outlives the tests.
        var vms = Path.Combine(TartHome, "vms");
        if (Directory.Exists(vms))
            foreach (var d in Directory.EnumerateDirectories(vms))
                if (File.Exists(Path.Combine(d, "run.pid"))) File.WriteAllText(Path.Combine(d, "stop"), "");
        Thread.Sleep(300);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { if (Directory.Exists(_home)) Directory.Delete(_home, true); } catch (IOException) { }
    }
}

public sealed class TartContractTests : ProviderContractTests<TartFixture>
{
}
