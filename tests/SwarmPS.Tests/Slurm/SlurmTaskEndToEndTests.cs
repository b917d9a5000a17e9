using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Providers.Slurm;
using SwarmPS.Core.Tasks;
using SwarmPS.Tests.Contract;
using SwarmPS.Tests.Support;
using Xunit;

namespace SwarmPS.Tests.Slurm;

/// <summary>A task that names the slurm provider runs as a Slurm job in a worktree on the shared directory.</summary>
[Collection("slurm")]
public sealed class SlurmTaskEndToEndTests : IDisposable
{
    private readonly TempRepo _r = new();
    private readonly string _shared;
    private readonly SwarmService _svc;

    public SlurmTaskEndToEndTests()
    {
        _shared = Path.Combine(_r.Root, "shared");
        Directory.CreateDirectory(_r.Home);
        File.WriteAllText(Path.Combine(_r.Home, "config.json"), $$"""{ "slurm": { "sharedDirectory": "{{_shared}}", "timeLimit": "5" } }""");
        _svc = new SwarmService(new SwarmHome(_r.Home));
    }

    public void Dispose()
    {
        foreach (var a in _svc.Registry.ListAgents().Where(a => !a.IsTerminal))
            try { Sync.Run(_svc.Agents.StopAsync(a.Id)); } catch (SwarmException) { }
        foreach (var e in _svc.Registry.ListEnvironments())
            try { Sync.Run(_svc.RemoveEnvironmentAsync(e.Ticket, new Core.Providers.RemoveOptions { Force = true })); } catch (SwarmException) { }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _r.Dispose();
    }

    private TaskSpec Task(string name, string script) => new()
    {
        Name = name, Title = name, Prompt = "prompt of " + name, Profile = "command", Command = new() { "sh", "-c", script },
        Provider = SlurmProvider.ProviderName, RepositoryPath = _r.Repo, RetryBackoffSeconds = 0, TimeoutSeconds = 120,
    };

    [Fact]
    public void A_task_on_the_slurm_provider_runs_as_a_job_in_a_shared_worktree_and_reports_exit_code_and_logs()
    {
        if (Backends.Missing(SlurmBackend.SkipReason())) return;
        using var slurmLock = SlurmTestLock.Acquire();
        var added = _svc.Tasks.Add(new[]
        {
            Task("ok", "echo \"in job $SLURM_JOB_ID at $(pwd)\"; cat; echo made > made-by-slurm.txt"),
            Task("bad", "echo \"failing in job $SLURM_JOB_ID\"; exit 3"),
        });
        var summary = Sync.Run(new QueueScheduler(_svc).RunAsync(new SchedulerOptions { MaxParallel = 2, PollInterval = TimeSpan.FromMilliseconds(50) }));
        _ = summary;
        var ok = _svc.Tasks.Get(added[0].Id);
        var bad = _svc.Tasks.Get(added[1].Id);
        ok.Status.Should().Be(SwarmTaskStatus.Succeeded, ok.Error);
        bad.Status.Should().Be(SwarmTaskStatus.Failed);

        var okOut = string.Join("\n", _svc.Agents.ReadOutput(ok.AgentIds.Last(), raw: true).Select(o => o.Text));
        okOut.Should().MatchRegex(@"in job \d+ at " + System.Text.RegularExpressions.Regex.Escape(_shared), "the agent ran inside a Slurm job, in the worktree under the shared directory");
        okOut.Should().Contain("prompt of ok", "the prompt reached the job's stdin through srun");
        var badAgent = _svc.Agents.Get(bad.AgentIds.Last());
        badAgent.ExitCode.Should().Be(3, "srun returns the job's exit code");
        string.Join("\n", _svc.Agents.ReadOutput(badAgent.Id, raw: true).Select(o => o.Text)).Should().MatchRegex(@"failing in job \d+");

        // KeepOnFailure: the failed task's environment stays, a slurm environment in the shared directory.
        var env = _svc.GetEnvironment(bad.EnvironmentTicket!);
        env.Provider.Should().Be(SlurmProvider.ProviderName);
        env.WorkspacePath.Should().StartWith(Path.Combine(_shared, "worktrees"));
        _svc.Registry.GetEnvironment(ok.EnvironmentTicket!).Should().BeNull("a succeeded task's environment is removed");
    }

    [Fact]
    public void Srun_plan_is_an_argument_list_with_cluster_parameters_from_config()
    {
        var settings = new Core.Slurm.SlurmSettings { Partition = "cpu", Account = "proj", TimeLimit = "30", SbatchOptions = { "--mem=1G" } };
        var opts = SlurmProvider.SrunOptions(settings, "T-1");
        var env = new SwarmEnvironment
        {
            Ticket = "T-1", Provider = "slurm", WorkspacePath = _r.Repo,
            Metadata = new Dictionary<string, string> { ["srunOptions"] = System.Text.Json.JsonSerializer.Serialize(opts) },
        };
        var plan = new SlurmProvider().PlanAgentLaunch(env, new[] { "claude", "-p", "it's $(rm -rf /) `x`" }, new Dictionary<string, string> { ["SWARM_TICKET"] = "T-1" });
        plan.FileName.Should().Be("srun");
        plan.Arguments.Should().ContainInOrder("--job-name=swarmps-env-T-1", "--partition=cpu", "--account=proj", "--time=30", "--mem=1G", "--chdir=" + _r.Repo, "--", "claude", "-p", "it's $(rm -rf /) `x`");
        plan.Environment["SWARM_TICKET"].Should().Be("T-1");
        plan.Environment.Should().NotContainKey("SLURM_CONF", "no slurm.configFile: srun finds its own config");
    }

    [Fact]
    public async Task Slurm_configFile_reaches_srun_of_the_agents_as_SLURM_CONF()
    {
        var conf = Path.Combine(_r.Root, "cluster2", "slurm.conf");
        File.WriteAllText(Path.Combine(_r.Home, "config.json"), System.Text.Json.JsonSerializer.Serialize(new { slurm = new { sharedDirectory = _shared, configFile = conf } }));
        var svc = new SwarmService(new SwarmHome(_r.Home));
        var provider = new SlurmProvider();
        var context = new Core.Providers.ProviderContext { Home = svc.Home, Config = svc.Config, Registry = svc.Registry };
        var prepared = await provider.PrepareAsync(new Core.Providers.NewEnvironmentRequest { Ticket = "T-2", RepositoryPath = _r.Repo }, context, default);
        var env = new SwarmEnvironment { Ticket = "T-2", Provider = "slurm", WorkspacePath = _r.Repo, Metadata = prepared.Metadata };
        var plan = provider.PlanAgentLaunch(env, new[] { "claude" }, new Dictionary<string, string> { ["SWARM_TICKET"] = "T-2" });
        plan.FileName.Should().Be("srun");
        plan.Environment["SLURM_CONF"].Should().Be(conf);
        plan.Environment["SWARM_TICKET"].Should().Be("T-2");
    }
}
