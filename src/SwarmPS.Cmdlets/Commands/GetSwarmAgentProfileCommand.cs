using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core;
using SwarmPS.Core.Agents;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>Lists the agent profiles: the built-in ones merged with those in config.json.</summary>
[Cmdlet(VerbsCommon.Get, "SwarmAgentProfile")]
[OutputType(typeof(AgentProfile))]
public sealed class GetSwarmAgentProfileCommand : SwarmCmdlet
{
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(AgentProfileCompleter))]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        if (!TryItem(null, () => Service.Agents.GetProfiles(), out var profiles)) return;
        var names = Name is { Length: > 0 } ? Name : new[] { "*" };
        foreach (var p in profiles.Where(p => names.Any(n => Glob.IsMatch(n, p.Name)))) WriteObject(p);
        foreach (var n in names.Where(n => !Glob.HasWildcards(n)))
        {
            if (profiles.Any(p => string.Equals(p.Name, n, StringComparison.OrdinalIgnoreCase))) continue;
            WriteError(ToErrorRecord(new SwarmException(ErrorIds.ProfileNotFound, SwarmErrorKind.NotFound,
                $"No agent profile '{n}'. Known profiles: {string.Join(", ", profiles.Select(p => p.Name))}.", n), n));
        }
    }
}
