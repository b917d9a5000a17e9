using System.Text;
using System.Text.RegularExpressions;
using Markdig;
using Markdig.Extensions.Yaml;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace SwarmPS.HelpGen;

/// <summary>One cmdlet's help, read from a platyPS v1 (schema 2.0.0) markdown file.</summary>
internal sealed class CommandHelp
{
    public required string Name { get; init; }
    public required string ExternalHelpFile { get; init; }
    public string? OnlineVersion { get; init; }
    public List<string> Synopsis { get; } = [];
    public List<string> Description { get; } = [];
    public List<SyntaxSet> Syntax { get; } = [];
    public List<ExampleHelp> Examples { get; } = [];
    public List<ParameterHelp> Parameters { get; } = [];
    public List<TypeHelp> Inputs { get; } = [];
    public List<TypeHelp> Outputs { get; } = [];
    public List<string> Notes { get; } = [];
    public List<LinkHelp> Links { get; } = [];

    public string Verb => Name[..Name.IndexOf('-', StringComparison.Ordinal)];
    public string Noun => Name[(Name.IndexOf('-', StringComparison.Ordinal) + 1)..];
}

internal sealed record SyntaxSet(string Name, bool IsDefault, List<SyntaxParameter> Parameters);

/// <summary>A parameter as one syntax line shows it: whether it must be given in that set.</summary>
internal sealed record SyntaxParameter(string Name, bool Required);

internal sealed class ExampleHelp
{
    public required string Title { get; init; }
    public List<string> Code { get; } = [];
    public List<string> Remarks { get; } = [];
}

internal sealed class ParameterHelp
{
    public required string Name { get; init; }
    public List<string> Description { get; } = [];
    public string Type { get; set; } = "";
    public string ParameterSets { get; set; } = "(All)";
    public string Aliases { get; set; } = "";
    public string AcceptedValues { get; set; } = "";
    public string Required { get; set; } = "False";
    public string Position { get; set; } = "Named";
    public string DefaultValue { get; set; } = "None";
    public string PipelineInput { get; set; } = "False";
    public string Globbing { get; set; } = "False";

    public bool IsSwitch => Type is "SwitchParameter" or "System.Management.Automation.SwitchParameter";
}

internal sealed record TypeHelp(string Name, List<string> Description);

internal sealed record LinkHelp(string Text, string? Uri);

/// <summary>Thrown for a markdown file the generator cannot turn into correct help.</summary>
internal sealed class HelpFormatException(string file, string message) : Exception($"{file}: {message}")
{
    public string File { get; } = file;
}

internal static partial class CommandHelpReader
{
    internal static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder().UseYamlFrontMatter().Build();

    public static CommandHelp Read(string path) => Parse(File.ReadAllText(path), Path.GetFileName(path));

    public static CommandHelp Parse(string markdown, string file)
    {
        var doc = Markdown.Parse(markdown, Pipeline);
        var front = ReadFrontMatter(doc, file);
        var blocks = doc.Where(b => b is not YamlFrontMatterBlock).ToList();
        if (blocks.FirstOrDefault() is not HeadingBlock { Level: 1 } title)
        {
            throw new HelpFormatException(file, "the first line after the front matter must be '# Verb-Noun'.");
        }
        var name = Inline.Text(title.Inline).Trim();
        if (!CommandName().IsMatch(name))
        {
            throw new HelpFormatException(file, $"'{name}' is not a Verb-Noun command name.");
        }
        if (!front.TryGetValue("external help file", out var helpFile) || string.IsNullOrWhiteSpace(helpFile))
        {
            throw new HelpFormatException(file, "the front matter has no 'external help file'.");
        }
        front.TryGetValue("online version", out var online);
        var help = new CommandHelp { Name = name, ExternalHelpFile = helpFile.Trim(), OnlineVersion = string.IsNullOrWhiteSpace(online) ? null : online.Trim() };

        foreach (var (section, body) in Sections(blocks.Skip(1).ToList(), 2, file))
        {
            switch (section.ToUpperInvariant())
            {
                case "SYNOPSIS": help.Synopsis.AddRange(Paragraphs(body)); break;
                case "SYNTAX": ReadSyntax(help, body, file); break;
                case "DESCRIPTION": help.Description.AddRange(Paragraphs(body)); break;
                case "EXAMPLES": ReadExamples(help, body, file); break;
                case "PARAMETERS": ReadParameters(help, body, file); break;
                case "INPUTS": help.Inputs.AddRange(ReadTypes(body, file)); break;
                case "OUTPUTS": help.Outputs.AddRange(ReadTypes(body, file)); break;
                case "NOTES": help.Notes.AddRange(Paragraphs(body)); break;
                case "RELATED LINKS": help.Links.AddRange(ReadLinks(body)); break;
                default: throw new HelpFormatException(file, $"unknown section '## {section}'.");
            }
        }
        Validate(help, file);
        return help;
    }

    private static Dictionary<string, string> ReadFrontMatter(MarkdownDocument doc, string file)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (doc.FirstOrDefault() is not YamlFrontMatterBlock yaml)
        {
            throw new HelpFormatException(file, "the file does not start with a --- front matter block.");
        }
        foreach (var line in yaml.Lines.Lines.Take(yaml.Lines.Count))
        {
            var text = line.ToString();
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                result[text[..colon].Trim()] = text[(colon + 1)..].Trim();
            }
        }
        return result;
    }

    /// <summary>Splits blocks at headings of one level: each heading's text and the blocks up to the next.</summary>
    internal static List<(string Heading, List<Block> Body)> Sections(List<Block> blocks, int level, string file)
    {
        var result = new List<(string, List<Block>)>();
        foreach (var block in blocks)
        {
            if (block is HeadingBlock h && h.Level == level)
            {
                result.Add((Inline.Text(h.Inline).Trim(), []));
            }
            else if (block is HeadingBlock h2 && h2.Level < level)
            {
                throw new HelpFormatException(file, $"unexpected heading '{Inline.Text(h2.Inline)}' (level {h2.Level}) at line {h2.Line + 1}.");
            }
            else if (result.Count == 0)
            {
                throw new HelpFormatException(file, $"text before the first level-{level} heading at line {block.Line + 1}.");
            }
            else
            {
                result[^1].Item2.Add(block);
            }
        }
        return result;
    }

    /// <summary>The text of paragraphs, lists and code blocks as help paragraphs (code indented by 4).</summary>
    internal static List<string> Paragraphs(IEnumerable<Block> blocks)
    {
        var result = new List<string>();
        foreach (var block in blocks)
        {
            switch (block)
            {
                case ParagraphBlock p:
                    result.Add(Inline.Text(p.Inline).Trim());
                    break;
                case ListBlock list:
                    foreach (var item in list.OfType<ListItemBlock>())
                    {
                        result.Add("- " + string.Join(" ", Paragraphs(item)));
                    }
                    break;
                case CodeBlock code:
                    result.Add(string.Join("\n", CodeLines(code).Select(l => "    " + l)));
                    break;
                case QuoteBlock quote:
                    result.AddRange(Paragraphs(quote));
                    break;
                case HeadingBlock heading:
                    result.Add(Inline.Text(heading.Inline).Trim());
                    break;
                case HtmlBlock html when html.Type != HtmlBlockType.Comment:
                    result.Add(string.Join("\n", CodeLines(html)));
                    break;
                case ThematicBreakBlock or HtmlBlock or LinkReferenceDefinitionGroup:
                    break;
                default:
                    throw new InvalidOperationException($"unsupported markdown block {block.GetType().Name} at line {block.Line + 1}.");
            }
        }
        return result.Where(p => p.Length > 0).ToList();
    }

    internal static List<string> CodeLines(LeafBlock code)
    {
        var lines = code.Lines.Lines.Take(code.Lines.Count).Select(l => l.ToString().TrimEnd()).ToList();
        while (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }
        return lines;
    }

    private static void ReadSyntax(CommandHelp help, List<Block> body, string file)
    {
        // One parameter set: platyPS writes the code block alone, without a "### Set" heading.
        var sets = body.FirstOrDefault() is HeadingBlock
            ? Sections(body, 3, file)
            : [("__AllParameterSets (Default)", body)];
        foreach (var (heading, blocks) in sets)
        {
            var code = blocks.OfType<FencedCodeBlock>().SingleOrDefault()
                ?? throw new HelpFormatException(file, $"syntax set '{heading}' needs exactly one code block.");
            var text = string.Join(" ", CodeLines(code));
            var isDefault = heading.EndsWith("(Default)", StringComparison.OrdinalIgnoreCase);
            var setName = isDefault ? heading[..^"(Default)".Length].Trim() : heading;
            if (!text.StartsWith(help.Name, StringComparison.OrdinalIgnoreCase))
            {
                throw new HelpFormatException(file, $"syntax set '{setName}' does not start with {help.Name}.");
            }
            help.Syntax.Add(new SyntaxSet(setName, isDefault, ParseSyntaxLine(text[help.Name.Length..])));
        }
    }

    /// <summary>
    /// Reads "[-Path] &lt;String[]&gt; [-QueueOnly] -LiteralPath &lt;String[]&gt; [[-Name] &lt;String&gt;]":
    /// a parameter is optional when its brackets enclose it with its value ("[-X &lt;T&gt;]", "[-X]",
    /// "[[-X] &lt;T&gt;]"); "[-X] &lt;T&gt;" is required and positional; a bare "-X" is required.
    /// </summary>
    internal static List<SyntaxParameter> ParseSyntaxLine(string text)
    {
        var result = new List<SyntaxParameter>();
        foreach (Match m in SyntaxParameterPattern().Matches(text))
        {
            var name = m.Groups["name"].Value;
            if (name == "CommonParameters")
            {
                continue;
            }
            var before = text[..m.Index].TrimEnd();
            var optional = before.EndsWith("[[", StringComparison.Ordinal)
                || (before.EndsWith('[') && !m.Groups["positional"].Success);
            result.Add(new SyntaxParameter(name, !optional));
        }
        return result;
    }

    private static void ReadExamples(CommandHelp help, List<Block> body, string file)
    {
        foreach (var (heading, blocks) in Sections(body, 3, file))
        {
            var example = new ExampleHelp { Title = heading };
            var inRemarks = false;
            foreach (var block in blocks)
            {
                if (!inRemarks && block is FencedCodeBlock code)
                {
                    if (example.Code.Count > 0)
                    {
                        example.Code.Add("");
                    }
                    example.Code.AddRange(CodeLines(code));
                }
                else
                {
                    inRemarks = true;
                    example.Remarks.AddRange(Paragraphs([block]));
                }
            }
            if (example.Code.Count == 0)
            {
                throw new HelpFormatException(file, $"example '{heading}' has no code block before its remarks.");
            }
            help.Examples.Add(example);
        }
    }

    private static void ReadParameters(CommandHelp help, List<Block> body, string file)
    {
        foreach (var (heading, blocks) in Sections(body, 3, file))
        {
            if (heading == "CommonParameters")
            {
                continue;
            }
            if (!heading.StartsWith('-'))
            {
                throw new HelpFormatException(file, $"parameter heading '{heading}' must be '### -Name'.");
            }
            var parameter = new ParameterHelp { Name = heading[1..].Trim() };
            var yamls = blocks.OfType<FencedCodeBlock>().Where(c => c.Info == "yaml").ToList();
            if (yamls.Count != 1)
            {
                throw new HelpFormatException(file, $"parameter -{parameter.Name} needs exactly one yaml block (found {yamls.Count}).");
            }
            parameter.Description.AddRange(Paragraphs(blocks.Where(b => !yamls.Contains(b))));
            foreach (var line in CodeLines(yamls[0]))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0)
                {
                    continue;
                }
                var key = line[..colon].Trim();
                var value = line[(colon + 1)..].Trim();
                switch (key)
                {
                    case "Type": parameter.Type = value; break;
                    case "Parameter Sets": parameter.ParameterSets = value; break;
                    case "Aliases": parameter.Aliases = value; break;
                    case "Accepted values": parameter.AcceptedValues = value; break;
                    case "Required": parameter.Required = value; break;
                    case "Position": parameter.Position = value; break;
                    case "Default value": parameter.DefaultValue = value; break;
                    case "Accept pipeline input": parameter.PipelineInput = value; break;
                    case "Accept wildcard characters": parameter.Globbing = value; break;
                    default: throw new HelpFormatException(file, $"parameter -{parameter.Name}: unknown yaml key '{key}'.");
                }
            }
            if (parameter.Type.Length == 0)
            {
                throw new HelpFormatException(file, $"parameter -{parameter.Name} has no Type.");
            }
            help.Parameters.Add(parameter);
        }
    }

    private static List<TypeHelp> ReadTypes(List<Block> body, string file) =>
        Sections(body, 3, file).Select(s => new TypeHelp(s.Heading, Paragraphs(s.Body))).ToList();

    private static IEnumerable<LinkHelp> ReadLinks(List<Block> body)
    {
        foreach (var p in body.OfType<ParagraphBlock>())
        {
            foreach (var link in p.Inline?.Descendants<LinkInline>() ?? [])
            {
                var uri = link.Url;
                var isWeb = uri is not null && (uri.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || uri.StartsWith("http://", StringComparison.OrdinalIgnoreCase));
                yield return new LinkHelp(Inline.Text(link).Trim(), isWeb ? uri : null);
            }
        }
    }

    private static void Validate(CommandHelp help, string file)
    {
        if (help.Synopsis.Count == 0) throw new HelpFormatException(file, "## SYNOPSIS is empty or missing.");
        if (help.Description.Count == 0) throw new HelpFormatException(file, "## DESCRIPTION is empty or missing.");
        if (help.Syntax.Count == 0) throw new HelpFormatException(file, "## SYNTAX has no parameter set.");
        if (help.Examples.Count == 0) throw new HelpFormatException(file, "## EXAMPLES has no example.");
        var documented = help.Parameters.Select(p => p.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var set in help.Syntax)
        {
            foreach (var p in set.Parameters.Where(p => !documented.Contains(p.Name)))
            {
                throw new HelpFormatException(file, $"syntax set '{set.Name}' names -{p.Name}, which ## PARAMETERS does not document.");
            }
        }
        var inSyntax = help.Syntax.SelectMany(s => s.Parameters).Select(p => p.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var p in help.Parameters.Where(p => !inSyntax.Contains(p.Name)))
        {
            throw new HelpFormatException(file, $"-{p.Name} is documented but appears in no syntax set.");
        }
        foreach (var p in help.Parameters.Where(p => p.Description.Count == 0))
        {
            throw new HelpFormatException(file, $"-{p.Name} has no description.");
        }
    }

    [GeneratedRegex(@"^[A-Z][a-z]+-[A-Za-z]+$")]
    private static partial Regex CommandName();

    [GeneratedRegex(@"-(?<name>[A-Za-z][A-Za-z0-9]*)(?<positional>\]\s*<)?")]
    private static partial Regex SyntaxParameterPattern();
}

/// <summary>Inline markdown to plain text: links keep their text, code spans their content.</summary>
internal static class Inline
{
    public static string Text(Markdig.Syntax.Inlines.Inline? inline)
    {
        var sb = new StringBuilder();
        Append(sb, inline);
        return sb.ToString();
    }

    private static void Append(StringBuilder sb, Markdig.Syntax.Inlines.Inline? inline)
    {
        switch (inline)
        {
            case null: return;
            case LiteralInline literal: sb.Append(literal.Content.ToString()); break;
            case CodeInline code: sb.Append(code.Content); break;
            case LineBreakInline lb: sb.Append(lb.IsHard ? "\n" : " "); break;
            case HtmlEntityInline entity: sb.Append(entity.Transcoded.ToString()); break;
            case AutolinkInline auto: sb.Append(auto.Url); break;
            // Help is text, not HTML: "<ticket>" outside a code span stays as written; comments go.
            case HtmlInline html when !html.Tag.StartsWith("<!--", StringComparison.Ordinal): sb.Append(html.Tag); break;
            case HtmlInline: break;
            case ContainerInline container:
                foreach (var child in container)
                {
                    Append(sb, child);
                }
                break;
            default: break;
        }
    }
}
