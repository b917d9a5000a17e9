using System.Text;

namespace SwarmPS.HelpGen;

/// <summary>
/// dotnet SwarmPS.HelpGen.dll &lt;markdown folder&gt; &lt;output folder&gt;
/// Reads every Verb-Noun.md (platyPS v1 markdown) and about_*.md in the markdown folder and writes the MAML
/// file each command's front matter names (SwarmPS.dll-Help.xml) and about_*.help.txt into the output folder.
/// Exit 0 on success, 1 when a file is malformed (all problems are listed), 2 on bad arguments.
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length != 2 || !Directory.Exists(args[0]))
        {
            Console.Error.WriteLine("usage: SwarmPS.HelpGen <markdown folder> <output folder>");
            return 2;
        }
        var errors = Generator.Run(args[0], args[1], out var written);
        foreach (var e in errors)
        {
            Console.Error.WriteLine($"error: {e}");
        }
        if (errors.Count > 0)
        {
            return 1;
        }
        foreach (var w in written)
        {
            Console.WriteLine($"help: {w}");
        }
        return 0;
    }
}

internal static class Generator
{
    public static List<string> Run(string markdownDir, string outputDir, out List<string> written)
    {
        written = [];
        var errors = new List<string>();
        var commands = new List<CommandHelp>();
        var abouts = new List<(string Topic, string Text)>();
        foreach (var path in Directory.EnumerateFiles(markdownDir, "*.md").Order(StringComparer.Ordinal))
        {
            try
            {
                if (Path.GetFileName(path).StartsWith("about_", StringComparison.OrdinalIgnoreCase))
                {
                    abouts.Add(AboutWriter.Convert(File.ReadAllText(path), Path.GetFileName(path)));
                }
                else
                {
                    commands.Add(CommandHelpReader.Read(path));
                }
            }
            catch (Exception ex) when (ex is HelpFormatException or InvalidOperationException)
            {
                errors.Add(ex is HelpFormatException ? ex.Message : $"{Path.GetFileName(path)}: {ex.Message}");
            }
        }
        foreach (var dup in commands.GroupBy(c => c.Name, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
        {
            errors.Add($"{dup.Key} is documented more than once.");
        }
        if (commands.Count == 0)
        {
            errors.Add($"no command help in {markdownDir}.");
        }
        if (errors.Count > 0)
        {
            return errors;
        }
        Directory.CreateDirectory(outputDir);
        foreach (var file in commands.GroupBy(c => c.ExternalHelpFile, StringComparer.OrdinalIgnoreCase))
        {
            var target = Path.Combine(outputDir, file.Key);
            MamlWriter.Write(target, file);
            written.Add($"{target} ({file.Count()} commands)");
        }
        foreach (var (topic, text) in abouts)
        {
            var target = Path.Combine(outputDir, topic + ".help.txt");
            File.WriteAllText(target, text, new UTF8Encoding(false));
            written.Add(target);
        }
        return errors;
    }
}
