using System.Diagnostics;
using System.Text.Json;

namespace SwarmPS.Module.Tests.Checks;

public sealed record ParseError(int Line, int Column, string Text);
public sealed record CommandUse(string Name, int Line, IReadOnlyList<string> Parameters);
public sealed record ParsedFile(string File, IReadOnlyList<ParseError> Errors, IReadOnlyList<CommandUse> Commands);

/// <summary>
/// The PowerShell parser for the static checks: tree-sitter-powershell through node
/// (tests/tools/psparse). If its node_modules are missing it runs <c>npm ci</c> there once, so a
/// fresh clone works with plain <c>dotnet test</c>; CI runs <c>npm ci --prefix tests/tools/psparse</c> first.
/// </summary>
public static class PsParser
{
    private static readonly object Gate = new();
    private static bool _installed;

    public static string ToolDir => Repo.Path_("tests", "tools", "psparse");

    public static IReadOnlyList<ParsedFile> Parse(IEnumerable<string> files) => ParseFiles("commands", files.ToList());

    public static ParsedFile ParseText(string source, string label = "<text>")
    {
        var dir = Path.Combine(Path.GetTempPath(), "swarmps-psparse");
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, Guid.NewGuid().ToString("n") + ".ps1");
        File.WriteAllText(file, source);
        try
        {
            var parsed = Parse(new[] { file }).Single();
            return parsed with { File = label };
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>Reads a .psd1 as data (the hashtable as JSON).</summary>
    public static JsonElement ReadData(string psd1)
    {
        var json = Node("data", new[] { psd1 });
        return JsonDocument.Parse(json).RootElement.Clone();
    }

    private static IReadOnlyList<ParsedFile> ParseFiles(string mode, IReadOnlyList<string> files)
    {
        var result = new List<ParsedFile>();
        // Keep command lines short: batches of 100 files.
        for (var i = 0; i < files.Count; i += 100)
        {
            var json = Node(mode, files.Skip(i).Take(100).ToList());
            using var doc = JsonDocument.Parse(json);
            foreach (var f in doc.RootElement.EnumerateArray())
            {
                var errors = f.GetProperty("errors").EnumerateArray().Select(e => new ParseError(e.GetProperty("line").GetInt32(), e.GetProperty("column").GetInt32(), e.GetProperty("text").GetString()!)).ToList();
                var commands = f.TryGetProperty("commands", out var cs)
                    ? cs.EnumerateArray().Select(c => new CommandUse(c.GetProperty("name").GetString()!, c.GetProperty("line").GetInt32(),
                        c.GetProperty("parameters").EnumerateArray().Select(p => p.GetString()!).ToList())).ToList()
                    : new List<CommandUse>();
                result.Add(new ParsedFile(f.GetProperty("file").GetString()!, errors, commands));
            }
        }
        return result;
    }

    private static string Node(string mode, IReadOnlyList<string> args)
    {
        EnsureInstalled();
        var psi = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("--no-deprecation");
        psi.ArgumentList.Add(Path.Combine(ToolDir, "psparse.mjs"));
        psi.ArgumentList.Add(mode);
        foreach (var a in args) psi.ArgumentList.Add(a);
        var (code, stdout, stderr) = Run(psi);
        if (code != 0) throw new InvalidOperationException($"psparse {mode} failed (exit {code}): {stderr}");
        return stdout;
    }

    private static void EnsureInstalled()
    {
        lock (Gate)
        {
            if (_installed) return;
            var marker = Path.Combine(ToolDir, "node_modules", "tree-sitter-powershell", "package.json");
            if (!File.Exists(marker))
            {
                var npm = OperatingSystem.IsWindows() ? "npm.cmd" : "npm";
                var psi = new ProcessStartInfo(npm) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                foreach (var a in new[] { "ci", "--no-audit", "--no-fund", "--prefix", ToolDir }) psi.ArgumentList.Add(a);
                var (code, _, stderr) = Run(psi);
                if (code != 0 || !File.Exists(marker))
                    throw new InvalidOperationException($"The PowerShell parser is not installed and `npm ci --prefix tests/tools/psparse` failed (exit {code}): {stderr}");
            }
            _installed = true;
        }
    }

    private static (int Code, string Stdout, string Stderr) Run(ProcessStartInfo psi)
    {
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("Could not start " + psi.FileName);
        var stderrTask = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, stderrTask.Result);
    }
}
