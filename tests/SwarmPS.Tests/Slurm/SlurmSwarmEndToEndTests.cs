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

/// <summary>Slurm tests stop and restart the controller: they never run at the same time.</summary>
[CollectionDefinition("slurm", DisableParallelization = true)]
public sealed class SlurmCollection { }

/// <summary>Helpers for tests against the Slurm started by .ci/backends/slurm.sh.</summary>
internal static class SlurmBackend
{
    public static string StateDir => Path.Combine(Environment.GetEnvironmentVariable("SWARMPS_BACKENDS_DIR") is { Length: > 0 } d ? d : "/tmp/swarmps-backends", "slurm");

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
            if (!p.WaitForExit(30_000)) { p.Kill(true); return (-1, "", "timeout"); }
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
        return r.Out.Contains("idle", StringComparison.Ordinal) || r.Out.Contains("mixed", StringComparison.Ordinal) || r.Out.Contains("alloc", StringComparison.Ordinal)
            ? null : $"the Slurm node is not ready ({r.Out.Trim()})";
    }

    public static string FakeAgent(string name) => Path.Combine(AppContext.BaseDirectory, "Fakes", name);

    public static async Task<T> Until<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string what)
    {
        var sw = Stopwatch.StartNew();
        T last;
        while (true)
        {
            last = await probe();
            if (done(last)) return last;
            if (sw.Elapsed > timeout) throw new TimeoutException($"Timed out after {timeout.TotalSeconds} s waiting for {what}.");
            await Task.Delay(300);
        }
    }
}

[Collection("slurm")]
public sealed class SlurmSwarmEndToEndTests : IDisposable
{
    private readonly ITestOutputHelper _log;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "swarmps-slurm-e2e-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly SwarmService _svc;
    private readonly List<string> _jobs = new();

    public SlurmSwarmEndToEndTests(ITestOutputHelper log)
    {
        _log = log;
        Directory.CreateDirectory(_root);
        // Cluster parameters come from config.json, as for a user; a short TTL keeps the test short.
        Directory.CreateDirectory(Path.Combine(_root, "home"));
        File.WriteAllText(Path.Combine(_root, "home", "config.json"),
            $$"""{ "slurm": { "sharedDirectory": "{{Path.Combine(_root, "shared")}}", "heartbeatSeconds": 1, "nodeTtlSeconds": 5, "timeLimit": "10", "pollAttempts": 2 } }""");
        _svc = new SwarmService(new SwarmHome(Path.Combine(_root, "home")));
    }

    public void Dispose()
    {
        foreach (var j in _jobs) SlurmBackend.Run("scancel", j);
        try { Directory.Delete(_root, true); } catch (IOException) { }
    }

    private async Task<Swarm> Launch(int nodes)
    {
        var s = await _svc.Swarms.StartAsync(new SwarmLaunchRequest
        {
            Nodes = nodes, Prompt = "You are node-level test swarm.", Profile = "command", Command = new[] { "/bin/sh", SlurmBackend.FakeAgent("swarm-echo") },
        });
        _jobs.Add(s.JobId!);
        return s;
    }

    private Task<Swarm> Poll(string id) => SlurmBackend.Until(async () => (await _svc.Swarms.GetAsync(new[] { id })).Single(), _ => true, TimeSpan.FromSeconds(30), "a poll");

    private async Task<List<SwarmResponse>> Responses(string id, string injection, TimeSpan timeout)
    {
        var list = new List<SwarmResponse>();
        await foreach (var r in _svc.Swarms.ReceiveAsync(id, injection, wait: true, timeout: timeout)) list.Add(r);
        return list;
    }

    private static string[] ActiveQueue(string jobId) =>
        SlurmBackend.Run("squeue", "--noheader", "--array", "--jobs=" + jobId, "--format=%i|%T").Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public async Task Four_node_swarm_answers_two_injections_survives_a_dead_node_and_terminates_cleanly()
    {
        if (Backends.Missing(SlurmBackend.SkipReason())) return;
        using var slurmLock = SlurmTestLock.Acquire();
        var swarm = await Launch(4);
        swarm.NodeCount.Should().Be(4);
        swarm.Directory.Should().StartWith(Path.Combine(_root, "shared"));

        var running = await SlurmBackend.Until(() => Poll(swarm.SwarmId), s => s.Nodes.Count == 4 && s.Nodes.All(n => n.Status == SwarmNodeStatus.Running), TimeSpan.FromSeconds(60), "4 running nodes");
        running.Status.Should().Be(SwarmStatus.Running);
        running.Nodes.Should().OnlyContain(n => n.JobState == "RUNNING" && n.LastHeartbeat != null);

        var first = _svc.Swarms.Inject(swarm.SwarmId, "first question");
        var second = _svc.Swarms.Inject(swarm.SwarmId, "second question");
        var r1 = await Responses(swarm.SwarmId, first.InjectionId, TimeSpan.FromSeconds(60));
        var r2 = await Responses(swarm.SwarmId, second.InjectionId, TimeSpan.FromSeconds(60));
        foreach (var (rs, text, inj) in new[] { (r1, "first question", first), (r2, "second question", second) })
        {
            rs.Select(r => r.Node).Should().BeEquivalentTo(new[] { 0, 1, 2, 3 }, "one response per node");
            rs.Should().OnlyContain(r => r.InjectionId == inj.InjectionId && r.ExitCode == 0 && r.CostUsd == 0m);
            foreach (var r in rs) r.Response.Should().Be($"node {r.Node} answers: You are node-level test swarm.\n\n{text}\n");
        }

        // Kill node 2's array task. One probe right after must not call it dead: its TTL has not passed.
        SlurmBackend.Run("scancel", $"{swarm.JobId}_2").Code.Should().Be(0);
        var justAfter = await Poll(swarm.SwarmId);
        justAfter.Nodes[2].Status.Should().NotBe(SwarmNodeStatus.Dead);
        justAfter.Status.Should().Be(SwarmStatus.Running);
        var degraded = await SlurmBackend.Until(() => Poll(swarm.SwarmId), s => s.Nodes[2].Status == SwarmNodeStatus.Dead, TimeSpan.FromSeconds(30), "node 2 dead after its TTL");
        (DateTimeOffset.UtcNow - degraded.Nodes[2].LastHeartbeat!.Value).TotalSeconds.Should().BeGreaterThan(5);
        degraded.Status.Should().Be(SwarmStatus.Degraded);
        degraded.Nodes.Where(n => n.Node != 2).Should().OnlyContain(n => n.Status == SwarmNodeStatus.Running);

        var third = _svc.Swarms.Inject(swarm.SwarmId, "still there?");
        var r3 = await Responses(swarm.SwarmId, third.InjectionId, TimeSpan.FromSeconds(60));
        r3.Select(r => r.Node).Should().BeEquivalentTo(new[] { 0, 1, 3 }, "the others keep answering; the dead node is not waited for");

        var stopped = await _svc.Swarms.StopAsync(swarm.SwarmId);
        stopped.Status.Should().Be(SwarmStatus.Terminated);
        ActiveQueue(swarm.JobId!).Should().BeEmpty("terminate leaves nothing in squeue");
        Directory.Exists(swarm.Directory).Should().BeFalse();
        _svc.Registry.ListEvents(kinds: new[] { EventKinds.Swarm }).Where(e => e.Subject == swarm.SwarmId).Select(e => e.NewStatus)
            .Should().Equal("Submitting", "Pending", "Running", "Degraded", "Terminated");
    }

    [Fact]
    public async Task Controller_stopped_while_polling_gives_a_clear_error_and_nothing_is_lost()
    {
        if (Backends.Missing(SlurmBackend.SkipReason())) return;
        using var slurmLock = SlurmTestLock.Acquire();
        var swarm = await Launch(2);
        await SlurmBackend.Until(() => Poll(swarm.SwarmId), s => s.Nodes.All(n => n.Status == SwarmNodeStatus.Running), TimeSpan.FromSeconds(60), "2 running nodes");
        var pidFile = Path.Combine(SlurmBackend.StateDir, "slurmctld.pid");
        File.Exists(pidFile).Should().BeTrue($"the controller was started by .ci/backends/slurm.sh ({pidFile})");
        var pid = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        try
        {
            // SIGTERM, as an operator stopping the controller does (it saves its job state first; a
            // SIGKILLed controller forgets jobs submitted since its last state save, which no client can undo).
            using (var p = Process.GetProcessById(pid))
            {
                SlurmBackend.Run("kill", "-TERM", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)).Code.Should().Be(0);
                p.WaitForExit(30_000).Should().BeTrue("slurmctld stops on SIGTERM");
            }
            var inj = _svc.Swarms.Inject(swarm.SwarmId, "while the controller is down");
            var ex = await ((Func<Task>)(() => _svc.Swarms.GetAsync())).Should().ThrowAsync<SwarmException>();
            ex.Which.ErrorId.Should().Be(SlurmErrorIds.SlurmUnavailable);
            ex.Which.Kind.Should().Be(SwarmErrorKind.Unavailable);
            ex.Which.Message.Should().Contain("squeue").And.Contain("Nothing was changed");
            _log.WriteLine(ex.Which.Message);
            _svc.Registry.GetSwarm(swarm.SwarmId)!.Status.Should().Be(SwarmStatus.Running, "a failed probe is not evidence of death");
            // The workers and the shared filesystem do not need the controller: answers still arrive.
            (await Responses(swarm.SwarmId, inj.InjectionId, TimeSpan.FromSeconds(30))).Should().HaveCount(2);
        }
        finally
        {
            // Restart WITHOUT -c so the controller recovers its jobs from its state directory.
            SlurmBackend.Run("/usr/sbin/slurmctld");
            await SlurmBackend.Until(() => Task.FromResult(SlurmBackend.Run("squeue", "-h").Code), c => c == 0, TimeSpan.FromSeconds(30), "slurmctld back");
        }
        var after = await SlurmBackend.Until(() => Poll(swarm.SwarmId), s => s.Nodes.All(n => n.Status == SwarmNodeStatus.Running), TimeSpan.FromSeconds(30), "the swarm seen running again");
        after.Status.Should().Be(SwarmStatus.Running);
        var again = _svc.Swarms.Inject(swarm.SwarmId, "after the restart");
        (await Responses(swarm.SwarmId, again.InjectionId, TimeSpan.FromSeconds(30))).Should().HaveCount(2);
        (await _svc.Swarms.StopAsync(swarm.SwarmId)).Status.Should().Be(SwarmStatus.Terminated);
        ActiveQueue(swarm.JobId!).Should().BeEmpty();
    }
}
