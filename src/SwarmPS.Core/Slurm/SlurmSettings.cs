using System.Text.Json;

namespace SwarmPS.Core.Slurm;

/// <summary>
/// The <c>slurm</c> section of <c>config.json</c>: cluster parameters come from here, never from flags
/// (except -Partition/-TimeLimit, which override the defaults below for one swarm).
/// <code>
/// "slurm": {
///   "partition": "cpu", "account": "proj42", "qos": "normal",
///   "sbatchOptions": ["--mem=2G", "--constraint=skylake"],
///   "sharedDirectory": "/shared/scratch/swarmps",
///   "timeLimit": "04:00:00", "cpusPerTask": 1,
///   "heartbeatSeconds": 10, "nodeTtlSeconds": 120, "pollAttempts": 3,
///   "configFile": "/etc/slurm-cluster2/slurm.conf"
/// }
/// </code>
/// </summary>
public sealed class SlurmSettings
{
    public string? Partition { get; set; }
    public string? Account { get; set; }
    public string? Qos { get; set; }
    /// <summary>Extra sbatch options, each one argv element (e.g. <c>--mem=2G</c>). Never parsed by a shell.</summary>
    public List<string> SbatchOptions { get; set; } = new();
    /// <summary>A directory every compute node sees (swarm dirs and slurm task worktrees go under it). Default: SWARMPS_HOME/swarms.</summary>
    public string? SharedDirectory { get; set; }
    public string? TimeLimit { get; set; }
    public int CpusPerTask { get; set; } = 1;
    /// <summary>How often a worker rewrites its heartbeat file.</summary>
    public int HeartbeatSeconds { get; set; } = 10;
    /// <summary>A node whose heartbeat is older than this is dead (never earlier, whatever one probe says).</summary>
    public int NodeTtlSeconds { get; set; } = 120;
    /// <summary>squeue attempts per poll (backing off 0.5 s, 1 s, 2 s...) before the controller is reported unreachable.</summary>
    public int PollAttempts { get; set; } = 3;
    /// <summary>Seconds one sbatch/squeue/scancel/scontrol/sacct call may take.</summary>
    public int CommandTimeoutSeconds { get; set; } = 30;
    /// <summary>
    /// The slurm.conf of the cluster to use: every Slurm command SwarmPS runs (sbatch, squeue, scancel,
    /// scontrol, sacct, srun) gets <c>SLURM_CONF</c> set to it. Default: none, the Slurm tools find their
    /// own (SLURM_CONF of the environment, else /etc/slurm/slurm.conf). An absolute path.
    /// </summary>
    public string? ConfigFile { get; set; }

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase, PropertyNameCaseInsensitive = true,
        ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true,
    };

    /// <summary>Reads the <c>slurm</c> section of SWARMPS_HOME/config.json (defaults when there is none).</summary>
    public static SlurmSettings Load(SwarmHome home)
    {
        if (!File.Exists(home.ConfigPath)) return new SlurmSettings();
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(home.ConfigPath), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (!p.Name.Equals("slurm", StringComparison.OrdinalIgnoreCase)) continue;
                var s = p.Value.Deserialize<SlurmSettings>(Json) ?? new SlurmSettings();
                s.Validate(home.ConfigPath);
                return s;
            }
            return new SlurmSettings();
        }
        catch (JsonException ex)
        {
            throw new SwarmException(ErrorIds.ConfigInvalid, SwarmErrorKind.InvalidArgument, $"{home.ConfigPath}: slurm: {ex.Message}", home.ConfigPath, ex);
        }
    }

    public void Validate(string source)
    {
        static SwarmException Bad(string source, string what) => new(ErrorIds.ConfigInvalid, SwarmErrorKind.InvalidArgument, $"{source}: slurm.{what}", source);
        if (HeartbeatSeconds < 1) throw Bad(source, "heartbeatSeconds must be at least 1.");
        if (NodeTtlSeconds < 2 * HeartbeatSeconds) throw Bad(source, $"nodeTtlSeconds ({NodeTtlSeconds}) must be at least twice heartbeatSeconds ({HeartbeatSeconds}), or a slow heartbeat looks like death.");
        if (PollAttempts < 1 || PollAttempts > 10) throw Bad(source, "pollAttempts must be 1-10.");
        if (CpusPerTask < 1) throw Bad(source, "cpusPerTask must be at least 1.");
        if (CommandTimeoutSeconds < 1) throw Bad(source, "commandTimeoutSeconds must be at least 1.");
        if (ConfigFile is not null && (ConfigFile.Length == 0 || !Path.IsPathFullyQualified(ConfigFile) || ConfigFile.Any(char.IsControl)))
            throw Bad(source, $"configFile '{Names.Describe(ConfigFile)}' must be an absolute path to a slurm.conf.");
        foreach (var o in SbatchOptions)
            if (string.IsNullOrEmpty(o) || !o.StartsWith('-') || o.Any(char.IsControl))
                throw Bad(source, $"sbatchOptions: '{Names.Describe(o)}' is not an option (each entry is one argument starting with '-').");
        foreach (var (name, v) in new[] { ("partition", Partition), ("account", Account), ("qos", Qos) })
            if (v is not null && SlurmArguments.Problem(v) is { } why) throw Bad(source, $"{name}: {why}");
        if (TimeLimit is not null && !SlurmArguments.IsTimeLimit(TimeLimit)) throw Bad(source, $"timeLimit '{Names.Describe(TimeLimit)}' is not a Slurm time (min, m:s, h:m:s, d-h, d-h:m, d-h:m:s).");
    }
}

/// <summary>Validation of values that become sbatch arguments.</summary>
public static class SlurmArguments
{
    private static readonly System.Text.RegularExpressions.Regex Time = new(
        @"^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d{1,2}|\d+-\d{1,2}:\d{1,2}|\d+-\d{1,2}:\d{1,2}:\d{1,2}|UNLIMITED|INFINITE)$",
        System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    public static bool IsTimeLimit(string? v) => v is not null && Time.IsMatch(v);

    /// <summary>Null when <paramref name="v"/> is a plain Slurm name (partition, account, qos), otherwise why not.</summary>
    public static string? Problem(string v)
    {
        if (v.Length == 0 || v.Length > 128) return "it must be 1-128 characters";
        if (v.StartsWith('-')) return "it must not start with '-'";
        if (!v.All(c => c is >= 'A' and <= 'Z' or >= 'a' and <= 'z' or >= '0' and <= '9' or '_' or '-' or '.' or ',')) return $"'{Names.Describe(v)}' may only contain letters, digits, '_', '-', '.' and ','";
        return null;
    }

    public static string Partition(string? v)
    {
        if (v is null) return "";
        if (Problem(v) is { } why)
            throw new SwarmException(SlurmErrorIds.InvalidSlurmArgument, SwarmErrorKind.InvalidArgument, $"Invalid partition: {why}.", v);
        return v;
    }

    public static string TimeLimit(string? v)
    {
        if (v is null) return "";
        if (!IsTimeLimit(v))
            throw new SwarmException(SlurmErrorIds.InvalidSlurmArgument, SwarmErrorKind.InvalidArgument,
                $"Invalid time limit '{Names.Describe(v)}': use minutes, m:s, h:m:s, d-h, d-h:m or d-h:m:s.", v);
        return v;
    }
}

/// <summary>Stable error ids of the Slurm swarms and provider. Scripts match on these; never rename one.</summary>
public static class SlurmErrorIds
{
    public const string SlurmUnavailable = "SlurmUnavailable";
    public const string SlurmCommandFailed = "SlurmCommandFailed";
    public const string InvalidSlurmArgument = "InvalidSlurmArgument";
    public const string SwarmNotFound = "SwarmNotFound";
    public const string SwarmExists = "SwarmExists";
    public const string InjectionExists = "InjectionExists";
    public const string InjectionNotFound = "InjectionNotFound";
    public const string SwarmNotRunning = "SwarmNotRunning";
    public const string InvalidNode = "InvalidNode";
}
