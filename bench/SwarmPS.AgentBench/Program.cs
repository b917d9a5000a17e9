using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using SwarmPS.Core;
using static SwarmPS.BenchShared.BenchUtil;
using SwarmPS.Core.Agents;
using SwarmPS.Core.Providers;

namespace SwarmPS.AgentBench;

/// <summary>
/// Issue 4's figures, measured on this machine:
/// <list type="number">
/// <item>start-to-running latency of an agent: <c>swarmps agent start</c> (a whole CLI process, until
/// the agent is Running) and in-process <see cref="AgentService.StartAsync"/> (until Running);
/// <c>swarmps --version</c> is timed as the process-start floor of the CLI;</item>
/// <item>supervision memory: N agents whose command is <c>sleep 60</c>; everything in each agent's
/// process tree except the agent process itself is supervision (on Unix the sh supervisor). Summed
/// VmRSS (/proc/PID/status) and PSS (/proc/PID/smaps_rollup: dash's pages are shared between the
/// supervisors, so PSS is the fair per-agent share) against the target of 10 MB per agent, 500 MB
/// for 50.</item>
/// </list>
/// </summary>
public static class Program
{
    private const double TargetMbPerAgent = 10;
    private const double TargetMbFor50 = 500;

    private sealed class Options
    {
        public bool Quick;
        public int Reps = 21;
        public int Agents = 50;
        public string? Cli;
        public string? Out;
        public bool Readme = true;
        public bool Keep;
    }

    public static async Task<int> Main(string[] args)
    {
        var o = new Options();
        var readmeGiven = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick": o.Quick = true; break;
                case "--reps": o.Reps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--agents": o.Agents = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--cli": o.Cli = args[++i]; break;
                case "--out": o.Out = args[++i]; break;
                case "--readme": o.Readme = true; readmeGiven = true; break;
                case "--no-readme": o.Readme = false; readmeGiven = true; break;
                case "--keep": o.Keep = true; break;
                case "-h" or "--help":
                    Console.WriteLine("""
                        SwarmPS.AgentBench: agent start-to-running latency and supervision memory (issue 4).
                          --quick          5 repetitions, 10 agents; writes no files unless --out / --readme
                          --reps N         latency repetitions per contestant (default 21, 1 warm-up first)
                          --agents N       agents for the memory figure (default 50)
                          --cli PATH       the swarmps (apphost or .dll) to time (default: the one just built)
                          --out FILE       also write the results as Markdown to FILE
                          --readme         update the "Agents" section of bench/README.md (default for full runs)
                          --no-readme      do not touch bench/README.md
                          --keep           keep the temporary repository and home
                        """);
                    return 0;
                default:
                    Console.Error.WriteLine($"Unknown option '{args[i]}'; see --help.");
                    return 2;
            }
        }
        if (o.Quick)
        {
            if (!args.Contains("--reps")) o.Reps = 5;
            if (!args.Contains("--agents")) o.Agents = 10;
            if (!readmeGiven) o.Readme = false;
        }
        if (OperatingSystem.IsWindows())
        {
            Console.Error.WriteLine("SwarmPS.AgentBench measures sh supervisors through /proc; run it on Linux.");
            return 1;
        }

        return await InTempRootAsync("swarmps-agentbench", o.Keep, r => RunAsync(o, r)).ConfigureAwait(false);
    }

    private static async Task<int> RunAsync(Options o, string root)
    {
        var total = Stopwatch.StartNew();
        var repo = Path.Combine(root, "repo");
        var home = Path.Combine(root, "home");
        Directory.CreateDirectory(repo);
        Git(repo, "init", "--quiet", "--initial-branch=main");
        File.WriteAllText(Path.Combine(repo, "README.md"), "# bench\n");
        Git(repo, "add", "--all");
        Git(repo, "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "commit", "--quiet", "-m", "init");

        var svc = new SwarmService(new SwarmHome(home), new SwarmConfig());
        await svc.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = "BENCH-1", RepositoryPath = repo }).ConfigureAwait(false);
        var (cliFile, cliPrefix) = ResolveCli(o.Cli);
        Console.Error.WriteLine($"swarmps: {string.Join(' ', new[] { cliFile }.Concat(cliPrefix))}; {o.Reps} repetitions; {o.Agents} agents for memory");

        // ---------------------------------------------------------------- (a) latency
        var floor = new List<double>();
        var cli = new List<double>();
        var inProc = new List<double>();
        for (var rep = -1; rep < o.Reps; rep++) // rep -1 is the untimed warm-up
        {
            // Alternate the order of the contestants from one repetition to the next.
            var order = rep % 2 == 0 ? new[] { 0, 1, 2 } : new[] { 2, 1, 0 };
            foreach (var which in order)
            {
                double ms;
                switch (which)
                {
                    case 0:
                        ms = RunProcess(cliFile, cliPrefix.Concat(new[] { "--version" }), repo, home).Ms;
                        if (rep >= 0) floor.Add(ms);
                        break;
                    case 1:
                        ms = await CliStartToRunningAsync(svc, cliFile, cliPrefix, repo, home).ConfigureAwait(false);
                        if (rep >= 0) cli.Add(ms);
                        break;
                    default:
                        ms = await InProcessStartToRunningAsync(svc).ConfigureAwait(false);
                        if (rep >= 0) inProc.Add(ms);
                        break;
                }
            }
        }

        // ---------------------------------------------------------------- (b) memory
        var memory = await MeasureSupervisionAsync(svc, o.Agents).ConfigureAwait(false);

        // ---------------------------------------------------------------- report
        var machine = Machine.Describe();
        var latency = new[]
        {
            ("`swarmps --version` (CLI process floor)", floor),
            ("`swarmps agent start` until Running (CLI)", cli),
            ("`AgentService.StartAsync` until Running (in-process)", inProc),
        };
        var md = Markdown(o, machine, latency, memory, total.Elapsed);
        Console.WriteLine(md);
        if (o.Out is not null) File.WriteAllText(o.Out, md);
        if (o.Readme) UpdateReadme(md);
        var ok = memory.PssMbPerAgent <= TargetMbPerAgent && memory.RssMbPerAgent <= TargetMbPerAgent;
        Console.Error.WriteLine(ok ? "Memory target met." : "Memory target NOT met.");
        return 0;
    }

    // ------------------------------------------------------------------ latency

    private static async Task<double> CliStartToRunningAsync(SwarmService svc, string cliFile, string[] prefix, string repo, string home)
    {
        var sw = Stopwatch.StartNew();
        var r = RunProcess(cliFile, prefix.Concat(new[] { "agent", "start", "BENCH-1", "--profile", "command", "--prompt", "bench", "--json", "--", "sleep", "60" }), repo, home);
        if (r.ExitCode != 0) throw new InvalidOperationException($"swarmps agent start failed ({r.ExitCode}): {r.StdErr}");
        using var doc = JsonDocument.Parse(r.StdOut);
        var id = doc.RootElement.GetProperty("id").GetString()!;
        var status = doc.RootElement.GetProperty("status").GetString();
        // The CLI usually prints Running already; if not, the agent is Running once a reader says so.
        if (status != nameof(AgentStatus.Running)) await UntilRunningAsync(svc, id).ConfigureAwait(false);
        var ms = sw.Elapsed.TotalMilliseconds;
        if (Environment.GetEnvironmentVariable("AGENTBENCH_DEBUG") == "1") Console.Error.WriteLine($"cli process {r.Ms:0} ms, printed {status}, running after {ms:0} ms");
        await svc.Agents.StopAsync(id).ConfigureAwait(false);
        return ms;
    }

    private static async Task<double> InProcessStartToRunningAsync(SwarmService svc)
    {
        var sw = Stopwatch.StartNew();
        var a = await svc.Agents.StartAsync(new AgentStartRequest { Ticket = "BENCH-1", Profile = "command", Prompt = "bench", Command = new[] { "sleep", "60" } }).ConfigureAwait(false);
        if (a.Status != AgentStatus.Running) await UntilRunningAsync(svc, a.Id).ConfigureAwait(false);
        var ms = sw.Elapsed.TotalMilliseconds;
        await svc.Agents.StopAsync(a.Id).ConfigureAwait(false);
        return ms;
    }

    private static async Task UntilRunningAsync(SwarmService svc, string id)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var a = svc.Agents.Get(id);
            if (a.Status == AgentStatus.Running) return;
            if (a.IsTerminal) throw new InvalidOperationException($"Agent {id} ended as {a.Status} before it was seen Running: {a.Error}");
            if (deadline.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException($"Agent {id} was not Running after 30 s.");
            await Task.Delay(2).ConfigureAwait(false);
        }
    }

    // ------------------------------------------------------------------ memory

    private sealed record Memory(int Agents, long SupervisorProcesses, long RssKb, long PssKb, long AgentRssKb, long AgentPssKb, long MaxRecordedKb, bool PssAvailable, string Shell)
    {
        public double RssMbPerAgent => RssKb / 1024.0 / Agents;
        public double PssMbPerAgent => PssKb / 1024.0 / Agents;
    }

    private static async Task<Memory> MeasureSupervisionAsync(SwarmService svc, int count)
    {
        var agents = new List<SwarmAgent>();
        try
        {
            using var gate = new SemaphoreSlim(8);
            agents.AddRange(await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
            {
                await gate.WaitAsync().ConfigureAwait(false);
                try
                {
                    return await svc.Agents.StartAsync(new AgentStartRequest { Ticket = "BENCH-1", Profile = "command", Prompt = $"agent {i}", Command = new[] { "sleep", "60" } }).ConfigureAwait(false);
                }
                finally
                {
                    gate.Release();
                }
            })).ConfigureAwait(false));
            foreach (var a in agents) await UntilRunningAsync(svc, a.Id).ConfigureAwait(false);
            var running = agents.Select(a => svc.Agents.Get(a.Id)).ToList();
            if (running.Any(a => a.Status != AgentStatus.Running)) throw new InvalidOperationException("Not every agent is Running.");

            var parents = ParentMap();
            long rss = 0, pss = 0, agentRss = 0, agentPss = 0, procs = 0;
            var pssAvailable = true;
            foreach (var a in running)
            {
                var supervisor = int.Parse(a.Supervisor!.Split('@')[0], CultureInfo.InvariantCulture);
                var agentPid = a.Pid!.Value;
                var agentTree = Descendants(parents, agentPid).Append(agentPid).ToHashSet();
                // Supervision = the supervisor and everything under it that is not the agent's own tree.
                foreach (var pid in Descendants(parents, supervisor).Append(supervisor).Where(p => !agentTree.Contains(p)))
                {
                    procs++;
                    rss += StatusKb(pid, "VmRSS") ?? 0;
                    var p = RollupKb(pid, "Pss");
                    if (p is null) pssAvailable = false;
                    pss += p ?? 0;
                }
                foreach (var pid in agentTree)
                {
                    agentRss += StatusKb(pid, "VmRSS") ?? 0;
                    agentPss += RollupKb(pid, "Pss") ?? 0;
                }
            }
            var recorded = running.Max(a => a.SupervisorMemoryKb ?? 0);
            return new Memory(count, procs, rss, pss, agentRss, agentPss, recorded, pssAvailable, ShellName());
        }
        finally
        {
            await Task.WhenAll(agents.Select(a => Task.Run(async () =>
            {
                try { await svc.Agents.StopAsync(a.Id).ConfigureAwait(false); }
                catch (SwarmException) { }
            }))).ConfigureAwait(false);
        }
    }

    private static Dictionary<int, int> ParentMap()
    {
        var map = new Dictionary<int, int>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var text = File.ReadAllText(Path.Combine(dir, "stat"));
                map[pid] = int.Parse(text[(text.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return map;
    }

    private static IEnumerable<int> Descendants(Dictionary<int, int> parents, int pid)
    {
        var result = new List<int>();
        var queue = new Queue<int>(new[] { pid });
        while (queue.Count > 0)
        {
            var p = queue.Dequeue();
            foreach (var (child, parent) in parents)
                if (parent == p) { result.Add(child); queue.Enqueue(child); }
        }
        return result;
    }

    private static long? StatusKb(int pid, string field) => Field($"/proc/{pid}/status", field);

    private static long? RollupKb(int pid, string field) => Field($"/proc/{pid}/smaps_rollup", field);

    private static long? Field(string file, string field)
    {
        try
        {
            foreach (var line in File.ReadLines(file))
                if (line.StartsWith(field + ":", StringComparison.Ordinal))
                    return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }

    private static string ShellName()
    {
        try
        {
            var target = new FileInfo("/bin/sh").ResolveLinkTarget(returnFinalTarget: true);
            return target is null ? "/bin/sh" : $"/bin/sh -> {target.FullName}";
        }
        catch (IOException) { return "/bin/sh"; }
    }

    // ------------------------------------------------------------------ processes

    private sealed record ProcResult(int ExitCode, string StdOut, string StdErr, double Ms);

    private static ProcResult RunProcess(string file, IEnumerable<string> args, string cwd, string home)
    {
        var psi = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = cwd,
        };
        psi.ArgumentList.Add("--home");
        psi.ArgumentList.Add(home);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["SWARMPS_NO_PROGRESS"] = "1";
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var err = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        var ms = sw.Elapsed.TotalMilliseconds;
        return new ProcResult(p.ExitCode, stdout, err.GetAwaiter().GetResult(), ms);
    }

    private static void Git(string cwd, params string[] args)
    {
        var psi = new ProcessStartInfo("git") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true, WorkingDirectory = cwd };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"git {string.Join(' ', args)} failed: {err.Result}");
    }

    // ------------------------------------------------------------------ report


    private static string Markdown(Options o, Machine m, (string Name, List<double> Values)[] latency, Memory mem, TimeSpan total)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"Run {DateTimeOffset.Now:yyyy-MM-dd HH:mm zzz} ({(o.Quick ? "quick" : "full")} run, {total.TotalSeconds:0} s): {m.Text}.");
        sb.AppendLine();
        sb.AppendLine($"**Start to Running** ({o.Reps} repetitions after 1 warm-up, alternating order; the agent is `sleep 60` via the `command` profile):");
        sb.AppendLine();
        sb.AppendLine("| what | median ms | p90 ms | min ms |");
        sb.AppendLine("|---|---:|---:|---:|");
        foreach (var (name, values) in latency)
            sb.AppendLine($"| {name} | {F(Percentile(values, 50))} | {F(Percentile(values, 90))} | {F(values.Min())} |");
        sb.AppendLine();
        sb.AppendLine($"**Supervision memory** ({mem.Agents} agents running `sleep 60` at once; {mem.SupervisorProcesses} supervisor process(es), {mem.Shell}):");
        sb.AppendLine();
        var scale = 50.0 / mem.Agents;
        var for50 = mem.Agents == 50 ? "for 50" : $"for 50 (×{F(scale, "0.#")})";
        sb.AppendLine($"| measure | per agent MB | {for50} MB | target per agent / 50 | met |");
        sb.AppendLine("|---|---:|---:|---|---|");
        sb.AppendLine($"| supervisor RSS (VmRSS, counts shared dash pages in every process) | {F(mem.RssMbPerAgent, "0.00")} | {F(mem.RssMbPerAgent * 50)} | ≤ {TargetMbPerAgent} / ≤ {TargetMbFor50} | {(mem.RssMbPerAgent <= TargetMbPerAgent ? "yes" : "NO")} |");
        if (mem.PssAvailable)
            sb.AppendLine($"| supervisor PSS (smaps_rollup, shared pages split) | {F(mem.PssMbPerAgent, "0.00")} | {F(mem.PssMbPerAgent * 50)} | ≤ {TargetMbPerAgent} / ≤ {TargetMbFor50} | {(mem.PssMbPerAgent <= TargetMbPerAgent ? "yes" : "NO")} |");
        else
            sb.AppendLine("| supervisor PSS | n/a (no /proc/PID/smaps_rollup) | | | |");
        sb.AppendLine($"| for comparison: the agent itself (`sleep`), RSS / PSS | {F(mem.AgentRssKb / 1024.0 / mem.Agents, "0.00")} / {F(mem.AgentPssKb / 1024.0 / mem.Agents, "0.00")} | | | |");
        sb.AppendLine();
        sb.AppendLine($"Largest `supervisorMemoryKb` recorded on an agent: {mem.MaxRecordedKb} KiB.");
        return sb.ToString();
    }

    private const string SectionStart = "<!-- SwarmPS.AgentBench: begin (generated; edit bench/SwarmPS.AgentBench instead) -->";
    private const string SectionEnd = "<!-- SwarmPS.AgentBench: end -->";

    /// <summary>Replaces (or appends) only this benchmark's own section of bench/README.md.</summary>
    private static void UpdateReadme(string results)
    {
        var root = RepoRoot();
        if (root is null)
        {
            Console.Error.WriteLine("bench/README.md not found (run from the repository); not updated.");
            return;
        }
        var readme = Path.Combine(root, "bench", "README.md");
        var text = File.Exists(readme) ? File.ReadAllText(readme) : "";
        var section = new StringBuilder()
            .AppendLine(SectionStart)
            .AppendLine("## Agents: start-to-running latency and supervision memory (issue 4)")
            .AppendLine()
            .AppendLine("`bench/SwarmPS.AgentBench` measures, on the machine it runs on:")
            .AppendLine()
            .AppendLine("- **start to Running**: `swarmps agent start T --profile command --prompt bench --json -- sleep 60` as a whole")
            .AppendLine("  process (plus, if it did not already print `Running`, reconciling until it is), and in-process")
            .AppendLine("  `AgentService.StartAsync` until the agent is Running; `swarmps --version` is the CLI's process-start floor.")
            .AppendLine("  Each started agent is stopped, untimed. Median, p90 (nearest rank), min.")
            .AppendLine("- **supervision memory**: N agents (default 50) run `sleep 60` at once. Supervision is everything in an")
            .AppendLine("  agent's process tree except the agent's own processes: the detached `/bin/sh` supervisor (the launcher")
            .AppendLine("  shell has exited by then). Summed `VmRSS` (`/proc/PID/status`) and `Pss` (`/proc/PID/smaps_rollup`):")
            .AppendLine("  dash's text pages are shared by every supervisor, so RSS counts them N times and PSS splits them.")
            .AppendLine("  Target (issue 4): at most 10 MB per agent, 500 MB for 50.")
            .AppendLine()
            .AppendLine("```sh")
            .AppendLine("dotnet run -c Release --project bench/SwarmPS.AgentBench             # full: 21 reps, 50 agents; updates this section")
            .AppendLine("dotnet run -c Release --project bench/SwarmPS.AgentBench -- --quick  # 5 reps, 10 agents; writes nothing")
            .AppendLine("```")
            .AppendLine()
            .AppendLine("Options: `--reps N`, `--agents N`, `--cli PATH`, `--out FILE`, `--readme` / `--no-readme`, `--keep`. Linux only")
            .AppendLine("(it reads /proc). Add `--artifacts-path /tmp/<you>` after `dotnet run` when several people build in one checkout.")
            .AppendLine()
            .AppendLine("### Latest results")
            .AppendLine()
            .Append(results)
            .AppendLine(SectionEnd)
            .ToString();
        var start = text.IndexOf(SectionStart, StringComparison.Ordinal);
        var end = text.IndexOf(SectionEnd, StringComparison.Ordinal);
        string updated;
        if (start >= 0 && end > start)
        {
            var after = end + SectionEnd.Length;
            if (after < text.Length && text[after] == '\n') after++;
            updated = text[..start] + section + text[after..];
        }
        else
        {
            updated = text.TrimEnd('\n') + (text.Length > 0 ? "\n\n" : "") + section;
        }
        File.WriteAllText(readme, updated);
        Console.Error.WriteLine($"Updated the Agents section of {readme}.");
    }

    private static string? RepoRoot()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "SwarmPS.slnx"))) return d.FullName;
        return null;
    }

    private sealed record Machine(string Text)
    {
        public static Machine Describe()
        {
            string cpu = "unknown CPU";
            try
            {
                cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
            }
            catch (IOException) { }
            long memKb = 0;
            try { memKb = Field("/proc/meminfo", "MemTotal") ?? 0; } catch (IOException) { }
            var host = Environment.MachineName;
            return new Machine(string.Create(CultureInfo.InvariantCulture, $"{host}, {RuntimeInformation.OSDescription.Trim()} {RuntimeInformation.OSArchitecture}, {cpu} × {Environment.ProcessorCount}, " +
                               $"{memKb / 1024 / 1024.0:0.#} GiB RAM, .NET {Environment.Version}"));
        }
    }
}
