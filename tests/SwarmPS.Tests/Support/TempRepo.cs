using System.Diagnostics;
using System.Text;

namespace SwarmPS.Tests.Support;

/// <summary>A throw-away git repository with one commit on branch main, plus a private SWARMPS_HOME.</summary>
public sealed class TempRepo : IDisposable
{
    public TempRepo(int files = 3)
    {
        var root = Path.Combine(Path.GetTempPath(), "swarmps-test-" + Guid.NewGuid().ToString("N")[..10]);
        Repo = Path.Combine(root, "repo");
        Directory.CreateDirectory(Repo);
        Git("init", "-q", "-b", "main");
        // Use git's view of the path (macOS's /var is a symlink to /private/var), so paths that come
        // back from git compare equal to ours.
        Repo = Path.GetFullPath(Git("rev-parse", "--show-toplevel").Trim());
        Root = Path.GetDirectoryName(Repo)!;
        Home = Path.Combine(Root, "home");
        // Checkpoints go through git's content filters like git stash does; keep line endings
        // untouched so byte-for-byte comparisons mean the same on Windows (core.autocrlf=true).
        Git("config", "core.autocrlf", "false");
        for (var i = 0; i < files; i++) Write($"src/file{i}.txt", $"line {i}\n");
        Write("README.md", "# test repo\n");
        Git("add", "-A");
        Git("commit", "-q", "-m", "initial");
    }

    public string Root { get; }
    public string Repo { get; private set; }
    public string Home { get; }

    public void Write(string rel, string content) => WriteIn(Repo, rel, content);

    public static void WriteIn(string dir, string rel, string content)
    {
        var p = Path.Combine(dir, rel);
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        File.WriteAllText(p, content);
    }

    public string Git(params string[] args) => RunGit(Repo, args);

    /// <summary>Runs git with a fixed identity and no user/system config influence; throws on failure.</summary>
    public static string RunGit(string dir, params string[] args)
    {
        var r = TryGit(dir, args);
        if (r.Code != 0) throw new InvalidOperationException($"git {string.Join(' ', args)} failed ({r.Code}): {r.Err}");
        return r.Out;
    }

    public static (int Code, string Out, string Err) TryGit(string dir, params string[] args)
    {
        var psi = new ProcessStartInfo("git") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["GIT_AUTHOR_NAME"] = "Test";
        psi.Environment["GIT_AUTHOR_EMAIL"] = "test@example.com";
        psi.Environment["GIT_COMMITTER_NAME"] = "Test";
        psi.Environment["GIT_COMMITTER_EMAIL"] = "test@example.com";
        psi.Environment["LC_ALL"] = "C";
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, o.Result, e);
    }

    public static IReadOnlyList<string> Branches(string repo) =>
        RunGit(repo, "for-each-ref", "--format=%(refname)", "refs/heads/").Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public static IReadOnlyList<string> AllRefs(string repo) =>
        RunGit(repo, "for-each-ref", "--format=%(refname)").Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Every file under <paramref name="dir"/> (except .git and .swarm) with its bytes, for exact comparison.</summary>
    public static SortedDictionary<string, string> Snapshot(string dir)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var f in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories))
        {
            var rel = Path.GetRelativePath(dir, f).Replace('\\', '/');
            if (rel == ".git" || rel.StartsWith(".git/", StringComparison.Ordinal) || rel.StartsWith(".swarm/", StringComparison.Ordinal)) continue;
            result[rel] = Convert.ToBase64String(File.ReadAllBytes(f));
        }
        return result;
    }

    public void Dispose()
    {
        try
        {
            foreach (var f in Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories)) File.SetAttributes(f, FileAttributes.Normal);
            Directory.Delete(Root, true);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}

public static class Sync
{
    public static T Run<T>(Task<T> t) => t.GetAwaiter().GetResult();
    public static void Run(Task t) => t.GetAwaiter().GetResult();
}

public sealed class ListProgress : IProgress<SwarmPS.Core.SwarmProgress>
{
    public List<SwarmPS.Core.SwarmProgress> Reports { get; } = new();
    public void Report(SwarmPS.Core.SwarmProgress value) { lock (Reports) Reports.Add(value); }
}

public static class Utf8
{
    public static readonly Encoding NoBom = new UTF8Encoding(false);
}
