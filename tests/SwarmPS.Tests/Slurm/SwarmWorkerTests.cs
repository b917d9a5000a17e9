using System.Diagnostics;
using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Slurm;
using SwarmPS.Core.Swarms;
using Xunit;

namespace SwarmPS.Tests.Slurm;

/// <summary>
/// The bash worker, run directly (no Slurm): a recording runner stands in for sbatch, and the test
/// starts the worker for each node itself, as the batch script would.
/// </summary>
public sealed class SwarmWorkerTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "swarmps-worker-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly RecordingSlurmRunner _runner = new();
    private readonly List<Process> _workers = new();

    public void Dispose()
    {
        foreach (var w in _workers) { try { w.Kill(true); w.WaitForExit(5000); } catch (InvalidOperationException) { } w.Dispose(); }
        try { Directory.Delete(_root, true); } catch (IOException) { }
    }

    private static string Fake(string name) => Path.Combine(AppContext.BaseDirectory, "Fakes", name);

    private (SwarmService Svc, SwarmClusterService Cluster) Service(SwarmConfig? config = null)
    {
        var svc = new SwarmService(new SwarmHome(Path.Combine(_root, "home")), config ?? new SwarmConfig());
        return (svc, new SwarmClusterService(svc, new SlurmCli(_runner.Run), new SlurmSettings { SharedDirectory = Path.Combine(_root, "shared"), HeartbeatSeconds = 1, NodeTtlSeconds = 3 }));
    }

    private void StartWorkers(Swarm s)
    {
        for (var k = 0; k < s.NodeCount; k++)
        {
            var psi = new ProcessStartInfo("bash") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { Path.Combine(s.Directory, "worker.sh"), s.Directory, k.ToString(System.Globalization.CultureInfo.InvariantCulture) }) psi.ArgumentList.Add(a);
            var p = Process.Start(psi)!;
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            _workers.Add(p);
        }
    }

    private static async Task<List<SwarmResponse>> All(IAsyncEnumerable<SwarmResponse> stream)
    {
        var list = new List<SwarmResponse>();
        await foreach (var r in stream) list.Add(r);
        return list;
    }

    [Fact]
    public async Task Command_profile_answers_byte_exact_with_exit_status_and_zero_cost()
    {
        if (OperatingSystem.IsWindows()) return;
        var (_, cluster) = Service();
        var s = await cluster.StartAsync(new SwarmLaunchRequest { Nodes = 2, Prompt = "sys 'q' $(x)", Profile = "command", Command = new[] { "/bin/sh", Fake("swarm-echo") } });
        StartWorkers(s);
        var ok = cluster.Inject(s.SwarmId, "ünïcode \"$HOME\" `id`\nline 2");
        var failing = cluster.Inject(s.SwarmId, "please fail", node: 1);
        var r1 = await All(cluster.ReceiveAsync(s.SwarmId, ok.InjectionId, wait: true, timeout: TimeSpan.FromSeconds(30)));
        r1.Select(r => r.Node).Should().BeEquivalentTo(new[] { 0, 1 });
        foreach (var r in r1)
        {
            r.Response.Should().Be($"node {r.Node} answers: sys 'q' $(x)\n\nünïcode \"$HOME\" `id`\nline 2\n");
            r.ExitCode.Should().Be(0);
            r.CostUsd.Should().Be(0m);
            r.EndedAt.Should().NotBeNull();
        }
        var r2 = await All(cluster.ReceiveAsync(s.SwarmId, failing.InjectionId, wait: true, timeout: TimeSpan.FromSeconds(30)));
        r2.Should().ContainSingle().Which.Should().Match<SwarmResponse>(r => r.Node == 1 && r.ExitCode == 4);
        (await All(cluster.ReceiveAsync(s.SwarmId))).Should().HaveCount(3, "without -Wait: everything written so far");
        // Only the responses: the live workers rewrite heartbeat.tmp -> heartbeat every few seconds, so one may be
        // caught between the write and the rename.
        Directory.GetFiles(s.Directory, "*.tmp", SearchOption.AllDirectories).Where(f => f.Contains($"{Path.DirectorySeparatorChar}outbox{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Should().BeEmpty("responses are renamed into place");
        File.Exists(Path.Combine(s.Directory, "nodes", "0", "heartbeat")).Should().BeTrue();
    }

    [Fact]
    public async Task Claude_profile_response_is_the_parsed_result_with_its_cost()
    {
        if (OperatingSystem.IsWindows()) return;
        var config = new SwarmConfig { AgentProfiles = { new AgentProfileConfig { Name = "claude", Executable = Fake("claude") } } };
        var (_, cluster) = Service(config);
        var s = await cluster.StartAsync(new SwarmLaunchRequest { Nodes = 1, Prompt = "be terse", Profile = "claude" });
        StartWorkers(s);
        var i = cluster.Inject(s.SwarmId, "fix the bug");
        var r = (await All(cluster.ReceiveAsync(s.SwarmId, i.InjectionId, wait: true, timeout: TimeSpan.FromSeconds(30)))).Single();
        r.Response.Should().Be("Done; tests pass.");
        r.CostUsd.Should().Be(0.1834m);
        r.ExitCode.Should().Be(0);
        // The fake recorded its argv: -p carries the system prompt, a blank line, then the injected prompt.
        var argv = File.ReadAllText(Path.Combine(s.Directory, "nodes", "0", "run", "fake-argv.bin")).Split('\0');
        argv[0].Should().Be("-p");
        argv[1].Should().Be("be terse\n\nfix the bug");
    }

    [Fact]
    public async Task Wait_times_out_naming_what_is_missing_and_skips_nodes_dead_by_heartbeat()
    {
        if (OperatingSystem.IsWindows()) return;
        var (_, cluster) = Service();
        var s = await cluster.StartAsync(new SwarmLaunchRequest { Nodes = 2, Prompt = "p", Profile = "command", Command = new[] { "/bin/sh", Fake("swarm-echo") } });
        // No worker runs: nothing answers, and without heartbeats nobody is known to be dead.
        var i = cluster.Inject(s.SwarmId, "anyone?");
        var act = () => All(cluster.ReceiveAsync(s.SwarmId, i.InjectionId, wait: true, timeout: TimeSpan.FromSeconds(1)));
        var ex = (await act.Should().ThrowAsync<SwarmException>()).Which;
        ex.ErrorId.Should().Be(ErrorIds.Timeout);
        ex.Details.Should().HaveCount(2);
        // A node whose heartbeat is older than its TTL (3 s) is not waited for.
        foreach (var k in new[] { 0, 1 })
        {
            var hb = Path.Combine(s.Directory, "nodes", k.ToString(System.Globalization.CultureInfo.InvariantCulture), "heartbeat");
            File.WriteAllText(hb, "0");
            File.SetLastWriteTimeUtc(hb, DateTime.UtcNow.AddSeconds(-30));
        }
        (await All(cluster.ReceiveAsync(s.SwarmId, i.InjectionId, wait: true, timeout: TimeSpan.FromSeconds(10)))).Should().BeEmpty();
    }
}
