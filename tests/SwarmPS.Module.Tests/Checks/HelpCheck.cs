using System.Text.RegularExpressions;

namespace SwarmPS.Module.Tests.Checks;

/// <summary>A parsed platyPS v1 (schema 2.0.0) markdown help file.</summary>
public sealed class HelpDoc
{
    public required string Path { get; init; }
    public required IReadOnlyDictionary<string, string> FrontMatter { get; init; }
    public required string Title { get; init; }
    /// <summary>The ## sections in order, with their raw text.</summary>
    public required IReadOnlyList<(string Heading, string Body)> Sections { get; init; }

    public string? Section(string heading) => Sections.FirstOrDefault(s => s.Heading == heading).Body;

    public static HelpDoc Load(string path) => Parse(File.ReadAllText(path).Replace("\r\n", "\n"), path);

    public static HelpDoc Parse(string text, string path)
    {
        var front = new Dictionary<string, string>(StringComparer.Ordinal);
        var body = text;
        var fm = Regex.Match(text, "^---\n(.*?)\n---\n", RegexOptions.Singleline);
        if (fm.Success)
        {
            foreach (var line in fm.Groups[1].Value.Split('\n'))
            {
                var i = line.IndexOf(':');
                if (i > 0) front[line[..i].Trim()] = line[(i + 1)..].Trim();
            }
            body = text[fm.Length..];
        }
        var title = Regex.Match(body, "^# (.+)$", RegexOptions.Multiline).Groups[1].Value.Trim();
        var sections = new List<(string, string)>();
        var matches = Regex.Matches(body, "^## (.+)$", RegexOptions.Multiline);
        for (var i = 0; i < matches.Count; i++)
        {
            var start = matches[i].Index + matches[i].Length;
            var end = i + 1 < matches.Count ? matches[i + 1].Index : body.Length;
            sections.Add((matches[i].Groups[1].Value.Trim(), body[start..end]));
        }
        return new HelpDoc { Path = path, FrontMatter = front, Title = title, Sections = sections };
    }

    /// <summary>Code blocks (```...```) in a section body.</summary>
    public static IReadOnlyList<string> CodeBlocks(string? sectionBody, string? language = null) =>
        sectionBody is null ? Array.Empty<string>() :
        Regex.Matches(sectionBody, "^```([A-Za-z0-9]*)\n(.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)
            .Where(m => language is null || m.Groups[1].Value == language).Select(m => m.Groups[2].Value).ToList();

    /// <summary>### subsections of a section body.</summary>
    public static IReadOnlyList<(string Heading, string Body)> Subsections(string? sectionBody)
    {
        if (sectionBody is null) return Array.Empty<(string, string)>();
        var matches = Regex.Matches(sectionBody, "^### (.+)$", RegexOptions.Multiline);
        var list = new List<(string, string)>();
        for (var i = 0; i < matches.Count; i++)
        {
            var start = matches[i].Index + matches[i].Length;
            var end = i + 1 < matches.Count ? matches[i + 1].Index : sectionBody.Length;
            list.Add((matches[i].Groups[1].Value.Trim(), sectionBody[start..end]));
        }
        return list;
    }

    /// <summary>The PowerShell code of the examples, with "PS&gt;" prompts removed.</summary>
    public IReadOnlyList<string> ExampleCode() =>
        Subsections(Section("EXAMPLES")).SelectMany(s => CodeBlocks(s.Body))
            .Select(code => string.Join("\n", code.Split('\n').Select(l => Regex.Replace(l, @"^\s*PS[^>]*>\s?", "")))).ToList();
}

/// <summary>
/// The help rules: every cmdlet has a platyPS v1 markdown file with the right front matter, the
/// sections in order, a syntax block per parameter set, at least two examples, and a PARAMETERS
/// section whose parameters (and their yaml blocks) match the compiled cmdlet exactly.
/// </summary>
public static class HelpCheck
{
    public const string ExternalHelpFile = "SwarmPS.dll-Help.xml";
    public const string ModuleName = "SwarmPS";

    public static readonly IReadOnlyList<string> SectionOrder = new[] { "SYNOPSIS", "SYNTAX", "DESCRIPTION", "EXAMPLES", "PARAMETERS", "INPUTS", "OUTPUTS", "NOTES", "RELATED LINKS" };

    /// <summary>Checks the help folder: one file per cmdlet (plus about_ topics), each file valid.</summary>
    public static IReadOnlyList<string> CheckFolder(string helpDir, IEnumerable<CmdletModel> cmdlets)
    {
        var problems = new List<string>();
        var list = cmdlets.ToList();
        if (!Directory.Exists(helpDir)) return new[] { $"the help folder {helpDir} does not exist" };
        var files = Directory.GetFiles(helpDir, "*.md");
        foreach (var c in list)
        {
            var path = Path.Combine(helpDir, c.Name + ".md");
            if (!File.Exists(path)) problems.Add($"{c.Name}: no help file {Path.GetFileName(path)}");
            else problems.AddRange(Check(HelpDoc.Load(path), c));
        }
        foreach (var f in files)
        {
            var name = Path.GetFileNameWithoutExtension(f);
            if (name.StartsWith("about_", StringComparison.Ordinal)) continue;
            if (!list.Any(c => c.Name == name)) problems.Add($"{Path.GetFileName(f)}: help for a cmdlet that does not exist");
        }
        return problems;
    }

    public static IReadOnlyList<string> Check(HelpDoc doc, CmdletModel c)
    {
        var problems = new List<string>();
        void Fail(string m) => problems.Add($"{c.Name} help: {m}");

        if (doc.FrontMatter.GetValueOrDefault("external help file") != ExternalHelpFile) Fail($"front matter 'external help file' must be {ExternalHelpFile}");
        if (doc.FrontMatter.GetValueOrDefault("Module Name") != ModuleName) Fail($"front matter 'Module Name' must be {ModuleName}");
        if (!doc.FrontMatter.ContainsKey("online version")) Fail("front matter lacks 'online version'");
        if (doc.FrontMatter.GetValueOrDefault("schema") != "2.0.0") Fail("front matter 'schema' must be 2.0.0");
        if (doc.Title != c.Name) Fail($"title is '{doc.Title}', expected '{c.Name}'");

        var headings = doc.Sections.Select(s => s.Heading).ToList();
        if (!headings.SequenceEqual(SectionOrder)) Fail($"sections are [{string.Join(", ", headings)}], expected [{string.Join(", ", SectionOrder)}]");
        foreach (var required in new[] { "SYNOPSIS", "DESCRIPTION" })
            if (string.IsNullOrWhiteSpace(doc.Section(required))) Fail($"{required} is empty");

        // SYNTAX: one block per parameter set, naming every parameter of that set.
        var syntax = HelpDoc.CodeBlocks(doc.Section("SYNTAX"));
        var sets = c.ParameterSetNames;
        if (syntax.Count != sets.Count) Fail($"SYNTAX has {syntax.Count} blocks for {sets.Count} parameter sets");
        foreach (var block in syntax)
        {
            if (!block.TrimStart().StartsWith(c.Name + " ", StringComparison.Ordinal) && block.Trim() != c.Name) Fail("a SYNTAX block does not start with the cmdlet name");
            var named = Regex.Matches(block, @"(?<=[\s\[])-([A-Za-z]+)\b").Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
            if (!block.Contains("[<CommonParameters>]", StringComparison.Ordinal)) Fail("a SYNTAX block lacks [<CommonParameters>]");
            var match = sets.FirstOrDefault(s => ParametersOfSet(c, s).All(named.Contains) && named.All(n => ParametersOfSet(c, s).Contains(n)));
            if (match is null) Fail($"SYNTAX block does not match any parameter set: {block.Trim()}");
        }

        // EXAMPLES: at least two, each a ### Example heading with code.
        var examples = HelpDoc.Subsections(doc.Section("EXAMPLES"));
        if (examples.Count < 2) Fail($"has {examples.Count} examples; at least 2 are required");
        foreach (var (heading, body) in examples)
        {
            if (!Regex.IsMatch(heading, @"^Example \d+: \S")) Fail($"example heading '{heading}' is not 'Example N: title'");
            if (HelpDoc.CodeBlocks(body).Count == 0) Fail($"example '{heading}' has no code block");
        }

        // PARAMETERS: exactly the compiled ones (WhatIf/Confirm included), each with a matching yaml block.
        var documented = HelpDoc.Subsections(doc.Section("PARAMETERS")).Where(s => s.Heading != "CommonParameters").ToList();
        if (!HelpDoc.Subsections(doc.Section("PARAMETERS")).Any(s => s.Heading == "CommonParameters")) Fail("PARAMETERS lacks ### CommonParameters");
        var docNames = documented.Select(d => d.Heading.TrimStart('-')).ToList();
        foreach (var missing in c.UserParameterNames.Except(docNames, StringComparer.Ordinal)) Fail($"parameter -{missing} is not documented");
        foreach (var extra in docNames.Except(c.UserParameterNames, StringComparer.Ordinal)) Fail($"documents -{extra}, which the cmdlet does not have");
        foreach (var (heading, body) in documented)
        {
            var name = heading.TrimStart('-');
            var yaml = HelpDoc.CodeBlocks(body, "yaml").FirstOrDefault();
            if (yaml is null)
            {
                Fail($"-{name} has no yaml block");
                continue;
            }
            if (string.IsNullOrWhiteSpace(body[..body.IndexOf("```", StringComparison.Ordinal)])) Fail($"-{name} has no description");
            var fields = yaml.Split('\n').Where(l => l.Contains(':')).ToDictionary(l => l[..l.IndexOf(':')].Trim(), l => l[(l.IndexOf(':') + 1)..].Trim());
            var expected = ExpectedYaml(c, name);
            if (expected is null) continue;
            foreach (var (key, value) in expected)
            {
                if (!fields.TryGetValue(key, out var actual)) Fail($"-{name} yaml lacks '{key}'");
                else if (!string.Equals(actual, value, StringComparison.Ordinal)) Fail($"-{name} yaml '{key}' is '{actual}', the cmdlet says '{value}'");
            }
        }

        // OUTPUTS names every [OutputType].
        var outputs = HelpDoc.Subsections(doc.Section("OUTPUTS")).Select(s => s.Heading).ToList();
        foreach (var t in c.OutputTypes)
        {
            var want = t == typeof(void) ? "None" : t.FullName!;
            if (!outputs.Contains(want)) Fail($"OUTPUTS does not list {want}");
        }
        if (HelpDoc.Subsections(doc.Section("INPUTS")).Count == 0) Fail("INPUTS lists nothing");
        return problems;
    }

    private static IReadOnlyList<string> ParametersOfSet(CmdletModel c, string set) =>
        c.Parameters.Where(p => p.Sets.Any(s => s.Name == set || s.Name == CmdletModel.AllParameterSets)).Select(p => p.Name)
            .Concat(c.SupportsShouldProcess ? new[] { "WhatIf", "Confirm" } : Array.Empty<string>()).ToList();

    /// <summary>The yaml platyPS writes for a compiled parameter.</summary>
    public static IReadOnlyDictionary<string, string>? ExpectedYaml(CmdletModel c, string name)
    {
        if (name is "WhatIf" or "Confirm")
            return new Dictionary<string, string>
            {
                ["Type"] = "SwitchParameter", ["Parameter Sets"] = "(All)", ["Aliases"] = name == "WhatIf" ? "wi" : "cf", ["Required"] = "False",
                ["Position"] = "Named", ["Accept pipeline input"] = "False", ["Accept wildcard characters"] = "False",
            };
        var p = c.Parameters.FirstOrDefault(x => x.Name == name);
        if (p is null) return null;
        var allSets = c.ParameterSetNames.Count == 1 || p.Sets.Any(s => s.Name == CmdletModel.AllParameterSets);
        var first = p.Sets[0];
        var pipeline = new List<string>();
        if (p.Sets.Any(s => s.FromPipelineByPropertyName)) pipeline.Add("ByPropertyName");
        if (p.Sets.Any(s => s.FromPipeline)) pipeline.Add("ByValue");
        return new Dictionary<string, string>
        {
            ["Type"] = TypeName(p.Type),
            ["Parameter Sets"] = allSets ? "(All)" : string.Join(", ", p.Sets.Select(s => s.Name)),
            ["Aliases"] = string.Join(", ", p.Aliases),
            ["Required"] = p.Sets.Any(s => s.Mandatory) ? "True" : "False",
            ["Position"] = first.Position?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "Named",
            ["Accept pipeline input"] = pipeline.Count == 0 ? "False" : $"True ({string.Join(", ", pipeline)})",
            ["Accept wildcard characters"] = p.SupportsWildcards ? "True" : "False",
        };
    }

    public static string TypeName(Type t)
    {
        var nullable = Nullable.GetUnderlyingType(t);
        if (nullable is not null) return $"Nullable`1[{nullable.FullName}]";
        return t.IsArray ? TypeName(t.GetElementType()!) + "[]" : t.Name;
    }
}
