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

    /// <summary>ssh options: key-only, never prompting, no host-key store (every guest is new; NAT-local only).</summary>
    public static IReadOnlyList<string> Options(string keyPath, int connectTimeoutSeconds = 5) => new[]
    {
        "-i", keyPath, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", $"ConnectTimeout={connectTimeoutSeconds}",
        "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4", "-p", "22",
    };

    /// <summary>The full ssh argv (without "ssh") that runs <paramref name="argv"/> as <paramref name="user"/>@<paramref name="host"/>.</summary>
    public static IReadOnlyList<string> Arguments(string keyPath, string user, string host, IReadOnlyList<string> argv,
        IReadOnlyDictionary<string, string>? variables = null, int connectTimeoutSeconds = 5)
    {
        if (user.StartsWith('-') || host.StartsWith('-') || user.Contains('@') || user.Any(char.IsWhiteSpace) || host.Any(char.IsWhiteSpace))
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"Invalid ssh destination '{Names.Describe(user)}@{Names.Describe(host)}'.");
        return Options(keyPath, connectTimeoutSeconds).Concat(new[] { "-T", user + "@" + host, "--", RemoteCommand(argv, variables) }).ToList();
    }
}
