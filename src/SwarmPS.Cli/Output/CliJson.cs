using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using SwarmPS.Core;
using SwarmPS.Core.Agents;
using SwarmPS.Core.Registry;
using SwarmPS.Core.Tasks;

namespace SwarmPS.Cli.Output;

/// <summary>
/// A provider as the CLI prints it with --json: the Core <see cref="SwarmProviderInfo"/> with its
/// capabilities as an array of names (the flags enum itself would print as one comma string).
/// </summary>
internal sealed class ProviderJson
{
    public required string Name { get; init; }
    public bool Available { get; init; }
    public string? Reason { get; init; }
    public IReadOnlyList<string> Capabilities { get; init; } = Array.Empty<string>();
    public bool IsDefault { get; init; }
    public string? Description { get; init; }

    public static ProviderJson From(SwarmProviderInfo p) => new()
    {
        Name = p.Name, Available = p.Available, Reason = p.Reason, Capabilities = p.CapabilityNames, IsDefault = p.IsDefault, Description = p.Description,
    };
}

/// <summary>Printed by <c>swarmps --version --json</c>.</summary>
internal sealed class VersionJson
{
    public required string Version { get; init; }
}

/// <summary>
/// The --json shapes. Property names are the Core model's (the PowerShell output types) in
/// camelCase, enums are strings, dates ISO 8601, dictionary keys as stored.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UseStringEnumConverter = true,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(SwarmEnvironment))]
[JsonSerializable(typeof(IReadOnlyList<SwarmEnvironment>))]
[JsonSerializable(typeof(SwarmCheckpoint))]
[JsonSerializable(typeof(IReadOnlyList<SwarmCheckpoint>))]
[JsonSerializable(typeof(ProviderJson))]
[JsonSerializable(typeof(IReadOnlyList<ProviderJson>))]
[JsonSerializable(typeof(SwarmDiff))]
[JsonSerializable(typeof(SwarmMergeResult))]
[JsonSerializable(typeof(SwarmExecResult))]
[JsonSerializable(typeof(SwarmConnection))]
[JsonSerializable(typeof(SwarmPS.Core.Providers.InteractivePlan))]
[JsonSerializable(typeof(SwarmRepairItem))]
[JsonSerializable(typeof(IReadOnlyList<SwarmRepairItem>))]
[JsonSerializable(typeof(VersionJson))]
[JsonSerializable(typeof(SwarmBaseImage))]
[JsonSerializable(typeof(IReadOnlyList<SwarmBaseImage>))]
[JsonSerializable(typeof(SwarmAgent))]
[JsonSerializable(typeof(IReadOnlyList<SwarmAgent>))]
[JsonSerializable(typeof(SwarmAgentOutput))]
[JsonSerializable(typeof(IReadOnlyList<SwarmAgentOutput>))]
[JsonSerializable(typeof(AgentProfile))]
[JsonSerializable(typeof(IReadOnlyList<AgentProfile>))]
[JsonSerializable(typeof(SwarmTask))]
[JsonSerializable(typeof(IReadOnlyList<SwarmTask>))]
[JsonSerializable(typeof(TaskSpec))]
[JsonSerializable(typeof(IReadOnlyList<TaskSpec>))]
[JsonSerializable(typeof(SwarmQueueStatus))]
[JsonSerializable(typeof(SwarmEvent))]
[JsonSerializable(typeof(IReadOnlyList<SwarmEvent>))]
internal sealed partial class CliJsonContext : JsonSerializerContext
{
}

internal static class CliJson
{
    /// <summary>
    /// The context's options plus a relaxed encoder: stdout is not HTML, so '+', '&lt;' and
    /// non-ASCII text are written as themselves rather than as \u escapes.
    /// </summary>
    public static readonly JsonSerializerOptions Options = new(CliJsonContext.Default.Options)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>The same shapes on one line each (NDJSON, for <c>agent logs --follow --json</c>).</summary>
    public static readonly JsonSerializerOptions CompactOptions = new(Options) { WriteIndented = false };

    private static JsonTypeInfo<T> Info<T>() => (JsonTypeInfo<T>)Options.GetTypeInfo(typeof(T));

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Info<T>());

    public static string Environment(SwarmEnvironment e) => Serialize(e);
    public static string Environments(IReadOnlyList<SwarmEnvironment> list) => Serialize(list);
    public static string Checkpoint(SwarmCheckpoint c) => Serialize(c);
    public static string Checkpoints(IReadOnlyList<SwarmCheckpoint> list) => Serialize(list);
    public static string Providers(IReadOnlyList<SwarmProviderInfo> list) => Serialize<IReadOnlyList<ProviderJson>>(list.Select(ProviderJson.From).ToList());
    public static string Diff(SwarmDiff d) => Serialize(d);
    public static string Merge(SwarmMergeResult m) => Serialize(m);
    public static string Exec(SwarmExecResult r) => Serialize(r);
    public static string Connection(SwarmConnection c) => Serialize(c);
    public static string Interactive(SwarmPS.Core.Providers.InteractivePlan p) => Serialize(p);
    public static string Repair(IReadOnlyList<SwarmRepairItem> items) => Serialize(items);
    public static string Agent(SwarmAgent a) => Serialize(a);
    public static string Agents(IReadOnlyList<SwarmAgent> list) => Serialize(list);
    public static string AgentOutput(IReadOnlyList<SwarmAgentOutput> list) => Serialize(list);
    public static string AgentOutputLine(SwarmAgentOutput o) => JsonSerializer.Serialize(o, (JsonTypeInfo<SwarmAgentOutput>)CompactOptions.GetTypeInfo(typeof(SwarmAgentOutput)));
    public static string AgentProfiles(IReadOnlyList<AgentProfile> list) => Serialize(list);
    public static string Task(SwarmTask t) => Serialize(t);
    public static string Tasks(IReadOnlyList<SwarmTask> list) => Serialize(list);
    /// <summary>One compact task per line (NDJSON, for <c>queue run --json</c>).</summary>
    public static string TaskLine(SwarmTask t) => JsonSerializer.Serialize(t, (JsonTypeInfo<SwarmTask>)CompactOptions.GetTypeInfo(typeof(SwarmTask)));
    public static string TaskSpecs(IReadOnlyList<TaskSpec> list) => Serialize(list);
    public static string QueueStatus(SwarmQueueStatus s) => Serialize(s);
    public static string Events(IReadOnlyList<SwarmEvent> list) => Serialize(list);
    /// <summary>One compact event per line (NDJSON, for <c>events --follow --json</c>).</summary>
    public static string EventLine(SwarmEvent e) => JsonSerializer.Serialize(e, (JsonTypeInfo<SwarmEvent>)CompactOptions.GetTypeInfo(typeof(SwarmEvent)));
    public static string BaseImage(SwarmBaseImage i) => Serialize(i);
    public static string BaseImages(IReadOnlyList<SwarmBaseImage> list) => Serialize(list);
    public static string Version(string v) => Serialize(new VersionJson { Version = v });
}
