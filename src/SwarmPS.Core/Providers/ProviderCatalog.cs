using SwarmPS.Core.Providers.Worktree;

namespace SwarmPS.Core.Providers;

/// <summary>The one place providers are registered. Later providers add a line here.</summary>
public sealed class ProviderCatalog
{
    private readonly Dictionary<string, IEnvironmentProvider> _providers = new(StringComparer.OrdinalIgnoreCase);

    public ProviderCatalog(IEnumerable<IEnvironmentProvider> providers, string defaultProvider)
    {
        foreach (var p in providers) _providers[p.Name] = p;
        if (!_providers.ContainsKey(defaultProvider)) throw new ArgumentException($"Default provider '{defaultProvider}' is not registered.", nameof(defaultProvider));
        DefaultName = defaultProvider;
    }

    /// <summary>Every built-in provider. Auto-detect picks the worktree provider.</summary>
    public static ProviderCatalog CreateDefault() => CreateDefault(null, null);

    /// <summary>Every built-in provider, with the provider sections of <paramref name="config"/> applied (docker).</summary>
    /// <param name="config">The loaded config; null for defaults.</param>
    /// <param name="hyperVHost">The in-process Hyper-V door (the module passes its runspace host); null outside pwsh.</param>
    public static ProviderCatalog CreateDefault(SwarmConfig? config, HyperV.IHyperVHost? hyperVHost = null) => new(new IEnvironmentProvider[]
    {
        new WorktreeProvider(),
        new Kvm.KvmProvider(),
        new Docker.DockerProvider((config?.Docker ?? new Docker.DockerConfig()).ToOptions()),
        new HyperV.HyperVProvider(hyperVHost),
        new Tart.TartProvider(),
        new Slurm.SlurmProvider(),
    }, WorktreeProvider.ProviderName);

    public string DefaultName { get; }
    public IReadOnlyCollection<IEnvironmentProvider> All => _providers.Values;
    public IEnumerable<string> Names => _providers.Keys.OrderBy(k => k, StringComparer.OrdinalIgnoreCase);

    public IEnvironmentProvider Get(string? name)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Equals("auto", StringComparison.OrdinalIgnoreCase)) return _providers[DefaultName];
        if (_providers.TryGetValue(name, out var p)) return p;
        throw new SwarmException(ErrorIds.ProviderNotFound, SwarmErrorKind.InvalidArgument,
            $"Unknown provider '{SwarmPS.Core.Names.Describe(name)}'. Known providers: {string.Join(", ", Names)}.", name);
    }
}
