using System.Globalization;
using System.Text;

namespace SwarmPS.Core;

/// <summary>The SWARM_* variables every command and agent in an environment sees.</summary>
public static class EnvironmentVariables
{
    public static IReadOnlyDictionary<string, string> For(SwarmEnvironment env)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["SWARM_TICKET"] = env.Ticket,
            ["SWARM_PROVIDER"] = env.Provider,
        };
        if (env.WorkspacePath is not null) d["SWARM_WORKSPACE"] = env.WorkspacePath;
        if (env.Branch is not null) d["SWARM_BRANCH"] = env.Branch;
        if (env.Ports.Count > 0)
        {
            d["SWARM_PORT_BASE"] = env.Ports.Start.ToString(CultureInfo.InvariantCulture);
            d["SWARM_PORT_COUNT"] = env.Ports.Count.ToString(CultureInfo.InvariantCulture);
            d["SWARM_PORT_END"] = env.Ports.End.ToString(CultureInfo.InvariantCulture);
            d["SWARM_PORTS"] = env.Ports.ToString();
        }
        return d;
    }

    /// <summary>The content of <c>.swarm/env</c>: KEY=value lines that shells and dotenv loaders read.</summary>
    public static string ToDotEnv(SwarmEnvironment env)
    {
        var sb = new StringBuilder("# Written by SwarmPS. Ports reserved for this environment; no other live environment holds them.\n");
        foreach (var (k, v) in For(env)) sb.Append(k).Append('=').Append(Quote(v)).Append('\n');
        return sb.ToString();
    }

    private static string Quote(string v) =>
        v.All(c => char.IsLetterOrDigit(c) || "-_./:@+,".Contains(c)) ? v : "'" + v.Replace("'", "'\\''") + "'";
}
