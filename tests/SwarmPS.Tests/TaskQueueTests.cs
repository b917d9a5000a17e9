using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Agents;
using SwarmPS.Core.Providers;
using SwarmPS.Core.Tasks;
using SwarmPS.Tests.Support;
using Xunit;

namespace SwarmPS.Tests;

public class TaskQueueTests : IDisposable
{
    private readonly TempRepo _r = new();
    private readonly SwarmService _svc;

    public TaskQueueTests()
    {
        _ = FakeAgents.Dir;
        _svc = new SwarmService(new SwarmHome(_r.Home), new SwarmConfig());
    }

    public void Dispose()
    {
        foreach (var a in _svc.Registry.ListAgents().Where(a => !a.IsTerminal))
            try { Sync.Run(_svc.Agents.StopAsync(a.Id)); } catch (SwarmException) { }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _r.Dispose();
    }

    private static bool Skip => OperatingSystem.IsWindows();

    private TaskSpec Cmd(string name, string script, params string[] deps) => new()
    {
        Name = name, Title = name, Prompt = name, Profile = "command", Command = new() { "sh", "-c", script }, DependsOn = deps.ToList(),
        RepositoryPath = _r.Repo, Cleanup = EnvironmentCleanup.Remove, RetryBackoffSeconds = 0,
    };

    private QueueRunSummary RunQueue(int parallel = 4, List<SwarmTask>? finished = null, CancellationToken ct = default) =>
        Sync.Run(new QueueScheduler(_svc).RunAsync(new SchedulerOptions
        {
            MaxParallel = parallel, PollInterval = TimeSpan.FromMilliseconds(20), OnTaskFinished = t => finished?.Add(t),
        }, ct));

    [Fact]
    public void Unknown_dependencies_and_cycles_are_rejected_and_nothing_is_added()
    {
        var unknown = () => _svc.Tasks.Add(new[] { Cmd("a", "true", "nope") });
        unknown.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.TaskNotFound);
        var cycle = () => _svc.Tasks.Add(new[] { Cmd("a", "true", "c"), Cmd("b", "true", "a"), Cmd("c", "true", "b"), Cmd("d", "true") });
        var ex = cycle.Should().Throw<SwarmException>().Which;
        ex.ErrorId.Should().Be(ErrorIds.DependencyCycle);
        ex.Message.Should().Contain("a -> c -> b -> a");
        var self = () => _svc.Tasks.Add(new[] { Cmd("a", "true", "a") });
        self.Should().Throw<SwarmException>();
        _svc.Tasks.List().Should().BeEmpty("a batch is all or nothing");
    }

    [Fact]
    public void Adding_sets_blocked_or_queued_from_dependencies_and_validates_input()
    {
        var added = _svc.Tasks.Add(new[] { Cmd("schema", "true"), Cmd("api", "true", "schema") });
        added[0].Status.Should().Be(SwarmTaskStatus.Queued);
        added[1].Status.Should().Be(SwarmTaskStatus.Blocked);
        added[1].DependsOn.Should().Equal(added[0].Id);
        added[0].Id.Should().MatchRegex("^t-[0-9a-f]{8}-schema$");
        // Existing ids work as dependencies of a later batch.
        _svc.Tasks.Add(new[] { Cmd("docs", "true", added[1].Id) })[0].Status.Should().Be(SwarmTaskStatus.Blocked);
        var noCommand = () => _svc.Tasks.Add(new[] { new TaskSpec { Title = "x", Prompt = "x", Profile = "command" } });
        noCommand.Should().Throw<SwarmException>().Which.Kind.Should().Be(SwarmErrorKind.InvalidArgument);
        var badProfile = () => _svc.Tasks.Add(new[] { new TaskSpec { Title = "x", Prompt = "x", Profile = "nope" } });
        badProfile.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.ProfileNotFound);
        var badName = () => _svc.Tasks.Add(new[] { Cmd("../x", "true") });
        badName.Should().Throw<SwarmException>().Which.Kind.Should().Be(SwarmErrorKind.InvalidArgument);
    }

    [Fact]
    public void Priority_decides_dispatch_order_and_age_breaks_ties()
    {
        if (Skip) return;
        var log = Path.Combine(_r.Root, "order.log");
        var specs = new List<TaskSpec>();
        foreach (var (name, prio) in new[] { ("low1", TaskPriority.Low), ("norm1", TaskPriority.Normal), ("crit1", TaskPriority.Critical), ("high1", TaskPriority.High), ("norm2", TaskPriority.Normal), ("crit2", TaskPriority.Critical) })
        {
            var s = Cmd(name, $"echo {name} >> '{log}'");
            s.Priority = prio;
            specs.Add(s);
        }
        _svc.Tasks.Add(specs);
        var summary = RunQueue(parallel: 1);
        summary.Drained.Should().BeTrue();
        File.ReadAllLines(log).Should().Equal("crit1", "crit2", "high1", "norm1", "norm2", "low1");
        _svc.Tasks.List().Should().OnlyContain(t => t.Status == SwarmTaskStatus.Succeeded);
    }

    [Fact]
    public void Dependencies_run_in_order_and_a_failure_skips_dependents_so_nothing_waits_forever()
    {
        if (Skip) return;
        var log = Path.Combine(_r.Root, "deps.log");
        var a = Cmd("a", $"echo a >> '{log}'");
        var b = Cmd("b", $"echo b >> '{log}'; exit 1", "a");
        var c = Cmd("c", $"echo c >> '{log}'", "b");
        var d = Cmd("d", $"echo d >> '{log}'", "c");
        var after = Cmd("cleanup", $"echo cleanup >> '{log}'", "b");
        after.RunAfterFailure = true;
        var added = _svc.Tasks.Add(new[] { a, b, c, d, after });
        var finished = new List<SwarmTask>();
        RunQueue(finished: finished).Drained.Should().BeTrue();
        var byName = _svc.Tasks.List().ToDictionary(t => t.Title);
        byName["a"].Status.Should().Be(SwarmTaskStatus.Succeeded);
        byName["b"].Status.Should().Be(SwarmTaskStatus.Failed);
        byName["c"].Status.Should().Be(SwarmTaskStatus.Skipped);
        byName["c"].Error.Should().Contain(added[1].Id);
        byName["d"].Status.Should().Be(SwarmTaskStatus.Skipped);
        byName["cleanup"].Status.Should().Be(SwarmTaskStatus.Succeeded);
        File.ReadAllLines(log).Should().Equal("a", "b", "cleanup");
        finished.Select(t => t.Title).Should().BeEquivalentTo("a", "b", "c", "d", "cleanup");
    }

    [Fact]
    public void Failed_attempts_are_retried_up_to_max_attempts_with_a_new_agent_each_time()
    {
        if (Skip) return;
        var counter = Path.Combine(_r.Root, "count");
        var s = Cmd("flaky", $"echo x >> '{counter}'; [ $(wc -l < '{counter}') -ge 3 ]");
        s.MaxAttempts = 3;
        _svc.Tasks.Add(new[] { s });
        RunQueue();
        var t = _svc.Tasks.List().Single();
        t.Status.Should().Be(SwarmTaskStatus.Succeeded);
        t.Attempts.Should().Be(3);
        t.AgentIds.Should().HaveCount(3).And.OnlyHaveUniqueItems();
    }

    [Fact]
    public void A_cancelled_task_never_starts_and_its_dependents_are_skipped()
    {
        if (Skip) return;
        var marker = Path.Combine(_r.Root, "ran");
        var added = _svc.Tasks.Add(new[] { Cmd("x", $"touch '{marker}'"), Cmd("y", "true", "x") });
        Sync.Run(_svc.Tasks.CancelAsync(added[0].Id)).Status.Should().Be(SwarmTaskStatus.Cancelled);
        RunQueue().Drained.Should().BeTrue();
        File.Exists(marker).Should().BeFalse();
        _svc.Tasks.Get(added[0].Id).AgentIds.Should().BeEmpty();
        _svc.Tasks.Get(added[1].Id).Status.Should().Be(SwarmTaskStatus.Skipped);
    }

    [Fact]
    public void Cancelling_a_running_task_stops_its_agent()
    {
        if (Skip) return;
        var added = _svc.Tasks.Add(new[] { Cmd("long", "sleep 60") });
        using var cts = new CancellationTokenSource();
        var run = Task.Run(() => new QueueScheduler(_svc).RunAsync(new SchedulerOptions { MaxParallel = 1, PollInterval = TimeSpan.FromMilliseconds(20) }, cts.Token));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (_svc.Tasks.Get(added[0].Id).AgentIds.Count == 0 && DateTime.UtcNow < deadline) Thread.Sleep(20);
        var agentId = _svc.Tasks.Get(added[0].Id).AgentIds.Single();
        Sync.Run(_svc.Agents.WaitForStatusAsync(agentId, AgentStatus.Running));
        Sync.Run(_svc.Tasks.CancelAsync(added[0].Id)).Status.Should().Be(SwarmTaskStatus.Cancelled);
        _svc.Agents.Get(agentId).Status.Should().Be(AgentStatus.Stopped);
        run.Wait(TimeSpan.FromSeconds(90)).Should().BeTrue();
        run.Result.Drained.Should().BeTrue();
    }

    [Fact]
    public void Only_one_scheduler_runs_per_registry()
    {
        if (Skip) return;
        // The task runs until the test lets it go, so the first scheduler is busy whatever the machine's load.
        var go = Path.Combine(_r.Root, "go");
        _svc.Tasks.Add(new[] { Cmd("long", $"while [ ! -e '{go}' ]; do sleep 0.1; done") });
        using var cts = new CancellationTokenSource();
        var first = Task.Run(() => new QueueScheduler(_svc).RunAsync(new SchedulerOptions { MaxParallel = 1 }, cts.Token));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (_svc.Registry.LeaseHolder(QueueScheduler.LeaseName) is null && DateTime.UtcNow < deadline) Thread.Sleep(10);
        _svc.Registry.LeaseHolder(QueueScheduler.LeaseName).Should().NotBeNull("the first scheduler took the lease (waited 60 s)");
        var other = new SwarmService(new SwarmHome(_r.Home), new SwarmConfig());
        // A second scheduler (another holder) is refused while the first one's lease is live.
        other.Registry.TryAcquireLease(QueueScheduler.LeaseName, "1@1", TimeSpan.FromSeconds(30), out var holder).Should().BeFalse();
        holder.Should().NotBeNull();
        cts.Cancel();
        first.Wait(TimeSpan.FromSeconds(60)).Should().BeTrue("the scheduler ends on cancellation (waited 60 s)");
        File.WriteAllText(go, "");
        _svc.Registry.LeaseHolder(QueueScheduler.LeaseName).Should().BeNull("the lease is released on exit");
    }

    [Fact]
    public void A_new_scheduler_adopts_running_agents_of_a_dead_one_and_retries_lost_ones()
    {
        if (Skip) return;
        var added = _svc.Tasks.Add(new[] { Cmd("adopt", "sleep 1"), Cmd("lost", "sleep 60") });
        // A scheduler claimed both and started their agents, then died (simulated by hand).
        foreach (var t in added)
        {
            var agent = Sync.Run(_svc.Agents.StartAsync(new AgentStartRequest { Ticket = EnsureEnv(t), Profile = "command", Prompt = t.Prompt, Command = t.Command }));
            _svc.Registry.UpdateTask(t with { Status = SwarmTaskStatus.Running, Attempts = 1, AgentIds = new[] { agent.Id }, StartedAt = DateTimeOffset.UtcNow, EnvironmentTicket = t.Id }, SwarmTaskStatus.Queued).Should().BeTrue();
        }
        var lostAgent = _svc.Tasks.Get(added[1].Id).AgentIds.Single();
        var running = Sync.Run(_svc.Agents.WaitForStatusAsync(lostAgent, AgentStatus.Running));
        System.Diagnostics.Process.GetProcessById(int.Parse(running.Supervisor!.Split('@')[0])).Kill();
        System.Diagnostics.Process.GetProcessById(running.Pid!.Value).Kill();

        RunQueue().Drained.Should().BeTrue();
        var adopt = _svc.Tasks.Get(added[0].Id);
        adopt.Status.Should().Be(SwarmTaskStatus.Succeeded);
        adopt.AgentIds.Should().HaveCount(1, "the running agent was adopted, not restarted");
        var lost = _svc.Tasks.Get(added[1].Id);
        lost.Status.Should().Be(SwarmTaskStatus.Failed);
        lost.Error.Should().Contain("lost");
    }

    private string EnsureEnv(SwarmTask t)
    {
        Sync.Run(_svc.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = t.Id, RepositoryPath = _r.Repo }));
        return t.Id;
    }

    [Fact]
    public void Timeouts_stop_the_agent_and_fail_the_attempt()
    {
        if (Skip) return;
        var s = Cmd("slow", "sleep 60");
        s.TimeoutSeconds = 1;
        _svc.Tasks.Add(new[] { s });
        RunQueue();
        var t = _svc.Tasks.List().Single();
        t.Status.Should().Be(SwarmTaskStatus.Failed);
        t.Error.Should().Contain("timed out");
        _svc.Agents.Get(t.AgentIds.Single()).Status.Should().Be(AgentStatus.Stopped);
    }

    [Fact]
    public void Per_task_environments_follow_the_cleanup_policy()
    {
        if (Skip) return;
        var ok = Cmd("ok", "true");
        var bad = Cmd("bad", "exit 1");
        bad.Cleanup = EnvironmentCleanup.KeepOnFailure;
        var keep = Cmd("keep", "true");
        keep.Cleanup = EnvironmentCleanup.Keep;
        var added = _svc.Tasks.Add(new[] { ok, bad, keep });
        RunQueue();
        _svc.Registry.GetEnvironment(added[0].Id).Should().BeNull("removed after success");
        TempRepo.Branches(_r.Repo).Should().Contain("refs/heads/swarm/" + added[0].Id, "the branch is kept so committed work survives");
        _svc.Registry.GetEnvironment(added[1].Id).Should().NotBeNull("kept on failure");
        _svc.Registry.GetEnvironment(added[2].Id).Should().NotBeNull("kept by policy");
    }

    [Fact]
    public void Task_cost_and_result_come_from_its_agents()
    {
        if (Skip) return;
        _svc.Tasks.Add(new[] { new TaskSpec { Title = "claude", Prompt = "do it", Profile = "claude", RepositoryPath = _r.Repo } });
        RunQueue();
        var t = _svc.Tasks.List().Single();
        t.Status.Should().Be(SwarmTaskStatus.Succeeded);
        t.CostUsd.Should().Be(0.1834m);
        t.Result.Should().Be("Done; tests pass.");
    }

    [Fact]
    public void Every_transition_is_in_the_event_log()
    {
        if (Skip) return;
        var added = _svc.Tasks.Add(new[] { Cmd("e", "true") });
        RunQueue();
        var events = _svc.Registry.ListEvents();
        events.Where(e => e.Kind == EventKinds.Task && e.Subject == added[0].Id).Select(e => e.NewStatus)
            .Should().ContainInOrder("Queued", "Running", "Succeeded");
        events.Should().Contain(e => e.Kind == EventKinds.Environment && e.Subject == added[0].Id && e.NewStatus == "Creating");
        events.Should().Contain(e => e.Kind == EventKinds.Agent && e.NewStatus == "Succeeded");
        events.Select(e => e.Id).Should().BeInAscendingOrder();
    }

    [Fact]
    public void Scheduling_decisions_are_fast_on_a_large_dag()
    {
        // Correctness of propagation on a 2,000-task chain-of-layers DAG: cancelling the root skips everything.
        var specs = new List<TaskSpec>();
        for (var i = 0; i < 2000; i++)
            specs.Add(new TaskSpec { Name = $"n{i}", Title = $"n{i}", Prompt = "x", Profile = "claude", DependsOn = i == 0 ? new() : new() { $"n{(i - 1) / 2}" } });
        var added = _svc.Tasks.Add(specs);
        added.Count(t => t.Status == SwarmTaskStatus.Queued).Should().Be(1);
        Sync.Run(_svc.Tasks.CancelAsync(added[0].Id));
        _svc.Tasks.List().Count(t => t.Status == SwarmTaskStatus.Skipped).Should().Be(1999);
    }

    [Fact]
    public void A_dependent_task_starts_from_its_dependencys_branch()
    {
        if (Skip) return;
        var first = Cmd("schema", "echo schema > schema.sql && git add schema.sql && git -c user.name=T -c user.email=t@e commit -qm schema");
        var second = Cmd("api", "test -f schema.sql", "schema");
        first.Cleanup = EnvironmentCleanup.Keep;
        _svc.Tasks.Add(new[] { first, second });
        RunQueue();
        _svc.Tasks.List().Should().OnlyContain(t => t.Status == SwarmTaskStatus.Succeeded, "api sees the file committed by schema");
    }
}
