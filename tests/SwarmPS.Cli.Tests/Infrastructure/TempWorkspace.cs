using System.Text.Json;

namespace SwarmPS.Cli.Tests.Infrastructure;

/// <summary>
/// A temporary git repository (branch main, one commit) and a temporary SwarmPS home, both
/// deleted on dispose. Every CLI call goes through <see cref="RunAsync"/>, which adds --home.
/// </summary>
public sealed class TempWorkspace : IDisposable
{
    public TempWorkspace()
    {
        var root = Path.Combine(Path.GetTempPath(), "swarmps-cli-" + Guid.NewGuid().ToString("N")[..10]);
        var repo = Path.Combine(root, "repo");
        Directory.CreateDirectory(repo);
        Git.Run(repo, "init", "--quiet", "--initial-branch=main");
        // git's view of the path (macOS's /var is a symlink to /private/var), so paths that come
        // back from the CLI compare equal to ours.
        Repo = Path.GetFullPath(Git.Run(repo, "rev-parse", "--show-toplevel").Trim());
        Root = Path.GetDirectoryName(Repo)!;
        Home = Path.Combine(Root, "home");
        // Byte-for-byte content checks mean the same on Windows (core.autocrlf=true there).
        Git.Run(Repo, "config", "core.autocrlf", "false");
        File.WriteAllText(Path.Combine(Repo, "README.md"), "# demo\n");
        File.WriteAllText(Path.Combine(Repo, "shared.txt"), "line 1\nline 2\n");
        Git.Run(Repo, "add", "--all");
        Git.Run(Repo, "commit", "--quiet", "-m", "initial commit");
    }

    public string Root { get; }
    public string Home { get; }
    public string Repo { get; }
    public string WorktreeRoot => Path.Combine(Home, "worktrees");

    /// <summary>Extra variables for every swarmps process (a null value removes one), for example PATH with the fake agents first.</summary>
    public Dictionary<string, string?> Environment { get; } = new(StringComparer.Ordinal);

    /// <summary>Runs swarmps in the repository with <c>--home</c> first (global options go anywhere, but not after <c>--</c>).</summary>
    public Task<CliResult> RunAsync(params string[] args) => RunInAsync(Repo, args);

    public Task<CliResult> RunInAsync(string cwd, params string[] args) =>
        CliProcess.RunAsync(new[] { "--home", Home }.Concat(args).ToArray(), cwd,
            // A call whose --home got lost (say after '--') must not reach the user's real home.
            new Dictionary<string, string?>(Environment) { ["SWARMPS_HOME"] = Path.Combine(Root, "stray-home") });

    /// <summary>Runs a command that must succeed and returns its result.</summary>
    public async Task<CliResult> OkAsync(params string[] args)
    {
        var r = await RunAsync(args);
        if (r.ExitCode != 0) throw new InvalidOperationException($"Expected success:\n{r}");
        return r;
    }

    public async Task<JsonElement> JsonAsync(params string[] args) => (await OkAsync(args.Append("--json").ToArray())).Json;

    public async Task<string> WorkspaceOfAsync(string ticket) => (await JsonAsync("env", "get", ticket)).GetProperty("workspacePath").GetString()!;

    /// <summary>Rows in the registry, as the CLI lists them.</summary>
    public async Task<int> RowCountAsync() => (await JsonAsync("env", "list")).GetArrayLength();

    public void Dispose()
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            try
            {
                if (!Directory.Exists(Root)) return;
                foreach (var f in Directory.EnumerateFiles(Root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint }))
                    File.SetAttributes(f, FileAttributes.Normal);
                Directory.Delete(Root, recursive: true);
                return;
            }
            catch (IOException)
            {
                Thread.Sleep(200);
            }
            catch (UnauthorizedAccessException)
            {
                Thread.Sleep(200);
            }
        }
    }
}
