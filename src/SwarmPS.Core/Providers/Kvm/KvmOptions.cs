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
/// SWARMPS_KVM_POOL_DIR, SWARMPS_KVM_DOMAIN_TYPE (auto|kvm|qemu), SWARMPS_KVM_NETWORK.
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
    public TimeSpan AddressTimeout { get; init; } = TimeSpan.FromMinutes(3);
    public TimeSpan SshTimeout { get; init; } = TimeSpan.FromMinutes(2);
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

    public static KvmOptions FromEnvironment()
    {
        static string? E(string n) => Environment.GetEnvironmentVariable(n) is { Length: > 0 } v ? v : null;
        var d = new KvmOptions();
        return new KvmOptions
        {
            Uri = E("SWARMPS_KVM_URI") ?? d.Uri,
            PoolName = E("SWARMPS_KVM_POOL") ?? d.PoolName,
            PoolDirectory = E("SWARMPS_KVM_POOL_DIR"),
            DomainType = E("SWARMPS_KVM_DOMAIN_TYPE") ?? d.DomainType,
            Network = E("SWARMPS_KVM_NETWORK") ?? d.Network,
        };
    }
}
