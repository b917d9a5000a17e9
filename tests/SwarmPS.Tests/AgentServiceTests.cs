using System.Diagnostics;
using System.Text;
using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Agents;
using SwarmPS.Core.Providers;
using SwarmPS.Tests.Support;
using Xunit;

namespace SwarmPS.Tests;

/// <summary>Puts the fake agent CLIs (tests/SwarmPS.Tests/Fakes) first on PATH, once per test process.</summary>
public static class FakeAgents
{
    private static readonly object Gate = new();
    private static string? _dir;

    public static string Dir
    {
        get
        {
            lock (Gate)
            {
                if (_dir is not null) return _dir;
                var dir = Path.Combine(AppContext.BaseDirectory, "Fakes");
                if (!OperatingSystem.IsWindows())
                    foreach (var f in Directory.GetFiles(dir))
                        File.SetUnixFileMode(f, File.GetUnixFileMode(f) | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
                Environment.SetEnvironmentVariable("PATH", dir + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH"));
                return _dir = dir;
            }
        }
    }
}

/// <summary>
/// Agents end to end against fake agent CLIs that print each real CLI's documented output. The
/// fakes are POSIX sh scripts, so these tests run on Linux and macOS; Windows is covered by Pester.
/// </summary>
public class AgentServiceTests : IDisposable
{
    private readonly TempRepo _r = new();
    private readonly SwarmService _svc;
    private readonly SwarmEnvironment _env;

    public AgentServiceTests()
    {
        _ = FakeAgents.Dir;
        _svc = new SwarmService(new SwarmHome(_r.Home), new SwarmConfig());
        _env = Sync.Run(_svc.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = "AG-1", RepositoryPath = _r.Repo }));
    }

    public void Dispose()
    {
        foreach (var a in _svc.Registry.ListAgents().Where(a => !a.IsTerminal))
            try { Sync.Run(_svc.Agents.StopAsync(a.Id)); } catch (SwarmException) { }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _r.Dispose();
    }

    private static bool Skip => OperatingSystem.IsWindows();
    private SwarmAgent Start(string profile, string prompt, IReadOnlyList<string>? command = null) =>
        Sync.Run(_svc.Agents.StartAsync(new AgentStartRequest { Ticket = "AG-1", Profile = profile, Prompt = prompt, Command = command }));
    private SwarmAgent Wait(SwarmAgent a) => Sync.Run(_svc.Agents.WaitAsync(new[] { a.Id }, TimeSpan.FromSeconds(90), any: false)).Single();
    private static string Rec(SwarmAgent a, string file, int run = 1) => Path.Combine(a.RunDirectory(run), file);

    [Fact]
    public void Claude_runs_in_the_worktree_and_its_structured_result_is_recorded()
    {
        if (Skip) return;
        var a = Start("claude", "Add the invoices table");
        a.Status.Should().BeOneOf(AgentStatus.Starting, AgentStatus.Running, AgentStatus.Succeeded);
        a.Id.Should().MatchRegex("^ag-[0-9a-f]{10}$");
        var done = Wait(a);
        done.Status.Should().Be(AgentStatus.Succeeded);
        done.ExitCode.Should().Be(0);
        done.SessionId.Should().StartWith("2b0c7a54-");
        done.Turns.Should().Be(7);
        done.ToolCalls.Should().Be(1);
        done.CostUsd.Should().Be(0.1834m);
        done.InputTokens.Should().Be(9730);
        done.OutputTokens.Should().Be(2100);
        done.Result.Should().Be("Done; tests pass.");
        done.EndedAt.Should().NotBeNull();
        File.ReadAllText(Rec(a, "fake-cwd.txt")).Trim().Should().Be(_env.WorkspacePath);
        File.ReadAllText(Rec(a, "fake-env.txt")).Should().Contain("SWARM_TICKET=AG-1").And.Contain($"SWARM_PORT_BASE={_env.Ports.Start}").And.Contain("SWARM_AGENT_ID=" + a.Id);
        var argv = File.ReadAllBytes(Rec(a, "fake-argv.bin"));
        Encoding.UTF8.GetString(argv).Split('\0', StringSplitOptions.RemoveEmptyEntries)
            .Should().Equal("-p", "Add the invoices table", "--output-format", "stream-json", "--verbose");
        _svc.Agents.GetRuns(a.Id).Should().ContainSingle(r => r.Status == AgentStatus.Succeeded && r.CostUsd == 0.1834m);
    }

    [Theory]
    [InlineData("FAIL please", "Overloaded")]
    [InlineData("MAXTURNS please", "error_max_turns")]
    [InlineData("CRASH please", "without a result")]
    public void Claude_failure_is_judged_from_the_structured_result_not_only_the_exit_code(string prompt, string reason)
    {
        if (Skip) return;
        var done = Wait(Start("claude", prompt));
        done.Status.Should().Be(AgentStatus.Failed);
        done.Error.Should().Contain(reason);
    }

    [Theory]
    [InlineData("codex", 24763L, 122L, null, "0199a213-81c0-7800-8aa1-bbab2a035a53")]
    [InlineData("aider", 12000L, 380L, "0.0456", null)]
    [InlineData("opencode", 100L, 25L, "0.01", "ses_fake1")]
    [InlineData("gemini", 100L, 20L, null, "g-1")]
    [InlineData("cursor-agent", 0L, 0L, null, "c-1")]
    public void Every_built_in_profile_is_parsed_from_its_real_output_format(string profile, long input, long output, string? cost, string? session)
    {
        if (Skip) return;
        var done = Wait(Start(profile, "do the thing"));
        done.Status.Should().Be(AgentStatus.Succeeded, done.Error);
        done.InputTokens.Should().Be(input);
        done.OutputTokens.Should().Be(output);
        done.CostUsd.Should().Be(cost is null ? null : decimal.Parse(cost, System.Globalization.CultureInfo.InvariantCulture));
        done.SessionId.Should().Be(session);
    }

    [Fact]
    public void Gemini_exit_codes_are_explained()
    {
        if (Skip) return;
        var done = Wait(Start("gemini", "AUTH"));
        done.Status.Should().Be(AgentStatus.Failed);
        done.Error.Should().Contain("authentication");
    }

    public static IEnumerable<object[]> HostilePrompts()
    {
        var seeds = new[]
        {
            "", " ", "'", "\"", "`", "$(touch /tmp/swarmps-pwned)", "`touch /tmp/swarmps-pwned`", "; rm -rf / #", "&& echo hi", "| cat", "> /tmp/x",
            "$HOME", "${PATH}", "%PATH%", "!history", "\\", "\\\\\"", "--help", "-p", "--resume=x", "line1\nline2", "crlf\r\nend", "tab\tsep",
            "ünïcødé ✓ 日本語 🚀", "\u202Eright-to-left", "a\u200Bb", "*", "?", "[abc]", "~", "#comment", "'single' \"double\" `back`",
            "$((1+1))", "<<EOF\nhere\nEOF", "\\n literally", "trailing newline\n", "\n\nleading newlines", "%s%n%x", "{prompt}", "{sessionId}",
        };
        var rng = new Random(1234);
        var pool = "ab $'\"`\\;|&<>(){}[]*?!~#%^\n\r\tü日🚀-=".ToCharArray();
        var list = seeds.ToList();
        while (list.Count < 100) list.Add(new string(Enumerable.Range(0, rng.Next(1, 40)).Select(_ => pool[rng.Next(pool.Length)]).ToArray()));
        return list.Select((p, i) => new object[] { i, p });
    }

    [Fact]
    public void One_hundred_hostile_prompts_arrive_byte_exact_as_argv_and_as_stdin()
    {
        if (Skip) return;
        var prompts = HostilePrompts().Select(o => (string)o[1]).ToList();
        prompts.Should().HaveCount(100);
        var agents = prompts.Select(p => (Prompt: p, Argv: Start("claude", p), Stdin: Start("command", p, new[] { "echo-agent" }))).ToList();
        Sync.Run(_svc.Agents.WaitAsync(agents.SelectMany(x => new[] { x.Argv.Id, x.Stdin.Id }).ToList(), TimeSpan.FromSeconds(120), any: false));
        foreach (var (prompt, viaArgv, viaStdin) in agents)
        {
            var expected = Encoding.UTF8.GetBytes(prompt);
            var argv = File.ReadAllBytes(Rec(viaArgv, "fake-argv.bin"));
            // argv: -p <prompt> ... each NUL-terminated.
            var fields = Split(argv);
            fields[0].Should().Equal(Encoding.UTF8.GetBytes("-p"));
            fields[1].Should().Equal(expected, "prompt {0} must arrive as one exact argument", Printable(prompt));
            File.ReadAllBytes(Rec(viaStdin, "fake-stdin.bin")).Should().Equal(expected, "prompt {0} must arrive exact on stdin", Printable(prompt));
            File.ReadAllBytes(Path.Combine(viaStdin.RunDirectory(1), AgentService.PromptFileName)).Should().Equal(expected);
        }
        File.Exists("/tmp/swarmps-pwned").Should().BeFalse();
    }

    private static List<byte[]> Split(byte[] data)
    {
        var list = new List<byte[]>();
        var start = 0;
        for (var i = 0; i < data.Length; i++)
            if (data[i] == 0) { list.Add(data[start..i]); start = i + 1; }
        return list;
    }

    private static string Printable(string s) => string.Concat(s.Select(c => char.IsControl(c) ? $"\\u{(int)c:X4}" : c.ToString()));

    [Fact]
    public void The_command_profile_gets_the_prompt_on_stdin_and_in_SWARM_PROMPT_FILE_and_reports_its_exit_code()
    {
        if (Skip) return;
        var ok = Wait(Start("command", "hello", new[] { "echo-agent", "arg one" }));
        ok.Status.Should().Be(AgentStatus.Succeeded);
        Encoding.UTF8.GetString(File.ReadAllBytes(Rec(ok, "fake-argv.bin"))).Should().Be("arg one\0");
        File.ReadAllText(Rec(ok, "fake-env.txt")).Should().Contain("SWARM_PROMPT_FILE=" + Path.Combine(ok.RunDirectory(1), "prompt.txt"));
        var bad = Wait(Start("command", "hello", new[] { "echo-agent", "fail" }));
        bad.Status.Should().Be(AgentStatus.Failed);
        bad.ExitCode.Should().Be(3);
        var missing = () => Start("command", "hello");
        missing.Should().Throw<SwarmException>().Which.Kind.Should().Be(SwarmErrorKind.InvalidArgument);
    }

    [Fact]
    public void Stop_kills_the_whole_process_tree_and_records_Stopped()
    {
        if (Skip) return;
        var a = Start("command", "x", new[] { "sh", "-c", "sleep 600 & sleep 600; wait" });
        var running = Sync.Run(_svc.Agents.WaitForStatusAsync(a.Id, AgentStatus.Running));
        var child = running.Pid!.Value;
        var grandchildren = Descendants(child); // read from /proc: Linux only
        if (OperatingSystem.IsLinux()) grandchildren.Should().NotBeEmpty();
        var stopped = Sync.Run(_svc.Agents.StopAsync(a.Id));
        stopped.Status.Should().Be(AgentStatus.Stopped);
        Alive(child).Should().BeFalse();
        grandchildren.Should().OnlyContain(p => !Alive(p));
        _svc.Agents.Get(a.Id).Status.Should().Be(AgentStatus.Stopped);
    }

    [Fact]
    public void A_killed_supervisor_is_reported_Lost_from_a_fresh_service()
    {
        if (Skip) return;
        var a = Start("command", "x", new[] { "echo-agent", "sleep" });
        var running = Sync.Run(_svc.Agents.WaitForStatusAsync(a.Id, AgentStatus.Running));
        var supervisorPid = int.Parse(running.Supervisor!.Split('@')[0]);
        Process.GetProcessById(supervisorPid).Kill();
        Process.GetProcessById(running.Pid!.Value).Kill();
        WaitGone(supervisorPid, running.Pid!.Value);
        var fresh = new SwarmService(new SwarmHome(_r.Home), new SwarmConfig()); // as from a new shell
        fresh.Agents.Get(a.Id).Status.Should().Be(AgentStatus.Lost);
        fresh.Agents.Get(a.Id).Error.Should().Contain("supervisor is gone");
    }

    [Fact]
    public void Repair_reconciles_agents_too()
    {
        if (Skip) return;
        var a = Start("command", "x", new[] { "echo-agent", "sleep" });
        var running = Sync.Run(_svc.Agents.WaitForStatusAsync(a.Id, AgentStatus.Running));
        var supervisor = int.Parse(running.Supervisor!.Split('@')[0]);
        Process.GetProcessById(supervisor).Kill();
        Process.GetProcessById(running.Pid!.Value).Kill();
        WaitGone(supervisor, running.Pid!.Value);
        var report = Sync.Run(_svc.RepairAsync(fix: false));
        report.Should().Contain(i => i.Kind == RepairIssueKind.StatusDrift && i.Description.Contains(a.Id));
        _svc.Registry.GetAgent(a.Id)!.Status.Should().Be(AgentStatus.Lost);
    }

    [Fact]
    public void A_follow_up_resumes_the_session_in_the_same_directory_as_the_next_run()
    {
        if (Skip) return;
        var first = Wait(Start("claude", "first"));
        var second = Sync.Run(_svc.Agents.SendAsync(first.Id, "second"));
        second.Run.Should().Be(2);
        var done = Wait(second);
        done.Status.Should().Be(AgentStatus.Succeeded);
        Encoding.UTF8.GetString(File.ReadAllBytes(Rec(done, "fake-argv.bin", run: 2))).Should().Contain("--resume=" + first.SessionId);
        File.ReadAllText(Rec(done, "fake-cwd.txt", run: 2)).Trim().Should().Be(_env.WorkspacePath);
        done.CostUsd.Should().Be(0.1834m * 2);
        done.Turns.Should().Be(14);
        _svc.Agents.GetRuns(first.Id).Select(r => r.Run).Should().Equal(1, 2);
    }

    [Fact]
    public void A_follow_up_while_running_is_refused()
    {
        if (Skip) return;
        var a = Start("command", "x", new[] { "echo-agent", "sleep" });
        var act = () => Sync.Run(_svc.Agents.SendAsync(a.Id, "more"));
        act.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.InvalidState);
    }

    [Fact]
    public void Output_is_available_parsed_raw_and_tailed()
    {
        if (Skip) return;
        var a = Wait(Start("claude", "x"));
        var parsed = _svc.Agents.ReadOutput(a.Id);
        parsed.Select(o => o.Kind).Should().ContainInOrder("init", "text", "tool", "result");
        parsed.Last(o => o.Kind == "result").Text.Should().Be("Done; tests pass.");
        var raw = _svc.Agents.ReadOutput(a.Id, raw: true);
        raw.Should().HaveCount(3).And.OnlyContain(o => o.Text!.StartsWith("{"));
        _svc.Agents.ReadOutput(a.Id, tail: 1).Should().ContainSingle().Which.Kind.Should().Be("result");
    }

    [Fact]
    public void Follow_streams_until_the_agent_finishes()
    {
        if (Skip) return;
        var a = Start("command", "x", new[] { "sh", "-c", "echo one; sleep 0.5; echo two; sleep 0.5; echo three" });
        var seen = new List<string>();
        var task = Task.Run(async () =>
        {
            await foreach (var o in _svc.Agents.FollowAsync(a.Id, raw: true)) seen.Add(o.Text!);
        });
        task.Wait(TimeSpan.FromSeconds(90)).Should().BeTrue();
        seen.Should().Equal("one", "two", "three");
    }

    [Fact]
    public void Removing_an_environment_with_running_agents_refuses_unless_forced()
    {
        if (Skip) return;
        var a = Start("command", "x", new[] { "echo-agent", "sleep" });
        Sync.Run(_svc.Agents.WaitForStatusAsync(a.Id, AgentStatus.Running));
        var act = () => Sync.Run(_svc.RemoveEnvironmentAsync("AG-1"));
        var ex = act.Should().Throw<SwarmException>().Which;
        ex.ErrorId.Should().Be(ErrorIds.AgentsRunning);
        ex.Details.Should().ContainSingle(d => d.StartsWith(a.Id));
        Directory.Exists(_env.WorkspacePath).Should().BeTrue();
        Sync.Run(_svc.RemoveEnvironmentAsync("AG-1", new RemoveOptions { Force = true }));
        _svc.Agents.Get(a.Id).Status.Should().Be(AgentStatus.Stopped);
        Directory.Exists(_env.WorkspacePath).Should().BeFalse();
    }

    [Fact]
    public void Fifty_agents_start_at_once_all_run_and_their_supervisors_memory_is_recorded()
    {
        if (Skip) return;
        var agents = Enumerable.Range(0, 50).AsParallel().WithDegreeOfParallelism(8)
            .Select(i => Start("command", $"agent {i}", new[] { "echo-agent", "sleep" })).ToList();
        var deadline = DateTime.UtcNow.AddSeconds(120); // generous for a loaded 2-core machine
        List<SwarmAgent> now;
        do
        {
            now = agents.Select(a => _svc.Agents.Get(a.Id)).ToList();
            if (now.All(a => a.Status == AgentStatus.Running && a.SupervisorMemoryKb is not null)) break;
            Thread.Sleep(100);
        } while (DateTime.UtcNow < deadline);
        now.Should().OnlyContain(a => a.Status == AgentStatus.Running);
        now.Should().OnlyContain(a => a.SupervisorMemoryKb > 0 && a.SupervisorMemoryKb < 10 * 1024, "a supervisor costs at most 10 MB resident");
        now.Select(a => a.Id).Should().OnlyHaveUniqueItems();
        foreach (var a in now) Sync.Run(_svc.Agents.StopAsync(a.Id)).Status.Should().Be(AgentStatus.Stopped);
    }

    [Fact]
    public void Unknown_profiles_and_agents_are_clear_errors()
    {
        var p = () => Start("nope", "x");
        p.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.ProfileNotFound);
        var g = () => _svc.Agents.Get("ag-0000000000");
        g.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.AgentNotFound);
        var bad = () => _svc.Agents.Get("../etc");
        bad.Should().Throw<SwarmException>().Which.Kind.Should().Be(SwarmErrorKind.InvalidArgument);
        _svc.Registry.ListAgents().Should().BeEmpty();
    }

    [Fact]
    public void Config_profiles_add_and_override()
    {
        var cfg = new SwarmConfig
        {
            AgentProfiles =
            {
                new AgentProfileConfig { Name = "claude", Executable = "/opt/claude/bin/claude" },
                new AgentProfileConfig { Name = "mine", Executable = "my-agent", Arguments = new() { "--task", "{prompt}" }, OutputFormat = AgentOutputFormat.ClaudeStreamJson },
            },
        };
        var all = AgentProfiles.From(cfg);
        var claude = all.Single(p => p.Name == "claude");
        claude.Executable.Should().Be("/opt/claude/bin/claude");
        claude.Arguments.Should().Contain("--verbose", "unset fields inherit the built-in");
        all.Single(p => p.Name == "mine").BuildArgv(new AgentInvocation { Ticket = "T", Prompt = "go" }).Should().Equal("my-agent", "--task", "go");
    }

    /// <summary>Waits (deadline 60 s) until every pid is gone or a zombie: a kill is asynchronous.</summary>
    private static void WaitGone(params int[] pids)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (pids.Any(Alive) && DateTime.UtcNow < deadline) Thread.Sleep(20);
        pids.Where(Alive).Should().BeEmpty("the killed processes end (waited 60 s)");
    }

    private static bool Alive(int pid)
    {
        try { using var p = Process.GetProcessById(pid); return !p.HasExited && !IsZombie(pid); }
        catch (ArgumentException) { return false; }
    }

    private static bool IsZombie(int pid)
    {
        var stat = $"/proc/{pid}/stat";
        if (!File.Exists(stat)) return false;
        var text = File.ReadAllText(stat);
        return text[(text.LastIndexOf(')') + 2)..].StartsWith("Z");
    }

    private static List<int> Descendants(int pid)
    {
        var result = new List<int>();
        if (!OperatingSystem.IsLinux()) return result;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (result.Count == 0 && DateTime.UtcNow < deadline)
        {
            foreach (var dir in Directory.GetDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out var p)) continue;
                try
                {
                    var text = File.ReadAllText(Path.Combine(dir, "stat"));
                    var ppid = int.Parse(text[(text.LastIndexOf(')') + 2)..].Split(' ')[1]);
                    if (ppid == pid) result.Add(p);
                }
                catch (IOException) { }
            }
            if (result.Count == 0) Thread.Sleep(50);
        }
        return result;
    }
}
