using System.Diagnostics;
using System.Text;

namespace SwarmPS.Cli.Tests.Infrastructure;

/// <summary>Plain git calls for test setup and checks (argument lists, hermetic config).</summary>
public static class Git
{
    private static readonly string EmptyConfig = CreateEmptyConfig();

    private static string CreateEmptyConfig()
    {
        var path = Path.Combine(Path.GetTempPath(), "swarmps-cli-tests-empty.gitconfig");
        if (!File.Exists(path)) File.WriteAllText(path, "");
        return path;
    }

    /// <summary>
    /// Identity for commits and merges, and no user or system git config (a developer's
    /// commit.gpgSign or init.defaultBranch must not change what the tests see).
    /// </summary>
    public static IReadOnlyDictionary<string, string?> HermeticEnvironment { get; } = new Dictionary<string, string?>
    {
        ["GIT_AUTHOR_NAME"] = "Test Author",
        ["GIT_AUTHOR_EMAIL"] = "author@example.invalid",
        ["GIT_COMMITTER_NAME"] = "Test Committer",
        ["GIT_COMMITTER_EMAIL"] = "committer@example.invalid",
        ["GIT_CONFIG_NOSYSTEM"] = "1",
        ["GIT_CONFIG_GLOBAL"] = EmptyConfig,
        ["GIT_TERMINAL_PROMPT"] = "0",
        ["GIT_DIR"] = null,
        ["GIT_WORK_TREE"] = null,
        ["GIT_INDEX_FILE"] = null,
    };

    public static (int ExitCode, string StdOut, string StdErr) RunRaw(string cwd, params string[] args)
    {
        var psi = new ProcessStartInfo("git")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = new UTF8Encoding(false),
            StandardErrorEncoding = new UTF8Encoding(false),
            WorkingDirectory = cwd,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in HermeticEnvironment)
        {
            if (v is null) psi.Environment.Remove(k);
            else psi.Environment[k] = v;
        }
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, stderr.Result);
    }

    public static string Run(string cwd, params string[] args)
    {
        var (code, stdout, stderr) = RunRaw(cwd, args);
        if (code != 0) throw new InvalidOperationException($"git {string.Join(' ', args)} failed ({code}): {stderr}");
        return stdout;
    }

    public static IReadOnlyList<string> Lines(string cwd, params string[] args) =>
        Run(cwd, args).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Local branches named swarm/*.</summary>
    public static IReadOnlyList<string> SwarmBranches(string repo) =>
        Lines(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/swarm/");
}
