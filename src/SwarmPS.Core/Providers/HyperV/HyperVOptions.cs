namespace SwarmPS.Core.Providers.HyperV;

/// <summary>
/// Settings of the Hyper-V provider. Environment overrides (read by <see cref="FromEnvironment"/>):
/// SWARMPS_HYPERV_SWITCH, SWARMPS_HYPERV_DIR, SWARMPS_HYPERV_NAT_PREFIX, SWARMPS_HYPERV_DNS.
/// </summary>
public sealed class HyperVOptions
{
    public const string DefaultSwitchName = "SwarmPS";

    /// <summary>
    /// The switch every VM joins. The default, "SwarmPS", is an internal switch with a NetNat that SwarmPS
    /// creates once (guests get static addresses from their seed: a NAT switch has no DHCP). Any other
    /// name must be an existing switch with DHCP (for example "Default Switch"); SwarmPS then creates nothing.
    /// </summary>
    public string SwitchName { get; init; } = DefaultSwitchName;
    /// <summary>The NAT prefix of the SwarmPS switch: the host is .1, guests .10 to .250.</summary>
    public string NatPrefix { get; init; } = "192.168.250.0/24";
    /// <summary>DNS servers written into the guests' static network config.</summary>
    public IReadOnlyList<string> DnsServers { get; init; } = new[] { "1.1.1.1", "8.8.8.8" };
    /// <summary>Where VM folders (config, differencing VHDX, seed VHDX) go; null: &lt;SWARMPS_HOME&gt;/hyperv/vms.</summary>
    public string? VmDirectory { get; init; }
    /// <summary>Ready = an IPv4 reported by the guest (KVP) and then an SSH login; Running = return once the VM runs.</summary>
    public Kvm.KvmWaitFor WaitFor { get; init; } = Kvm.KvmWaitFor.Ssh;
    public TimeSpan AddressTimeout { get; init; } = TimeSpan.FromMinutes(3);
    public TimeSpan SshTimeout { get; init; } = TimeSpan.FromMinutes(2);
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);
    public int DefaultCpus { get; init; } = 2;
    public int DefaultMemoryMb { get; init; } = 4096;
    /// <summary>Size of the FAT32 seed disk (label CIDATA) in MiB.</summary>
    public int SeedSizeMb { get; init; } = 64;

    public bool OwnsSwitch => string.Equals(SwitchName, DefaultSwitchName, StringComparison.OrdinalIgnoreCase);

    public static HyperVOptions FromEnvironment()
    {
        static string? E(string n) => Environment.GetEnvironmentVariable(n) is { Length: > 0 } v ? v : null;
        var d = new HyperVOptions();
        return new HyperVOptions
        {
            SwitchName = E("SWARMPS_HYPERV_SWITCH") ?? d.SwitchName,
            VmDirectory = E("SWARMPS_HYPERV_DIR"),
            NatPrefix = E("SWARMPS_HYPERV_NAT_PREFIX") ?? d.NatPrefix,
            DnsServers = E("SWARMPS_HYPERV_DNS")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? d.DnsServers,
        };
    }

    /// <summary>The /24 network part ("192.168.250") of <see cref="NatPrefix"/>; only /24 prefixes are supported.</summary>
    public string Network24()
    {
        var parts = NatPrefix.Split('/');
        var octets = parts[0].Split('.');
        if (parts.Length != 2 || parts[1] != "24" || octets.Length != 4 || !octets.All(o => byte.TryParse(o, out _)))
            throw new SwarmException(ErrorIds.ConfigInvalid, SwarmErrorKind.InvalidArgument, $"SWARMPS_HYPERV_NAT_PREFIX must be an IPv4 /24 prefix such as 192.168.250.0/24 (got '{Names.Describe(NatPrefix)}').");
        return string.Join('.', octets.Take(3));
    }
}
