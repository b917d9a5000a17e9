using System.Diagnostics;
using System.Text.Json;
using FluentAssertions;
using SwarmPS.Cli.Tests.Infrastructure;
using SwarmPS.Core;
using Xunit;
using Xunit.Abstractions;

namespace SwarmPS.Cli.Tests;

/// <summary>
/// <c>swarmps task|queue|workflow|events</c> (issue 5) through real CLI processes against a temporary
/// repository and home. Tasks use the command profile (sh, true, false) in one existing environment,
/// so they run wherever sh does; on Windows these tests are skipped with a message.
/// </summary>
[Trait("Category", "Integration")]
public sealed class TaskCliTests : IDisposable
{
    private readonly TempWorkspace _ws = new();
    private readonly ITestOutputHelper _output;
    private readonly List<Process> _started = new();

    public TaskCliTests(ITestOutputHelper output)
    {
        _output = output;
        if (OperatingSystem.IsWindows()) return;
        var fakes = Path.Combine(AppContext.BaseDirectory, "Fakes");
        foreach (var f in Directory.GetFiles(fakes))
            File.SetUnixFileMode(f, File.GetUnixFileMode(f) | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        _ws.Environment["PATH"] = fakes + Path.PathSeparator + System.Environment.GetEnvironmentVariable("PATH");
    }

    private bool Skipped()
    {
        if (!OperatingSystem.IsWindows()) return false;
        const string message = "SKIPPED: the task CLI tests run sh commands; on Windows the queue is covered by Pester.";
        _output.WriteLine(message);
        Console.Error.WriteLine(message);
        return true;
    }

    public void Dispose()
    {
        foreach (var p in _started)
        {
            try { if (!p.HasExited) p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            p.Dispose();
        }
        try
        {
            if (Directory.Exists(_ws.Home))
            {
                var svc = SwarmService.Open(_ws.Home);
                // A detached scheduler a failed test left behind: ask it to stop, then make sure.
                if (svc.Queue.Status() is { Running: true, ProcessId: { } pid })
                {
                    try { svc.Queue.StopAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult(); }
                    catch (SwarmException) { try { Process.GetProcessById(pid).Kill(); } catch (ArgumentException) { } }
                }
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

    private string Log => Path.Combine(_ws.Root, "order.log");

    /// <summary>task add --json of a command-profile task in TQ-1 that appends NAME to the order log, then runs SCRIPT.</summary>
    private async Task<JsonElement> AddAsync(string name, string script = "true", params string[] extra)
    {
        var args = new List<string> { "task", "add", "--title", name, "--name", name, "--prompt", "do " + name, "--ticket", "TQ-1", "--profile", "command", "--json" };
        args.AddRange(extra);
        args.AddRange(new[] { "--", "sh", "-c", $"echo {name} >> '{Log}'; {script}" });
        var r = await _ws.RunAsync(args.ToArray());
        r.ExitCode.Should().Be(0, r.ToString());
        r.StdErr.Should().BeEmpty();
        return r.Json;
    }

    private async Task ExpectError(int exit, string id, params string[] args)
    {
        var r = await _ws.RunAsync(args);
        r.ExitCode.Should().Be(exit, r.ToString());
        r.StdOut.Should().BeEmpty(r.ToString());
        r.StdErrLines.Should().ContainSingle(r.ToString()).Which.Should().StartWith(id + ": ");
    }

    [Fact]
    public async Task Add_list_get_cancel_and_remove_with_json()
    {
        if (Skipped()) return;
        await _ws.OkAsync("env", "new", "TQ-1");
        var a = await AddAsync("schema", "true", "--priority", "high", "--max-attempts", "3", "--retry-backoff", "5", "--timeout", "60");
        var id = Str(a, "id");
        id.Should().MatchRegex("^t-[0-9a-f]{8}-schema$");
        Str(a, "status").Should().Be("Queued");
        Str(a, "priority").Should().Be("High");
        Str(a, "ticket").Should().Be("TQ-1");
        a.GetProperty("maxAttempts").GetInt32().Should().Be(3);
        a.GetProperty("retryBackoffSeconds").GetInt32().Should().Be(5);
        a.GetProperty("timeoutSeconds").GetInt32().Should().Be(60);
        a.GetProperty("command").EnumerateArray().Select(e => e.GetString()).First().Should().Be("sh");
        foreach (var field in new[] { "id", "title", "prompt", "priority", "status", "dependsOn", "runAfterFailure", "ticket", "provider", "base", "repositoryPath", "profile", "command",
                     "timeoutSeconds", "maxAttempts", "retryBackoffSeconds", "cleanup", "attempts", "agentIds", "environmentTicket", "result", "costUsd", "error", "createdAt", "startedAt", "endedAt" })
            a.TryGetProperty(field, out _).Should().BeTrue($"the task JSON must carry '{field}'");

        var b = await AddAsync("api", "true", "--depends-on", id);
        Str(b, "status").Should().Be("Blocked");
        b.GetProperty("dependsOn").EnumerateArray().Select(e => e.GetString()).Should().Equal(id);

        // A per-task environment task records the repository now (default: the current directory).
        var perTask = (await _ws.OkAsync("task", "add", "--title", "own env", "--prompt", "p", "--provider", "worktree", "--base", "main", "--cleanup", "remove", "--json")).Json;
        Str(perTask, "repositoryPath").Should().Be(_ws.Repo);
        Str(perTask, "cleanup").Should().Be("Remove");
        Str(perTask, "profile").Should().Be("claude");
        perTask.GetProperty("ticket").ValueKind.Should().Be(JsonValueKind.Null);

        var list = await _ws.JsonAsync("task", "list");
        list.EnumerateArray().Select(t => Str(t, "id")).Should().Equal(id, Str(b, "id"), Str(perTask, "id"));
        (await _ws.JsonAsync("task", "list", "--status", "blocked")).EnumerateArray().Select(t => Str(t, "id")).Should().Equal(Str(b, "id"));
        (await _ws.JsonAsync("task", "list", "t-*-schema")).GetArrayLength().Should().Be(1);
        Str(await _ws.JsonAsync("task", "get", id), "title").Should().Be("schema");

        // Cancel: the task never starts and its dependent is skipped.
        var cancelled = await _ws.JsonAsync("task", "cancel", id);
        Str(cancelled, "status").Should().Be("Cancelled");
        var skipped = await _ws.JsonAsync("task", "get", Str(b, "id"));
        Str(skipped, "status").Should().Be("Skipped");
        Str(skipped, "error").Should().Contain(id);
        Str(await _ws.JsonAsync("task", "cancel", id), "status").Should().Be("Cancelled", "cancelling a finished task shows it as it is");

        // rm: a waiting task with no dependents goes; a finished one too.
        Str(await _ws.JsonAsync("task", "rm", Str(perTask, "id")), "id").Should().Be(Str(perTask, "id"));
        await _ws.OkAsync("task", "rm", id);
        (await _ws.JsonAsync("task", "list")).EnumerateArray().Select(t => Str(t, "id")).Should().Equal(Str(b, "id"));

        // The readable forms.
        (await _ws.OkAsync("task", "list")).StdOut.Should().Contain("STATUS").And.Contain("Skipped").And.NotContain("\u001b");
        (await _ws.OkAsync("task", "get", Str(b, "id"))).StdOut.Should().Contain("Depends on");

        // Bad input: one line, the right exit code, nothing added.
        await ExpectError(2, "Usage", "task", "add", "--prompt", "x");
        await ExpectError(2, "Usage", "task", "add", "--title", "x", "--prompt", "x", "--priority", "urgent");
        await ExpectError(2, "Usage", "task", "add", "--title", "x", "--prompt", "x", "--ticket", "TQ-1", "--provider", "worktree");
        await ExpectError(2, "Usage", "task", "add", "--title", "x", "--prompt", "x", "--max-attempts", "0");
        await ExpectError(2, "TaskNotFound", "task", "add", "--title", "x", "--prompt", "x", "--ticket", "TQ-1", "--depends-on", "t-00000000");
        await ExpectError(2, "ProfileNotFound", "task", "add", "--title", "x", "--prompt", "x", "--profile", "nope");
        await ExpectError(2, "InvalidArgument", "task", "add", "--title", "x", "--prompt", "x", "--ticket", "TQ-1", "--profile", "command");
        await ExpectError(2, "InvalidArgument", "task", "add", "--title", "x", "--prompt", "x", "--ticket", "TQ-1", "--", "true");
        await ExpectError(2, "EnvironmentNotFound", "task", "add", "--title", "x", "--prompt", "x", "--ticket", "NOPE-1");
        await ExpectError(1, "TaskNotFound", "task", "get", "t-00000000");
        await ExpectError(2, "InvalidArgument", "task", "get", "../x");
        await ExpectError(2, "Usage", "task", "list", "--status", "Sleeping");
        (await _ws.JsonAsync("task", "list")).GetArrayLength().Should().Be(1, "nothing was added by bad input");
    }

    [Fact]
    public async Task Queue_run_follows_dependencies_and_a_failure_skips_dependents()
    {
        if (Skipped()) return;
        await _ws.OkAsync("env", "new", "TQ-1");
        var a = Str(await AddAsync("a"), "id");
        var b = Str(await AddAsync("b", "true", "--depends-on", a), "id");
        var c = Str(await AddAsync("c", "exit 3", "--depends-on", b), "id");
        var d = Str(await AddAsync("d", "true", "--depends-on", c), "id");
        var e = Str(await AddAsync("e", "true", "--depends-on", c, "--run-after-failure"), "id");
        var low = Str(await AddAsync("low", "true", "--priority", "Low"), "id");

        var r = await _ws.RunAsync("queue", "run", "--max-parallel", "1", "--json");
        r.ExitCode.Should().Be(1, r.ToString());
        r.StdErrLines.Should().ContainSingle().Which.Should().StartWith("TasksFailed: ").And.Contain(c);
        // NDJSON: one compact finished task per line, nothing else.
        var lines = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var finished = lines.Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        finished.Select(t => (Str(t, "id"), Str(t, "status"))).Should().BeEquivalentTo(new[]
        {
            (a, "Succeeded"), (b, "Succeeded"), (c, "Failed"), (d, "Skipped"), (e, "Succeeded"), (low, "Succeeded"),
        });
        finished.Select(t => Str(t, "id")).Should().ContainInOrder(a, b, c);
        Str(finished.Single(t => Str(t, "id") == d), "error").Should().Contain(c);

        // Order: one at a time, each step of the chain as soon as it is ready; the Low task, ready from
        // the start, waits until no Normal task is ready.
        File.ReadAllLines(Log).Should().Equal("a", "b", "c", "e", "low");

        // A drained queue: nothing to do, exit 0; the summary line without --json.
        var again = await _ws.RunAsync("queue", "run");
        again.ExitCode.Should().Be(0, again.ToString());
        again.StdOut.Should().Contain("Queue drained");
    }

    [Fact]
    public async Task A_workflow_with_a_cycle_is_rejected_with_the_cycle_and_nothing_is_queued()
    {
        if (Skipped()) return;
        var file = Path.Combine(_ws.Root, "cycle.yaml");
        File.WriteAllText(file, """
            defaults: { profile: command }
            tasks:
              - name: a
                command: [true]
                depends_on: [c]
              - name: b
                command: [true]
                depends_on: [a]
              - name: c
                command: [true]
                depends_on: [b]
            """);
        var r = await _ws.RunAsync("workflow", "run", file, "--queue-only");
        r.ExitCode.Should().Be(2, r.ToString());
        r.StdOut.Should().BeEmpty();
        var line = r.StdErrLines.Should().ContainSingle().Which;
        line.Should().StartWith($"WorkflowInvalid: {file}:").And.MatchRegex(@"(a -> c -> b -> a|b -> a -> c -> b|c -> b -> a -> c)");

        File.WriteAllText(file, "tasks:\n  - name: a\n    prompt: [unclosed\n");
        var syntax = await _ws.RunAsync("workflow", "run", file);
        syntax.ExitCode.Should().Be(2, syntax.ToString());
        syntax.StdErrLines.Should().ContainSingle().Which.Should().MatchRegex($@"^WorkflowInvalid: {System.Text.RegularExpressions.Regex.Escape(file)}:\d+:\d+: ");
        (await _ws.JsonAsync("task", "list")).GetArrayLength().Should().Be(0);
    }

    [Fact]
    public async Task The_example_workflows_queue_with_queue_only()
    {
        if (Skipped()) return;
        var examples = Path.Combine(RepoRoot(), "examples", "workflows");
        var files = Directory.GetFiles(examples, "*.yaml").Concat(Directory.GetFiles(examples, "*.yml")).Order().ToList();
        files.Should().NotBeEmpty();
        var total = 0;
        foreach (var file in files)
        {
            // The examples run in environments created first (their comments say so): create every ticket they name.
            foreach (var ticket in System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(file), @"(?m)^\s*ticket:\s*([A-Za-z0-9][A-Za-z0-9._-]*)").Select(m => m.Groups[1].Value).Distinct())
                if ((await _ws.RunAsync("env", "get", ticket)).ExitCode != 0) await _ws.OkAsync("env", "new", ticket);
            var added = await _ws.JsonAsync("workflow", "run", file, "--queue-only");
            added.GetArrayLength().Should().BeGreaterThan(1, file);
            added.EnumerateArray().Select(t => Str(t, "status")).Should().OnlyContain(s => s == "Queued" || s == "Blocked");
            added.EnumerateArray().Should().Contain(t => t.GetProperty("dependsOn").GetArrayLength() > 0, "the examples have dependencies");
            total += added.GetArrayLength();
        }
        (await _ws.JsonAsync("task", "list")).GetArrayLength().Should().Be(total);
        (await _ws.JsonAsync("queue", "status")).GetProperty("running").GetBoolean().Should().BeFalse("--queue-only runs nothing");
        (await _ws.JsonAsync("agent", "list")).GetArrayLength().Should().Be(0);
    }

    [Fact]
    public async Task Queue_start_serves_detached_and_a_second_scheduler_is_refused_until_queue_stop()
    {
        if (Skipped()) return;
        await _ws.OkAsync("env", "new", "TQ-1");
        var started = await _ws.JsonAsync("queue", "start", "--max-parallel", "2");
        started.GetProperty("running").GetBoolean().Should().BeTrue(started.ToString());
        var pid = started.GetProperty("processId").GetInt32();
        var status = await _ws.JsonAsync("queue", "status");
        status.GetProperty("running").GetBoolean().Should().BeTrue();
        status.GetProperty("processId").GetInt32().Should().Be(pid);
        (await _ws.OkAsync("queue", "status")).StdOut.Should().Contain("running");

        // Tasks added now are run by the detached scheduler.
        var ids = new List<string>();
        for (var i = 0; i < 3; i++) ids.Add(Str(await AddAsync("t" + i), "id"));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            var tasks = await _ws.JsonAsync("task", "list");
            if (tasks.EnumerateArray().All(t => Str(t, "status") == "Succeeded")) break;
            await Task.Delay(200);
        }
        (await _ws.JsonAsync("task", "list")).EnumerateArray().Select(t => Str(t, "status")).Should().OnlyContain(s => s == "Succeeded");
        (await _ws.JsonAsync("queue", "status")).GetProperty("running").GetBoolean().Should().BeTrue("the detached scheduler keeps serving after the queue drained");

        // Only one scheduler per registry.
        var second = await _ws.RunAsync("queue", "run");
        second.ExitCode.Should().Be(1, second.ToString());
        second.StdErrLines.Should().ContainSingle().Which.Should().StartWith("SchedulerRunning: ");
        var secondStart = await _ws.RunAsync("queue", "start");
        secondStart.ExitCode.Should().Be(1, secondStart.ToString());
        secondStart.StdErrLines.Should().ContainSingle().Which.Should().StartWith("SchedulerRunning: ");

        var stopped = await _ws.JsonAsync("queue", "stop");
        stopped.GetProperty("running").GetBoolean().Should().BeFalse();
        (await _ws.JsonAsync("queue", "status")).GetProperty("running").GetBoolean().Should().BeFalse();
        var gone = DateTime.UtcNow.AddSeconds(60);
        while (Alive(pid) && DateTime.UtcNow < gone) await Task.Delay(100);
        Alive(pid).Should().BeFalse("the detached scheduler process ends when stopped");
        (await _ws.OkAsync("queue", "stop")).StdOut.Should().Contain("No scheduler was running.");
    }

    /// <summary>
    /// Issue 14 item 4 / issue 16: a start right after a stop, while the old scheduler process (and its
    /// supervisor shell) is still ending. The old supervisor's exit line must never land in the new
    /// scheduler's status file (the start then reported ProcessFailed and left the new scheduler running,
    /// orphaned), and at most one scheduler may serve. The stop returns once the lease is released, and
    /// the next start follows at once: the old process is still shutting down then.
    /// </summary>
    [Fact]
    public async Task Queue_start_right_after_a_stop_reports_the_new_scheduler_and_never_leaves_two()
    {
        if (Skipped()) return;
        var svc = SwarmService.Open(_ws.Home);
        // The same command line 'swarmps queue start' builds, through the same Core door.
        var args = new[] { CliProcess.DllPath, "queue", "run", "--max-parallel", "1", "--home", _ws.Home, "--keep-running" };
        var dirs = new HashSet<string>(StringComparer.Ordinal);
        Core.Tasks.SwarmQueueStatus? s = null;
        try
        {
            for (var round = 0; round < 10; round++)
            {
                try
                {
                    s = await svc.Queue.StartDetachedAsync(CliProcess.DotnetHost, args, TimeSpan.FromSeconds(120));
                }
                catch (SwarmException ex)
                {
                    throw new Xunit.Sdk.XunitException($"round {round}: the start failed right after a stop ({ex.ErrorId}: {ex.Message}); " +
                        $"scheduler processes alive: [{string.Join(", ", SchedulerPids(_ws.Home))}], lease holder: {svc.Queue.Status().Holder}");
                }
                s.Running.Should().BeTrue($"round {round}");
                var pid = s.ProcessId!.Value;
                Alive(pid).Should().BeTrue($"round {round}: the reported scheduler runs");
                svc.Queue.Status().Holder.Should().Be(s.Holder, $"round {round}: the started scheduler is the lease holder");
                // The status file the start read is the new scheduler's own: its command is the lease holder,
                // and no exit line (of an ending scheduler's supervisor) is in it.
                var state = new Core.Processes.Detached.DetachedProcess(s.LogDirectory!);
                state.ChildPid.Should().Be(pid, $"round {round}: {s.LogDirectory} belongs to the new scheduler");
                state.ExitCode.Should().BeNull($"round {round}: the new scheduler runs");
                dirs.Add(s.LogDirectory!).Should().BeTrue($"round {round}: each start has its own state directory");
                if (OperatingSystem.IsLinux())
                {
                    // The previous scheduler ends by itself (it released the lease); then exactly one is left.
                    var deadline = DateTime.UtcNow.AddSeconds(60);
                    while (SchedulerPids(_ws.Home).Count != 1 && DateTime.UtcNow < deadline) await Task.Delay(50);
                    SchedulerPids(_ws.Home).Should().Equal(new[] { pid }, $"round {round}: only the new scheduler runs");
                }
                (await svc.Queue.StopAsync(TimeSpan.FromSeconds(120))).Should().BeTrue($"round {round}");
                svc.Queue.Status().Running.Should().BeFalse();
            }

            // Old per-start directories whose supervisor is gone were cleaned by the later starts.
            var perStart = Directory.GetDirectories(Path.GetDirectoryName(s!.LogDirectory!)!);
            perStart.Length.Should().BeLessThanOrEqualTo(3, string.Join(", ", perStart));
            perStart.Should().Contain(s.LogDirectory!, "the last scheduler's logs stay");
            if (OperatingSystem.IsLinux())
            {
                var gone = DateTime.UtcNow.AddSeconds(60);
                while (SchedulerPids(_ws.Home).Count > 0 && DateTime.UtcNow < gone) await Task.Delay(100);
                SchedulerPids(_ws.Home).Should().BeEmpty("every stopped scheduler ends; none is left orphaned");
            }
        }
        finally
        {
            // A failed round may have left a scheduler without the lease (the defect): Dispose stops only the holder.
            if (OperatingSystem.IsLinux())
                foreach (var pid in SchedulerPids(_ws.Home))
                    try { using var p = Process.GetProcessById(pid); p.Kill(); } catch (ArgumentException) { } catch (InvalidOperationException) { }
        }
    }

    /// <summary>
    /// Two starts at once: both may see no scheduler and launch one. Exactly one start reports success,
    /// with its own process as the lease holder; the other reports SchedulerRunning (never success for a
    /// scheduler it did not start, never ProcessFailed), and its process ends by itself.
    /// </summary>
    [Fact]
    public async Task Two_concurrent_queue_starts_give_one_scheduler_and_one_SchedulerRunning()
    {
        if (Skipped()) return;
        var svc = SwarmService.Open(_ws.Home);
        var args = new[] { CliProcess.DllPath, "queue", "run", "--max-parallel", "1", "--home", _ws.Home, "--keep-running" };
        try
        {
            for (var round = 0; round < 3; round++)
            {
                async Task<object> StartAsync()
                {
                    try { return await SwarmService.Open(_ws.Home).Queue.StartDetachedAsync(CliProcess.DotnetHost, args, TimeSpan.FromSeconds(120)); }
                    catch (SwarmException ex) { return ex; }
                }
                var results = await Task.WhenAll(Task.Run(StartAsync), Task.Run(StartAsync));
                var report = string.Join(" | ", results.Select(r => r is SwarmException e ? $"{e.ErrorId}: {e.Message}" : $"started {((Core.Tasks.SwarmQueueStatus)r).Holder}"));
                var started = results.OfType<Core.Tasks.SwarmQueueStatus>().ToList();
                started.Should().ContainSingle($"round {round}: {report}");
                results.OfType<SwarmException>().Should().ContainSingle($"round {round}: {report}").Which.ErrorId.Should().Be(ErrorIds.SchedulerRunning, report);
                var s = started[0];
                svc.Queue.Status().Holder.Should().Be(s.Holder, report);
                new Core.Processes.Detached.DetachedProcess(s.LogDirectory!).ChildPid.Should().Be(s.ProcessId, "the winner's own state folder names its process");
                if (OperatingSystem.IsLinux())
                {
                    // The loser's process (if it was launched) ends by itself: it has no lease.
                    var deadline = DateTime.UtcNow.AddSeconds(60);
                    while (SchedulerPids(_ws.Home).Count != 1 && DateTime.UtcNow < deadline) await Task.Delay(50);
                    SchedulerPids(_ws.Home).Should().Equal(new[] { s.ProcessId!.Value }, $"round {round}: one scheduler runs");
                }
                (await svc.Queue.StopAsync(TimeSpan.FromSeconds(120))).Should().BeTrue();
            }
        }
        finally
        {
            if (OperatingSystem.IsLinux())
                foreach (var pid in SchedulerPids(_ws.Home))
                    try { using var p = Process.GetProcessById(pid); p.Kill(); } catch (ArgumentException) { } catch (InvalidOperationException) { }
        }
    }

    /// <summary>Live (not zombie) scheduler processes: a 'queue run' on <paramref name="home"/>, not its supervisor shell (Linux /proc).</summary>
    private static List<int> SchedulerPids(string home)
    {
        var pids = new List<int>();
        foreach (var d in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(d), out var pid)) continue;
            try
            {
                var argv = File.ReadAllText(Path.Combine(d, "cmdline")).Split('\0');
                var run = Array.IndexOf(argv, "queue");
                if (run < 0 || run + 1 >= argv.Length || argv[run + 1] != "run" || !argv.Contains(home)) continue;
                // The supervisor shell carries the command line as its arguments.
                if (argv.Contains("swarmps-supervisor")) continue;
                var stat = File.ReadAllText(Path.Combine(d, "stat"));
                if (stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z')) continue;
                pids.Add(pid);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return pids;
    }

    [Fact]
    public async Task Events_follow_json_streams_ndjson_while_another_process_adds_a_task()
    {
        if (Skipped()) return;
        await _ws.OkAsync("env", "new", "TQ-1");
        var psi = CliProcess.StartInfo(new[] { "--home", _ws.Home, "events", "--follow", "--json", "--kind", "task" }, _ws.Repo,
            new Dictionary<string, string?>(_ws.Environment) { ["SWARMPS_HOME"] = Path.Combine(_ws.Root, "stray-home") });
        var p = Process.Start(psi)!;
        _started.Add(p);
        p.StandardInput.Close();
        var stderr = p.StandardError.ReadToEndAsync();
        await Task.Delay(1500);
        p.HasExited.Should().BeFalse("--follow keeps running");

        var added = Str(await AddAsync("watched"), "id");
        await _ws.OkAsync("task", "cancel", added);

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var events = new List<JsonElement>();
        while (events.Count < 2)
        {
            var line = await p.StandardOutput.ReadLineAsync(cts.Token);
            line.Should().NotBeNull("the stream stays open; stderr: " + (p.HasExited ? await stderr : ""));
            line!.Should().NotContain("\n").And.StartWith("{");
            events.Add(JsonDocument.Parse(line!).RootElement.Clone());
        }
        p.Kill(entireProcessTree: true);
        events.Select(e => Str(e, "kind")).Should().OnlyContain(k => k == "task");
        events.Select(e => Str(e, "subject")).Should().OnlyContain(s => s == added);
        events.Select(e => e.GetProperty("newStatus").GetString()).Should().Equal("Queued", "Cancelled");
        events[1].GetProperty("id").GetInt64().Should().BeGreaterThan(events[0].GetProperty("id").GetInt64());
        foreach (var field in new[] { "id", "time", "kind", "subject", "oldStatus", "newStatus", "details" })
            events[0].TryGetProperty(field, out _).Should().BeTrue($"an event must carry '{field}'");

        // Without --follow: an array, filtered by kind and time.
        var all = await _ws.JsonAsync("events", "--kind", "task");
        all.EnumerateArray().Select(e => e.GetProperty("id").GetInt64()).Should().Equal(events.Select(e => e.GetProperty("id").GetInt64()));
        (await _ws.JsonAsync("events", "--since", DateTimeOffset.UtcNow.AddHours(1).ToString("O"))).GetArrayLength().Should().Be(0);
        (await _ws.JsonAsync("events", "--kind", "environment,task")).GetArrayLength().Should().BeGreaterThan(2);
        await ExpectError(2, "InvalidArgument", "events", "--kind", "weather");
        await ExpectError(2, "Usage", "events", "--since", "yesterday-ish");
    }

    private static bool Alive(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SwarmPS.slnx"))) return dir.FullName;
        // Built under an --artifacts-path outside the repository: the source tree of this file.
        return Path.GetFullPath(Path.Combine(ThisDirectory(), "..", ".."));
    }

    private static string ThisDirectory([System.Runtime.CompilerServices.CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
