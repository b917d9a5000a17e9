using System.Text;
using System.Text.RegularExpressions;

namespace SwarmPS.Core.Providers.Kvm;

/// <summary>
/// ssh argv for a guest. The remote side always runs the command through the login user's
/// <c>sh -c</c>, so argv is turned into one string in which every element is single-quoted
/// (<c>'</c> becomes <c>'\''</c>): nothing the caller passes is interpreted by the remote shell.
/// </summary>
public static partial class KvmSsh
{
    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex VariableName();

    /// <summary>POSIX-sh single quoting of one word.</summary>
    public static string Quote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>The remote command string: <c>NAME='value' ... 'argv0' 'argv1' ...</c>.</summary>
    public static string RemoteCommand(IReadOnlyList<string> argv, IReadOnlyDictionary<string, string>? variables = null)
    {
        if (argv.Count == 0) throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, "The command is empty.");
        var sb = new StringBuilder();
        if (variables is not null)
            foreach (var (k, v) in variables.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                if (!VariableName().IsMatch(k))
                    throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"'{Names.Describe(k)}' is not a valid environment variable name.");
                sb.Append(k).Append('=').Append(Quote(v)).Append(' ');
            }
        if (argv.Any(a => a.Contains('\0')))
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, "A command argument contains a NUL character.");
        sb.Append(string.Join(' ', argv.Select(Quote)));
        return sb.ToString();
    }

    /// <summary>
    /// ssh options: key-only, never prompting. With <paramref name="knownHostsPath"/> the guest's host key is
    /// remembered per environment (<c>StrictHostKeyChecking=accept-new</c>, keyed by <paramref name="hostKeyAlias"/>,
    /// the domain name, so a new DHCP address is no new host): the first login records it, a changed key is
    /// refused. Without it (legacy callers) no host key is stored.
    /// </summary>
    public static IReadOnlyList<string> Options(string keyPath, int connectTimeoutSeconds = 5, string? knownHostsPath = null, string? hostKeyAlias = null)
    {
        // ssh expands %-tokens in identity files too (also those given with -i).
        var o = new List<string> { "-i", keyPath.Replace("%", "%%", StringComparison.Ordinal), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes" };
        if (knownHostsPath is not null)
        {
            o.AddRange(new[] { "-o", "StrictHostKeyChecking=accept-new", "-o", "UserKnownHostsFile=" + ConfigValue(knownHostsPath), "-o", "GlobalKnownHostsFile=/dev/null", "-o", "HashKnownHosts=no" });
            if (hostKeyAlias is not null) o.AddRange(new[] { "-o", "HostKeyAlias=" + hostKeyAlias });
        }
        else o.AddRange(new[] { "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null" });
        o.AddRange(new[] { "-o", "LogLevel=ERROR", "-o", $"ConnectTimeout={connectTimeoutSeconds}", "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4", "-p", "22" });
        return o;
    }

    /// <summary>The full ssh argv (without "ssh") that runs <paramref name="argv"/> as <paramref name="user"/>@<paramref name="host"/>.</summary>
    public static IReadOnlyList<string> Arguments(string keyPath, string user, string host, IReadOnlyList<string> argv,
        IReadOnlyDictionary<string, string>? variables = null, int connectTimeoutSeconds = 5, string? knownHostsPath = null, string? hostKeyAlias = null) =>
        Arguments(keyPath, user, host, RemoteCommand(argv, variables), connectTimeoutSeconds, knownHostsPath, hostKeyAlias);

    /// <summary>The ssh argv for a remote command string the caller built from quoted parts.</summary>
    public static IReadOnlyList<string> Arguments(string keyPath, string user, string host, string remoteCommand,
        int connectTimeoutSeconds, string? knownHostsPath, string? hostKeyAlias)
    {
        CheckDestination(user, host, keyPath, knownHostsPath, hostKeyAlias);
        return Options(keyPath, connectTimeoutSeconds, knownHostsPath, hostKeyAlias).Concat(new[] { "-T", user + "@" + host, "--", remoteCommand }).ToList();
    }

    /// <summary>An interactive login (<c>-t</c>, no command): what <c>swarmps env ssh</c> and Enter-SwarmEnvironment run.</summary>
    public static IReadOnlyList<string> InteractiveArguments(string keyPath, string user, string host, string? knownHostsPath = null, string? hostKeyAlias = null)
    {
        CheckDestination(user, host, keyPath, knownHostsPath, hostKeyAlias);
        var o = Options(keyPath, 10, knownHostsPath, hostKeyAlias).ToList();
        var batch = o.IndexOf("BatchMode=yes");
        o.RemoveRange(batch - 1, 2); // an interactive session may ask (for example to confirm a changed host key)
        return o.Concat(new[] { "-t", user + "@" + host }).ToList();
    }

    /// <summary>A value for <c>-o Key=value</c>: ssh expands %-tokens (so % is doubled) and splits on blanks (so it is quoted).</summary>
    public static string ConfigValue(string value)
    {
        if (value.Contains('"', StringComparison.Ordinal))
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"'{Names.Describe(value)}' contains a double quote, which ssh options cannot carry.");
        var v = value.Replace("%", "%%", StringComparison.Ordinal);
        return v.Any(char.IsWhiteSpace) ? "\"" + v + "\"" : v;
    }

    private static void CheckDestination(string user, string host, string keyPath, string? knownHostsPath, string? hostKeyAlias)
    {
        if (user.Length == 0 || host.Length == 0 || user.StartsWith('-') || host.StartsWith('-') || user.Contains('@') || user.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)) || host.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"Invalid ssh destination '{Names.Describe(user)}@{Names.Describe(host)}'.");
        foreach (var v in new[] { keyPath, knownHostsPath, hostKeyAlias })
            if (v is not null && v.Any(char.IsControl))
                throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, "An ssh key or known_hosts path contains control characters.");
    }
}
