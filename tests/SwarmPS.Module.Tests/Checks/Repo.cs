using System.Reflection;

namespace SwarmPS.Module.Tests.Checks;

/// <summary>Paths in the repository and in the test output.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "SwarmPS.slnx"))) return dir.FullName;
        }
        // Built with --artifacts-path outside the repo: the source path is baked into this assembly.
        var source = typeof(Repo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "SwarmRepoRoot")?.Value;
        if (source is not null && File.Exists(Path.Combine(source, "SwarmPS.slnx"))) return source;
        throw new InvalidOperationException("Cannot find the repository root (SwarmPS.slnx) from " + AppContext.BaseDirectory);
    }

    public static string Path_(params string[] parts) => Path.Combine(new[] { Root }.Concat(parts).ToArray());

    public static string ManifestPath => Path_("module", "SwarmPS.psd1");
    public static string FormatPath => Path_("module", "SwarmPS.format.ps1xml");
    public static string HelpDir => Path_("docs", "help", "en-US");
    public static string PesterDir => Path_("tests", "pester");

    /// <summary>The module folder the test project assembled after its build (see the .csproj).</summary>
    public static string AssembledModuleDir => Path.Combine(AppContext.BaseDirectory, "module", "SwarmPS");

    private static readonly string[] SkippedDirs = { ".git", "node_modules", "bin", "obj", "output", "TestResults", "BenchmarkDotNet.Artifacts", ".vs", ".idea" };

    /// <summary>Every PowerShell file in the repository (.ps1, .psd1, .psm1), build output excluded.</summary>
    public static IReadOnlyList<string> PowerShellFiles()
    {
        var result = new List<string>();
        void Walk(string dir)
        {
            foreach (var f in Directory.EnumerateFiles(dir))
                if (f.EndsWith(".ps1", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".psd1", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".psm1", StringComparison.OrdinalIgnoreCase))
                    result.Add(f);
            foreach (var d in Directory.EnumerateDirectories(dir))
                if (!SkippedDirs.Contains(Path.GetFileName(d), StringComparer.OrdinalIgnoreCase)) Walk(d);
        }
        Walk(Root);
        return result.OrderBy(f => f, StringComparer.Ordinal).ToList();
    }
}
