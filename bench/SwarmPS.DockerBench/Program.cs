using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using SwarmPS.Core;
using static SwarmPS.BenchShared.BenchUtil;
using SwarmPS.Core.Providers;

namespace SwarmPS.DockerBench;

/// <summary>
/// Issue 7's figure, measured on this machine: creating a Docker environment without a worktree
/// (<c>New-SwarmEnvironment -Provider Docker -NoWorktree</c>) against <c>docker run -d</c> of the same
/// image, target ≤ 1.1×. Contestants, alternating within one run:
/// <list type="number">
/// <item>in-process <see cref="SwarmService.NewEnvironmentAsync"/> with <c>noWorktree=true</c> (the figure);</item>
/// <item><c>swarmps env new T --provider docker --no-worktree --image IMG</c>, a whole CLI process;</item>
/// <item><c>docker run -d IMG sh -c 'while :; do sleep 3600; done'</c>, a whole docker CLI process (the baseline);</item>
/// <item><c>swarmps --version</c> (the CLI's process-start floor) and, for context, <c>docker run -d</c> with a
/// 10-port block published on 127.0.0.1 like SwarmPS does.</item>
/// </list>
/// What each repetition created is removed afterwards, untimed.
/// </summary>
public static class Program
{
    private const double Target = 1.1;
    private const string LoopCommand = "while :; do sleep 3600; done";

    private sealed class Options
    {
        public bool Quick;
        public int Reps = 21;
        public string Image = "swarmps-tiny:latest";
        public string Docker = "docker";
        public string? Cli;
        public string? Out;
        public bool Keep;
        public int PortBase = 39100;
    }

    public static async Task<int> Main(string[] args)
    {
        var o = new Options();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick": o.Quick = true; break;
                case "--reps": o.Reps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--image": o.Image = args[++i]; break;
                case "--docker": o.Docker = args[++i]; break;
                case "--cli": o.Cli = args[++i]; break;
                case "--out": o.Out = args[++i]; break;
                case "--keep": o.Keep = true; break;
                case "--port-base": o.PortBase = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "-h" or "--help":
                    Console.WriteLine("""
                        SwarmPS.DockerBench: Docker environment without a worktree vs `docker run -d` (issue 7).
                          --quick          5 repetitions
                          --reps N         repetitions per contestant (default 21, 1 warm-up first)
                          --image IMG      image for every contestant (default swarmps-tiny:latest)
                          --docker PATH    the docker CLI (default: docker on PATH)
                          --cli PATH       the swarmps (apphost or .dll) to time (default: the one just built)
                          --port-base P    first of the 10 ports of the `docker run -d -p` context row (default 39100)
                          --out FILE       also write the results as Markdown to FILE
                          --keep           keep the temporary repository and home
                        The engine must answer (bash .ci/backends/docker.sh start); DOCKER_HOST is honoured.
                        """);
                    return 0;
                default:
                    Console.Error.WriteLine($"Unknown option '{args[i]}'; see --help.");
                    return 2;
            }
        }
        if (o.Quick && !args.Contains("--reps")) o.Reps = 5;

        return await InTempRootAsync("swarmps-dockerbench", o.Keep, r => RunAsync(o, r)).ConfigureAwait(false);
    }

    private static async Task<int> RunAsync(Options o, string root)
    {
        var total = Stopwatch.StartNew();
        var repo = Path.Combine(root, "repo");
        var home = Path.Combine(root, "home");
        Directory.CreateDirectory(repo);
        Run("git", new[] { "init", "--quiet", "--initial-branch=main" }, repo, check: true);
        File.WriteAllText(Path.Combine(repo, "README.md"), "# bench\n");
        Run("git", new[] { "add", "--all" }, repo, check: true);
        Run("git", new[] { "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "commit", "--quiet", "-m", "init" }, repo, check: true);

        var info = Run(o.Docker, new[] { "version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})" }, repo);
        if (info.ExitCode != 0) throw new InvalidOperationException($"No Docker Engine answers ({info.StdErr.Trim()}); run `bash .ci/backends/docker.sh start`.");
        if (Run(o.Docker, new[] { "image", "inspect", o.Image }, repo).ExitCode != 0)
            throw new InvalidOperationException($"The image {o.Image} is missing; `bash .ci/backends/docker.sh start` imports swarmps-tiny:latest.");
        var dockerVersion = info.StdOut.Trim();

        var svc = new SwarmService(new SwarmHome(home), new SwarmConfig());
        var (cliFile, cliPrefix) = ResolveCli(o.Cli);
        Console.Error.WriteLine($"swarmps: {string.Join(' ', new[] { cliFile }.Concat(cliPrefix))}; docker {dockerVersion}; {o.Reps} repetitions");

        var names = new[]
        {
            "`SwarmService.NewEnvironmentAsync` docker, noWorktree (in-process)",
            "`swarmps env new T --provider docker --no-worktree` (CLI process)",
            "`docker run -d IMG sh -c 'while :; do sleep 3600; done'` (baseline)",
            "`swarmps --version` (CLI process floor)",
            $"context: `docker run -d -p 127.0.0.1:{o.PortBase}-{o.PortBase + 9}:…` (10 published ports)",
        };
        var results = names.Select(_ => new List<double>()).ToArray();
        var serial = 0;
        for (var rep = -1; rep < o.Reps; rep++) // rep -1 is the untimed warm-up
        {
            var order = rep % 2 == 0 ? new[] { 0, 1, 2, 3, 4 } : new[] { 4, 3, 2, 1, 0 };
            foreach (var which in order)
            {
                var ticket = $"DB-{++serial}";
                double ms;
                switch (which)
                {
                    case 0:
                    {
                        var sw = Stopwatch.StartNew();
                        await svc.NewEnvironmentAsync(new NewEnvironmentRequest
                        {
                            Ticket = ticket, Provider = "docker", Image = o.Image, RepositoryPath = repo,
                            Options = new Dictionary<string, string> { ["noWorktree"] = "true" },
                        }).ConfigureAwait(false);
                        ms = sw.Elapsed.TotalMilliseconds;
                        await svc.RemoveEnvironmentAsync(ticket, new RemoveOptions { Force = true }).ConfigureAwait(false);
                        break;
                    }
                    case 1:
                    {
                        var r = Run(cliFile, cliPrefix.Concat(new[] { "--home", home, "env", "new", ticket, "--provider", "docker", "--no-worktree", "--image", o.Image }), repo);
                        if (r.ExitCode != 0) throw new InvalidOperationException($"swarmps env new failed ({r.ExitCode}): {r.StdErr}");
                        ms = r.Ms;
                        await svc.RemoveEnvironmentAsync(ticket, new RemoveOptions { Force = true }).ConfigureAwait(false);
                        break;
                    }
                    case 2:
                    case 4:
                    {
                        var a = new List<string> { "run", "-d" };
                        if (which == 4) a.AddRange(new[] { "-p", $"127.0.0.1:{o.PortBase}-{o.PortBase + 9}:{o.PortBase}-{o.PortBase + 9}" });
                        a.AddRange(new[] { o.Image, "sh", "-c", LoopCommand });
                        var r = Run(o.Docker, a, repo);
                        if (r.ExitCode != 0) throw new InvalidOperationException($"docker run -d failed ({r.ExitCode}): {r.StdErr}");
                        ms = r.Ms;
                        Run(o.Docker, new[] { "rm", "-f", r.StdOut.Trim() }, repo, check: true);
                        break;
                    }
                    default:
                    {
                        var r = Run(cliFile, cliPrefix.Concat(new[] { "--version" }), repo);
                        if (r.ExitCode != 0) throw new InvalidOperationException($"swarmps --version failed: {r.StdErr}");
                        ms = r.Ms;
                        break;
                    }
                }
                if (rep >= 0) results[which].Add(ms);
            }
        }

        var md = Markdown(o, Machine.Describe(dockerVersion), names, results, total.Elapsed);
        Console.WriteLine(md);
        if (o.Out is not null) File.WriteAllText(o.Out, md);
        var ratio = Percentile(results[0], 50) / Percentile(results[2], 50);
        Console.Error.WriteLine(ratio <= Target ? $"Target met ({F(ratio, "0.00")}×)." : $"Target NOT met ({F(ratio, "0.00")}× > {Target}×).");
        return 0;
    }

    // ------------------------------------------------------------------ processes

    private sealed record ProcResult(int ExitCode, string StdOut, string StdErr, double Ms);

    private static ProcResult Run(string file, IEnumerable<string> args, string cwd, bool check = false)
    {
        var psi = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = cwd,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["SWARMPS_NO_PROGRESS"] = "1";
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var err = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        var ms = sw.Elapsed.TotalMilliseconds;
        var result = new ProcResult(p.ExitCode, stdout, err.GetAwaiter().GetResult(), ms);
        if (check && result.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', psi.ArgumentList)} failed: {result.StdErr}");
        return result;
    }

    // ------------------------------------------------------------------ report


    private static string Markdown(Options o, Machine m, string[] names, List<double>[] results, TimeSpan total)
    {
        var baseline = Percentile(results[2], 50);
        var baseline90 = Percentile(results[2], 90);
        var sb = new StringBuilder();
        sb.AppendLine($"Run {DateTimeOffset.Now:yyyy-MM-dd HH:mm zzz} ({(o.Quick ? "quick" : "full")} run, {o.Reps} repetitions after 1 warm-up, alternating order, {total.TotalSeconds:0} s): {m.Text}. Image `{o.Image}`.");
        sb.AppendLine();
        sb.AppendLine("| what | median ms | p90 ms | min ms | median / `docker run -d` | p90 / p90 |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|");
        for (var i = 0; i < names.Length; i++)
        {
            var v = results[i];
            sb.AppendLine($"| {names[i]} | {F(Percentile(v, 50))} | {F(Percentile(v, 90))} | {F(v.Min())} | {F(Percentile(v, 50) / baseline, "0.00")}× | {F(Percentile(v, 90) / baseline90, "0.00")}× |");
        }
        sb.AppendLine();
        var inProc = Percentile(results[0], 50) / baseline;
        var cli = Percentile(results[1], 50) / baseline;
        sb.AppendLine($"Figure (issue 7, target ≤ {Target}×): in-process {F(inProc, "0.00")}× ({(inProc <= Target ? "met" : "NOT met")}); " +
                      $"CLI {F(cli, "0.00")}×, of which `swarmps --version` start-up is {F(Percentile(results[3], 50))} ms.");
        return sb.ToString();
    }

    private sealed record Machine(string Text)
    {
        public static Machine Describe(string docker)
        {
            var cpu = "unknown CPU";
            try
            {
                cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
            }
            catch (IOException) { }
            return new Machine(string.Create(CultureInfo.InvariantCulture,
                $"{Environment.MachineName}, {RuntimeInformation.OSDescription.Trim()} {RuntimeInformation.OSArchitecture}, {cpu} × {Environment.ProcessorCount}, Docker Engine {docker}, .NET {Environment.Version}"));
        }
    }
}
