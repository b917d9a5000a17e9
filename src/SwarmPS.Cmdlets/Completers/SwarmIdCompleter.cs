using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace SwarmPS.Cmdlets.Completers;

/// <summary>Completes swarm ids from the registry (never creates a home).</summary>
public sealed class SwarmIdCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var swarms = Swarms(null);
        var tips = swarms.ToDictionary(s => s.SwarmId, s => $"{s.SwarmId}  {s.Status}  {s.NodeCount} nodes  {s.Profile}", StringComparer.OrdinalIgnoreCase);
        return CompletionMatch.Results(CompletionMatch.Filter(swarms.Select(s => s.SwarmId), wordToComplete), v => tips.GetValueOrDefault(v, v));
    }

    public static IReadOnlyList<string> Complete(string? wordToComplete, string? home = null) =>
        CompletionMatch.Filter(Swarms(home).Select(s => s.SwarmId), wordToComplete);

    private static IReadOnlyList<Core.Swarms.Swarm> Swarms(string? home)
    {
        try
        {
            var registry = CompletionMatch.OpenExisting(home);
            return registry is null ? Array.Empty<Core.Swarms.Swarm>() : registry.ListSwarms();
        }
        catch (Exception)
        {
            return Array.Empty<Core.Swarms.Swarm>();
        }
    }
}
