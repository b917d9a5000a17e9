using System.Text.Json;
using System.Text.Json.Serialization;

namespace SwarmPS.Core;

/// <summary>
/// User configuration, read from <c>SWARMPS_HOME/config.json</c>. Every field is optional.
/// <code>
/// {
///   "ports":    { "start": 20000, "end": 29999, "blockSize": 10 },
///   "worktree": { "root": "/fast/disk/worktrees" },
///   "repositories": [ { "path": "/src/shop", "setup": ["npm", "ci"] } ]
/// }
/// </code>
/// Setup commands are argument lists, never shell strings; to use a shell say so explicitly
/// (<c>["bash", "-c", "make deps"]</c>).
/// </summary>
public sealed class SwarmConfig
{
    public PortConfig Ports { get; set; } = new();
    public WorktreeConfig Worktree { get; set; } = new();
    public List<RepositoryConfig> Repositories { get; set; } = new();
    /// <summary>Agent profiles to add, or to override built-in ones field by field (see <see cref="Agents.AgentProfiles"/>).</summary>
    public List<AgentProfileConfig> AgentProfiles { get; set; } = new();
    /// <summary>URLs that receive every event as a JSON POST (see <see cref="Events.WebhookDispatcher"/>).</summary>
    public List<WebhookConfig> Webhooks { get; set; } = new();
    /// <summary>Defaults for LLM decomposition (backend, model, SecretManagement vault, timeout).</summary>
    public Decomposition.DecompositionConfig Decomposition { get; set; } = new();
    /// <summary>The Docker provider: engine endpoint, default image, optional API version pin (see <see cref="Providers.Docker.DockerConfig"/>).</summary>
    public Providers.Docker.DockerConfig Docker { get; set; } = new();
    /// <summary>Oversubscription limits create enforces (see <see cref="HostConfig"/>).</summary>
    public HostConfig Host { get; set; } = new();
    /// <summary>The KVM provider: libvirt URI, pool, domain type, default sizes, readiness timeout, SSH user.</summary>
    public Providers.Kvm.KvmConfig Kvm { get; set; } = new();

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        PropertyNameCaseInsensitive = true,
        Converters = { new JsonStringEnumConverter() },
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        WriteIndented = true,
    };

    public static SwarmConfig Load(SwarmHome home)
    {
        if (!File.Exists(home.ConfigPath)) return new SwarmConfig();
        try
        {
            var cfg = JsonSerializer.Deserialize<SwarmConfig>(File.ReadAllText(home.ConfigPath), JsonOptions) ?? new SwarmConfig();
            cfg.Validate(home.ConfigPath);
            return cfg;
        }
        catch (JsonException ex)
        {
            throw new SwarmException(ErrorIds.ConfigInvalid, SwarmErrorKind.InvalidArgument,
                $"{home.ConfigPath}: line {ex.LineNumber + 1}: {ex.Message}", home.ConfigPath, ex);
        }
    }

    public void Validate(string source)
    {
        if (Ports.Start < 1024 || Ports.End > 65535 || Ports.End < Ports.Start || Ports.BlockSize < 1 || Ports.BlockSize > Ports.End - Ports.Start + 1)
            throw new SwarmException(ErrorIds.ConfigInvalid, SwarmErrorKind.InvalidArgument,
                $"{source}: ports must satisfy 1024 <= start <= end <= 65535 and 1 <= blockSize <= end-start+1 (got start={Ports.Start}, end={Ports.End}, blockSize={Ports.BlockSize}).", source);
        Kvm?.Validate(source);
        foreach (var w in Webhooks)
        {
            if (!Uri.TryCreate(w.Url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https"))
                throw new SwarmException(ErrorIds.ConfigInvalid, SwarmErrorKind.InvalidArgument, $"{source}: webhook url '{Names.Describe(w.Url)}' must be an absolute http(s) URL.", source);
            if (w.TimeoutSeconds < 1 || w.MaxAttempts < 1)
                throw new SwarmException(ErrorIds.ConfigInvalid, SwarmErrorKind.InvalidArgument, $"{source}: webhook timeoutSeconds and maxAttempts must be at least 1.", source);
        }
        Docker.Validate(source);
        Host.Validate(source);
        foreach (var r in Repositories)
        {
            if (string.IsNullOrWhiteSpace(r.Path))
                throw new SwarmException(ErrorIds.ConfigInvalid, SwarmErrorKind.InvalidArgument, $"{source}: every repositories[] entry needs a path.", source);
            if (r.Setup is { Count: > 0 } && string.IsNullOrWhiteSpace(r.Setup[0]))
                throw new SwarmException(ErrorIds.ConfigInvalid, SwarmErrorKind.InvalidArgument, $"{source}: setup for {r.Path} must start with a program name.", source);
        }
    }

    /// <summary>The configuration of the repository at <paramref name="repoPath"/>, if any.</summary>
    public RepositoryConfig? ForRepository(string repoPath)
    {
        var full = Normalize(repoPath);
        return Repositories.FirstOrDefault(r => string.Equals(Normalize(r.Path), full,
            OperatingSystem.IsLinux() ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase));
    }

    private static string Normalize(string p) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(p));
}

/// <summary>An agent profile from config. Fields left out inherit from the built-in profile of the same name.</summary>
public sealed class AgentProfileConfig
{
    public string Name { get; set; } = "";
    public string? Executable { get; set; }
    public List<string>? Arguments { get; set; }
    public List<string>? ResumeArguments { get; set; }
    public Agents.PromptDelivery? PromptDelivery { get; set; }
    public Agents.AgentOutputFormat? OutputFormat { get; set; }
    public string? Description { get; set; }
}

public sealed class WebhookConfig
{
    public string Url { get; set; } = "";
    /// <summary>Only these event kinds (environment, agent, task, swarm); empty: all.</summary>
    public List<string> Kinds { get; set; } = new();
    public int TimeoutSeconds { get; set; } = 10;
    public int MaxAttempts { get; set; } = 3;
}

public sealed class PortConfig
{
    public int Start { get; set; } = 20000;
    public int End { get; set; } = 29999;
    public int BlockSize { get; set; } = 10;
}

public sealed class WorktreeConfig
{
    /// <summary>Where worktrees go; default <c>SWARMPS_HOME/worktrees</c>.</summary>
    public string? Root { get; set; }
}

public sealed class RepositoryConfig
{
    public string Path { get; set; } = "";
    /// <summary>Argument list run in each new worktree after it is created.</summary>
    public List<string>? Setup { get; set; }
    /// <summary>Seconds the setup may take; default 600.</summary>
    public int SetupTimeoutSeconds { get; set; } = 600;
}
