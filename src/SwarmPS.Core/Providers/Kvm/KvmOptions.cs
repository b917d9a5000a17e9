namespace SwarmPS.Core.Providers.Kvm;

/// <summary>What "ready" means after a VM starts.</summary>
public enum KvmWaitFor
{
    /// <summary>A DHCP lease on the libvirt network, then a working SSH login (the default).</summary>
    Ssh,
    /// <summary>Return as soon as the domain runs (<c>--no-wait</c>); no IP or SSH is awaited.</summary>
    Running,
}

/// <summary>
/// Settings of the KVM provider. Defaults fit a libvirt started by <c>.ci/backends/libvirt.sh</c>.
/// Environment overrides (read by <see cref="FromEnvironment"/>): SWARMPS_KVM_URI, SWARMPS_KVM_POOL,
/// SWARMPS_KVM_POOL_DIR, SWARMPS_KVM_DOMAIN_TYPE (auto|kvm|qemu), SWARMPS_KVM_NETWORK,
/// SWARMPS_KVM_READINESS_TIMEOUT (seconds); they win over the <c>kvm</c> section of config.json.
/// </summary>
public sealed class KvmOptions
{
    /// <summary>libvirt connection URI; passed as <c>-c</c> to every virsh call.</summary>
    public string Uri { get; init; } = "qemu:///system";
    /// <summary>The dir storage pool SwarmPS owns (overlays, seeds, serial logs). Defined on first use when missing.</summary>
    public string PoolName { get; init; } = "swarmps";
    /// <summary>Directory of the pool; null: the pool's own target path, or /var/lib/swarmps/pool when the pool is undefined.</summary>
    public string? PoolDirectory { get; init; }
    /// <summary>auto (a real KVM probe), kvm or qemu (TCG).</summary>
    public string DomainType { get; init; } = "auto";
    /// <summary>libvirt network the NIC joins (DHCP leases are read from it).</summary>
    public string Network { get; init; } = "default";
    public KvmWaitFor WaitFor { get; init; } = KvmWaitFor.Ssh;
    /// <summary>The whole readiness wait (address, then SSH) may take at most this long.</summary>
    public TimeSpan ReadinessTimeout { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>The address phase alone may take at most this long (and never beyond <see cref="ReadinessTimeout"/>).</summary>
    public TimeSpan AddressTimeout { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>The SSH phase alone may take at most this long (and never beyond <see cref="ReadinessTimeout"/>).</summary>
    public TimeSpan SshTimeout { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>The SSH user of images registered without one.</summary>
    public string SshUser { get; init; } = "root";
    /// <summary>How long an ACPI shutdown may take before the domain is destroyed.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Used when neither the request nor the image says (issue 6: 2 vCPU / 4 GiB).</summary>
    public int DefaultCpus { get; init; } = 2;
    public int DefaultMemoryMb { get; init; } = 4096;
    /// <summary>Direct kernel boot (for tiny test guests): kernel, initrd and command line. Null: boot the disk.</summary>
    public string? KernelPath { get; init; }
    public string? InitrdPath { get; init; }
    public string? KernelCommandLine { get; init; }
    /// <summary>Timeout of one virsh / qemu-img call.</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromMinutes(2);

    public static KvmOptions FromEnvironment() => Resolve(null);

    /// <summary>Defaults, then the <c>kvm</c> section of config.json, then SWARMPS_KVM_* variables (the last word).</summary>
    public static KvmOptions Resolve(KvmConfig? config, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        string? E(string n) => environment(n) is { Length: > 0 } v ? v : null;
        var d = new KvmOptions();
        var c = config ?? new KvmConfig();
        var readiness = c.ReadinessTimeoutSeconds is { } r ? TimeSpan.FromSeconds(r) : d.ReadinessTimeout;
        if (E("SWARMPS_KVM_READINESS_TIMEOUT") is { } rs && int.TryParse(rs, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var secs) && secs > 0)
            readiness = TimeSpan.FromSeconds(secs);
        return new KvmOptions
        {
            Uri = E("SWARMPS_KVM_URI") ?? c.Uri ?? d.Uri,
            PoolName = E("SWARMPS_KVM_POOL") ?? c.Pool ?? d.PoolName,
            PoolDirectory = E("SWARMPS_KVM_POOL_DIR") ?? c.PoolDirectory,
            DomainType = E("SWARMPS_KVM_DOMAIN_TYPE") ?? c.DomainType ?? d.DomainType,
            Network = E("SWARMPS_KVM_NETWORK") ?? c.Network ?? d.Network,
            DefaultCpus = c.Cpus ?? d.DefaultCpus,
            DefaultMemoryMb = c.MemoryMb ?? d.DefaultMemoryMb,
            ReadinessTimeout = readiness, AddressTimeout = readiness, SshTimeout = readiness,
            ShutdownTimeout = c.ShutdownTimeoutSeconds is { } st ? TimeSpan.FromSeconds(st) : d.ShutdownTimeout,
            SshUser = c.SshUser ?? d.SshUser,
        };
    }
}
