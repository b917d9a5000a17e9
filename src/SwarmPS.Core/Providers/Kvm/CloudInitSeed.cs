using System.Text;
using System.Text.Json;

namespace SwarmPS.Core.Providers.Kvm;

/// <summary>A NoCloud seed (volume label <c>cidata</c>): hostname, the environment's SSH key, its SWARM_* variables.</summary>
public static class CloudInitSeed
{
    /// <summary>A hostname (RFC 1123 label) from a ticket: lower case, [a-z0-9-], at most 63 characters.</summary>
    public static string HostName(string ticket)
    {
        var s = new string(ticket.ToLowerInvariant().Select(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' ? c : '-').ToArray()).Trim('-');
        if (s.Length > 63) s = s[..63].TrimEnd('-');
        return s.Length == 0 ? "swarm" : s;
    }

    public static string MetaData(string instanceId, string hostName) =>
        $"instance-id: {Json(instanceId)}\nlocal-hostname: {Json(hostName)}\n";

    /// <summary>
    /// user-data: the key goes to the image's default user and to <paramref name="user"/> (created
    /// with passwordless sudo when it is not root); <c>/etc/swarm/env</c> gets the SWARM_* variables.
    /// Every scalar is JSON-quoted, which YAML reads as a plain string.
    /// </summary>
    public static string UserData(string hostName, string user, string publicKey, IReadOnlyDictionary<string, string> variables)
    {
        var key = publicKey.Trim();
        var sb = new StringBuilder("#cloud-config\n");
        sb.Append("hostname: ").Append(Json(hostName)).Append('\n');
        sb.Append("ssh_pwauth: false\n");
        sb.Append("ssh_authorized_keys:\n  - ").Append(Json(key)).Append('\n');
        if (user == "root")
        {
            sb.Append("disable_root: false\n");
        }
        else
        {
            sb.Append("users:\n  - default\n  - name: ").Append(Json(user)).Append('\n');
            sb.Append("    sudo: \"ALL=(ALL) NOPASSWD:ALL\"\n    shell: /bin/bash\n    lock_passwd: true\n");
            sb.Append("    ssh_authorized_keys:\n      - ").Append(Json(key)).Append('\n');
        }
        var env = new StringBuilder();
        foreach (var (k, v) in variables.OrderBy(kv => kv.Key, StringComparer.Ordinal)) env.Append(k).Append('=').Append(KvmSsh.Quote(v)).Append('\n');
        sb.Append("write_files:\n  - path: /etc/swarm/env\n    permissions: \"0644\"\n    content: ").Append(Json(env.ToString())).Append('\n');
        return sb.ToString();
    }

    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static string Json(string s) => JsonSerializer.Serialize(s, Relaxed);

    /// <summary>The ISO tools tried in order (argv before the output file).</summary>
    internal static readonly (string Tool, string[] Prefix)[] IsoTools =
    {
        ("genisoimage", Array.Empty<string>()),
        ("mkisofs", Array.Empty<string>()),
        ("xorriso", new[] { "-as", "mkisofs" }),
    };

    public static string? FindIsoTool()
    {
        foreach (var (tool, _) in IsoTools)
            if (OnPath(tool) is not null) return tool;
        return null;
    }

    internal static string? OnPath(string tool)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var p = Path.Combine(dir, tool);
            if (File.Exists(p)) return p;
        }
        return null;
    }

    /// <summary>The argv that packs user-data and meta-data from <paramref name="dir"/> into <paramref name="iso"/>.</summary>
    public static IReadOnlyList<string> IsoArguments(string tool, string dir, string iso)
    {
        var prefix = IsoTools.First(t => t.Tool == tool).Prefix;
        return prefix.Concat(new[] { "-quiet", "-output", iso, "-volid", "cidata", "-joliet", "-rock",
            Path.Combine(dir, "user-data"), Path.Combine(dir, "meta-data") }).ToList();
    }
}
