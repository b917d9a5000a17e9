using SwarmPS.Core.Processes;

namespace SwarmPS.Core.Providers.Kvm;

/// <summary>
/// virsh and qemu-img calls: argument lists only, <c>LC_ALL=C</c> (stable output to parse) and an
/// explicit <c>-c URI</c> on every virsh call (never LIBVIRT_DEFAULT_URI or the session default).
/// </summary>
public sealed class Virsh
{
    private readonly ProcessRunner _runner;
    private readonly KvmOptions _options;

    public Virsh(KvmOptions options, ProcessRunner? runner = null)
    {
        _options = options;
        _runner = runner ?? ProcessRunner.Default;
    }

    public string Uri => _options.Uri;

    internal static readonly IReadOnlyDictionary<string, string?> CLocale = new Dictionary<string, string?>
    {
        ["LC_ALL"] = "C", ["LANG"] = "C", ["LIBVIRT_DEFAULT_URI"] = null,
    };

    /// <summary>The argv of a virsh call (exposed for tests).</summary>
    public IReadOnlyList<string> Args(params string[] args) => new[] { "-q", "-c", _options.Uri }.Concat(args).ToList();

    public Task<ProcessResult> RawAsync(CancellationToken ct, params string[] args) =>
        _runner.RunAsync(new ProcessSpec("virsh", Args(args)) { Environment = CLocale, Timeout = _options.CommandTimeout }, ct);

    /// <summary>Runs virsh; a non-zero exit throws OperationFailed with virsh's error line.</summary>
    public async Task<string> RunAsync(string? ticket, CancellationToken ct, params string[] args)
    {
        var r = await RawAsync(ct, args).ConfigureAwait(false);
        if (!r.Success) throw Failed(r, ticket);
        return r.StandardOutput;
    }

    public Task<ProcessResult> QemuImgAsync(CancellationToken ct, params string[] args) =>
        _runner.RunAsync(new ProcessSpec("qemu-img", args) { Environment = CLocale, Timeout = _options.CommandTimeout }, ct);

    public Task<ProcessResult> ToolAsync(string file, IEnumerable<string> args, CancellationToken ct, string? stdin = null, TimeSpan? timeout = null) =>
        _runner.RunAsync(new ProcessSpec(file, args) { Environment = CLocale, StandardInput = stdin, Timeout = timeout ?? _options.CommandTimeout }, ct);

    public static SwarmException Failed(ProcessResult r, string? ticket) =>
        new(ErrorIds.ProcessFailed, SwarmErrorKind.OperationFailed,
            $"'{r.Spec.Display}' exited with {r.ExitCode}: {FirstError(r)}", ticket);

    public static string FirstError(ProcessResult r)
    {
        var text = (r.StandardError + "\n" + r.StandardOutput).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return text.FirstOrDefault(l => l.StartsWith("error:", StringComparison.Ordinal)) ?? text.FirstOrDefault() ?? "(no output)";
    }

    /// <summary>virsh's "domain not found" error (domstate, dominfo, ... on an unknown name).</summary>
    public static bool IsNoDomain(ProcessResult r) =>
        r.StandardError.Contains("failed to get domain", StringComparison.Ordinal) ||
        r.StandardError.Contains("Domain not found", StringComparison.Ordinal);

    // ------------------------------------------------------------------ output parsing

    /// <summary>One name per line; virsh ends the list with a blank line (and -q changes nothing there).</summary>
    public static IReadOnlyList<string> ParseNames(string output) =>
        output.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();

    /// <summary>The first line of <c>domstate</c> (without <c>--reason</c>): running, shut off, paused, ...</summary>
    public static string ParseDomState(string output) => ParseNames(output).FirstOrDefault() ?? "";

    /// <summary>Maps a libvirt domain state to SwarmPS's status.</summary>
    public static EnvironmentStatus MapState(string state) => state switch
    {
        "running" or "idle" or "in shutdown" or "blocked" => EnvironmentStatus.Running,
        "shut off" or "paused" or "pmsuspended" => EnvironmentStatus.Stopped,
        "crashed" => EnvironmentStatus.Error,
        _ => EnvironmentStatus.Error,
    };

    /// <summary>The first IPv4 address of a <c>domifaddr</c> table (without the /prefix); null when the table is empty.</summary>
    public static string? ParseFirstIPv4(string output)
    {
        foreach (var line in output.Split('\n'))
        {
            var f = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            // " vnet0  52:54:00:3a:91:7c  ipv4  192.168.122.57/24"; with --full a name-less continuation row has 3 fields.
            var i = Array.IndexOf(f, "ipv4");
            if (i < 0 || i + 1 >= f.Length) continue;
            var addr = f[i + 1];
            var slash = addr.IndexOf('/');
            if (slash >= 0) addr = addr[..slash];
            // The guest agent also reports lo (127.0.0.1); link-local addresses are no way in either.
            if (System.Net.IPAddress.TryParse(addr, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork &&
                !System.Net.IPAddress.IsLoopback(ip) && !addr.StartsWith("169.254.", StringComparison.Ordinal)) return addr;
        }
        return null;
    }

    /// <summary>The <c>&lt;target&gt;&lt;path&gt;</c> of a <c>pool-dumpxml</c>.</summary>
    public static string? ParsePoolPath(string xml)
    {
        try
        {
            var doc = System.Xml.Linq.XDocument.Parse(xml);
            return doc.Root?.Element("target")?.Element("path")?.Value.Trim() is { Length: > 0 } p ? p : null;
        }
        catch (System.Xml.XmlException)
        {
            return null;
        }
    }
}
