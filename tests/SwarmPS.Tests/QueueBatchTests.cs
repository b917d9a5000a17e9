using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Agents;
using SwarmPS.Core.Processes.Detached;
using SwarmPS.Core.Providers;
using SwarmPS.Core.Registry;
using SwarmPS.Core.Tasks;
using SwarmPS.Tests.Support;
using Xunit;

namespace SwarmPS.Tests;

/// <summary>
/// The scheduler's batched path (tasks whose environment exists): claims, agent rows and runs
/// recorded together before any process starts, completions recorded together, ends seen through
/// the supervisors' exits instead of polling, and recovery when a scheduler dies between the steps.
/// </summary>
public class QueueBatchTests : IDisposable
{
    private const string Ticket = "BATCH-1";
    private readonly TempRepo _r = new();
    private readonly SwarmService _svc;

    public QueueBatchTests()
    {
        _svc = new SwarmService(new SwarmHome(_r.Home), new SwarmConfig());
        if (!Skip) Sync.Run(_svc.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = Ticket, RepositoryPath = _r.Repo }));
    }

    public void Dispose()
    {
        foreach (var a in _svc.Registry.ListAgents().Where(a => !a.IsTerminal))
            try { Sync.Run(_svc.Agents.StopAsync(a.Id)); } catch (SwarmException) { }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _r.Dispose();
    }

    private static bool Skip => OperatingSystem.IsWindows();

    private static TaskSpec Cmd(string name, string script, params string[] deps) => new()
    {
        Name = name, Title = name, Prompt = name, Profile = "command", Command = new() { "sh", "-c", script }, DependsOn = deps.ToList(),
        Ticket = Ticket, RetryBackoffSeconds = 0,
    };

    [Fact]
    public void Tasks_in_an_existing_environment_are_claimed_started_and_completed_in_batches_with_every_transition_in_order()
    {
        if (Skip) return;
        var log = Path.Combine(_r.Root, "order.log");
        var specs = Enumerable.Range(0, 6).Select(i => Cmd("w" + i, $"echo w{i} >> '{log}'")).ToList();
        specs.Add(Cmd("after", $"echo after >> '{log}'", specs.Select(s => s.Name!).ToArray()));
        specs.Add(Cmd("bad", "exit 3"));
        specs.Add(Cmd("skipped", "true", "bad"));
        var added = _svc.Tasks.Add(specs);
        var scheduler = new QueueScheduler(_svc);
        var summary = Sync.Run(scheduler.RunAsync(new SchedulerOptions { MaxParallel = 4, PollInterval = TimeSpan.FromMilliseconds(50) }));
        summary.Drained.Should().BeTrue();
        File.ReadAllLines(log).Last().Should().Be("after", "a dependent starts only after all its dependencies succeeded");

        var byName = added.ToDictionary(t => t.Title, t => _svc.Tasks.Get(t.Id));
        byName["bad"].Status.Should().Be(SwarmTaskStatus.Failed);
        byName["bad"].Error.Should().Contain("exit");
        byName["skipped"].Status.Should().Be(SwarmTaskStatus.Skipped);
        var events = _svc.Registry.ListEvents();
        foreach (var t in byName.Values.Where(t => t.Title != "bad" && t.Title != "skipped"))
        {
            t.Status.Should().Be(SwarmTaskStatus.Succeeded);
            var agentId = t.AgentIds.Should().ContainSingle().Subject;
            var agent = _svc.Agents.Get(agentId);
            agent.Status.Should().Be(AgentStatus.Succeeded);
            // Started through the scheduler's shared supervisor (Linux): the agent's own supervising
            // subshell names itself in the status line; elsewhere the launcher's pid is recorded.
            if (ShSharedSupervisor.IsSupported) new DetachedProcess(agent.RunDirectory(1)).Pid.Should().NotBeNull().And.NotBe(Environment.ProcessId);
            else agent.Supervisor.Should().NotBeNull("the supervisor is recorded after the launch");
            agent.Pid.Should().NotBeNull();
            _svc.Agents.GetRuns(agentId).Should().ContainSingle(r => r.Status == AgentStatus.Succeeded && r.ExitCode == 0);
            // Claim, agent row, agent end, task end: each committed, in this order.
            long Id(string kind, string subject, string? from, string to) =>
                events.Single(e => e.Kind == kind && e.Subject == subject && e.OldStatus == from && e.NewStatus == to).Id;
            var claim = Id(EventKinds.Task, t.Id, "Queued", "Running");
            var created = Id(EventKinds.Agent, agentId, null, "Starting");
            var agentEnd = events.Single(e => e.Kind == EventKinds.Agent && e.Subject == agentId && e.NewStatus == "Succeeded").Id;
            var taskEnd = Id(EventKinds.Task, t.Id, "Running", "Succeeded");
            claim.Should().BeLessThan(created);
            created.Should().BeLessThan(agentEnd);
            agentEnd.Should().BeLessThan(taskEnd);
        }
        scheduler.ExitWakeups.Should().BeGreaterThan(0, "the supervisors' exits wake the scheduler");
        if (ShSharedSupervisor.IsSupported) scheduler.SupervisorProcessesStarted.Should().Be(1, "one supervisor shell for the whole run, not one per agent");
    }

    private sealed class Reports : IProgress<SwarmProgress>
    {
        public List<SwarmProgress> All { get; } = new();
        public void Report(SwarmProgress value) { lock (All) All.Add(value); }
    }

    [Fact]
    public void Progress_shows_the_counts_per_status_at_most_every_100_ms_and_ends_with_all_of_them_done()
    {
        if (Skip) return;
        _svc.Tasks.Add(Enumerable.Range(0, 30).Select(i => Cmd("p" + i, "true")).Append(Cmd("slow", "sleep 1")).ToList());
        var reports = new Reports();
        var summary = Sync.Run(new QueueScheduler(_svc).RunAsync(new SchedulerOptions { MaxParallel = 4, PollInterval = TimeSpan.FromMilliseconds(20), Progress = reports }));
        summary.Drained.Should().BeTrue();
        var counted = reports.All.Where(r => !r.Completed).ToList();
        counted.Should().NotBeEmpty();
        counted.Count.Should().BeLessThan((int)(summary.Duration.TotalMilliseconds / 100) + 3, "the counts are read at most every 100 ms, plus the last one");
        counted[^1].Status.Should().Be("Succeeded 31");
        counted[^1].PercentComplete.Should().Be(100);
        reports.All[^1].Completed.Should().BeTrue();
        reports.All[^1].Status.Should().Be("drained");
    }

    [Fact]
    public void With_one_supervisor_per_agent_instead_of_the_shared_one_the_same_queue_gives_the_same_result()
    {
        if (Skip) return;
        var added = _svc.Tasks.Add(new[] { Cmd("a", "echo a"), Cmd("b", "exit 2"), Cmd("c", "true", "a") });
        var scheduler = new QueueScheduler(_svc);
        Sync.Run(scheduler.RunAsync(new SchedulerOptions { MaxParallel = 2, PollInterval = TimeSpan.FromMilliseconds(50), SharedSupervisor = false })).Drained.Should().BeTrue();
        scheduler.SupervisorProcessesStarted.Should().Be(0);
        added.Select(t => _svc.Tasks.Get(t.Id).Status).Should().Equal(SwarmTaskStatus.Succeeded, SwarmTaskStatus.Failed, SwarmTaskStatus.Succeeded);
        var agent = _svc.Agents.Get(_svc.Tasks.Get(added[0].Id).AgentIds.Single());
        agent.Supervisor.Should().NotBeNull("a per-agent supervisor is recorded at its launch");
    }

    [Fact]
    public void A_stopped_scheduler_leaves_its_running_agents_running_and_the_next_one_adopts_them()
    {
        if (Skip) return;
        var marker = Path.Combine(_r.Root, "finished");
        var started = Path.Combine(_r.Root, "started");
        var go = Path.Combine(_r.Root, "go");
        // The agent runs until the test lets it go: it is still running when the scheduler stops, whatever the load.
        var added = _svc.Tasks.Add(new[] { Cmd("long", $"touch '{started}'; while [ ! -e '{go}' ]; do sleep 0.05; done; touch '{marker}'") });
        using (var cts = new CancellationTokenSource())
        {
            var run = new QueueScheduler(_svc).RunAsync(new SchedulerOptions { MaxParallel = 1, PollInterval = TimeSpan.FromMilliseconds(50) }, cts.Token);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!File.Exists(started) && DateTime.UtcNow < deadline) Thread.Sleep(10);
            File.Exists(started).Should().BeTrue("the agent started (waited 60 s)");
            cts.Cancel(); // Ctrl+C: dispatching stops, the supervisor shell is let go
            Sync.Run(run).Drained.Should().BeFalse();
        }
        _svc.Tasks.Get(added[0].Id).Status.Should().Be(SwarmTaskStatus.Running);
        var agentId = _svc.Tasks.Get(added[0].Id).AgentIds.Single();
        File.WriteAllText(go, "");
        Sync.Run(new DetachedProcess(_svc.Registry.GetAgent(agentId)!.RunDirectory(1)).WaitForExitAsync(TimeSpan.FromSeconds(90))).Should().Be(0);
        File.Exists(marker).Should().BeTrue("the agent outlived the scheduler that started it");

        Sync.Run(new QueueScheduler(_svc).RunAsync(new SchedulerOptions { MaxParallel = 1, PollInterval = TimeSpan.FromMilliseconds(50) })).Drained.Should().BeTrue();
        var done = _svc.Tasks.Get(added[0].Id);
        done.Status.Should().Be(SwarmTaskStatus.Succeeded, "the next scheduler adopts the agent and records its end");
        done.Attempts.Should().Be(1);
        _svc.Agents.Get(agentId).Status.Should().Be(AgentStatus.Succeeded);
    }

    [Fact]
    public void An_agent_whose_supervising_process_is_killed_is_lost_and_its_task_retried()
    {
        if (Skip) return;
        var attempt = Path.Combine(_r.Root, "attempted");
        var victim = Cmd("victim", $"if [ -e '{attempt}' ]; then exit 0; fi; touch '{attempt}'; sleep 60");
        victim.MaxAttempts = 2;
        var added = _svc.Tasks.Add(new[] { victim });
        var run = new QueueScheduler(_svc).RunAsync(new SchedulerOptions { MaxParallel = 1, PollInterval = TimeSpan.FromMilliseconds(50) });
        DetachedProcess? first = null;
        for (var i = 0; i < 6000 && first?.ChildPid is null; i++) // up to 60 s on a loaded machine
        {
            Thread.Sleep(10);
            if (_svc.Tasks.Get(added[0].Id).AgentIds.FirstOrDefault() is { } id) first = new DetachedProcess(_svc.Registry.GetAgent(id)!.RunDirectory(1));
        }
        first!.ChildPid.Should().NotBeNull();
        // Kill the supervising process first, then the command: no exit code is ever written.
        System.Diagnostics.Process.GetProcessById(first.Pid!.Value).Kill();
        System.Diagnostics.Process.GetProcessById(first.ChildPid!.Value).Kill();
        Sync.Run(run).Drained.Should().BeTrue();

        var task = _svc.Tasks.Get(added[0].Id);
        task.Status.Should().Be(SwarmTaskStatus.Succeeded, "the lost attempt is retried under the task's policy");
        task.Attempts.Should().Be(2);
        _svc.Agents.Get(task.AgentIds[0]).Status.Should().Be(AgentStatus.Lost);
    }

    [Fact]
    public void An_agent_that_ends_wakes_the_scheduler_without_waiting_for_the_poll_interval()
    {
        if (Skip) return;
        _svc.Tasks.Add(new[] { Cmd("a", "sleep 1"), Cmd("b", "sleep 1"), Cmd("c", "true", "a", "b") });
        var scheduler = new QueueScheduler(_svc);
        // With only its own agents running, the scheduler sleeps for the whole poll interval (at most
        // until the lease's renewal, 10 s) unless an exit wakes it: polling alone would take at least
        // 10 s per step here, two steps.
        var summary = Sync.Run(scheduler.RunAsync(new SchedulerOptions { MaxParallel = 2, PollInterval = TimeSpan.FromSeconds(60) }));
        summary.Drained.Should().BeTrue();
        summary.Counts[SwarmTaskStatus.Succeeded].Should().Be(3);
        scheduler.ExitWakeups.Should().Be(3);
        scheduler.WokenByExit.Should().BeGreaterThan(0, "an idle wait ended because a supervisor exited");
    }

    /// <summary>What the batched dispatch commits before launching: the claim with the agent row and run.</summary>
    private AgentService.PreparedStart ClaimLikeTheScheduler(SwarmTask t)
    {
        var p = _svc.Agents.PrepareStart(new AgentStartRequest { Ticket = Ticket, Profile = t.Profile, Prompt = t.Prompt, Command = t.Command, WaitForRunning = false });
        _svc.Registry.Write(c =>
        {
            var running = t with { Status = SwarmTaskStatus.Running, Attempts = 1, StartedAt = DateTimeOffset.UtcNow, AgentIds = new[] { p.Agent.Id } };
            _svc.Registry.UpdateTask(c, running, SwarmTaskStatus.Queued).Should().BeTrue();
            AgentService.RecordPrepared(c, p);
            return 0;
        });
        return p;
    }

    private void Backdate(string agentId, TimeSpan by) => _svc.Registry.Write(c =>
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = "UPDATE agents SET updated_at = $u WHERE id = $id";
        cmd.Parameters.AddWithValue("$u", SwarmRegistry.Time(DateTimeOffset.UtcNow - by));
        cmd.Parameters.AddWithValue("$id", agentId);
        return cmd.ExecuteNonQuery();
    });

    [Fact]
    public void A_scheduler_that_died_between_the_batched_claim_and_the_launch_is_recovered_by_the_next()
    {
        if (Skip) return;
        var never = Cmd("never", "true");
        never.MaxAttempts = 2;
        var added = _svc.Tasks.Add(new[] { never, Cmd("unrecorded", "sleep 3") });

        // "never": claimed with its agent row, then the scheduler died before launching it.
        var p1 = ClaimLikeTheScheduler(added[0]);
        // "unrecorded": launched, then the scheduler died before recording the supervisor.
        var p2 = ClaimLikeTheScheduler(added[1]);
        _svc.Agents.Launch(p2);
        p2.LaunchError.Should().BeNull();
        // The supervisor names itself in its status line a few milliseconds after the start. A next
        // scheduler runs only once the dead one's lease has expired (seconds later), and an agent
        // younger than the launch grace is left alone; the backdating below skips both, so wait here.
        var fromFiles = new DetachedProcess(p2.Spec.StateDirectory);
        for (var i = 0; i < 6000 && fromFiles.Pid is null; i++) Thread.Sleep(10); // up to 60 s on a loaded machine
        fromFiles.Pid.Should().Be(p2.Handle!.StartedPid);
        // Both look older than a launch can take.
        Backdate(p1.Agent.Id, TimeSpan.FromMinutes(2));
        Backdate(p2.Agent.Id, TimeSpan.FromMinutes(2));

        var summary = Sync.Run(new QueueScheduler(_svc).RunAsync(new SchedulerOptions { MaxParallel = 2, PollInterval = TimeSpan.FromMilliseconds(50) }));
        summary.Drained.Should().BeTrue();

        var retried = _svc.Tasks.Get(added[0].Id);
        retried.Status.Should().Be(SwarmTaskStatus.Succeeded, "the lost attempt is retried under the task's policy");
        retried.Attempts.Should().Be(2);
        retried.AgentIds.Should().HaveCount(2);
        _svc.Agents.Get(p1.Agent.Id).Status.Should().Be(AgentStatus.Lost);

        var adopted = _svc.Tasks.Get(added[1].Id);
        adopted.Status.Should().Be(SwarmTaskStatus.Succeeded, "the running supervisor is found through its status line and adopted");
        adopted.AgentIds.Should().ContainSingle().Which.Should().Be(p2.Agent.Id);
        adopted.Attempts.Should().Be(1);
    }

    [Fact]
    public void A_task_cancelled_between_the_claim_and_the_launch_does_not_run()
    {
        if (Skip) return;
        var marker = Path.Combine(_r.Root, "ran");
        var added = _svc.Tasks.Add(new[] { Cmd("x", $"sleep 3; touch '{marker}'") });
        var p = ClaimLikeTheScheduler(added[0]);
        // Cancelled by someone else after the claim was committed, before the launch.
        Sync.Run(_svc.Tasks.CancelAsync(added[0].Id)).Status.Should().Be(SwarmTaskStatus.Cancelled);
        _svc.Agents.Get(p.Agent.Id).Status.Should().Be(AgentStatus.Stopped);
        // What the scheduler does next: launch, fail to record (the agent is no longer Starting), kill it.
        _svc.Agents.Launch(p);
        _svc.Registry.Write(c => AgentService.RecordLaunched(c, p)).Should().BeFalse();
        Sync.Run(_svc.Agents.KillLaunchedAsync(p));
        Sync.Run(p.Handle!.WaitForExitAsync(TimeSpan.FromSeconds(90)));
        Thread.Sleep(3500);
        File.Exists(marker).Should().BeFalse("the command was killed before it could do anything");
        _svc.Agents.Get(p.Agent.Id).Status.Should().Be(AgentStatus.Stopped);
        _svc.Tasks.Get(added[0].Id).Status.Should().Be(SwarmTaskStatus.Cancelled);
    }

    [Fact]
    public void After_a_shared_supervisor_launch_one_read_finds_exactly_the_tasks_cancelled_since_the_claim()
    {
        if (Skip) return;
        var added = _svc.Tasks.Add(new[] { Cmd("keep", "true"), Cmd("cancel", "true"), Cmd("stop", "true") });
        var claimed = added.Select(t => (Task: _svc.Tasks.Get(t.Id), Start: ClaimLikeTheScheduler(t))).ToList();
        _svc.Registry.Read(c => QueueScheduler.Cancelled(c, claimed)).Should().BeEmpty("nothing changed since the claim");

        Sync.Run(_svc.Tasks.CancelAsync(added[1].Id)); // the task is Cancelled (and its agent Stopped)
        Sync.Run(_svc.Agents.StopAsync(claimed[2].Start.Agent.Id)); // only the agent was stopped
        _svc.Registry.Read(c => QueueScheduler.Cancelled(c, claimed)).Select(p => p.Agent.Id)
            .Should().BeEquivalentTo(new[] { claimed[1].Start.Agent.Id, claimed[2].Start.Agent.Id });
    }

    [Fact]
    public void A_task_agent_is_one_directory_of_four_files_and_an_agent_in_the_older_runs_layout_is_still_read()
    {
        if (Skip) return;
        var added = _svc.Tasks.Add(new[] { Cmd("one", "echo hello; echo oops >&2") });
        Sync.Run(new QueueScheduler(_svc).RunAsync(new SchedulerOptions { MaxParallel = 2, PollInterval = TimeSpan.FromMilliseconds(50) })).Drained.Should().BeTrue();
        var agent = _svc.Agents.Get(_svc.Tasks.Get(added[0].Id).AgentIds.Single());
        agent.Status.Should().Be(AgentStatus.Succeeded);
        agent.RunDirectory(1).Should().Be(agent.Directory, "the first run's files are in the agent's directory");
        Directory.GetDirectories(agent.Directory).Should().BeEmpty();
        Directory.GetFiles(agent.Directory).Select(Path.GetFileName).Should().BeEquivalentTo(
            new[] { AgentService.PromptFileName, "stdout.log", "stderr.log", "status" },
            "the prompt (SWARM_PROMPT_FILE), the logs and the supervisor's status: nothing else (the command is in the task's row)");
        if (!OperatingSystem.IsWindows())
            File.GetUnixFileMode(Path.Combine(agent.Directory, AgentService.PromptFileName)).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _svc.Agents.ReadOutput(agent.Id, raw: true).Select(o => (o.Stream, o.Text)).Should().Equal(("stdout", "hello"), ("stderr", "oops"));

        // An agent written by an earlier version: runs/1 with pid, child.pid and exit.
        var old = Directory.CreateDirectory(Path.Combine(agent.Directory, "runs", "1")).FullName;
        File.WriteAllText(Path.Combine(old, "stdout.log"), "from before\n");
        File.WriteAllText(Path.Combine(old, "stderr.log"), "");
        File.WriteAllText(Path.Combine(old, "exit"), "0\n");
        agent.RunDirectory(1).Should().Be(old);
        _svc.Agents.ReadOutput(agent.Id, raw: true).Select(o => o.Text).Should().Equal("from before");
        DetachedProcess.ExitRecorded(agent.RunDirectory(1)).Should().BeTrue();
    }

    [Fact]
    public void A_follow_up_to_a_task_agent_runs_the_tasks_command_and_still_does_after_the_task_is_removed()
    {
        if (Skip) return;
        var count = Path.Combine(_r.Root, "count");
        var added = _svc.Tasks.Add(new[] { Cmd("again", $"echo run >> '{count}'; cat") });
        Sync.Run(new QueueScheduler(_svc).RunAsync(new SchedulerOptions { MaxParallel = 1, PollInterval = TimeSpan.FromMilliseconds(50) })).Drained.Should().BeTrue();
        var agentId = _svc.Tasks.Get(added[0].Id).AgentIds.Single();
        var dir = _svc.Agents.Get(agentId).Directory;
        File.Exists(Path.Combine(dir, AgentService.CommandFileName)).Should().BeFalse("the task's row keeps the command");

        Sync.Run(_svc.Agents.SendAsync(agentId, "second prompt"));
        Sync.Run(_svc.Agents.WaitAsync(new[] { agentId }, TimeSpan.FromSeconds(90), false, null));
        _svc.Agents.Get(agentId).Status.Should().Be(AgentStatus.Succeeded);
        File.ReadAllLines(count).Should().HaveCount(2, "the follow-up ran the task's command again");

        _svc.Tasks.Remove(added[0].Id);
        File.ReadAllText(Path.Combine(dir, AgentService.CommandFileName)).Should().Contain("echo run", "removing the task leaves its command with its agents");
        Sync.Run(_svc.Agents.SendAsync(agentId, "third prompt"));
        Sync.Run(_svc.Agents.WaitAsync(new[] { agentId }, TimeSpan.FromSeconds(90), false, null));
        File.ReadAllLines(count).Should().HaveCount(3);
        _svc.Agents.ReadOutput(agentId, run: 3, raw: true).Select(o => o.Text).Should().Contain("third prompt");
    }

    [Fact]
    public void The_sh_supervisor_writes_only_its_files_as_whole_lines_and_reports_its_exit_without_polling()
    {
        if (Skip) return;
        var dir = Path.Combine(_r.Root, "state");
        var handle = new ShDetachedLauncher().Start(new DetachedProcessSpec("sh", new[] { "-c", "echo out; echo err >&2; nosuchcommand-xyz; exit 3" }, dir));
        handle.Exited.Should().NotBeNull("the launcher keeps the supervisor's process object");
        handle.Exited!.Wait(TimeSpan.FromSeconds(90)).Should().BeTrue();
        // The status file is complete when the supervisor has ended: the child and supervisor pids, then the exit code.
        handle.ExitCode.Should().Be(3);
        var lines = File.ReadAllText(handle.StatusFile).Split('\n');
        lines.Should().HaveCount(3, "two whole lines");
        lines[0].Should().Be($"{handle.ChildPid} {handle.StartedPid}");
        lines[1].Should().Be("3");
        lines[2].Should().BeEmpty();
        File.ReadAllText(handle.StdoutFile).Should().Be("out\n");
        File.ReadAllText(handle.StderrFile).Should().Contain("err").And.Contain("nosuchcommand-xyz");
        Directory.GetFiles(dir).Select(Path.GetFileName).Should().BeEquivalentTo(
            new[] { "status", "stdout.log", "stderr.log" }, "one status file and the two logs, nothing else (each file is an inode to allocate)");
        var fromFiles = new DetachedProcess(dir);
        fromFiles.Pid.Should().Be(handle.StartedPid, "a process that finds the directory alone reads the supervisor from the status line");
        fromFiles.ChildPid.Should().Be(handle.ChildPid);
        DetachedProcess.ExitRecorded(dir).Should().BeTrue();

        // A line without its newline is a write still in progress: not a value yet.
        var child = handle.ChildPid!.Value;
        File.WriteAllText(handle.StatusFile, $"{child} 1");
        new DetachedProcess(dir).ChildPid.Should().BeNull();
        new DetachedProcess(dir).Pid.Should().BeNull();
        File.WriteAllText(handle.StatusFile, $"{child} 1\n12");
        new DetachedProcess(dir).ChildPid.Should().Be(child);
        new DetachedProcess(dir).ExitCode.Should().BeNull();
        DetachedProcess.ExitRecorded(dir).Should().BeFalse();
        File.WriteAllText(handle.StatusFile, $"{child} 1\n127\n");
        new DetachedProcess(dir).ExitCode.Should().Be(127);
        new DetachedProcess(dir).Pid.Should().Be(1);
        DetachedProcess.ExitRecorded(dir).Should().BeTrue();
        // A state directory from before the status file (or Windows): pid, child.pid, exit.
        File.Delete(handle.StatusFile);
        File.WriteAllText(Path.Combine(dir, "pid"), "42");
        File.WriteAllText(Path.Combine(dir, "child.pid"), "43\n");
        File.WriteAllText(Path.Combine(dir, "exit"), "5\n");
        new DetachedProcess(dir).Pid.Should().Be(42);
        new DetachedProcess(dir).ChildPid.Should().Be(43);
        new DetachedProcess(dir).ExitCode.Should().Be(5);
        DetachedProcess.ExitRecorded(dir).Should().BeTrue();
        new DetachedProcess(dir).Exited.Should().BeNull("a handle made from the directory alone cannot wait without polling");
    }
}
