using System.Diagnostics;
using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Slurm;
using SwarmPS.Core.Swarms;
using SwarmPS.Tests.Contract;
using SwarmPS.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace SwarmPS.Tests.Slurm;

/// <summary>
/// Slurm tests run one at a time (their swarms and jobs share one node). None stops the shared Slurm: a
/// test that stops or restarts a daemon owns a PrivateSlurm.
/// </summary>
[CollectionDefinition("slurm", DisableParallelization = true)]
public sealed class SlurmCollection { }

/// <summary>Helpers for tests against the Slurm started by .ci/backends/slurm.sh.</summary>
internal static class SlurmBackend
{
    /// <summary>Waits on a loaded 2-core machine: generous, and every wait says what it waited for.</summary>
    public static readonly TimeSpan Generous = TimeSpan.FromSeconds(120);

    public static (int Code, string Out, string Err) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["LC_ALL"] = "C";
        try
        {
            using var p = Process.Start(psi)!;
            var o = p.StandardOutput.ReadToEndAsync();
            var e = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(60_000)) { p.Kill(true); return (-1, "", $"{file} did not finish in 60 s"); }
            p.WaitForExit();
            return (p.ExitCode, o.Result, e.Result);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (-1, "", ex.Message);
        }
    }

    /// <summary>Null when a Slurm controller answers and a node takes jobs; otherwise why not.</summary>
    public static string? SkipReason()
    {
        var r = Run("sinfo", "-h", "-o", "%T");
        if (r.Code != 0) return $"no Slurm here (sinfo: {r.Err.Trim()}); run .ci/backends/slurm.sh start";
        // A node can be passing through a state (completing: the previous test's jobs are being cleaned up);
        // wait for it to take jobs again, with a deadline for a loaded 2-core machine, before calling it missing.
        var sw = Stopwatch.StartNew();
        while (!Ready(r.Out) && sw.Elapsed < TimeSpan.FromSeconds(120))
        {
            Thread.Sleep(500);
            r = Run("sinfo", "-h", "-o", "%T");
        }
        return Ready(r.Out) ? null : $"the Slurm node did not take jobs within 120 s (last state: {r.Out.Trim()}; code {r.Code} {r.Err.Trim()})";

        static bool Ready(string states) => states.Contains("idle", StringComparison.Ordinal) || states.Contains("mixed", StringComparison.Ordinal) || states.Contains("alloc", StringComparison.Ordinal);
    }

    public static string FakeAgent(string name) => Path.Combine(AppContext.BaseDirectory, "Fakes", name);

    /// <summary>
    /// Polls <paramref name="probe"/> (every 300 ms) until <paramref name="done"/> holds; after
    /// <paramref name="timeout"/> fails saying what it waited for and what it last saw.
    /// </summary>
    public static async Task<T> Until<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string what, Func<T, string>? describe = null)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var last = await probe();
            if (done(last)) return last;
            if (sw.Elapsed > timeout)
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds} s waiting for {what} (last seen: {(describe is null ? last?.ToString() : describe(last))}).");
            await Task.Delay(300);
        }
    }

    /// <summary>A swarm as one line: its status and, per node, status, Slurm state and heartbeat age.</summary>
    public static string Describe(Swarm s) =>
        $"{s.SwarmId} {s.Status}: " + string.Join(", ", s.Nodes.Select(n =>
            $"node {n.Node} {n.Status} job={n.JobState ?? "none"} heartbeat={(n.LastHeartbeat is { } hb ? $"{(DateTimeOffset.UtcNow - hb).TotalSeconds:0.0} s ago" : "none")}"));
}

[Collection("slurm")]
public sealed class SlurmSwarmEndToEndTests : IDisposable
{
    private readonly ITestOutputHelper _log;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "swarmps-slurm-e2e-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly List<(string Job, PrivateSlurm? Slurm)> _jobs = new();
    private SwarmService _svc = null!;

    public SlurmSwarmEndToEndTests(ITestOutputHelper log)
    {
        _log = log;
        Directory.CreateDirectory(_root);
    }

    public void Dispose()
    {
        // A private Slurm cancelled its jobs when it was disposed (and its config is gone: a Slurm tool
        // would retry reading it for 60 s).
        foreach (var (j, slurm) in _jobs)
            if (slurm is null) SlurmBackend.Run("scancel", j);
            else if (!slurm.Disposed) slurm.Run("scancel", j);
        try { Directory.Delete(_root, true); } catch (IOException) { }
    }

    /// <summary>
    /// Cluster parameters come from config.json, as for a user. A short heartbeat keeps the tests short; the
    /// TTL is what a loaded 2-core machine needs so that a live node never looks dead. <paramref name="slurm"/>:
    /// a private cluster, reached through slurm.configFile (SLURM_CONF of every sbatch/squeue/scancel).
    /// </summary>
    private SwarmService Service(int ttlSeconds, PrivateSlurm? slurm = null)
    {
        Directory.CreateDirectory(Path.Combine(_root, "home"));
        var section = new Dictionary<string, object>
        {
            ["sharedDirectory"] = Path.Combine(_root, "shared"), ["heartbeatSeconds"] = 1, ["nodeTtlSeconds"] = ttlSeconds, ["timeLimit"] = "10", ["pollAttempts"] = 2,
        };
        if (slurm is not null) section["configFile"] = slurm.ConfigFile;
        File.WriteAllText(Path.Combine(_root, "home", "config.json"), System.Text.Json.JsonSerializer.Serialize(new { slurm = section }));
        return _svc = new SwarmService(new SwarmHome(Path.Combine(_root, "home")));
    }

    private async Task<Swarm> Launch(int nodes, PrivateSlurm? slurm = null)
    {
        var s = await _svc.Swarms.StartAsync(new SwarmLaunchRequest
        {
            Nodes = nodes, Prompt = "You are node-level test swarm.", Profile = "command", Command = new[] { "/bin/sh", SlurmBackend.FakeAgent("swarm-echo") },
        });
        _jobs.Add((s.JobId!, slurm));
        return s;
    }

    private async Task<Swarm> Poll(string id) => (await _svc.Swarms.GetAsync(new[] { id })).Single();

    private Task<Swarm> UntilSwarm(string id, Func<Swarm, bool> done, string what) =>
        SlurmBackend.Until(() => Poll(id), done, SlurmBackend.Generous, what, SlurmBackend.Describe);

    private async Task<List<SwarmResponse>> Responses(string id, string injection)
    {
        var list = new List<SwarmResponse>();
        await foreach (var r in _svc.Swarms.ReceiveAsync(id, injection, wait: true, timeout: SlurmBackend.Generous)) list.Add(r);
        return list;
    }

    private static string[] ActiveQueue(string jobId, PrivateSlurm? slurm = null)
    {
        var args = new[] { "--noheader", "--array", "--jobs=" + jobId, "--format=%i|%T" };
        var r = slurm is null ? SlurmBackend.Run("squeue", args) : slurm.Run("squeue", args);
        return r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    [Fact]
    public async Task Four_node_swarm_answers_two_injections_survives_a_dead_node_and_terminates_cleanly()
    {
        if (Backends.Missing(SlurmBackend.SkipReason())) return;
        using var slurmLock = SlurmTestLock.Acquire();
        const int ttl = 15;
        Service(ttl);
        var swarm = await Launch(4);
        swarm.NodeCount.Should().Be(4);
        swarm.Directory.Should().StartWith(Path.Combine(_root, "shared"));

        var running = await UntilSwarm(swarm.SwarmId, s => s.Nodes.Count == 4 && s.Nodes.All(n => n.Status == SwarmNodeStatus.Running), "4 running nodes");
        running.Status.Should().Be(SwarmStatus.Running);
        running.Nodes.Should().OnlyContain(n => n.JobState == "RUNNING" && n.LastHeartbeat != null);

        var first = _svc.Swarms.Inject(swarm.SwarmId, "first question");
        var second = _svc.Swarms.Inject(swarm.SwarmId, "second question");
        var r1 = await Responses(swarm.SwarmId, first.InjectionId);
        var r2 = await Responses(swarm.SwarmId, second.InjectionId);
        foreach (var (rs, text, inj) in new[] { (r1, "first question", first), (r2, "second question", second) })
        {
            rs.Select(r => r.Node).Should().BeEquivalentTo(new[] { 0, 1, 2, 3 }, "one response per node");
            rs.Should().OnlyContain(r => r.InjectionId == inj.InjectionId && r.ExitCode == 0 && r.CostUsd == 0m);
            foreach (var r in rs) r.Response.Should().Be($"node {r.Node} answers: You are node-level test swarm.\n\n{text}\n");
        }

        // Kill node 2's array task. A probe while its last heartbeat is younger than the TTL must not call it dead.
        SlurmBackend.Run("scancel", $"{swarm.JobId}_2").Code.Should().Be(0);
        var justAfter = await Poll(swarm.SwarmId);
        if ((DateTimeOffset.UtcNow - justAfter.Nodes[2].LastHeartbeat!.Value).TotalSeconds < ttl)
        {
            justAfter.Nodes[2].Status.Should().NotBe(SwarmNodeStatus.Dead, SlurmBackend.Describe(justAfter));
            justAfter.Status.Should().Be(SwarmStatus.Running, SlurmBackend.Describe(justAfter));
        }
        else
        {
            _log.WriteLine($"the probe after scancel came {ttl} s or more after node 2's last heartbeat (a loaded machine); its 'not dead yet' check is skipped: {SlurmBackend.Describe(justAfter)}");
        }
        var degraded = await UntilSwarm(swarm.SwarmId, s => s.Nodes[2].Status == SwarmNodeStatus.Dead, $"node 2 dead after its TTL ({ttl} s)");
        (DateTimeOffset.UtcNow - degraded.Nodes[2].LastHeartbeat!.Value).TotalSeconds.Should().BeGreaterThan(ttl);
        degraded.Status.Should().Be(SwarmStatus.Degraded);
        degraded.Nodes.Where(n => n.Node != 2).Should().OnlyContain(n => n.Status == SwarmNodeStatus.Running, SlurmBackend.Describe(degraded));

        var third = _svc.Swarms.Inject(swarm.SwarmId, "still there?");
        var r3 = await Responses(swarm.SwarmId, third.InjectionId);
        r3.Select(r => r.Node).Should().BeEquivalentTo(new[] { 0, 1, 3 }, "the others keep answering; the dead node is not waited for");

        var stopped = await _svc.Swarms.StopAsync(swarm.SwarmId);
        stopped.Status.Should().Be(SwarmStatus.Terminated);
        ActiveQueue(swarm.JobId!).Should().BeEmpty("terminate leaves nothing in squeue");
        Directory.Exists(swarm.Directory).Should().BeFalse();
        _svc.Registry.ListEvents(kinds: new[] { EventKinds.Swarm }).Where(e => e.Subject == swarm.SwarmId).Select(e => e.NewStatus)
            .Should().Equal("Submitting", "Pending", "Running", "Degraded", "Terminated");
    }

    /// <summary>
    /// Stops and restarts a controller, so it owns a PRIVATE Slurm (PrivateSlurm: own slurm.conf, ports,
    /// state; SwarmPS reaches it through slurm.configFile). The shared Slurm of .ci/backends/slurm.sh is
    /// never touched, and this test passes whether or not it runs.
    /// </summary>
    [Fact]
    public async Task Controller_stopped_while_polling_gives_a_clear_error_and_nothing_is_lost()
    {
        if (Backends.Missing(PrivateSlurm.SkipReason())) return;
        var sharedBefore = SlurmBackend.SkipReason();
        var clock = Stopwatch.StartNew();
        void Step(string what) => _log.WriteLine($"{clock.Elapsed.TotalSeconds,6:0.0} s: {what}");
        var slurm = PrivateSlurm.Start(_log.WriteLine);
        Step("private Slurm ready");
        try
        {
            Service(ttlSeconds: 30, slurm);
            var swarm = await Launch(2, slurm);
            await UntilSwarm(swarm.SwarmId, s => s.Nodes.All(n => n.Status == SwarmNodeStatus.Running), "2 running nodes");
            Step("2 nodes running");
            // Every Slurm call went to the private cluster (slurm.configFile -> SLURM_CONF), none to the shared one.
            ActiveQueue(swarm.JobId!, slurm).Should().HaveCount(2, "the swarm's array runs on the private cluster");
            if (sharedBefore is null)
                SlurmBackend.Run("squeue", "--noheader", "--name=swarmps-" + swarm.SwarmId, "--format=%i").Out.Trim().Should().BeEmpty("nothing of this swarm is on the shared cluster");

            // SIGTERM, as an operator stopping the controller does (it saves its job state first; a
            // SIGKILLed controller forgets jobs submitted since its last state save, which no client can undo).
            slurm.StopController();
            Step("slurmctld stopped");
            try
            {
                var inj = _svc.Swarms.Inject(swarm.SwarmId, "while the controller is down");
                var ex = await ((Func<Task>)(() => _svc.Swarms.GetAsync())).Should().ThrowAsync<SwarmException>();
                ex.Which.ErrorId.Should().Be(SlurmErrorIds.SlurmUnavailable);
                ex.Which.Kind.Should().Be(SwarmErrorKind.Unavailable);
                ex.Which.Message.Should().Contain("squeue").And.Contain("Nothing was changed");
                Step("poll failed: " + ex.Which.Message);
                _svc.Registry.GetSwarm(swarm.SwarmId)!.Status.Should().Be(SwarmStatus.Running, "a failed probe is not evidence of death");
                // The workers and the shared filesystem do not need the controller: answers still arrive.
                (await Responses(swarm.SwarmId, inj.InjectionId)).Should().HaveCount(2);
                Step("2 answers while the controller was down");
            }
            finally
            {
                // WITHOUT -c: the controller recovers its jobs from its state directory. Returns once
                // scontrol ping says UP and sinfo shows the node taking jobs (the readiness signal).
                if (slurm.ControllerPid is null) slurm.RestartController();
                Step("slurmctld restarted and ready");
            }
            var after = await UntilSwarm(swarm.SwarmId, s => s.Nodes.All(n => n.Status == SwarmNodeStatus.Running), "the swarm seen running again after the controller restart");
            Step("swarm seen running again: " + SlurmBackend.Describe(after));
            after.Status.Should().Be(SwarmStatus.Running);
            after.Nodes.Should().OnlyContain(n => n.JobState == "RUNNING", "the restarted controller recovered the running array");
            var again = _svc.Swarms.Inject(swarm.SwarmId, "after the restart");
            (await Responses(swarm.SwarmId, again.InjectionId)).Should().HaveCount(2);
            (await _svc.Swarms.StopAsync(swarm.SwarmId)).Status.Should().Be(SwarmStatus.Terminated);
            ActiveQueue(swarm.JobId!, slurm).Should().BeEmpty();
            // The leftover check below finds this instance's processes (it is not vacuous).
            var mine = slurm.Leftovers();
            foreach (var daemon in new[] { "slurmctld", "slurmd", "munged" })
                mine.Should().Contain(l => l.Contains("/usr/sbin/" + daemon, StringComparison.Ordinal), $"the private {daemon} runs with the private SLURM_CONF");
        }
        finally
        {
            slurm.Dispose();
            Step("private Slurm disposed");
        }
        slurm.Leftovers().Should().BeEmpty("no daemon, slurmstepd or job of the private Slurm outlives it");
        Directory.Exists(slurm.Directory).Should().BeFalse();
        if (sharedBefore is null) SlurmBackend.SkipReason().Should().BeNull("the shared Slurm is untouched and still takes jobs");
    }
}
