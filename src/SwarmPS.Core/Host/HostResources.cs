using System.Globalization;

namespace SwarmPS.Core
{
    /// <summary>
    /// <c>host</c> in config.json: how far environments may oversubscribe the host before create refuses
    /// (<c>-Force</c> / <c>--force</c> overrides). A ratio of allocated to capacity: 4.0 lets 2 cores carry
    /// 8 vCPUs; 1.0 never promises more memory than the host has. <c>diskOvercommit</c> is off by default
    /// (null): qcow2 overlays and container layers are thin, so their virtual size says little about use.
    /// <code>{ "host": { "cpuOvercommit": 4.0, "memoryOvercommit": 1.0, "diskOvercommit": null } }</code>
    /// </summary>
    public sealed class HostConfig
    {
        public double? CpuOvercommit { get; set; } = 4.0;
        public double? MemoryOvercommit { get; set; } = 1.0;
        public double? DiskOvercommit { get; set; }

        public void Validate(string source)
        {
            foreach (var (name, v) in new[] { ("cpuOvercommit", CpuOvercommit), ("memoryOvercommit", MemoryOvercommit), ("diskOvercommit", DiskOvercommit) })
                if (v is { } r && (double.IsNaN(r) || r <= 0 || r > 1000))
                    throw new SwarmException(ErrorIds.ConfigInvalid, SwarmErrorKind.InvalidArgument,
                        $"{source}: host.{name} must be a ratio above 0 and at most 1000, or null to not check it (got {r.ToString(CultureInfo.InvariantCulture)}).", source);
        }
    }
}

namespace SwarmPS.Core.Host
{
    /// <summary>What one environment holds of the host, from the metadata its provider recorded (cpus, memoryMb, diskGb).</summary>
    public readonly record struct HostAllocation(int Cpus, long MemoryMb, long DiskGb)
    {
        public const string CpusKey = "cpus", MemoryKey = "memoryMb", DiskKey = "diskGb";
        public bool IsEmpty => Cpus == 0 && MemoryMb == 0 && DiskGb == 0;

        /// <summary>
        /// The kvm provider records cpus, memoryMb and diskGb; docker records cpus and memoryMb when limits were
        /// requested (a container without limits allocates nothing); a worktree allocates nothing.
        /// </summary>
        public static HostAllocation Of(SwarmEnvironment env) =>
            new((int)Read(env, CpusKey), Read(env, MemoryKey), Read(env, DiskKey));

        private static long Read(SwarmEnvironment env, string key) =>
            env.Metadata.TryGetValue(key, out var v) && long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 && n < int.MaxValue ? n : 0;
    }

    /// <summary>One resource of the host: capacity, what environments have been allocated, the ratio and the configured limit.</summary>
    public sealed class SwarmHostResource
    {
        /// <summary>Cpu, Memory or Disk.</summary>
        public required string Resource { get; init; }
        /// <summary>vCPU, MiB or GiB.</summary>
        public required string Unit { get; init; }
        public long Capacity { get; init; }
        public long Allocated { get; init; }
        /// <summary>Allocated / capacity (0 when the capacity is unknown).</summary>
        public double Ratio { get; init; }
        /// <summary>The configured overcommit ratio; null: not checked.</summary>
        public double? Overcommit { get; init; }
        /// <summary>Capacity × overcommit: what may be allocated in total; null: not checked.</summary>
        public long? Limit { get; init; }
        /// <summary>Limit - allocated (negative when already over); null: not checked.</summary>
        public long? Available { get; init; }
        /// <summary>How many environments hold some of it.</summary>
        public int Environments { get; init; }
    }

    /// <summary>What <c>Get-SwarmHost</c> / <c>swarmps host</c> report.</summary>
    public sealed class SwarmHostInfo
    {
        public required string HostName { get; init; }
        public int LogicalCpus { get; init; }
        public long MemoryMb { get; init; }
        public IReadOnlyList<SwarmHostDisk> Disks { get; init; } = Array.Empty<SwarmHostDisk>();
        /// <summary>All environments in the registry (worktrees included, which allocate nothing).</summary>
        public int Environments { get; init; }
        public IReadOnlyList<SwarmHostResource> Resources { get; init; } = Array.Empty<SwarmHostResource>();
    }

    /// <summary>
    /// Host capacity against what the registry's environments were given, and the oversubscription check that
    /// create runs after the provider has prepared (so the sizes are known) and before anything is reserved.
    /// Every environment row counts, running or stopped: a stopped VM keeps its claim and may be started again.
    /// </summary>
    public sealed class HostResources
    {
        private readonly SwarmService _service;

        public HostResources(SwarmService service) => _service = service;

        /// <summary>Where capacity comes from (tests set a fake).</summary>
        public IHostCapacitySource CapacitySource { get; set; } = SystemHostCapacity.Instance;

        /// <summary>The SwarmPS paths whose file systems are reported; the first existing one measures disk capacity.</summary>
        public IReadOnlyList<(string Use, string Path)> Paths()
        {
            var list = new List<(string, string)>();
            if (OperatingSystem.IsLinux())
            {
                var pool = Providers.Kvm.KvmOptions.FromEnvironment().PoolDirectory ?? "/var/lib/swarmps/pool";
                if (Directory.Exists(pool)) list.Add(("kvm pool", pool));
            }
            list.Add(("home", _service.Home.Path));
            list.Add(("worktrees", _service.Config.Worktree.Root ?? _service.Home.DefaultWorktreeRoot));
            return list;
        }

        public SwarmHostInfo Get() =>
            Compute(CapacitySource.Read(Paths()), _service.Registry.ListEnvironments(), _service.Config.Host, Environment.MachineName);

        public static SwarmHostInfo Compute(HostCapacity capacity, IEnumerable<SwarmEnvironment> environments, HostConfig config, string hostName)
        {
            var envs = environments.ToList();
            var allocs = envs.Select(HostAllocation.Of).ToList();
            var diskCapacityGb = capacity.Disks.Count > 0 ? capacity.Disks[0].TotalBytes / (1024L * 1024 * 1024) : 0;
            return new SwarmHostInfo
            {
                HostName = hostName, LogicalCpus = capacity.LogicalCpus, MemoryMb = capacity.MemoryMb, Disks = capacity.Disks, Environments = envs.Count,
                Resources = new[]
                {
                    Resource("Cpu", "vCPU", capacity.LogicalCpus, allocs.Sum(a => (long)a.Cpus), allocs.Count(a => a.Cpus > 0), config.CpuOvercommit),
                    Resource("Memory", "MiB", capacity.MemoryMb, allocs.Sum(a => a.MemoryMb), allocs.Count(a => a.MemoryMb > 0), config.MemoryOvercommit),
                    Resource("Disk", "GiB", diskCapacityGb, allocs.Sum(a => a.DiskGb), allocs.Count(a => a.DiskGb > 0), config.DiskOvercommit),
                },
            };
        }

        private static SwarmHostResource Resource(string name, string unit, long capacity, long allocated, int count, double? overcommit)
        {
            long? limit = overcommit is { } r && capacity > 0 ? (long)Math.Floor(capacity * r) : null;
            return new SwarmHostResource
            {
                Resource = name, Unit = unit, Capacity = capacity, Allocated = allocated, Environments = count,
                Ratio = capacity > 0 ? Math.Round((double)allocated / capacity, 3) : 0,
                Overcommit = limit is null ? null : overcommit, Limit = limit, Available = limit - allocated,
            };
        }

        /// <summary>
        /// Refuses (HostOversubscribed, nothing created) when <paramref name="draft"/>'s allocation would take a
        /// checked resource past capacity × overcommit. Environments that allocate nothing are never refused;
        /// <paramref name="force"/> skips the check.
        /// </summary>
        public void EnsureCapacity(SwarmEnvironment draft, bool force) => Admission(draft, force)?.Invoke(_service.Registry.ListEnvironments());

        /// <summary>
        /// The same check as <see cref="EnsureCapacity"/>, to run against the rows inside the registry's reservation
        /// transaction (<see cref="Registry.SwarmRegistry.Reserve"/>), so concurrent creates are checked one after
        /// the other. The host's capacity is read here, before the transaction. Null when there is nothing to check.
        /// </summary>
        public Action<IReadOnlyList<SwarmEnvironment>>? Admission(SwarmEnvironment draft, bool force)
        {
            if (force) return null;
            var want = HostAllocation.Of(draft);
            if (want.IsEmpty) return null;
            // File systems are only measured when disk is checked (reading the mount table costs more than the rest).
            var paths = _service.Config.Host.DiskOvercommit is null ? Array.Empty<(string, string)>() : Paths();
            var capacity = CapacitySource.Read(paths);
            var config = _service.Config.Host;
            return rows => Check(draft.Ticket, want, Compute(capacity,
                rows.Where(e => !string.Equals(e.Ticket, draft.Ticket, StringComparison.OrdinalIgnoreCase)), config, Environment.MachineName));
        }

        /// <summary>Throws HostOversubscribed naming every resource <paramref name="want"/> would push over its limit.</summary>
        public static void Check(string ticket, HostAllocation want, SwarmHostInfo current)
        {
            var over = new List<string>();
            foreach (var r in current.Resources)
            {
                var requested = r.Resource switch { "Cpu" => want.Cpus, "Memory" => want.MemoryMb, _ => want.DiskGb };
                if (requested <= 0 || r.Limit is not { } limit || r.Allocated + requested <= limit) continue;
                var key = r.Resource switch { "Cpu" => "cpuOvercommit", "Memory" => "memoryOvercommit", _ => "diskOvercommit" };
                over.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{r.Resource.ToLowerInvariant()}: requested {requested} {r.Unit} + allocated {r.Allocated} {r.Unit} = {r.Allocated + requested} {r.Unit} > limit {limit} {r.Unit} (capacity {r.Capacity} {r.Unit} × host.{key} {r.Overcommit})"));
            }
            if (over.Count == 0) return;
            throw new SwarmException(ErrorIds.HostOversubscribed, SwarmErrorKind.InvalidState,
                $"Creating '{ticket}' would oversubscribe the host: {string.Join("; ", over)}.", ticket)
            {
                Details = over,
                Hint = Hints.Oversubscribed,
            };
        }
    }
}
