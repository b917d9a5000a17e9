using System.Text.Json;
using SwarmPS.Core.Processes;

namespace SwarmPS.Core.Providers.Tart;

/// <summary>Settings of the Tart provider. Environment overrides: SWARMPS_TART (the tart executable), SWARMPS_TART_MAX_MACOS_VMS.</summary>
public sealed class TartOptions
{
    /// <summary>The tart executable: a name looked up on PATH, or a path.</summary>
    public string Executable { get; init; } = "tart";
    /// <summary>Apple's limit on concurrently running macOS guests per host.</summary>
    public int MaxRunningMacOSVms { get; init; } = 2;
    public Kvm.KvmWaitFor WaitFor { get; init; } = Kvm.KvmWaitFor.Ssh;
    /// <summary>Passed to <c>tart ip --wait</c>.</summary>
    public TimeSpan AddressTimeout { get; init; } = TimeSpan.FromMinutes(3);
    public TimeSpan SshTimeout { get; init; } = TimeSpan.FromMinutes(2);
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary><c>tart stop -t</c>: seconds between SIGINT and SIGKILL.</summary>
    public int StopTimeoutSeconds { get; init; } = 30;
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>The provider is available only on macOS (Apple Silicon); tests that inject a fake tart turn the check off.</summary>
    public bool RequireMacOS { get; init; } = true;
    /// <summary>Variables for every tart process (for example TART_HOME); a null value removes one.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    public static TartOptions FromEnvironment()
    {
        static string? E(string n) => System.Environment.GetEnvironmentVariable(n) is { Length: > 0 } v ? v : null;
        var d = new TartOptions();
        return new TartOptions
        {
            Executable = E("SWARMPS_TART") ?? d.Executable,
            MaxRunningMacOSVms = int.TryParse(E("SWARMPS_TART_MAX_MACOS_VMS"), out var m) && m > 0 ? m : d.MaxRunningMacOSVms,
        };
    }
}

/// <summary>What an exit code 2 of tart means; tart uses 2 for three errors and says which on stderr.</summary>
public enum TartFailure
{
    None,
    /// <summary>Exit 2, <c>the specified VM "x" does not exist</c>.</summary>
    NotFound,
    /// <summary>Exit 2, <c>VM "x" is not running</c>.</summary>
    NotRunning,
    /// <summary>Exit 2, <c>VM "x" is already running</c>.</summary>
    AlreadyRunning,
    /// <summary>Exit 1, the other runtime errors (for example <c>VM "x" is running</c> from delete).</summary>
    Other,
    /// <summary>Exit 64: argument validation (a SwarmPS bug or an incompatible tart).</summary>
    Usage,
}

/// <summary>A VM as <c>tart list --format json</c> shows it.</summary>
public sealed record TartVm(string Name, string Source, bool Running, string State);

/// <summary>tart through argument lists (never a shell string), with its exit codes and JSON parsed.</summary>
public sealed class TartCli
{
    private readonly TartOptions _options;
    private readonly ProcessRunner _runner;

    public TartCli(TartOptions options, ProcessRunner? runner = null)
    {
        _options = options;
        _runner = runner ?? ProcessRunner.Default;
    }

    public string Executable => _options.Executable;

    public Task<ProcessResult> RawAsync(CancellationToken ct, TimeSpan? timeout, params string[] args) =>
        _runner.RunAsync(new ProcessSpec(_options.Executable, args) { Timeout = timeout ?? _options.CommandTimeout, Environment = _options.Environment }, ct);

    public Task<ProcessResult> RawAsync(CancellationToken ct, params string[] args) => RawAsync(ct, null, args);

    /// <summary>Runs tart and throws on a non-zero exit (with <see cref="Failed"/>).</summary>
    public async Task<ProcessResult> RunAsync(string? ticket, CancellationToken ct, params string[] args)
    {
        var r = await RawAsync(ct, args).ConfigureAwait(false);
        if (!r.Success) throw Failed(r, ticket);
        return r;
    }

    /// <summary>Exit 2 is three different errors: stderr says which.</summary>
    public static TartFailure Classify(ProcessResult r)
    {
        if (r.ExitCode == 0) return TartFailure.None;
        if (r.ExitCode == 64) return TartFailure.Usage;
        if (r.ExitCode != 2) return TartFailure.Other;
        var err = r.StandardError;
        if (err.Contains("does not exist", StringComparison.OrdinalIgnoreCase)) return TartFailure.NotFound;
        if (err.Contains("is not running", StringComparison.OrdinalIgnoreCase)) return TartFailure.NotRunning;
        if (err.Contains("already running", StringComparison.OrdinalIgnoreCase)) return TartFailure.AlreadyRunning;
        return TartFailure.Other;
    }

    public static string FirstError(ProcessResult r)
    {
        var lines = (r.StandardError + "\n" + r.StandardOutput).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.FirstOrDefault() ?? "(no output)";
    }

    public static SwarmException Failed(ProcessResult r, string? ticket) => Classify(r) switch
    {
        TartFailure.NotFound => new(ErrorIds.InvalidState, SwarmErrorKind.InvalidState, $"'{r.Spec.Display}': the VM does not exist ({FirstError(r)}).", ticket) { Hint = Hints.Repair },
        TartFailure.NotRunning => new(ErrorIds.InvalidState, SwarmErrorKind.InvalidState, $"'{r.Spec.Display}': the VM is not running ({FirstError(r)}).", ticket),
        TartFailure.AlreadyRunning => new(ErrorIds.InvalidState, SwarmErrorKind.InvalidState, $"'{r.Spec.Display}': the VM is already running ({FirstError(r)}).", ticket),
        _ => new(ErrorIds.ProcessFailed, SwarmErrorKind.OperationFailed, $"'{r.Spec.Display}' exited with {r.ExitCode}: {FirstError(r)}", ticket),
    };

    /// <summary>Local VMs of <c>tart list --format json</c> (keys parsed by name; order not guaranteed).</summary>
    public static IReadOnlyList<TartVm> ParseList(string json)
    {
        var list = new List<TartVm>();
        using var doc = JsonDocument.Parse(json.Length == 0 ? "[]" : json);
        if (doc.RootElement.ValueKind != JsonValueKind.Array) return list;
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            string S(string k) => e.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
            var running = e.TryGetProperty("Running", out var r) && r.ValueKind == JsonValueKind.True;
            list.Add(new TartVm(S("Name"), S("Source"), running, S("State")));
        }
        return list;
    }

    /// <summary>The "OS" of <c>tart get NAME --format json</c> (darwin or linux), null when unknown.</summary>
    public static string? ParseOs(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.TryGetProperty("OS", out var os) ? os.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The local VMs (Source "local", compared case-insensitively: OCI entries say "OCI").</summary>
    public async Task<IReadOnlyList<TartVm>> ListLocalAsync(string? ticket, CancellationToken ct)
    {
        var r = await RunAsync(ticket, ct, "list", "--format", "json", "--source", "local").ConfigureAwait(false);
        return ParseList(r.StandardOutput).Where(v => string.Equals(v.Source, "local", StringComparison.OrdinalIgnoreCase)).ToList();
    }

    /// <summary>The VM's state (running, suspended, stopped), or null when it does not exist.</summary>
    public async Task<TartVm?> GetAsync(string name, string? ticket, CancellationToken ct) =>
        (await ListLocalAsync(ticket, ct).ConfigureAwait(false)).FirstOrDefault(v => v.Name == name);

    public async Task<string?> OsAsync(string name, CancellationToken ct)
    {
        var r = await RawAsync(ct, "get", name, "--format", "json").ConfigureAwait(false);
        return r.Success ? ParseOs(r.StandardOutput) : null;
    }
}
