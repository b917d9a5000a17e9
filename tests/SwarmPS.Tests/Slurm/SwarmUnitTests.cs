using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Processes;
using SwarmPS.Core.Slurm;
using SwarmPS.Core.Swarms;
using Xunit;

namespace SwarmPS.Tests.Slurm;

/// <summary>A runner that records every Slurm call and answers squeue from a table (no Slurm needed).</summary>
internal sealed class RecordingSlurmRunner
{
    public List<ProcessSpec> Calls { get; } = new();
    /// <summary>Task rows per array job id: (task count, state).</summary>
    public Dictionary<string, (int Tasks, string State)> Jobs { get; } = new();
    public bool ControllerDown { get; set; }
    private int _nextJob = 1000;

    public Task<ProcessResult> Run(ProcessSpec spec, CancellationToken ct)
    {
        lock (Calls) Calls.Add(spec);
        if (ControllerDown)
            return Task.FromResult(new ProcessResult { Spec = spec, ExitCode = 1, StandardError = "slurm_load_jobs error: Unable to contact slurm controller (connect failure)" });
        string output = "";
        switch (spec.FileName)
        {
            case "squeue":
                var ids = spec.Arguments.Single(a => a.StartsWith("--jobs=", StringComparison.Ordinal))["--jobs=".Length..].Split(',');
                var sb = new System.Text.StringBuilder();
                foreach (var id in ids)
                    if (Jobs.TryGetValue(id, out var j))
                        for (var k = 0; k < j.Tasks; k++) sb.Append($"{id}|{k}|{id}_{k}|{j.State}|None|node{k % 7}\n");
                output = sb.ToString();
                break;
            case "sbatch":
                output = (_nextJob++).ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n";
                break;
        }
        return Task.FromResult(new ProcessResult { Spec = spec, ExitCode = 0, StandardOutput = output });
    }

    public int Count(string tool) { lock (Calls) return Calls.Count(c => c.FileName == tool); }
}

public sealed class SwarmUnitTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "swarmps-swarm-unit-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly SwarmService _svc;
    private readonly RecordingSlurmRunner _runner = new();

    public SwarmUnitTests()
    {
        _svc = new SwarmService(new SwarmHome(Path.Combine(_root, "home")));
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, true); } catch (IOException) { }
    }

    private SwarmClusterService Cluster(int pollAttempts = 3) =>
        new(_svc, new SlurmCli(_runner.Run), new SlurmSettings { SharedDirectory = Path.Combine(_root, "shared"), PollAttempts = pollAttempts, HeartbeatSeconds = 1, NodeTtlSeconds = 5 });

    private void AddRunning(string id, string jobId, int nodes)
    {
        var now = DateTimeOffset.UtcNow;
        _svc.Registry.AddSwarm(new Swarm { SwarmId = id, JobId = jobId, NodeCount = nodes, Status = SwarmStatus.Running, Directory = Path.Combine(_root, "shared", id), Profile = "command", CreatedAt = now, UpdatedAt = now });
        _runner.Jobs[jobId] = (nodes, "RUNNING");
    }

    /// <summary>The figure: status of 1,000 jobs (50 swarms x 20 nodes) costs ONE squeue call per poll, and nothing else.</summary>
    [Fact]
    public async Task Status_of_1000_jobs_across_50_swarms_is_one_squeue_call_per_poll()
    {
        for (var s = 0; s < 50; s++) AddRunning($"swarm-{s:00}", (5000 + s).ToString(System.Globalization.CultureInfo.InvariantCulture), 20);
        var cluster = Cluster();
        for (var poll = 1; poll <= 3; poll++)
        {
            var swarms = await cluster.GetAsync();
            swarms.Should().HaveCount(50);
            swarms.Sum(s => s.Nodes.Count).Should().Be(1000);
            swarms.SelectMany(s => s.Nodes).Should().OnlyContain(n => n.JobState == "RUNNING");
            _runner.Count("squeue").Should().Be(poll, "one squeue call per poll, whatever the number of swarms");
            _runner.Calls.Should().HaveCount(poll, "no scontrol/sacct for jobs squeue still lists");
        }
        var squeue = _runner.Calls[0];
        squeue.Arguments.Should().Contain("--noheader").And.Contain("--array").And.Contain("--states=all").And.Contain("--format=" + SlurmCli.QueueFormat);
        squeue.Environment["LC_ALL"].Should().Be("C");
    }

    [Fact]
    public async Task Controller_down_gives_a_clear_error_after_backoff_and_changes_nothing()
    {
        AddRunning("swarm-a", "77", 2);
        var before = _svc.Registry.ListEvents().Count;
        _runner.ControllerDown = true;
        var act = () => Cluster(pollAttempts: 2).GetAsync();
        (await act.Should().ThrowAsync<SwarmException>()).Which.Should().Match<SwarmException>(e =>
            e.ErrorId == SlurmErrorIds.SlurmUnavailable && e.Kind == SwarmErrorKind.Unavailable && e.Message.Contains("Nothing was changed"));
        _runner.Count("squeue").Should().Be(2, "retried once with backoff");
        _svc.Registry.GetSwarm("swarm-a")!.Status.Should().Be(SwarmStatus.Running);
        _svc.Registry.ListEvents().Should().HaveCount(before);
        _runner.ControllerDown = false;
        (await Cluster().GetAsync()).Single().Status.Should().NotBe(SwarmStatus.Dead);
    }

    [Fact]
    public async Task A_job_squeue_forgot_falls_back_to_scontrol_and_sacct_once_then_the_swarm_is_final()
    {
        AddRunning("swarm-live", "10", 2);
        var old = DateTimeOffset.UtcNow.AddMinutes(-5);
        _svc.Registry.AddSwarm(new Swarm { SwarmId = "swarm-gone", JobId = "11", NodeCount = 2, Status = SwarmStatus.Running, Directory = Path.Combine(_root, "shared", "swarm-gone"), Profile = "command", CreatedAt = old, UpdatedAt = old });
        var cluster = Cluster();
        var first = await cluster.GetAsync();
        _runner.Calls.Select(c => c.FileName).Should().Equal("squeue", "scontrol", "sacct");
        _runner.Calls[1].Arguments.Should().Equal("show", "job", "-o", "11");
        var gone = first.Single(s => s.SwarmId == "swarm-gone");
        gone.Status.Should().Be(SwarmStatus.Dead, "no heartbeat for longer than the TTL and Slurm no longer knows the job");
        gone.Nodes.Should().OnlyContain(n => n.Status == SwarmNodeStatus.Dead);
        first.Single(s => s.SwarmId == "swarm-live").Status.Should().Be(SwarmStatus.Running);
        _svc.Registry.ListEvents(kinds: new[] { EventKinds.Swarm }).Should().Contain(e => e.Subject == "swarm-gone" && e.OldStatus == "Running" && e.NewStatus == "Dead");
        await cluster.GetAsync();
        _runner.Calls.Select(c => c.FileName).Should().Equal("squeue", "scontrol", "sacct", "squeue");
        _runner.Calls[^1].Arguments.Should().Contain("--jobs=10", "a dead swarm is final and not polled again");
    }

    [Fact]
    public void A_node_is_dead_only_after_its_ttl()
    {
        var now = DateTimeOffset.UtcNow;
        var created = now.AddMinutes(-10);
        var cancelled = new SlurmJobRow("5_1", "5", 1, "CANCELLED", null, "n1");
        var running = new SlurmJobRow("5_1", "5", 1, "RUNNING", null, "n1");
        // One probe says the task is gone, but the heartbeat is 3 s old with a 10 s TTL: not dead.
        SwarmClusterService.NodeStatus(cancelled, now.AddSeconds(-3), now, 10, created).Should().Be(SwarmNodeStatus.Suspect);
        SwarmClusterService.NodeStatus(null, now.AddSeconds(-3), now, 10, created).Should().Be(SwarmNodeStatus.Suspect);
        SwarmClusterService.NodeStatus(cancelled, now.AddSeconds(-11), now, 10, created).Should().Be(SwarmNodeStatus.Dead);
        SwarmClusterService.NodeStatus(running, now.AddSeconds(-3), now, 10, created).Should().Be(SwarmNodeStatus.Running);
        SwarmClusterService.NodeStatus(running, null, now, 10, created).Should().Be(SwarmNodeStatus.Starting);
        SwarmClusterService.NodeStatus(running, now.AddSeconds(-30), now, 10, created).Should().Be(SwarmNodeStatus.Dead, "a hung worker stops beating");
        SwarmClusterService.NodeStatus(null, null, now, 10, now.AddSeconds(-2)).Should().Be(SwarmNodeStatus.Suspect);
    }

    [Fact]
    public async Task Launch_keeps_user_text_out_of_the_batch_script_and_takes_cluster_parameters_from_config()
    {
        var hostileDir = Path.Combine(_root, "shared dir 'x' $(touch pwned) `y`");
        var cluster = new SwarmClusterService(_svc, new SlurmCli(_runner.Run), new SlurmSettings
        {
            Partition = "cpu", Account = "proj42", Qos = "normal", SbatchOptions = { "--mem=1G" }, HeartbeatSeconds = 1, NodeTtlSeconds = 5,
        });
        var prompt = "system '$(rm -rf /)' \"`id`\" ${HOME}\n#SBATCH --wrap=evil";
        var s = await cluster.StartAsync(new SwarmLaunchRequest
        {
            Nodes = 4, Prompt = prompt, Profile = "command", Command = new[] { "/bin/sh", "-c", "echo '$(x)'" }, WorkDir = hostileDir,
        });
        s.Status.Should().Be(SwarmStatus.Pending);
        s.JobId.Should().Be("1000");
        s.NodeCount.Should().Be(4);
        s.Directory.Should().StartWith(hostileDir);
        var sbatch = _runner.Calls.Single(c => c.FileName == "sbatch");
        sbatch.Arguments.Should().Contain(new[] { "--parsable", "--array=0-3", "--partition=cpu", "--account=proj42", "--qos=normal", "--mem=1G" });
        sbatch.Arguments.Should().NotContain(a => a.StartsWith("--wrap", StringComparison.Ordinal));
        var script = File.ReadAllText(sbatch.Arguments[^1]);
        script.Should().NotContain("rm -rf").And.NotContain("echo");
        script.Should().Contain("'\\''x'\\''", "the directory is single-quoted with quotes escaped");
        File.ReadAllText(Path.Combine(s.Directory, "system-prompt.txt")).Should().Be(prompt);
        File.ReadAllText(Path.Combine(s.Directory, "agent.argv")).Should().Be("/bin/sh\0-c\0echo '$(x)'\0");
        File.Exists(Path.Combine(_root, "pwned")).Should().BeFalse();
        _svc.Registry.ListEvents(kinds: new[] { EventKinds.Swarm }).Select(e => e.NewStatus).Should().Equal("Submitting", "Pending");
    }

    [Fact]
    public async Task Bad_input_creates_nothing()
    {
        var cluster = Cluster();
        var bad = new Func<Task>[]
        {
            () => cluster.StartAsync(new SwarmLaunchRequest { Nodes = 0, Prompt = "p", Profile = "command", Command = new[] { "true" } }),
            () => cluster.StartAsync(new SwarmLaunchRequest { Nodes = 2, Prompt = "p", Profile = "command" }),
            () => cluster.StartAsync(new SwarmLaunchRequest { Nodes = 2, Prompt = "p", Profile = "nope" }),
            () => cluster.StartAsync(new SwarmLaunchRequest { Nodes = 2, Prompt = "p", Profile = "command", Command = new[] { "true" }, Partition = "--wrap=x" }),
            () => cluster.StartAsync(new SwarmLaunchRequest { Nodes = 2, Prompt = "p", Profile = "command", Command = new[] { "true" }, TimeLimit = "1h; rm" }),
            () => cluster.StartAsync(new SwarmLaunchRequest { Nodes = 2, Prompt = "p", Profile = "command", Command = new[] { "true" }, NodeTtlSeconds = 1, HeartbeatSeconds = 1 }),
        };
        foreach (var b in bad)
            (await b.Should().ThrowAsync<SwarmException>()).Which.Kind.Should().Be(SwarmErrorKind.InvalidArgument);
        _runner.Calls.Should().BeEmpty();
        _svc.Registry.ListSwarms().Should().BeEmpty();
        Directory.Exists(Path.Combine(_root, "shared")).Should().BeFalse();
    }

    [Fact]
    public async Task Injection_ids_are_validated_and_unique_and_prompts_land_in_each_inbox_atomically()
    {
        var cluster = Cluster();
        var s = await cluster.StartAsync(new SwarmLaunchRequest { Nodes = 3, Prompt = "sys", Profile = "command", Command = new[] { "cat" } });
        var all = cluster.Inject(s.SwarmId, "hello", injectionId: "first");
        all.Nodes.Should().Equal(0, 1, 2);
        var one = cluster.Inject(s.SwarmId, "only you", node: 1);
        Names.IsValid(one.InjectionId).Should().BeTrue();
        one.Nodes.Should().Equal(1);
        File.ReadAllText(Path.Combine(s.Directory, "nodes", "2", "inbox", "first.prompt")).Should().Be("hello");
        File.Exists(Path.Combine(s.Directory, "nodes", "0", "inbox", one.InjectionId + ".prompt")).Should().BeFalse();
        Directory.GetFiles(s.Directory, "*.tmp", SearchOption.AllDirectories).Should().BeEmpty();
        (await ((Func<Task>)(() => Task.FromResult(cluster.Inject(s.SwarmId, "again", injectionId: "FIRST")))).Should().ThrowAsync<SwarmException>()).Which.ErrorId.Should().Be(SlurmErrorIds.InjectionExists);
        ((Action)(() => cluster.Inject(s.SwarmId, "x", injectionId: "../evil"))).Should().Throw<SwarmException>().Which.Kind.Should().Be(SwarmErrorKind.InvalidArgument);
        ((Action)(() => cluster.Inject(s.SwarmId, "x", node: 3))).Should().Throw<SwarmException>().Which.ErrorId.Should().Be(SlurmErrorIds.InvalidNode);
        ((Action)(() => cluster.Inject("no-such-swarm", "x"))).Should().Throw<SwarmException>().Which.ErrorId.Should().Be(SlurmErrorIds.SwarmNotFound);
    }

    [Fact]
    public async Task Slurm_configFile_from_config_json_is_SLURM_CONF_of_every_Slurm_call_and_commandTimeoutSeconds_is_honoured()
    {
        // A client made with a config file: every command it runs gets SLURM_CONF, on top of the C locale.
        var conf = Path.Combine(_root, "cluster2", "slurm.conf");
        var client = new SlurmCli(_runner.Run, configFile: conf);
        await client.SubmitAsync(Path.Combine(_root, "job.sbatch"), new[] { "--array=0-1" }, default);
        await client.QueueAsync(new[] { "1000" }, default);
        await client.ShowJobAsync("1000", default);
        await client.CancelAsync(new[] { "1000" }, default);
        await client.AccountingAsync("1000", default);
        _runner.Calls.Select(c => c.FileName).Should().Equal("sbatch", "squeue", "scontrol", "scancel", "sacct");
        _runner.Calls.Should().OnlyContain(c => c.Environment["SLURM_CONF"] == conf && c.Environment["LC_ALL"] == "C");
        // Without one, SLURM_CONF is left alone (inherited): the Slurm tools find their own config.
        _runner.Calls.Clear();
        await new SlurmCli(_runner.Run).QueueAsync(new[] { "1000" }, default);
        _runner.Calls.Single().Environment.Should().NotContainKey("SLURM_CONF");

        // The service's default client takes both from config.json's slurm section.
        Directory.CreateDirectory(_svc.Home.Path);
        File.WriteAllText(_svc.Home.ConfigPath, System.Text.Json.JsonSerializer.Serialize(new { slurm = new { configFile = conf, commandTimeoutSeconds = 75 } }));
        var cli = new SwarmClusterService(_svc).Client.Should().BeOfType<SlurmCli>().Subject;
        cli.ConfigFile.Should().Be(conf);
        cli.Timeout.Should().Be(TimeSpan.FromSeconds(75));
        var defaults = new SlurmSettings();
        defaults.ConfigFile.Should().BeNull();
        var relative = new SlurmSettings { ConfigFile = "cluster2/slurm.conf" };
        ((Action)(() => relative.Validate("config.json"))).Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.ConfigInvalid);
    }

    [Fact]
    public void Queue_and_scontrol_output_parse()
    {
        var rows = SlurmCli.ParseQueue("12|0|12_0|RUNNING|None|vm\n12|1|12_1|PENDING|Priority|\n13|N/A|13|COMPLETED|None|vm\n");
        rows.Should().HaveCount(3);
        rows[0].Should().Be(new SlurmJobRow("12_0", "12", 0, "RUNNING", null, "vm"));
        rows[1].Pending.Should().BeTrue();
        rows[2].ArrayJobId.Should().Be("13");
        rows[2].TaskIndex.Should().BeNull();
        rows[2].Terminal.Should().BeTrue();
        var show = SlurmCli.ParseShowJob("JobId=15 ArrayJobId=14 ArrayTaskId=1 JobName=x JobState=CANCELLED Reason=None ExitCode=0:15 NodeList=vm\n");
        show.Single().Should().Be(new SlurmJobRow("14_1", "14", 1, "CANCELLED", "None", "vm", "0:15"));
    }
}
