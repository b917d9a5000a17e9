using System.Text.RegularExpressions;

namespace SwarmPS.Module.Tests.Checks;

/// <summary>
/// Every SwarmPS command used in a script (Verb-SwarmNoun) must exist, and every -Parameter given
/// to it must be one of its parameters, an alias, or a common parameter. Full names only: an
/// abbreviation that happens to work today breaks when a parameter is added.
/// </summary>
public static class UsageCheck
{
    private static readonly Regex SwarmCommand = new("^[A-Za-z]+-Swarm[A-Za-z]*$", RegexOptions.CultureInvariant);

    public static IReadOnlyList<string> Check(IEnumerable<ParsedFile> files, IEnumerable<CmdletModel> cmdlets)
    {
        var byName = cmdlets.ToDictionary(c => c.Name, StringComparer.OrdinalIgnoreCase);
        var problems = new List<string>();
        foreach (var f in files)
        {
            problems.AddRange(f.Errors.Select(e => $"{f.File}:{e.Line}: does not parse: {e.Text}"));
            foreach (var use in f.Commands.Where(u => SwarmCommand.IsMatch(u.Name)))
            {
                if (!byName.TryGetValue(use.Name, out var c))
                {
                    problems.Add($"{f.File}:{use.Line}: {use.Name} is not a SwarmPS cmdlet");
                    continue;
                }
                foreach (var raw in use.Parameters)
                {
                    var name = raw.TrimStart('-').TrimEnd(':');
                    if (name.Length == 0) continue;
                    var ok = c.Find(name) is not null
                             || CmdletModel.CommonParameters.Where(p => p is not ("WhatIf" or "Confirm")).Contains(name, StringComparer.OrdinalIgnoreCase)
                             || CmdletModel.CommonParameterAliases.Where(a => a is not ("wi" or "cf")).Contains(name, StringComparer.OrdinalIgnoreCase)
                             || (c.SupportsShouldProcess && name is "WhatIf" or "Confirm" or "wi" or "cf");
                    if (!ok) problems.Add($"{f.File}:{use.Line}: {c.Name} has no parameter -{name}");
                }
            }
        }
        return problems;
    }
}
