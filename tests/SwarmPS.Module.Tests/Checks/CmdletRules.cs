using System.Management.Automation;

namespace SwarmPS.Module.Tests.Checks;

/// <summary>
/// The cmdlet design rules, as one reusable check: it returns every violation (empty = all good),
/// so the real cmdlets and the deliberately broken samples go through the same code.
/// </summary>
public static class CmdletRules
{
    /// <summary>
    /// Verbs that never change state; every other verb must support ShouldProcess. Receive is here
    /// because Receive-SwarmAgentOutput only reads logs (PowerShell's own Receive-Job has no
    /// -WhatIf either); a Receive cmdlet that consumes or deletes would have to move out.
    /// </summary>
    public static readonly IReadOnlySet<string> ReadOnlyVerbs = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        VerbsCommon.Get, VerbsCommon.Find, VerbsCommon.Search, VerbsCommon.Select, VerbsCommon.Show, VerbsCommon.Format,
        VerbsDiagnostic.Test, VerbsDiagnostic.Measure, VerbsDiagnostic.Resolve, VerbsData.Compare, VerbsData.ConvertTo,
        VerbsData.ConvertFrom, VerbsCommon.Watch, VerbsLifecycle.Wait, VerbsCommunications.Receive,
    };

    /// <summary>Verbs that destroy or overwrite work: ConfirmImpact High.</summary>
    public static readonly IReadOnlySet<string> DestructiveVerbs = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        VerbsCommon.Remove, VerbsData.Restore, VerbsCommon.Clear,
    };

    public const string ProductPrefix = "Swarm";

    public static IReadOnlyList<string> Check(IEnumerable<CmdletModel> cmdlets)
    {
        var problems = new List<string>();
        foreach (var c in cmdlets)
        {
            void Fail(string message) => problems.Add($"{c.Name} ({c.Type.Name}): {message}");

            if (!CmdletModel.ApprovedVerbs.Contains(c.Verb)) Fail($"verb '{c.Verb}' is not an approved verb (Get-Verb)");
            // The noun is the prefix itself (Start-Swarm, Get-Swarm: issue 8) or the prefix plus a Pascal-case word.
            if (!c.Noun.StartsWith(ProductPrefix, StringComparison.Ordinal) || (c.Noun.Length > ProductPrefix.Length && !char.IsUpper(c.Noun[ProductPrefix.Length])))
                Fail($"noun '{c.Noun}' is not Pascal case with the '{ProductPrefix}' prefix");
            if (c.Type.Name != c.Verb + c.Noun + "Command") Fail($"class should be named {c.Verb}{c.Noun}Command");
            if (c.OutputTypes.Count == 0) Fail("has no [OutputType]");

            var changesState = !ReadOnlyVerbs.Contains(c.Verb);
            if (changesState && !c.SupportsShouldProcess) Fail($"verb '{c.Verb}' changes state but the cmdlet does not declare SupportsShouldProcess");
            if (!changesState && c.SupportsShouldProcess) Fail($"verb '{c.Verb}' is read-only but declares SupportsShouldProcess");
            if (DestructiveVerbs.Contains(c.Verb) && c.ConfirmImpact != nameof(ConfirmImpact.High)) Fail($"verb '{c.Verb}' is destructive: ConfirmImpact must be High (is {c.ConfirmImpact ?? "default"})");

            foreach (var p in c.Parameters)
            {
                if (CmdletModel.CommonParameters.Contains(p.Name, StringComparer.OrdinalIgnoreCase)) Fail($"redefines the common parameter -{p.Name}");
                foreach (var alias in p.Aliases)
                    if (CmdletModel.CommonParameters.Contains(alias, StringComparer.OrdinalIgnoreCase) || CmdletModel.CommonParameterAliases.Contains(alias, StringComparer.OrdinalIgnoreCase))
                        Fail($"alias '{alias}' of -{p.Name} collides with a common parameter");
                if (p.Type == typeof(bool) || p.Type == typeof(bool?)) Fail($"-{p.Name} is bool; use SwitchParameter");
                if (p.Name == "Force" && !p.IsSwitch) Fail("-Force must be a switch");
                if (p.Name == "PassThru" && !p.IsSwitch) Fail("-PassThru must be a switch");
            }

            var ticket = c.Find("Ticket");
            if (ticket is not null)
            {
                if (ticket.Sets.Any(s => !s.FromPipelineByPropertyName)) Fail("-Ticket is not ValueFromPipelineByPropertyName in every parameter set");
                if (!ticket.Type.IsArray) Fail("-Ticket does not accept an array");
                if (ticket.CompleterType is null) Fail("-Ticket has no argument completer");
            }

            foreach (var set in c.ParameterSetNames)
            {
                var inSet = c.Parameters.Where(p => p.Sets.Any(s => s.Name == set || s.Name == CmdletModel.AllParameterSets)).ToList();
                var byValue = inSet.Count(p => p.Sets.Any(s => (s.Name == set || s.Name == CmdletModel.AllParameterSets) && s.FromPipeline));
                if (byValue > 1) Fail($"parameter set '{set}' has {byValue} ValueFromPipeline parameters (at most one)");
                var positions = inSet.SelectMany(p => p.Sets.Where(s => s.Name == set || s.Name == CmdletModel.AllParameterSets).Select(s => s.Position)).Where(x => x is not null).ToList();
                if (positions.Count != positions.Distinct().Count()) Fail($"parameter set '{set}' has duplicate positions");
            }
        }
        var names = cmdlets.GroupBy(c => c.Name, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1).Select(g => g.Key);
        problems.AddRange(names.Select(n => $"{n}: defined more than once"));
        return problems;
    }
}
