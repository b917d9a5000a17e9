using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using SwarmPS.Cli.Output;
using SwarmPS.Core.Host;

namespace SwarmPS.Cli;

/// <summary>The --json shape of <c>swarmps host</c> (the Core <see cref="SwarmHostInfo"/>, camelCase).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(SwarmHostInfo))]
internal sealed partial class HostJsonContext : JsonSerializerContext
{
}

/// <summary><c>swarmps host</c>: what the host has against what environments were allocated (the CLI side of Get-SwarmHost).</summary>
internal sealed partial class CliApp
{
    private static readonly JsonSerializerOptions HostJsonOptions = new(HostJsonContext.Default.Options) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private Command HostCommand()
    {
        var cmd = new Command("host", "Show the host's CPUs, memory and disk against what environments were allocated, the ratio and the create limit (config.json \"host\").");
        Define(cmd, inv =>
        {
            var info = inv.Service.HostResources.Get();
            return Task.FromResult(inv.Emit(() => JsonSerializer.Serialize(info, (JsonTypeInfo<SwarmHostInfo>)HostJsonOptions.GetTypeInfo(typeof(SwarmHostInfo))), w => WriteHost(w, info)));
        });
        return cmd;
    }

    internal static void WriteHost(TextWriter w, SwarmHostInfo info)
    {
        static string N(long v) => v.ToString(CultureInfo.InvariantCulture);
        w.WriteLine($"Host {info.HostName}: {N(info.LogicalCpus)} logical CPUs, {N(info.MemoryMb)} MiB memory, {N(info.Environments)} environment(s).");
        var t = new TextTable("RESOURCE", "CAPACITY", "ALLOCATED", "RATIO", "OVERCOMMIT", "LIMIT", "AVAILABLE", "ENVS");
        foreach (var r in info.Resources)
            t.Add(r.Resource.ToLowerInvariant(), $"{N(r.Capacity)} {r.Unit}", $"{N(r.Allocated)} {r.Unit}", r.Ratio.ToString("0.00", CultureInfo.InvariantCulture),
                r.Overcommit is { } o ? o.ToString("0.0#", CultureInfo.InvariantCulture) : "not checked",
                r.Limit is { } l ? $"{N(l)} {r.Unit}" : "-", r.Available is { } a ? $"{N(a)} {r.Unit}" : "-", N(r.Environments));
        t.Write(w);
        if (info.Disks.Count == 0) return;
        w.WriteLine();
        var d = new TextTable("FILESYSTEM", "SIZE", "FREE", "USED BY");
        foreach (var disk in info.Disks)
            d.Add(disk.Root, Gib(disk.TotalBytes), Gib(disk.FreeBytes), string.Join(", ", disk.Uses));
        d.Write(w);
    }

    private static string Gib(long bytes) => (bytes / (1024.0 * 1024 * 1024)).ToString("0.0", CultureInfo.InvariantCulture) + " GiB";
}
