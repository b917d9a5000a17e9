using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using SwarmPS.Cli.Tests.Infrastructure;
using SwarmPS.Core;
using SwarmPS.Core.Agents;
using Xunit;
using Xunit.Abstractions;

namespace SwarmPS.Cli.Tests;

/// <summary>
/// <c>swarmps agent ...</c> through real CLI processes against a temporary repository and home, with
/// the fake agent CLIs (tests/SwarmPS.Tests/Fakes, copied to Fakes/ in the output) first on the PATH
/// of every swarmps process. The fakes are POSIX sh scripts: on Windows these tests are skipped with
/// a message (Pester covers the agent commands there).
/// </summary>
[Trait("Category", "Integration")]
public sealed class AgentCliTests : IDisposable
{
    private readonly TempWorkspace _ws = new();
    private readonly ITestOutputHelper _output;

    public AgentCliTests(ITestOutputHelper output)
    {
        _output = output;
        if (OperatingSystem.IsWindows()) return;
        var fakes = Path.Combine(AppContext.BaseDirectory, "Fakes");
        foreach (var f in Directory.GetFiles(fakes))
            File.SetUnixFileMode(f, File.GetUnixFileMode(f) | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        _ws.Environment["PATH"] = fakes + Path.PathSeparator + System.Environment.GetEnvironmentVariable("PATH");
    }

    private static bool Skip => OperatingSystem.IsWindows();

    private bool Skipped()
    {
        if (!Skip) return false;
        const string message = "SKIPPED: the agent CLI tests need the POSIX sh fake agents; on Windows the agent commands are covered by Pester.";
        _output.WriteLine(message);
        Console.Error.WriteLine(message);
        return true;
    }

    public void Dispose()
    {
        // Stop whatever a failed test left running, in-process (the same Core the CLI calls).
        try
        {
            if (Directory.Exists(Path.Combine(_ws.Home, "agents")))
            {
                var svc = SwarmService.Open(_ws.Home);
                foreach (var a in svc.Registry.ListAgents().Where(a => !a.IsTerminal))
                    try { svc.Agents.StopAsync(a.Id).GetAwaiter().GetResult(); } catch (SwarmException) { }
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            _ws.Dispose();
        }
    }

    private static string Str(JsonElement o, string name) => o.GetProperty(name).GetString()!;

    private async Task<JsonElement> StartAsync(params string[] args)
    {
        var r = await _ws.RunAsync(new[] { "agent", "start", "--json" }.Concat(args).ToArray());
        r.ExitCode.Should().Be(0, r.ToString());
        r.StdErr.Should().BeEmpty();
        return r.Json;
    }

    // The first run's files are in the agent's directory; a follow-up run n has runs/<n>.
    private string RunDir(JsonElement agent, int run = 1) =>
        run == 1 ? Str(agent, "directory") : Path.Combine(Str(agent, "directory"), "runs", run.ToString(System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public async Task Start_list_get_wait_logs_send_and_stop_round_trip_with_json()
    {
        if (Skipped()) return;
        await _ws.OkAsync("env", "new", "AG-1");

        // start: returns at once with the agent's id and status.
        var started = await StartAsync("AG-1", "--profile", "claude", "--prompt", "Add the invoices table");
        var id = Str(started, "id");
        id.Should().MatchRegex("^ag-[0-9a-f]{10}$");
        Str(started, "status").Should().BeOneOf("Starting", "Running", "Succeeded");
        Str(started, "ticket").Should().Be("AG-1");
        Str(started, "profile").Should().Be("claude");
        foreach (var field in new[] { "id", "ticket", "profile", "status", "run", "sessionId", "workingDirectory", "directory", "supervisor", "pid", "exitCode", "turns", "toolCalls",
                     "inputTokens", "outputTokens", "cacheReadTokens", "costUsd", "result", "error", "supervisorMemoryKb", "createdAt", "updatedAt", "startedAt", "endedAt" })
            started.TryGetProperty(field, out _).Should().BeTrue($"the agent JSON must carry '{field}'");

        // list (fresh process) and get.
        var list = await _ws.JsonAsync("agent", "list");
        list.ValueKind.Should().Be(JsonValueKind.Array);
        list.EnumerateArray().Select(a => Str(a, "id")).Should().Equal(id);
        (await _ws.JsonAsync("agent", "list", "--ticket", "ag-*")).GetArrayLength().Should().Be(1, "ticket patterns match regardless of case");
        (await _ws.JsonAsync("agent", "list", "--ticket", "OTHER")).GetArrayLength().Should().Be(0);
        Str(await _ws.JsonAsync("agent", "get", id), "id").Should().Be(id);

        // wait: prints the agents; the structured result is recorded.
        var waited = await _ws.JsonAsync("agent", "wait", id, "--timeout", "30");
        waited.GetArrayLength().Should().Be(1);
        var done = waited[0];
        Str(done, "status").Should().Be("Succeeded", done.ToString());
        done.GetProperty("exitCode").GetInt32().Should().Be(0);
        done.GetProperty("costUsd").GetDecimal().Should().Be(0.1834m);
        done.GetProperty("turns").GetInt32().Should().Be(7);
        Str(done, "sessionId").Should().StartWith("2b0c7a54-");
        Str(done, "result").Should().Be("Done; tests pass.");
        File.ReadAllText(Path.Combine(RunDir(done), "fake-cwd.txt")).Trim().Should().Be(await _ws.WorkspaceOfAsync("AG-1"));
        (await _ws.JsonAsync("agent", "list", "--status", "succeeded,failed")).GetArrayLength().Should().Be(1);
        (await _ws.JsonAsync("agent", "list", "--status", "Running")).GetArrayLength().Should().Be(0);

        // logs: parsed messages, raw lines, tail.
        var logs = await _ws.JsonAsync("agent", "logs", id);
        logs.EnumerateArray().Select(o => Str(o, "kind")).Should().ContainInOrder("init", "text", "tool", "result");
        foreach (var field in new[] { "agentId", "run", "stream", "kind", "text", "tool" })
            logs[0].TryGetProperty(field, out _).Should().BeTrue($"an output line must carry '{field}'");
        var raw = await _ws.JsonAsync("agent", "logs", id, "--raw");
        raw.GetArrayLength().Should().Be(3);
        raw.EnumerateArray().Should().OnlyContain(o => Str(o, "kind") == "raw" && Str(o, "text").StartsWith('{'));
        var tail = await _ws.JsonAsync("agent", "logs", id, "--tail", "1");
        tail.GetArrayLength().Should().Be(1);
        Str(tail[0], "kind").Should().Be("result");
        var human = await _ws.OkAsync("agent", "logs", id);
        human.StdOut.Should().Contain("[result] Done; tests pass.").And.Contain("[tool] Bash");

        // send: a follow-up resumes the session as run 2 of the same agent.
        var sent = (await _ws.OkAsync("agent", "send", id, "--prompt", "now the tests", "--json")).Json;
        Str(sent, "id").Should().Be(id);
        sent.GetProperty("run").GetInt32().Should().Be(2);
        var second = (await _ws.JsonAsync("agent", "wait", id))[0];
        Str(second, "status").Should().Be("Succeeded", second.ToString());
        second.GetProperty("costUsd").GetDecimal().Should().Be(0.1834m * 2);
        Encoding.UTF8.GetString(File.ReadAllBytes(Path.Combine(RunDir(second, 2), "fake-argv.bin"))).Should().Contain("--resume=" + Str(done, "sessionId"));

        // logs --follow --json on a finished agent: NDJSON, one compact object per line, then exit 0.
        var follow = await _ws.OkAsync("agent", "logs", id, "--follow", "--json");
        var lines = follow.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().HaveCountGreaterThan(4);
        var parsed = lines.Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        parsed.Select(o => o.GetProperty("run").GetInt32()).Distinct().Should().Equal(1, 2);
        parsed.Last().GetProperty("kind").GetString().Should().Be("result");

        // A running agent of the command profile: wait times out (exit 1, Timeout line, agents still
        // printed with --json), stop kills it and records Stopped.
        var sleeper = await StartAsync("AG-1", "--profile", "command", "--prompt", "x", "--", "echo-agent", "sleep");
        var sid = Str(sleeper, "id");
        var timedOut = await _ws.RunAsync("agent", "wait", sid, id, "--timeout", "0.5", "--json");
        timedOut.ExitCode.Should().Be(1, timedOut.ToString());
        timedOut.StdErrLines.Should().ContainSingle().Which.Should().StartWith("Timeout: ").And.Contain(sid);
        timedOut.Json.EnumerateArray().Select(a => (Str(a, "id"), Str(a, "status"))).Should().Equal((sid, "Running"), (id, "Succeeded"));
        var any = await _ws.JsonAsync("agent", "wait", sid, id, "--any");
        any.EnumerateArray().Select(a => Str(a, "id")).Should().Equal(id);
        var pid = (await _ws.JsonAsync("agent", "get", sid)).GetProperty("pid").GetInt32();
        var stopped = await _ws.JsonAsync("agent", "stop", sid);
        Str(stopped, "status").Should().Be("Stopped");
        Alive(pid).Should().BeFalse();
        Str(await _ws.JsonAsync("agent", "get", sid), "status").Should().Be("Stopped");
        Str(await _ws.JsonAsync("agent", "stop", sid), "status").Should().Be("Stopped", "stopping a finished agent shows it as it is");

        // The readable forms: a table and key/value lines, no escape sequences.
        var table = await _ws.OkAsync("agent", "list");
        table.StdOut.Should().Contain("ID").And.Contain("STATUS").And.Contain(id).And.Contain(sid).And.NotContain("\u001b");
        (await _ws.OkAsync("agent", "get", id)).StdOut.Should().Contain("Status").And.Contain("Succeeded");
    }

    [Fact]
    public async Task Profiles_list_the_built_in_and_configured_profiles()
    {
        if (Skipped()) return;
        Directory.CreateDirectory(_ws.Home);
        File.WriteAllText(Path.Combine(_ws.Home, "config.json"), """
            { "agentProfiles": [ { "name": "mine", "executable": "claude", "arguments": ["-p", "{prompt}", "--output-format", "stream-json", "--verbose"], "outputFormat": "ClaudeStreamJson" } ] }
            """);
        var profiles = await _ws.JsonAsync("agent", "profiles");
        var byName = profiles.EnumerateArray().ToDictionary(p => Str(p, "name"));
        byName.Keys.Should().Contain(new[] { "claude", "codex", "aider", "opencode", "gemini", "cursor-agent", "command", "mine" });
        foreach (var field in new[] { "name", "executable", "arguments", "resumeArguments", "promptDelivery", "outputFormat", "description", "builtIn" })
            byName["claude"].TryGetProperty(field, out _).Should().BeTrue($"a profile must carry '{field}'");
        Str(byName["command"], "promptDelivery").Should().Be("Stdin");
        Str(byName["claude"], "outputFormat").Should().Be("ClaudeStreamJson");
        byName["claude"].GetProperty("builtIn").GetBoolean().Should().BeTrue();
        byName["mine"].GetProperty("builtIn").GetBoolean().Should().BeFalse();

        // A configured profile runs (its executable is the fake claude on PATH).
        await _ws.OkAsync("env", "new", "AG-1");
        var a = await StartAsync("AG-1", "--profile", "mine", "--prompt", "configured");
        Str((await _ws.JsonAsync("agent", "wait", Str(a, "id")))[0], "status").Should().Be("Succeeded");

        (await _ws.OkAsync("agent", "profiles")).StdOut.Should().Contain("NAME").And.Contain("cursor-agent").And.Contain("config");
    }

    [Fact]
    public async Task Bad_input_is_a_one_line_error_with_the_right_exit_code()
    {
        if (Skipped()) return;
        await _ws.OkAsync("env", "new", "AG-1");
        async Task Expect(int exit, string id, params string[] args)
        {
            var r = await _ws.RunAsync(args);
            r.ExitCode.Should().Be(exit, r.ToString());
            r.StdOut.Should().BeEmpty(r.ToString());
            r.StdErrLines.Should().ContainSingle(r.ToString()).Which.Should().StartWith(id + ": ");
        }
        await Expect(2, "Usage", "agent", "start", "AG-1", "--profile", "claude");
        await Expect(2, "Usage", "agent", "start", "AG-1", "--profile", "claude", "--prompt", "a", "--prompt-file", "f");
        await Expect(2, "Usage", "agent", "start", "AG-1", "--prompt", "a");
        await Expect(2, "ProfileNotFound", "agent", "start", "AG-1", "--profile", "nope", "--prompt", "a", "--json");
        await Expect(2, "InvalidArgument", "agent", "start", "AG-1", "--profile", "command", "--prompt", "a");
        await Expect(2, "InvalidArgument", "agent", "start", "AG-1", "--profile", "claude", "--prompt", "a", "--", "echo-agent");
        await Expect(2, "InvalidArgument", "agent", "start", "AG-1", "--profile", "claude", "--prompt-file", Path.Combine(_ws.Root, "missing.txt"));
        var invalid = Path.Combine(_ws.Root, "invalid.txt");
        File.WriteAllBytes(invalid, new byte[] { (byte)'a', 0xC3, 0x28 });
        await Expect(2, "InvalidArgument", "agent", "start", "AG-1", "--profile", "claude", "--prompt-file", invalid);
        await Expect(2, "InvalidTicket", "agent", "start", "../x", "--profile", "claude", "--prompt", "a");
        await Expect(1, "EnvironmentNotFound", "agent", "start", "NOPE-1", "--profile", "claude", "--prompt", "a");
        await Expect(1, "AgentNotFound", "agent", "get", "ag-0000000000");
        await Expect(1, "AgentNotFound", "agent", "logs", "ag-0000000000", "--follow");
        await Expect(2, "InvalidArgument", "agent", "get", "../etc");
        await Expect(2, "Usage", "agent", "wait");
        await Expect(2, "Usage", "agent", "wait", "ag-0000000000", "--timeout", "-1");
        await Expect(2, "Usage", "agent", "logs", "ag-0000000000", "--tail", "-1");
        await Expect(2, "Usage", "agent", "list", "--status", "Sleeping");
        (await _ws.JsonAsync("agent", "list")).GetArrayLength().Should().Be(0, "nothing was started by bad input");

        // A follow-up while the agent runs is refused.
        var a = await StartAsync("AG-1", "--profile", "command", "--prompt", "x", "--", "echo-agent", "sleep");
        await Expect(1, "InvalidState", "agent", "send", Str(a, "id"), "--prompt", "more");
        // Removing the environment refuses while an agent runs.
        var rm = await _ws.RunAsync("env", "rm", "AG-1");
        rm.ExitCode.Should().Be(1, rm.ToString());
        rm.StdErrLines[0].Should().StartWith("AgentsRunning: ");
        rm.StdErrLines.Should().Contain(l => l.Contains(Str(a, "id")));
        await _ws.OkAsync("agent", "stop", Str(a, "id"));
    }

    /// <summary>Prompts that break anything that quotes, splits, expands or re-encodes.</summary>
    private static IReadOnlyList<string> HostilePrompts()
    {
        var seeds = new[]
        {
            "", " ", "'", "\"", "`", "$(touch /tmp/swarmps-cli-pwned)", "`touch /tmp/swarmps-cli-pwned`", "; rm -rf / #", "&& echo hi", "| cat", "> /tmp/x",
            "$HOME", "${PATH}", "%PATH%", "!history", "\\", "\\\\\"", "--help", "-p", "--json", "--", "-h", "@response.rsp", "--prompt=x", "--resume=x",
            "line1\nline2", "crlf\r\nend", "tab\tsep", "ünïcødé ✓ 日本語 🚀", "\u202Eright-to-left", "a\u200Bb", "\uFEFFbom first", "*", "?", "[abc]", "~",
            "#comment", "'single' \"double\" `back`", "$((1+1))", "<<EOF\nhere\nEOF", "trailing newline\n", "\n\nleading newlines", "%s%n%x", "{prompt}",
            "{sessionId}", "a=b:c", "=start", ":colon",
        };
        var rng = new Random(4321);
        var pool = "ab $'\"`\\;|&<>(){}[]*?!~#%^\n\r\tü日🚀-=:@".ToCharArray();
        var list = seeds.ToList();
        while (list.Count < 60) list.Add(new string(Enumerable.Range(0, rng.Next(1, 40)).Select(_ => pool[rng.Next(pool.Length)]).Where(c => !char.IsSurrogate(c)).ToArray()));
        return list;
    }

    private static string Printable(string s) => string.Concat(s.Select(c => char.IsControl(c) ? $"\\u{(int)c:X4}" : c.ToString()));

    [Fact]
    public async Task Hostile_prompts_via_prompt_and_prompt_file_arrive_byte_exact()
    {
        if (Skipped()) return;
        await _ws.OkAsync("env", "new", "AG-1");
        var prompts = HostilePrompts();
        var files = Path.Combine(_ws.Root, "prompts");
        Directory.CreateDirectory(files);
        var failures = new ConcurrentBag<string>();
        var results = new ConcurrentDictionary<int, (JsonElement ViaArg, JsonElement ViaFile)>();
        // --prompt=TEXT (the '=' form binds any text, even "--help", to the option) with the fake
        // claude (prompt as one argv element), and --prompt-file with the command profile (prompt on
        // stdin). Eight swarmps processes at a time.
        using var gate = new SemaphoreSlim(8);
        await Task.WhenAll(prompts.Select(async (p, i) =>
        {
            await gate.WaitAsync();
            try
            {
                var file = Path.Combine(files, $"p{i}.txt");
                await File.WriteAllBytesAsync(file, Encoding.UTF8.GetBytes(p));
                var viaArg = await _ws.RunAsync("agent", "start", "AG-1", "--profile", "claude", "--prompt=" + p, "--json");
                var viaFile = await _ws.RunAsync("agent", "start", "AG-1", "--profile", "command", "--prompt-file", file, "--json", "--", "echo-agent");
                if (viaArg.ExitCode != 0 || viaFile.ExitCode != 0) failures.Add($"prompt {i} {Printable(p)}:\n{viaArg}\n{viaFile}");
                else results[i] = (viaArg.Json, viaFile.Json);
            }
            finally
            {
                gate.Release();
            }
        }));
        failures.Should().BeEmpty(string.Join("\n\n", failures.Take(3)));
        var ids = results.Values.SelectMany(r => new[] { Str(r.ViaArg, "id"), Str(r.ViaFile, "id") }).ToArray();
        var waited = await _ws.RunAsync(new[] { "agent", "wait", "--timeout", "120", "--json" }.Concat(ids).ToArray());
        waited.ExitCode.Should().Be(0, waited.ToString());

        for (var i = 0; i < prompts.Count; i++)
        {
            var expected = Encoding.UTF8.GetBytes(prompts[i]);
            var (viaArg, viaFile) = results[i];
            var argv = Split(File.ReadAllBytes(Path.Combine(RunDir(viaArg), "fake-argv.bin")));
            argv[0].Should().Equal(Encoding.UTF8.GetBytes("-p"));
            argv[1].Should().Equal(expected, "prompt {0} must arrive as one exact argument", Printable(prompts[i]));
            File.ReadAllBytes(Path.Combine(RunDir(viaFile), "fake-stdin.bin")).Should().Equal(expected, "prompt {0} must arrive exact on stdin", Printable(prompts[i]));
            // The file named by SWARM_PROMPT_FILE holds the same bytes.
            File.ReadAllBytes(Path.Combine(RunDir(viaFile), AgentService.PromptFileName)).Should().Equal(expected);
        }
        File.Exists("/tmp/swarmps-cli-pwned").Should().BeFalse();

        // Bytes a text reader would change: a BOM, CRLF, a lone CR, no final newline.
        var tricky = new byte[] { 0xEF, 0xBB, 0xBF, (byte)'a', 0x0D, 0x0A, (byte)'b', 0x0D, (byte)'c', 0xE2, 0x9C, 0x93 };
        var trickyFile = Path.Combine(files, "tricky.bin");
        File.WriteAllBytes(trickyFile, tricky);
        var t = await StartAsync("AG-1", "--profile", "command", "--prompt-file", trickyFile, "--", "echo-agent");
        await _ws.JsonAsync("agent", "wait", Str(t, "id"));
        File.ReadAllBytes(Path.Combine(RunDir(t), "fake-stdin.bin")).Should().Equal(tricky);
        File.ReadAllBytes(Path.Combine(RunDir(t), AgentService.PromptFileName)).Should().Equal(tricky);
    }

    private static List<byte[]> Split(byte[] data)
    {
        var list = new List<byte[]>();
        var start = 0;
        for (var i = 0; i < data.Length; i++)
            if (data[i] == 0) { list.Add(data[start..i]); start = i + 1; }
        return list;
    }

    /// <summary>
    /// The issue's test: 50 agents started at once by 50 concurrent <c>swarmps agent start</c>
    /// processes that exit immediately. Read back from a fresh process, all must be Running within a
    /// few seconds, each with its supervisor's memory recorded, none Lost; then all are stopped.
    /// </summary>
    [Fact]
    [Trait("Category", "Slow")]
    public async Task Fifty_agents_started_by_fifty_concurrent_processes_all_run_and_none_is_lost()
    {
        if (Skipped()) return;
        const int count = 50;
        await _ws.OkAsync("env", "new", "AG-1");
        var sw = Stopwatch.StartNew();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var starts = Enumerable.Range(0, count).Select(i => Task.Run(async () =>
        {
            await gate.Task;
            return await _ws.RunAsync("agent", "start", "AG-1", "--profile", "command", "--prompt", $"agent {i}", "--json", "--", "echo-agent", "sleep");
        })).ToArray();
        gate.SetResult();
        var results = await Task.WhenAll(starts);
        var allExited = sw.Elapsed;
        results.Where(r => r.ExitCode != 0).Should().BeEmpty(string.Join("\n\n", results.Where(r => r.ExitCode != 0).Take(3)));
        var ids = results.Select(r => Str(r.Json, "id")).ToList();
        ids.Should().OnlyHaveUniqueItems().And.HaveCount(count);

        // Every starting process has exited. A fresh process reconciles: all Running, memory recorded.
        var deadline = Stopwatch.StartNew();
        List<JsonElement> agents;
        while (true)
        {
            agents = (await _ws.JsonAsync("agent", "list")).EnumerateArray().ToList();
            if (agents.Count == count && agents.All(a => Str(a, "status") == "Running" && a.GetProperty("supervisorMemoryKb").ValueKind == JsonValueKind.Number)) break;
            // A condition with a deadline for a loaded 2-core machine; how fast it is belongs to bench/.
            if (deadline.Elapsed > TimeSpan.FromSeconds(120)) break;
            await Task.Delay(100);
        }
        var allRunning = deadline.Elapsed;
        var memory = agents.Where(a => a.GetProperty("supervisorMemoryKb").ValueKind == JsonValueKind.Number).Select(a => a.GetProperty("supervisorMemoryKb").GetInt64()).ToList();
        _output.WriteLine($"{count} concurrent 'agent start' processes exited after {allExited.TotalSeconds:0.0}s; all Running {allRunning.TotalSeconds:0.0}s later (fresh process); " +
                          $"supervisor RSS min {memory.DefaultIfEmpty().Min()} KiB, max {memory.DefaultIfEmpty().Max()} KiB, sum {memory.Sum() / 1024.0:0.0} MiB");
        agents.Select(a => Str(a, "id")).Should().BeEquivalentTo(ids);
        agents.Should().NotContain(a => Str(a, "status") == "Lost");
        agents.Should().OnlyContain(a => Str(a, "status") == "Running", "all 50 run until stopped; waited 120 s for them to be seen Running from a fresh process");
        memory.Should().HaveCount(count, "each supervisor's memory is recorded");
        memory.Should().OnlyContain(kb => kb > 0 && kb < 10 * 1024, "a supervisor costs at most 10 MB resident");
        var pids = agents.Select(a => a.GetProperty("pid").GetInt32()).ToList();
        pids.Should().OnlyContain(p => Alive(p));

        // Stop them all, eight swarmps processes at a time.
        using var stopGate = new SemaphoreSlim(8);
        var stops = await Task.WhenAll(ids.Select(async id =>
        {
            await stopGate.WaitAsync();
            try { return await _ws.RunAsync("agent", "stop", id, "--json"); }
            finally { stopGate.Release(); }
        }));
        stops.Where(r => r.ExitCode != 0).Should().BeEmpty(string.Join("\n\n", stops.Where(r => r.ExitCode != 0).Take(3)));
        stops.Should().OnlyContain(r => Str(r.Json, "status") == "Stopped");
        (await _ws.JsonAsync("agent", "list", "--status", "Stopped")).GetArrayLength().Should().Be(count);
        pids.Should().OnlyContain(p => !Alive(p));
    }

    private static bool Alive(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            if (p.HasExited) return false;
        }
        catch (ArgumentException)
        {
            return false;
        }
        var stat = $"/proc/{pid}/stat";
        if (!File.Exists(stat)) return true;
        try
        {
            var text = File.ReadAllText(stat);
            return !text[(text.LastIndexOf(')') + 2)..].StartsWith('Z');
        }
        catch (IOException)
        {
            return false;
        }
    }
}
