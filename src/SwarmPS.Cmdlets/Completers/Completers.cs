using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using SwarmPS.Core;
using SwarmPS.Core.Providers;

namespace SwarmPS.Cmdlets.Completers;

/// <summary>
/// Shared matching for the completers: case-insensitive prefix/wildcard match with Core's
/// <see cref="Glob"/> (the same rules as -Ticket wildcards), results sorted, quoted when needed.
/// Completers never throw: a broken registry just completes nothing.
/// </summary>
public static class CompletionMatch
{
    public static IReadOnlyList<string> Filter(IEnumerable<string> candidates, string? wordToComplete)
    {
        var word = Unquote(wordToComplete ?? "");
        var pattern = Glob.HasWildcards(word) ? word : word + "*";
        return candidates.Where(c => Glob.IsMatch(pattern, c))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .OrderBy(c => c, StringComparer.OrdinalIgnoreCase)
            .ToList();
    }

    /// <summary>Opens the registry only if it exists: completing must never create a SwarmPS home.</summary>
    internal static Core.Registry.SwarmRegistry? OpenExisting(string? home)
    {
        var h = SwarmHome.Resolve(home);
        return File.Exists(h.RegistryPath) ? Core.Registry.SwarmRegistry.Open(h) : null;
    }

    public static string Unquote(string word) => word.Trim('\'', '"');

    /// <summary>Tickets and checkpoint names are [A-Za-z0-9._-]; anything else is quoted defensively.</summary>
    public static string Quote(string value) => value.All(c => char.IsLetterOrDigit(c) || c is '.' or '_' or '-') ? value : "'" + value.Replace("'", "''") + "'";

    internal static IEnumerable<CompletionResult> Results(IEnumerable<string> values, Func<string, string>? tooltip = null) =>
        values.Select(v => new CompletionResult(Quote(v), v, CompletionResultType.ParameterValue, tooltip?.Invoke(v) ?? v));

    /// <summary>The first ticket already bound (or typed) on the command line, if any.</summary>
    public static string? BoundTicket(IDictionary? fakeBoundParameters)
    {
        if (fakeBoundParameters is null || !fakeBoundParameters.Contains("Ticket")) return null;
        var value = fakeBoundParameters["Ticket"];
        if (value is PSObject pso) value = pso.BaseObject;
        return value switch
        {
            string s => s,
            IEnumerable e => e.Cast<object?>().Select(o => o is PSObject p ? p.BaseObject : o).OfType<string>().FirstOrDefault(),
            _ => null,
        };
    }
}

/// <summary>Completes tickets from the registry (SWARMPS_HOME or the default home).</summary>
public sealed class TicketCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        CompletionMatch.Results(Complete(wordToComplete));

    public static IReadOnlyList<string> Complete(string? wordToComplete, string? home = null)
    {
        try
        {
            var registry = CompletionMatch.OpenExisting(home);
            if (registry is null) return Array.Empty<string>();
            return CompletionMatch.Filter(registry.ListEnvironments().Select(e => e.Ticket), wordToComplete);
        }
        catch (Exception)
        {
            return Array.Empty<string>();
        }
    }
}

/// <summary>Completes checkpoint names of the ticket already on the command line (all tickets when none is).</summary>
public sealed class CheckpointNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        CompletionMatch.Results(Complete(CompletionMatch.BoundTicket(fakeBoundParameters), wordToComplete));

    public static IReadOnlyList<string> Complete(string? ticket, string? wordToComplete, string? home = null)
    {
        try
        {
            var registry = CompletionMatch.OpenExisting(home);
            if (registry is null) return Array.Empty<string>();
            var checkpoints = string.IsNullOrEmpty(ticket)
                ? registry.ListCheckpoints()
                : registry.ListEnvironments().Where(e => Glob.IsMatch(ticket, e.Ticket)).SelectMany(e => registry.ListCheckpoints(e.Ticket));
            return CompletionMatch.Filter(checkpoints.Select(c => c.Name), wordToComplete);
        }
        catch (Exception)
        {
            return Array.Empty<string>();
        }
    }
}

/// <summary>Completes provider names from the built-in catalog (no registry needed).</summary>
public sealed class ProviderNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        CompletionMatch.Results(Complete(wordToComplete));

    public static IReadOnlyList<string> Complete(string? wordToComplete) =>
        CompletionMatch.Filter(ProviderCatalog.CreateDefault().Names, wordToComplete);
}

/// <summary>
/// Completes agent ids from the registry (sorted by id); only the
/// agents of the ticket already on the command line when there is one. The tooltip names the ticket
/// and the profile (the recorded status may be stale until an agent is read, so it is not shown).
/// </summary>
public sealed class AgentIdCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var agents = Agents(CompletionMatch.BoundTicket(fakeBoundParameters), null);
        var tips = agents.GroupBy(a => a.Id, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => $"{g.First().Id}  {g.First().Ticket}  {g.First().Profile}", StringComparer.OrdinalIgnoreCase);
        return CompletionMatch.Results(CompletionMatch.Filter(agents.Select(a => a.Id), wordToComplete), v => tips.GetValueOrDefault(v, v));
    }

    public static IReadOnlyList<string> Complete(string? ticket, string? wordToComplete, string? home = null) =>
        CompletionMatch.Filter(Agents(ticket, home).Select(a => a.Id), wordToComplete);

    private static IReadOnlyList<Core.Agents.SwarmAgent> Agents(string? ticket, string? home)
    {
        try
        {
            var registry = CompletionMatch.OpenExisting(home);
            if (registry is null) return Array.Empty<Core.Agents.SwarmAgent>();
            return registry.ListAgents().Where(a => string.IsNullOrEmpty(ticket) || Glob.IsMatch(ticket, a.Ticket)).ToList();
        }
        catch (Exception)
        {
            return Array.Empty<Core.Agents.SwarmAgent>();
        }
    }
}

/// <summary>Completes agent profile names: the built-in ones and those in config.json (never creates a home).</summary>
public sealed class AgentProfileCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var profiles = Profiles(null);
        return CompletionMatch.Results(CompletionMatch.Filter(profiles.Select(p => p.Name), wordToComplete),
            v => profiles.FirstOrDefault(p => string.Equals(p.Name, v, StringComparison.OrdinalIgnoreCase))?.Description ?? v);
    }

    public static IReadOnlyList<string> Complete(string? wordToComplete, string? home = null) =>
        CompletionMatch.Filter(Profiles(home).Select(p => p.Name), wordToComplete);

    private static IReadOnlyList<Core.Agents.AgentProfile> Profiles(string? home)
    {
        try
        {
            return Core.Agents.AgentProfiles.From(SwarmConfig.Load(SwarmHome.Resolve(home)));
        }
        catch (Exception)
        {
            // A broken config.json still completes the built-in profiles.
            try { return Core.Agents.AgentProfiles.From(new SwarmConfig()); }
            catch (Exception) { return Array.Empty<Core.Agents.AgentProfile>(); }
        }
    }
}

/// <summary>
/// Completes task ids from the registry (sorted by id). The tooltip shows the status, priority and
/// title; the registry is opened only if it exists.
/// </summary>
public sealed class TaskIdCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var tasks = Tasks(null);
        var tips = tasks.GroupBy(t => t.Id, StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => $"{g.First().Id}  {g.First().Status}  {g.First().Priority}  {g.First().Title}", StringComparer.OrdinalIgnoreCase);
        return CompletionMatch.Results(CompletionMatch.Filter(tasks.Select(t => t.Id), wordToComplete), v => tips.GetValueOrDefault(v, v));
    }

    public static IReadOnlyList<string> Complete(string? wordToComplete, string? home = null) =>
        CompletionMatch.Filter(Tasks(home).Select(t => t.Id), wordToComplete);

    private static IReadOnlyList<Core.Tasks.SwarmTask> Tasks(string? home)
    {
        try
        {
            var registry = CompletionMatch.OpenExisting(home);
            return registry is null ? Array.Empty<Core.Tasks.SwarmTask>() : registry.ListTasks();
        }
        catch (Exception)
        {
            return Array.Empty<Core.Tasks.SwarmTask>();
        }
    }
}
