using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using SwarmPS.Core;
using SwarmPS.Core.Providers;

namespace SwarmPS.Bench;

/// <summary>
/// Compares SwarmPS with the raw git commands it builds on, in one run on generated repositories:
/// <list type="bullet">
/// <item><c>swarmps env new</c> (CLI and in-process Core) against <c>git worktree add -b</c>;</item>
/// <item>the CLI's own start-up (<c>swarmps --version</c>, <c>swarmps providers</c>);</item>
/// <item>checkpoint (Core and CLI) against <c>git stash create</c>.</item>
/// </list>
/// Each repetition runs every contestant once, in an order that rotates between repetitions, so
/// raw and ours share the same machine state. Reported: median, p90 (nearest rank) and min.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == Bench.ProbeFlag) return await Bench.ProbeAsync(args).ConfigureAwait(false);
        Options o;
        try
        {
            o = Options.Parse(args);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(Options.Usage);
            return 2;
        }
        if (o.Help)
        {
            Console.WriteLine(Options.Usage);
            return 0;
        }
        var bench = new Bench(o);
        try
        {
            return await bench.RunAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"benchmark failed: {ex}");
            return 1;
        }
        finally
        {
            bench.Cleanup();
        }
    }
}

internal sealed class Options
{
    public bool Quick { get; private set; }
    public bool Help { get; private set; }
    public bool Keep { get; private set; }
    public int Reps { get; private set; }
    public int Warmup { get; private set; }
    public int NewFiles { get; private set; }
    public int CheckpointFiles { get; private set; }
    public int ChangedFiles => 10;
    public string? Cli { get; private set; }
    public string? Out { get; private set; }
    public string? WorkDir { get; private set; }
    public bool SkipNew { get; private set; }
    public bool SkipCheckpoint { get; private set; }
    public bool NoCli { get; private set; }

    public const string Usage = """
        usage: dotnet run -c Release --project bench/SwarmPS.Bench -- [options]
          --quick                 small repositories, few repetitions (CI smoke run, < 1 minute)
          --reps N                timed repetitions per contestant (default 21; quick 3)
          --warmup N              untimed rounds first (default 2; quick 1)
          --new-files N           files in the repository for env new (default 5000; quick 300)
          --checkpoint-files N    files in the repository for checkpoint (default 50000; quick 2000)
          --only new|checkpoint   run one part
          --cli PATH              swarmps executable or swarmps.dll (default: the one built with this project)
          --out FILE              results markdown (default bench/results/latest.md; quick: bench/results/quick.md)
          --work DIR              folder to generate the repositories in (a new subfolder, deleted afterwards;
                                  default: the temp folder). On Linux, /dev/shm shows the overhead on tmpfs.
          --keep                  keep the generated repositories
          --no-cli                time only raw git and the in-process Core calls
        """;

    public static Options Parse(string[] args)
    {
        var o = new Options();
        int? reps = null, warmup = null, newFiles = null, cpFiles = null;
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            int Int() => int.TryParse(Next(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= 0 ? v : throw new ArgumentException($"{args[i - 1]} needs a non-negative integer.");
            switch (args[i])
            {
                case "--quick": o.Quick = true; break;
                case "--reps": reps = Int(); break;
                case "--warmup": warmup = Int(); break;
                case "--new-files": newFiles = Int(); break;
                case "--checkpoint-files": cpFiles = Int(); break;
                case "--cli": o.Cli = Next(); break;
                case "--out": o.Out = Next(); break;
                case "--work": o.WorkDir = Next(); break;
                case "--keep": o.Keep = true; break;
                case "--no-cli": o.NoCli = true; break;
                case "--only":
                    var what = Next();
                    if (what == "new") o.SkipCheckpoint = true;
                    else if (what == "checkpoint") o.SkipNew = true;
                    else throw new ArgumentException("--only takes new or checkpoint.");
                    break;
                case "-h" or "--help": o.Help = true; break;
                default: throw new ArgumentException($"Unknown option '{args[i]}'.");
            }
        }
        o.Reps = Math.Max(1, reps ?? (o.Quick ? 3 : 21));
        o.Warmup = warmup ?? (o.Quick ? 1 : 2);
        o.NewFiles = Math.Max(20, newFiles ?? (o.Quick ? 300 : 5000));
        o.CheckpointFiles = Math.Max(20, cpFiles ?? (o.Quick ? 2000 : 50000));
        return o;
    }
}

/// <summary>One timed series.</summary>
internal sealed class Series(string name)
{
    public string Name { get; } = name;
    public List<double> Ms { get; } = new();
    public double Median => Percentile(50);
    public double P90 => Percentile(90);
    public double Min => Ms.Count == 0 ? double.NaN : Ms.Min();

    /// <summary>Median for 50 (mean of the two middle values for an even count), nearest rank otherwise.</summary>
    public double Percentile(int p)
    {
        if (Ms.Count == 0) return double.NaN;
        var s = Ms.OrderBy(x => x).ToArray();
        if (p == 50) return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
        var rank = (int)Math.Ceiling(p / 100.0 * s.Length);
        return s[Math.Clamp(rank - 1, 0, s.Length - 1)];
    }
}

internal sealed record ProcResult(int ExitCode, string StdOut, string StdErr, double Ms);

internal sealed class Bench
{
    private readonly Options _o;
    private readonly string _work;
    private readonly string _home;
    private readonly List<string> _notes = new();
    private (string File, string[] Prefix) _cli;
    private SwarmService? _service;
    private string _loadStart = "";

    private static string LoadAverage()
    {
        try { return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "unknown"; }
        catch (UnauthorizedAccessException) { return "unknown"; }
    }

    /// <summary>The file system type holding <paramref name="path"/> (Linux: from /proc/mounts), for the record.</summary>
    private static string FileSystemOf(string path)
    {
        try
        {
            var best = ("", "unknown");
            foreach (var line in File.ReadLines("/proc/mounts"))
            {
                var f = line.Split(' ');
                if (f.Length < 3) continue;
                var mount = f[1];
                if ((path == mount || path.StartsWith(mount.TrimEnd('/') + "/", StringComparison.Ordinal)) && mount.Length >= best.Item1.Length)
                    best = (mount, $"{f[2]} mounted at {mount}");
            }
            return best.Item2;
        }
        catch (IOException) { return "unknown file system"; }
        catch (UnauthorizedAccessException) { return "unknown file system"; }
    }

    private const string Identity = "SwarmPS Bench";
    private const string Email = "bench@localhost";

    public Bench(Options o)
    {
        _o = o;
        _work = Path.GetFullPath(Path.Combine(o.WorkDir ?? Path.GetTempPath(), "swarmps-bench-" + Guid.NewGuid().ToString("N")[..8]));
        _home = Path.Combine(_work, "home");
    }

    public void Cleanup()
    {
        if (_o.Keep)
        {
            Console.WriteLine($"kept: {_work}");
            return;
        }
        try
        {
            if (Directory.Exists(_work)) Directory.Delete(_work, recursive: true);
        }
        catch (IOException ex)
        {
            Console.Error.WriteLine($"could not delete {_work}: {ex.Message}");
        }
    }

    public async Task<int> RunAsync()
    {
        var total = Stopwatch.StartNew();
        _loadStart = LoadAverage();
        Directory.CreateDirectory(_work);
        Environment.SetEnvironmentVariable("SWARMPS_HOME", _home);
        // Git identity for the generated repositories and for `git stash create`; same for every contestant.
        Environment.SetEnvironmentVariable("GIT_AUTHOR_NAME", Identity);
        Environment.SetEnvironmentVariable("GIT_AUTHOR_EMAIL", Email);
        Environment.SetEnvironmentVariable("GIT_COMMITTER_NAME", Identity);
        Environment.SetEnvironmentVariable("GIT_COMMITTER_EMAIL", Email);
        Environment.SetEnvironmentVariable("GIT_CONFIG_NOSYSTEM", "1");

        _cli = _o.NoCli ? ("(not timed: --no-cli)", Array.Empty<string>()) : ResolveCli();
        var machine = Machine.Describe();
        Console.WriteLine(machine.ToText());
        Console.WriteLine($"mode: {(_o.Quick ? "quick" : "full")}, reps {_o.Reps}, warm-up {_o.Warmup}, work dir {_work} ({FileSystemOf(_work)}), load {_loadStart}");
        Console.WriteLine($"swarmps: {string.Join(' ', new[] { _cli.File }.Concat(_cli.Prefix))}");
        Console.WriteLine();

        _service = SwarmService.Open(_home);
        var rows = new List<Row>();

        if (!_o.NoCli) rows.AddRange(await BenchStartupAsync(_work).ConfigureAwait(false));
        if (!_o.SkipNew)
        {
            var repo = Path.Combine(_work, $"repo-{_o.NewFiles}");
            Step($"generating {_o.NewFiles:N0}-file repository");
            await GenerateRepoAsync(repo, _o.NewFiles).ConfigureAwait(false);
            rows.AddRange(await BenchNewAsync(repo).ConfigureAwait(false));
        }
        if (!_o.SkipCheckpoint)
        {
            var repo = Path.Combine(_work, $"repo-{_o.CheckpointFiles}");
            Step($"generating {_o.CheckpointFiles:N0}-file repository");
            await GenerateRepoAsync(repo, _o.CheckpointFiles).ConfigureAwait(false);
            rows.AddRange(await BenchCheckpointAsync(repo).ConfigureAwait(false));
        }

        var table = Row.Table(rows, judge: !_o.Quick);
        if (_o.Quick) _notes.Add("quick smoke run: small repositories and 3 repetitions, so targets are not judged; the figures only show that every path works");
        Console.WriteLine();
        Console.WriteLine(table);
        foreach (var n in _notes) Console.WriteLine("note: " + n);
        Console.WriteLine($"total time {total.Elapsed.TotalSeconds:0.0} s");

        var outFile = _o.Out ?? Path.Combine(RepoRoot() ?? Environment.CurrentDirectory, "bench", "results", _o.Quick ? "quick.md" : "latest.md");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outFile))!);
        await File.WriteAllTextAsync(outFile, Markdown(machine, table, total.Elapsed)).ConfigureAwait(false);
        Console.WriteLine($"wrote {Path.GetFullPath(outFile)}");
        return 0;
    }

    // ------------------------------------------------------------------ fresh-process probe

    internal const string ProbeFlag = "--probe";

    /// <summary>
    /// A fresh process that calls Core directly, without the CLI layer: what the CLI would cost if
    /// its own parsing and output were free. "--probe new HOME TICKET REPO" or "--probe checkpoint HOME TICKET NAME".
    /// </summary>
    internal static async Task<int> ProbeAsync(string[] a)
    {
        var service = SwarmService.Open(a[2]);
        if (a[1] == "new") await service.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = a[3], RepositoryPath = a[4] }).ConfigureAwait(false);
        else if (a[1] == "checkpoint") await service.CheckpointAsync(a[3], a[4]).ConfigureAwait(false);
        else return 2;
        return 0;
    }

    private ProcResult Probe(string cwd, params string[] args)
    {
        var self = Environment.ProcessPath ?? "dotnet";
        var prefix = Path.GetFileNameWithoutExtension(self) == "dotnet" ? new[] { typeof(Bench).Assembly.Location } : Array.Empty<string>();
        return Run(self, prefix.Concat(new[] { ProbeFlag }).Concat(args).ToArray(), cwd);
    }

    private static void Step(string what) => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {what}");

    // ------------------------------------------------------------------ scenarios

    private async Task<IEnumerable<Row>> BenchStartupAsync(string cwd)
    {
        Step("CLI start-up");
        var version = new Series("swarmps --version");
        var list = new Series(StartupName);
        var providers = new Series("swarmps providers");
        var gitVersion = new Series("git --version (spawn floor)");
        var contestants = new (Series S, Func<Task<double>> Run)[]
        {
            (gitVersion, () => Task.FromResult(Check(Run("git", new[] { "--version" }, cwd)).Ms)),
            (version, () => Task.FromResult(Check(Cli(cwd, "--version")).Ms)),
            (list, () => Task.FromResult(Check(Cli(cwd, "env", "list")).Ms)),
            (providers, () => Task.FromResult(Check(Cli(cwd, "providers")).Ms)),
        };
        await Rounds(contestants).ConfigureAwait(false);
        _startup = list;
        return new[]
        {
            new Row("CLI start-up", gitVersion, null, null),
            new Row("CLI start-up", version, gitVersion, null),
            new Row("CLI start-up", list, gitVersion, null),
            new Row("CLI start-up", providers, gitVersion, null),
        };
    }

    /// <summary>
    /// What every CLI command pays before doing its work: process and runtime start, argument
    /// parsing, opening the registry, printing a (here empty) table. Subtracted for the
    /// "minus start-up" rows.
    /// </summary>
    private const string StartupName = "swarmps env list (empty registry)";
    private Series? _startup;

    private static Series MinusStartup(Series cli, Series startup)
    {
        var net = new Series(cli.Name + " minus start-up");
        // Each repetition's CLI time less the median start-up of the same run.
        net.Ms.AddRange(cli.Ms.Select(x => x - startup.Median));
        return net;
    }

    private async Task<IEnumerable<Row>> BenchNewAsync(string repo)
    {
        Step($"env new vs git worktree add ({_o.NewFiles:N0} files)");
        var raw = new Series("git worktree add -b");
        var cli = new Series("swarmps env new (CLI)");
        var core = new Series("SwarmService.NewEnvironmentAsync (in-process)");
        var probe = new Series("fresh process calling SwarmService (no CLI layer)");
        var rawRoot = Path.Combine(_home, "raw-worktrees");
        Directory.CreateDirectory(rawRoot);
        var n = 0;
        var checkedOnce = false;
        var contestants = new (Series S, Func<Task<double>> Run)[]
        {
            (raw, async () =>
            {
                var i = ++n;
                var path = Path.Combine(rawRoot, $"RAW-{i}");
                var r = Check(Run("git", new[] { "worktree", "add", "--quiet", "-b", $"bench/raw-{i}", path, "HEAD" }, repo));
                Check(Run("git", new[] { "worktree", "remove", "--force", path }, repo));
                Check(Run("git", new[] { "branch", "-D", "--quiet", $"bench/raw-{i}" }, repo));
                await Task.CompletedTask.ConfigureAwait(false);
                return r.Ms;
            }),
            (cli, async () =>
            {
                var ticket = $"BENCH-CLI-{++n}";
                var r = Check(Cli(repo, "env", "new", ticket, "--repo", repo));
                await VerifyAndRemoveAsync(ticket, !checkedOnce).ConfigureAwait(false);
                return r.Ms;
            }),
            (probe, async () =>
            {
                var ticket = $"BENCH-PROBE-{++n}";
                var r = Check(Probe(repo, "new", _home, ticket, repo));
                await VerifyAndRemoveAsync(ticket, !checkedOnce).ConfigureAwait(false);
                return r.Ms;
            }),
            (core, async () =>
            {
                var ticket = $"BENCH-CORE-{++n}";
                var sw = Stopwatch.StartNew();
                await _service!.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = ticket, RepositoryPath = repo }).ConfigureAwait(false);
                var ms = sw.Elapsed.TotalMilliseconds;
                await VerifyAndRemoveAsync(ticket, !checkedOnce).ConfigureAwait(false);
                checkedOnce = true;
                return ms;
            }),
        };
        await Rounds(contestants).ConfigureAwait(false);
        var rows = new List<Row>
        {
            new("env new", raw, null, null),
            new("env new", cli, raw, 1.15),
        };
        if (_startup is { Ms.Count: > 0 }) rows.Add(new("env new", MinusStartup(cli, _startup), raw, 1.15));
        rows.Add(new("env new", probe, raw, null));
        rows.Add(new("env new", core, raw, 1.15));
        return rows;
    }

    private async Task VerifyAndRemoveAsync(string ticket, bool verify)
    {
        var env = _service!.GetEnvironment(ticket);
        if (verify)
        {
            if (env.WorkspacePath is null || !Directory.Exists(env.WorkspacePath) || !File.Exists(Path.Combine(env.WorkspacePath, ".swarm", "env")))
                throw new InvalidOperationException($"{ticket}: the environment's worktree or .swarm/env is missing.");
        }
        await _service.RemoveEnvironmentAsync(ticket, new RemoveOptions { Force = true }).ConfigureAwait(false);
    }

    private async Task<IEnumerable<Row>> BenchCheckpointAsync(string repo)
    {
        Step($"checkpoint vs git stash create ({_o.CheckpointFiles:N0} files, {_o.ChangedFiles} changed)");
        const string ticket = "BENCH-CP";
        var env = await _service!.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = ticket, RepositoryPath = repo }).ConfigureAwait(false);
        var wt = env.WorkspacePath!;
        var changes = ApplyChanges(wt);
        _notes.Add($"checkpoint changes: {changes}");
        await VerifyCheckpointAsync(ticket, wt).ConfigureAwait(false);

        var raw = new Series("git stash create");
        var core = new Series("SwarmService.CheckpointAsync (in-process)");
        var cli = new Series("swarmps env checkpoint (CLI)");
        var probe = new Series("fresh process calling SwarmService (no CLI layer)");
        var n = 0;
        var contestants = new (Series S, Func<Task<double>> Run)[]
        {
            (raw, () =>
            {
                var r = Check(Run("git", new[] { "stash", "create" }, wt));
                if (r.StdOut.Trim().Length < 40) throw new InvalidOperationException("git stash create made no commit: " + r.StdOut + r.StdErr);
                return Task.FromResult(r.Ms);
            }),
            (core, async () =>
            {
                var name = $"core-{++n}";
                var sw = Stopwatch.StartNew();
                await _service.CheckpointAsync(ticket, name).ConfigureAwait(false);
                var ms = sw.Elapsed.TotalMilliseconds;
                await _service.RemoveCheckpointAsync(ticket, name).ConfigureAwait(false);
                return ms;
            }),
            (probe, async () =>
            {
                var name = $"probe-{++n}";
                var r = Check(Probe(wt, "checkpoint", _home, ticket, name));
                await _service.RemoveCheckpointAsync(ticket, name).ConfigureAwait(false);
                return r.Ms;
            }),
            (cli, async () =>
            {
                var name = $"cli-{++n}";
                var r = Check(Cli(wt, "env", "checkpoint", ticket, name));
                await _service.RemoveCheckpointAsync(ticket, name).ConfigureAwait(false);
                return r.Ms;
            }),
        };
        await Rounds(contestants).ConfigureAwait(false);
        await _service.RemoveEnvironmentAsync(ticket, new RemoveOptions { Force = true }).ConfigureAwait(false);
        var rows = new List<Row>
        {
            new("checkpoint", raw, null, null),
            new("checkpoint", cli, raw, 1.5),
        };
        if (_startup is { Ms.Count: > 0 }) rows.Add(new("checkpoint", MinusStartup(cli, _startup), raw, 1.5));
        rows.Add(new("checkpoint", probe, raw, null));
        rows.Add(new("checkpoint", core, raw, 1.5));
        return rows;
    }

    /// <summary>Ten changes of every kind a checkpoint must capture. Returns a description.</summary>
    private string ApplyChanges(string wt)
    {
        var tracked = GitLines(wt, "ls-files", "--", "src").Where(p => p.EndsWith(".txt", StringComparison.Ordinal)).ToList();
        var step = Math.Max(1, tracked.Count / 8);
        string Pick(int k) => tracked[Math.Min(tracked.Count - 1, k * step)];
        // 4 unstaged modifications
        for (var k = 0; k < 4; k++) File.AppendAllText(Path.Combine(wt, Pick(k)), $"unstaged change {k}\n");
        // 2 staged modifications
        for (var k = 4; k < 6; k++)
        {
            File.AppendAllText(Path.Combine(wt, Pick(k)), $"staged change {k}\n");
            Check(Run("git", new[] { "add", "--", Pick(k) }, wt));
        }
        // 1 deletion (unstaged)
        File.Delete(Path.Combine(wt, Pick(6)));
        // 1 new staged file
        File.WriteAllText(Path.Combine(wt, "src", "staged-new.txt"), "staged new file\n");
        Check(Run("git", new[] { "add", "--", "src/staged-new.txt" }, wt));
        // 2 untracked files (one in a new folder)
        File.WriteAllText(Path.Combine(wt, "untracked-1.txt"), "untracked 1\n");
        Directory.CreateDirectory(Path.Combine(wt, "notes"));
        File.WriteAllText(Path.Combine(wt, "notes", "untracked-2.md"), "untracked 2\n");
        var status = GitLines(wt, "status", "--porcelain", "--untracked-files=all");
        if (status.Count != 10) throw new InvalidOperationException($"expected 10 changed files, git status shows {status.Count}:\n{string.Join('\n', status)}");
        return "4 unstaged modifications, 2 staged modifications, 1 unstaged deletion, 1 staged new file, 2 untracked files (one in a new folder)";
    }

    /// <summary>
    /// Once, untimed: a checkpoint captures everything and touches nothing (index bytes, HEAD,
    /// status, stash all unchanged), and the captured trees hold what they should.
    /// </summary>
    private async Task VerifyCheckpointAsync(string ticket, string wt)
    {
        var gitDir = GitLines(wt, "rev-parse", "--absolute-git-dir")[0];
        string Snapshot() => string.Join("\n",
            Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Path.Combine(gitDir, "index")))),
            string.Join('|', GitLines(wt, "rev-parse", "HEAD")),
            string.Join('|', GitLines(wt, "status", "--porcelain", "--untracked-files=all")),
            string.Join('|', GitLines(wt, "stash", "list")));
        var before = Snapshot();
        var cp = await _service!.CheckpointAsync(ticket, "verify").ConfigureAwait(false);
        var after = Snapshot();
        if (before != after) throw new InvalidOperationException($"checkpoint changed the worktree state:\n{before}\n---\n{after}");
        var work = GitLines(wt, "ls-tree", "-r", "--name-only", cp.ProviderReference!).ToHashSet(StringComparer.Ordinal);
        var index = GitLines(wt, "ls-tree", "-r", "--name-only", cp.ProviderReference! + "^2").ToHashSet(StringComparer.Ordinal);
        foreach (var must in new[] { "untracked-1.txt", "notes/untracked-2.md", "src/staged-new.txt" })
            if (!work.Contains(must)) throw new InvalidOperationException($"checkpoint work tree lacks {must}");
        if (!index.Contains("src/staged-new.txt") || index.Contains("untracked-1.txt"))
            throw new InvalidOperationException("checkpoint index tree is wrong");
        var diff = GitLines(wt, "diff", "--name-status", "--no-renames", "HEAD", cp.ProviderReference!);
        if (diff.Count != 10) throw new InvalidOperationException($"checkpoint differs from HEAD in {diff.Count} files, expected 10:\n{string.Join('\n', diff)}");
        await _service.RemoveCheckpointAsync(ticket, "verify").ConfigureAwait(false);
        _notes.Add("checked once: the checkpoint holds all 10 changes and left the index (byte for byte), HEAD, status and stash unchanged");
    }

    /// <summary>Warm-up rounds, then timed rounds; the order of contestants rotates every round.</summary>
    private async Task Rounds((Series S, Func<Task<double>> Run)[] all)
    {
        var contestants = all.Where(c => !(_o.NoCli && (c.S.Name.StartsWith("swarmps", StringComparison.Ordinal)))).ToArray();
        for (var w = 0; w < _o.Warmup; w++)
            foreach (var c in contestants) await c.Run().ConfigureAwait(false);
        for (var rep = 0; rep < _o.Reps; rep++)
        {
            for (var k = 0; k < contestants.Length; k++)
            {
                var c = contestants[(rep + k) % contestants.Length];
                c.S.Ms.Add(await c.Run().ConfigureAwait(false));
            }
            Console.Write(rep + 1 == _o.Reps ? $"{rep + 1}\n" : $"{rep + 1} ");
        }
    }

    // ------------------------------------------------------------------ repositories

    /// <summary>
    /// A repository of <paramref name="files"/> text files (about 1 KiB each, deterministic) in
    /// folders of 100, two levels deep, plus a .gitignore; one commit, packed like a real clone.
    /// </summary>
    private async Task GenerateRepoAsync(string repo, int files)
    {
        Directory.CreateDirectory(repo);
        Check(Run("git", new[] { "init", "--quiet", "--initial-branch=main", repo }, _work));
        Check(Run("git", new[] { "config", "gc.auto", "0" }, repo));
        var rng = new Random(files);
        var words = new[] { "alpha", "beta", "gamma", "delta", "swarm", "ticket", "worktree", "checkpoint", "index", "tree", "commit", "branch" };
        var sb = new StringBuilder();
        for (var i = 0; i < files; i++)
        {
            var dir = Path.Combine(repo, "src", $"m{i / 10000:D2}", $"p{i / 100 % 100:D2}");
            if (i % 100 == 0) Directory.CreateDirectory(dir);
            sb.Clear();
            sb.Append("// file ").Append(i).Append('\n');
            var lines = 10 + rng.Next(30);
            for (var l = 0; l < lines; l++)
            {
                for (var w = 0; w < 6; w++) sb.Append(words[rng.Next(words.Length)]).Append(' ');
                sb.Append(rng.Next()).Append('\n');
            }
            await File.WriteAllTextAsync(Path.Combine(dir, $"f{i:D5}.txt"), sb.ToString()).ConfigureAwait(false);
        }
        await File.WriteAllTextAsync(Path.Combine(repo, ".gitignore"), "build/\n*.log\n").ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(repo, "README.md"), "generated by SwarmPS.Bench\n").ConfigureAwait(false);
        Directory.CreateDirectory(Path.Combine(repo, "build"));
        await File.WriteAllTextAsync(Path.Combine(repo, "build", "out.bin"), "ignored\n").ConfigureAwait(false);
        Check(Run("git", new[] { "add", "-A" }, repo));
        Check(Run("git", new[] { "commit", "--quiet", "-m", $"{files} files" }, repo));
        Check(Run("git", new[] { "repack", "-a", "-d", "-q" }, repo));
        Check(Run("git", new[] { "prune" }, repo));
        // Like a repository a user works in: the index stat cache is fresh.
        Check(Run("git", new[] { "status", "--porcelain" }, repo));
    }

    private List<string> GitLines(string cwd, params string[] args) =>
        Check(Run("git", args, cwd)).StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();

    // ------------------------------------------------------------------ processes

    private ProcResult Cli(string cwd, params string[] args) => Run(_cli.File, _cli.Prefix.Concat(new[] { "--home", _home }).Concat(args).ToArray(), cwd);

    private static ProcResult Check(ProcResult r) =>
        r.ExitCode == 0 ? r : throw new InvalidOperationException($"exit {r.ExitCode}: {r.StdErr.Trim()} {r.StdOut.Trim()}".Trim());

    /// <summary>Runs a process to completion; the time covers start to exit with output drained.</summary>
    internal static ProcResult Run(string file, IReadOnlyList<string> args, string cwd)
    {
        var psi = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = cwd,
            CreateNoWindow = true,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        p.StandardInput.Close();
        var err = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        var stderr = err.GetAwaiter().GetResult();
        var ms = sw.Elapsed.TotalMilliseconds;
        return new ProcResult(p.ExitCode, stdout, stderr, ms);
    }

    /// <summary>The CLI to time: --cli, else the build output recorded next to this program.</summary>
    private (string, string[]) ResolveCli()
    {
        var path = _o.Cli;
        if (path is null)
        {
            var marker = Path.Combine(AppContext.BaseDirectory, "swarmps-cli-path.txt");
            if (!File.Exists(marker)) throw new InvalidOperationException($"{marker} is missing; pass --cli PATH.");
            path = File.ReadAllText(marker).Trim();
        }
        path = Path.GetFullPath(path);
        if (path.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
        {
            // Prefer the apphost beside the dll: that is what the installed tool's shim runs.
            var host = Path.ChangeExtension(path, OperatingSystem.IsWindows() ? ".exe" : null)!.TrimEnd('.');
            if (File.Exists(host)) return (host, Array.Empty<string>());
            if (!File.Exists(path)) throw new InvalidOperationException($"{path} does not exist; build src/SwarmPS.Cli first.");
            return ("dotnet", new[] { path });
        }
        if (!File.Exists(path)) throw new InvalidOperationException($"{path} does not exist.");
        return (path, Array.Empty<string>());
    }

    private static string? RepoRoot()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "SwarmPS.slnx"))) return d.FullName;
        }
        return null;
    }

    // ------------------------------------------------------------------ report

    private string Markdown(Machine m, string table, TimeSpan total)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"# SwarmPS benchmark results ({(_o.Quick ? "quick smoke run" : "full run")})");
        sb.AppendLine();
        var args = Environment.GetCommandLineArgs().Skip(1).ToArray();
        sb.AppendLine("Generated by `dotnet run -c Release --project bench/SwarmPS.Bench" + (args.Length > 0 ? " -- " + string.Join(' ', args) : "") + "`; see bench/README.md.");
        sb.AppendLine();
        sb.AppendLine(m.ToMarkdown());
        sb.AppendLine();
        sb.AppendLine($"- repetitions: {_o.Reps} timed (after {_o.Warmup} warm-up), contestants alternate in rotating order");
        sb.AppendLine($"- env new repository: {_o.NewFiles:N0} files; checkpoint repository: {_o.CheckpointFiles:N0} files, {_o.ChangedFiles} changed");
        sb.AppendLine($"- work dir: {_work} ({FileSystemOf(_work)})");
        sb.AppendLine($"- load average (1/5/15 min) at start: {_loadStart}; at end: {LoadAverage()} (other jobs on the machine inflate and scatter the times)");
        sb.AppendLine($"- total run time: {total.TotalSeconds:0.0} s");
        sb.AppendLine();
        sb.AppendLine(table);
        sb.AppendLine();
        foreach (var n in _notes) sb.AppendLine("- " + n);
        return sb.ToString();
    }
}

internal sealed record Row(string Group, Series Series, Series? Baseline, double? Target)
{
    public double? Ratio => Baseline is null ? null : Series.Median / Baseline.Median;

    public static string Table(IEnumerable<Row> all, bool judge)
    {
        var rows = all.Where(r => r.Series.Ms.Count > 0).ToList();
        var sb = new StringBuilder();
        sb.AppendLine("| scenario | contestant | median ms | p90 ms | min ms | n | × raw (median) | target | result |");
        sb.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---|");
        foreach (var r in rows)
        {
            var ratio = r.Ratio is { } x ? x.ToString("0.00", CultureInfo.InvariantCulture) + "×" : "";
            var target = r.Target is { } t ? "≤ " + t.ToString("0.00", CultureInfo.InvariantCulture) + "×" : "";
            var result = r.Target is { } tt && r.Ratio is { } rr ? (!judge ? "(not judged)" : rr <= tt ? "met" : "MISSED") : "";
            sb.AppendLine(FormattableString.Invariant(
                $"| {r.Group} | {r.Series.Name} | {r.Series.Median:0.0} | {r.Series.P90:0.0} | {r.Series.Min:0.0} | {r.Series.Ms.Count} | {ratio} | {target} | {result} |"));
        }
        return sb.ToString().TrimEnd();
    }
}

internal sealed record Machine(string Date, string Os, int Cpus, string CpuModel, string Memory, string Git, string DotnetRuntime, string DotnetSdk)
{
    public static Machine Describe()
    {
        string Try(Func<string> f)
        {
            try { return f(); } catch (Exception) { return "unknown"; }
        }
        var cpu = Try(() => File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown");
        var mem = Try(() =>
        {
            var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            var kb = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            return (kb / 1024.0 / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " GiB";
        });
        var git = Try(() => Bench.Run("git", new[] { "--version" }, Environment.CurrentDirectory).StdOut.Trim());
        var sdk = Try(() => Bench.Run("dotnet", new[] { "--version" }, Environment.CurrentDirectory).StdOut.Trim());
        return new Machine(
            DateTimeOffset.Now.ToString("yyyy-MM-dd HH:mm:ss zzz", CultureInfo.InvariantCulture),
            RuntimeInformation.OSDescription, Environment.ProcessorCount, cpu, mem, git,
            RuntimeInformation.FrameworkDescription, sdk);
    }

    public string ToText() =>
        $"date {Date}\nos {Os}\ncpus {Cpus} ({CpuModel}), memory {Memory}\n{Git}; {DotnetRuntime}; .NET SDK {DotnetSdk}";

    public string ToMarkdown() => string.Join('\n',
        $"- date: {Date}",
        $"- machine: {Cpus} CPUs ({CpuModel}), {Memory} RAM, {Os}",
        $"- {Git}; runtime {DotnetRuntime}; .NET SDK {DotnetSdk}");
}
