using System.Diagnostics;
using SwarmPS.Core;
using SwarmPS.Core.Providers;
using SwarmPS.Core.Providers.Kvm;

namespace SwarmPS.Tests.Contract;

/// <summary>
/// The contract suite against real libvirt/QEMU: each environment is a 64 MiB, 1 vCPU TCG guest on an
/// overlay of a tiny disk made at test time (a boot sector that prints BOOT-OK and halts; no OS, so
/// readiness is "the domain runs"). The marker is the domain's description, which internal snapshots
/// save and revert with the domain (the boot sector has no file system to write to).
/// Skipped loudly without libvirt; SWARMPS_REQUIRE_BACKENDS=1 makes that a failure.
/// </summary>
public sealed class KvmFixture : IProviderFixture
{
    private static readonly Lazy<string?> Skip = new(ProbeSkipReason);
    private static readonly Lazy<string> BaseImage = new(BuildBootSectorImage);
    public const string ImageName = "tiny-boot";

    private readonly string _home = Path.Combine(Path.GetTempPath(), "swarmps-kvmct-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly SwarmConfig _failing = new();

    public KvmFixture()
    {
        Provider = NewProvider(KvmWaitFor.Running, TimeSpan.FromMinutes(3));
        if (SkipReason is not null) return;
        Directory.CreateDirectory(_home);
        new KvmImages(CreateService().Registry).RegisterAsync(ImageName, BaseImage.Value, "boot sector test disk", cpus: 1, memoryMb: 64).GetAwaiter().GetResult();
    }

    private static KvmProvider NewProvider(KvmWaitFor wait, TimeSpan addressTimeout) => new(new KvmOptions
    {
        WaitFor = wait, AddressTimeout = addressTimeout, SshTimeout = TimeSpan.FromSeconds(5),
        // The boot sector ignores ACPI: stop falls back to destroy after this.
        ShutdownTimeout = TimeSpan.FromSeconds(1), CommandTimeout = TimeSpan.FromSeconds(60),
        DomainType = Environment.GetEnvironmentVariable("SWARMPS_KVM_DOMAIN_TYPE") ?? "auto",
    });

    public IEnvironmentProvider Provider { get; }
    public string? SkipReason => Skip.Value;
    public SwarmHome Home => new(_home);

    public SwarmService CreateService(SwarmConfig? config = null)
    {
        // The failing config: SSH readiness with a 1 s address timeout; the boot sector never gets a
        // lease, so create fails after the overlay, seed, key and domain exist and the VM runs.
        var provider = ReferenceEquals(config, _failing) ? NewProvider(KvmWaitFor.Ssh, TimeSpan.FromSeconds(1)) : (IEnvironmentProvider)Provider;
        return new SwarmService(Home, config ?? new SwarmConfig(), new ProviderCatalog(new[] { provider }, provider.Name));
    }

    public NewEnvironmentRequest Request(string ticket) => new() { Ticket = ticket, Provider = KvmProvider.ProviderName, Image = ImageName };
    public SwarmConfig FailingCreateConfig() => _failing;

    public Task WriteMarkerAsync(SwarmEnvironment env, string content)
    {
        Virsh("desc", env.InstanceId!, "--live", "--config", content);
        return Task.CompletedTask;
    }

    public Task<string?> ReadMarkerAsync(SwarmEnvironment env)
    {
        var (code, output) = Virsh("desc", env.InstanceId!);
        return Task.FromResult<string?>(code == 0 ? output.TrimEnd('\n') : null);
    }

    public Task<IReadOnlyList<string>> LeftoversAsync(string ticket)
    {
        var domain = KvmProvider.DomainName(Home, ticket);
        var left = new List<string>();
        var (_, names) = Virsh("list", "--all", "--name");
        left.AddRange(names.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(n => n.Trim() == domain).Select(n => "domain " + n.Trim()));
        var pool = ((KvmProvider)Provider).PoolDirectoryAsync(default).GetAwaiter().GetResult();
        left.AddRange(Directory.EnumerateFiles(pool).Where(f => Path.GetFileName(f) is var n && (n.StartsWith(domain + ".", StringComparison.Ordinal) || n.StartsWith(domain + "-", StringComparison.Ordinal))));
        var keys = Path.Combine(_home, "kvm", "keys");
        if (Directory.Exists(keys)) left.AddRange(Directory.EnumerateFiles(keys).Where(f => Path.GetFileName(f).StartsWith(domain, StringComparison.Ordinal)));
        if (!File.Exists(BaseImage.Value)) left.Add("BASE IMAGE DELETED: " + BaseImage.Value);
        return Task.FromResult<IReadOnlyList<string>>(left);
    }

    public void Dispose()
    {
        if (SkipReason is null)
        {
            // Whatever a failed test left: remove every domain of this home.
            try { CreateService().RepairAsync(fix: true).GetAwaiter().GetResult(); } catch (SwarmException) { }
            foreach (var e in CreateService().Registry.ListEnvironments())
                try { CreateService().RemoveEnvironmentAsync(e.Ticket, new RemoveOptions { Force = true }).GetAwaiter().GetResult(); } catch (SwarmException) { }
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { if (Directory.Exists(_home)) Directory.Delete(_home, true); } catch (IOException) { }
    }

    internal static (int Code, string Output) Virsh(params string[] args)
    {
        var psi = new ProcessStartInfo("virsh") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["LC_ALL"] = "C";
        foreach (var a in new[] { "-q", "-c", "qemu:///system" }.Concat(args)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000)) { p.Kill(true); return (-1, ""); }
        return (p.ExitCode, o.Result + e.Result);
    }

    private static string? ProbeSkipReason()
    {
        var a = new KvmProvider(new KvmOptions()).CheckAvailabilityAsync(default).GetAwaiter().GetResult();
        if (!a.Available) return "KVM provider: " + a.Reason;
        if (CloudInitSeedTool() is null) return "KVM provider: genisoimage/xorriso is not installed (cloud-init seeds).";
        return null;
    }

    private static string? CloudInitSeedTool() => CloudInitSeed.FindIsoTool();

    /// <summary>A 1 MiB qcow2 whose boot sector writes BOOT-OK to COM1 and halts; cached per machine.</summary>
    private static string BuildBootSectorImage()
    {
        var dir = Path.Combine(Path.GetTempPath(), "swarmps-kvm-test-cache");
        Directory.CreateDirectory(dir);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(dir, (UnixFileMode)0x1ED); // 0755: QEMU runs as libvirt-qemu
        var image = Path.Combine(dir, "bootsector-v1.qcow2");
        if (File.Exists(image)) return image;
        var code = new List<byte> { 0xBA, 0xF8, 0x03 };                     // mov dx,0x3f8
        foreach (var ch in "BOOT-OK\r\n") code.AddRange(new byte[] { 0xB0, (byte)ch, 0xEE }); // mov al,ch ; out dx,al
        code.AddRange(new byte[] { 0xFA, 0xF4, 0xEB, 0xFD });                 // cli ; hlt ; jmp hlt
        var raw = new byte[1024 * 1024];
        code.CopyTo(raw);
        raw[510] = 0x55; raw[511] = 0xAA;
        var rawPath = image + "." + Environment.ProcessId + ".raw";
        var tmp = image + "." + Environment.ProcessId + ".tmp";
        File.WriteAllBytes(rawPath, raw);
        var psi = new ProcessStartInfo("qemu-img") { RedirectStandardError = true };
        foreach (var x in new[] { "convert", "-q", "-f", "raw", "-O", "qcow2", rawPath, tmp }) psi.ArgumentList.Add(x);
        using (var p = Process.Start(psi)!)
        {
            var err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException("qemu-img convert failed: " + err);
        }
        File.Delete(rawPath);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(tmp, (UnixFileMode)0x1A4); // 0644
        File.Move(tmp, image, overwrite: true);
        return image;
    }
}

public sealed class KvmContractTests : ProviderContractTests<KvmFixture>
{
}
