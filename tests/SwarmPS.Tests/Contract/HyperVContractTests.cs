using SwarmPS.Core;
using SwarmPS.Core.Providers;
using SwarmPS.Core.Providers.HyperV;
using SwarmPS.Core.Registry;
using SwarmPS.Tests.HyperV;

namespace SwarmPS.Tests.Contract;

/// <summary>
/// The contract suite against the Hyper-V provider driving <see cref="FakeHyperVHost"/> (cli-facts
/// section 3: recorded properties and errors, real VHDX files on disk) and a fake SSH probe. The marker
/// lives in the fake VM's state, which Standard checkpoints save and restore. The real Hyper-V runs in
/// the Windows job of the GitHub Actions workflow (tests/pester/HyperV.Provider.Tests.ps1).
/// </summary>
public sealed class HyperVFixture : IProviderFixture
{
    public const string ImageName = "hv-base";
    private readonly string _home = Path.Combine(Path.GetTempPath(), "swarmps-hvct-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly SwarmConfig _failing = new();

    public HyperVFixture()
    {
        Directory.CreateDirectory(_home);
        BaseVhdx = Path.Combine(_home, "base", "ubuntu-24.04.vhdx");
        Directory.CreateDirectory(Path.GetDirectoryName(BaseVhdx)!);
        File.WriteAllText(BaseVhdx, "base vhdx");
        Provider = new HyperVProvider(Host, Options(TimeSpan.FromSeconds(20)), Probe);
        CreateService().Registry.AddBaseImage(new SwarmBaseImage { Name = ImageName, Provider = HyperVProvider.ProviderName, Path = BaseVhdx, SshUser = "swarm", Cpus = 2, MemoryMb = 2048 });
    }

    public FakeHyperVHost Host { get; } = new();
    public FakeSshProbe Probe { get; } = new();
    public string BaseVhdx { get; }
    public string VmRoot => Path.Combine(_home, "hyperv", "vms");

    public HyperVOptions Options(TimeSpan addressTimeout) => new()
    {
        AddressTimeout = addressTimeout, SshTimeout = TimeSpan.FromSeconds(2), PollInterval = TimeSpan.FromMilliseconds(10),
    };

    public IEnvironmentProvider Provider { get; }
    /// <summary>The provider makes a real key per environment with ssh-keygen.</summary>
    public string? SkipReason => SshKeygen.Missing;
    public SwarmHome Home => new(_home);

    public SwarmService CreateService(SwarmConfig? config = null)
    {
        // The failing config: the guest never reports an address, so create fails in readiness after the
        // switch, VHDX files, key, seed and VM exist and the VM runs.
        IEnvironmentProvider provider = Provider;
        if (ReferenceEquals(config, _failing))
        {
            var host = new FailingAddressHost(Host);
            provider = new HyperVProvider(host, Options(TimeSpan.FromMilliseconds(200)), Probe);
        }
        return new SwarmService(Home, config ?? new SwarmConfig(), new ProviderCatalog(new[] { provider }, provider.Name));
    }

    public NewEnvironmentRequest Request(string ticket) => new() { Ticket = ticket, Provider = HyperVProvider.ProviderName, Image = ImageName };
    public SwarmConfig FailingCreateConfig() => _failing;

    public Task WriteMarkerAsync(SwarmEnvironment env, string content)
    {
        lock (Host) Host.Vms[env.InstanceId!].Marker = content;
        return Task.CompletedTask;
    }

    public Task<string?> ReadMarkerAsync(SwarmEnvironment env)
    {
        lock (Host) return Task.FromResult(Host.Vms.TryGetValue(env.InstanceId!, out var vm) ? vm.Marker : null);
    }

    public Task<IReadOnlyList<string>> LeftoversAsync(string ticket)
    {
        var vm = HyperVProvider.VmName(Home, ticket);
        var left = new List<string>();
        lock (Host) if (Host.Vms.ContainsKey(vm)) left.Add("VM " + vm);
        if (Directory.Exists(VmRoot)) left.AddRange(Directory.EnumerateFileSystemEntries(VmRoot).Where(f => Path.GetFileName(f).StartsWith(vm, StringComparison.Ordinal)));
        var keys = Path.Combine(_home, "hyperv", "keys");
        if (Directory.Exists(keys)) left.AddRange(Directory.EnumerateFiles(keys).Where(f => Path.GetFileName(f).StartsWith(vm, StringComparison.Ordinal)));
        lock (Host) left.AddRange(Host.Mounted.Where(m => m.Contains(vm, StringComparison.Ordinal)).Select(m => "mounted " + m));
        if (!File.Exists(BaseVhdx)) left.Add("BASE VHDX DELETED: " + BaseVhdx);
        return Task.FromResult<IReadOnlyList<string>>(left);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { if (Directory.Exists(_home)) Directory.Delete(_home, true); } catch (IOException) { }
    }

    /// <summary>The same fake host, but the guest never reports an address.</summary>
    private sealed class FailingAddressHost : IHyperVHost
    {
        private readonly FakeHyperVHost _inner;
        public FailingAddressHost(FakeHyperVHost inner) => _inner = inner;
        public Task<ProviderAvailability> CheckAvailabilityAsync(CancellationToken ct) => _inner.CheckAvailabilityAsync(ct);
        public async Task<IReadOnlyList<HyperVObject>> InvokeAsync(string cmdlet, IReadOnlyDictionary<string, object?> parameters, CancellationToken ct)
        {
            var r = await _inner.InvokeAsync(cmdlet, parameters, ct).ConfigureAwait(false);
            if (cmdlet != "Get-VMNetworkAdapter") return r;
            return r.Select(o => new HyperVObject(o.Properties.ToDictionary(kv => kv.Key, kv => kv.Key == "IPAddresses" ? Array.Empty<string>() : kv.Value))).ToList();
        }
    }
}

public sealed class HyperVContractTests : ProviderContractTests<HyperVFixture>
{
}

/// <summary>Whether ssh-keygen (openssh-client) is on PATH; the VM providers generate real keys with it.</summary>
public static class SshKeygen
{
    private static readonly Lazy<string?> Probe = new(() =>
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            if (File.Exists(Path.Combine(dir, "ssh-keygen")) || File.Exists(Path.Combine(dir, "ssh-keygen.exe"))) return null;
        return "ssh-keygen is not installed (apt-get install openssh-client).";
    });

    public static string? Missing => Probe.Value;
}
