using System.Text;
using Markdig;
using Markdig.Syntax;

namespace SwarmPS.HelpGen;

/// <summary>
/// Turns an about topic in platyPS markdown ("# Name", "## about_Name", then "# SHORT DESCRIPTION",
/// "# LONG DESCRIPTION" ...) into the plain text Get-Help shows for about_Name.help.txt: level-1 headings
/// in capitals at the margin, deeper headings indented, text wrapped at 80 columns and indented by 4,
/// code indented by 8.
/// </summary>
internal static class AboutWriter
{
    private const int Width = 80;

    public static (string TopicName, string Text) Convert(string markdown, string file)
    {
        var doc = Markdown.Parse(markdown, CommandHelpReader.Pipeline);
        var blocks = doc.ToList();
        if (blocks.Count < 2 || blocks[0] is not HeadingBlock { Level: 1 } || blocks[1] is not HeadingBlock { Level: 2 } topicHeading)
        {
            throw new HelpFormatException(file, "an about topic starts with '# Name' and '## about_Name'.");
        }
        var topic = Inline.Text(topicHeading.Inline).Trim();
        if (!topic.StartsWith("about_", StringComparison.Ordinal) || !string.Equals(topic + ".md", Path.GetFileName(file), StringComparison.OrdinalIgnoreCase))
        {
            throw new HelpFormatException(file, $"the topic '{topic}' must be named like its file, about_*.");
        }
        var sb = new StringBuilder();
        sb.Append("TOPIC\n    ").Append(topic).Append('\n');
        var sawShort = false;
        var afterTitle = false;
        foreach (var block in blocks.Skip(2))
        {
            var blank = afterTitle ? "" : "\n";
            afterTitle = block is HeadingBlock { Level: 1 };
            switch (block)
            {
                case HeadingBlock h when h.Level == 1:
                    var title = Inline.Text(h.Inline).Trim();
                    sawShort |= title.Equals("SHORT DESCRIPTION", StringComparison.OrdinalIgnoreCase);
                    sb.Append('\n').Append(title.ToUpperInvariant()).Append('\n');
                    break;
                case HeadingBlock h:
                    var sub = Inline.Text(h.Inline).Trim();
                    var indent = new string(' ', 2 * (h.Level - 1));
                    sb.Append('\n').Append(indent).Append(h.Level == 2 ? sub.ToUpperInvariant() : sub).Append('\n');
                    break;
                case CodeBlock code:
                    sb.Append(blank);
                    foreach (var line in CommandHelpReader.CodeLines(code))
                    {
                        sb.Append(line.Length == 0 ? "" : "        " + line).Append('\n');
                    }
                    break;
                case ListBlock list:
                    sb.Append(blank);
                    foreach (var item in list.OfType<ListItemBlock>())
                    {
                        Wrap(sb, string.Join(" ", CommandHelpReader.Paragraphs(item)), "    - ", "      ");
                    }
                    break;
                default:
                    foreach (var para in CommandHelpReader.Paragraphs([block]))
                    {
                        sb.Append(blank);
                        blank = "\n";
                        Wrap(sb, para, "    ", "    ");
                    }
                    break;
            }
        }
        if (!sawShort)
        {
            throw new HelpFormatException(file, "an about topic needs a '# SHORT DESCRIPTION' section.");
        }
        return (topic, sb.ToString());
    }

    private static void Wrap(StringBuilder sb, string text, string first, string rest)
    {
        var line = new StringBuilder(first);
        var empty = true;
        foreach (var word in text.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (!empty && line.Length + 1 + word.Length > Width)
            {
                sb.Append(line.ToString().TrimEnd()).Append('\n');
                line.Clear().Append(rest);
                empty = true;
            }
            if (!empty)
            {
                line.Append(' ');
            }
            line.Append(word);
            empty = false;
        }
        sb.Append(line.ToString().TrimEnd()).Append('\n');
    }
}
