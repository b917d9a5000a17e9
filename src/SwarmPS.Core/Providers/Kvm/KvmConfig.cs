namespace SwarmPS.Core.Providers.Kvm;

/// <summary>
/// The <c>kvm</c> section of <c>config.json</c>. Every field is optional; SWARMPS_KVM_* environment
/// variables override what is set here (see <see cref="KvmOptions.Resolve"/>).
/// <code>
/// "kvm": { "uri": "qemu:///system", "pool": "swarmps", "poolDirectory": "/var/lib/swarmps/pool",
///          "network": "default", "domainType": "auto", "cpus": 2, "memoryMb": 4096,
///          "readinessTimeoutSeconds": 300, "shutdownTimeoutSeconds": 60, "sshUser": "root" }
/// </code>
/// </summary>
public sealed class KvmConfig
{
    public string? Uri { get; set; }
    public string? Pool { get; set; }
    public string? PoolDirectory { get; set; }
    public string? Network { get; set; }
    /// <summary>auto (a real KVM probe), kvm or qemu (TCG).</summary>
    public string? DomainType { get; set; }
    /// <summary>Default vCPUs when neither the request nor the image says.</summary>
    public int? Cpus { get; set; }
    public int? MemoryMb { get; set; }
    /// <summary>How long create/start wait for an IP address and a working SSH login (together).</summary>
    public int? ReadinessTimeoutSeconds { get; set; }
    /// <summary>How long an ACPI shutdown may take before the domain is destroyed.</summary>
    public int? ShutdownTimeoutSeconds { get; set; }
    /// <summary>The SSH user of images registered without one (default root).</summary>
    public string? SshUser { get; set; }

    public void Validate(string source)
    {
        static SwarmException Bad(string source, string what) =>
            new(ErrorIds.ConfigInvalid, SwarmErrorKind.InvalidArgument, $"{source}: kvm.{what}", source);
        if (DomainType is not null && DomainType.Trim().ToLowerInvariant() is not ("auto" or "kvm" or "qemu")) throw Bad(source, $"domainType must be auto, kvm or qemu (got '{Names.Describe(DomainType)}').");
        if (Cpus is < 1 or > 256) throw Bad(source, $"cpus must be 1-256 (got {Cpus}).");
        if (MemoryMb is < 32 or > 4 * 1024 * 1024) throw Bad(source, $"memoryMb must be 32-4194304 (got {MemoryMb}).");
        if (ReadinessTimeoutSeconds is < 1 or > 86400) throw Bad(source, $"readinessTimeoutSeconds must be 1-86400 (got {ReadinessTimeoutSeconds}).");
        if (ShutdownTimeoutSeconds is < 0 or > 86400) throw Bad(source, $"shutdownTimeoutSeconds must be 0-86400 (got {ShutdownTimeoutSeconds}).");
        if (SshUser is not null && !KvmImages.IsValidUser(SshUser)) throw Bad(source, $"sshUser '{Names.Describe(SshUser)}' is not a valid user name.");
        foreach (var (name, value) in new[] { ("uri", Uri), ("pool", Pool), ("poolDirectory", PoolDirectory), ("network", Network) })
            if (value is not null && (value.Length == 0 || value.Any(char.IsControl) || value.StartsWith('-'))) throw Bad(source, $"{name} must be non-empty text without control characters, not starting with '-'.");
    }
}
