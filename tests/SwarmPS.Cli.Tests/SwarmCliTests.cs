using System.Diagnostics;
using System.Text.Json;
using FluentAssertions;
using SwarmPS.Cli.Tests.Infrastructure;
using SwarmPS.Tests.Support;
using Xunit;

namespace SwarmPS.Cli.Tests;

/// <summary><c>swarmps swarm launch|inject|responses|status|list|terminate</c> through the real CLI.</summary>
[Trait("Category", "Integration")]
public sealed class SwarmCliTests : IDisposable
{
    private readonly TempWorkspace _ws = new();
    public void Dispose() => _ws.Dispose();

    private static string FakeAgent => Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "SwarmPS.Tests", "Fakes", "swarm-echo");

    private static bool SlurmMissing()
    {
        var psi = new ProcessStartInfo("sinfo") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-h");
        try
        {
            using var p = Process.Start(psi)!;
            // Generous: a loaded 2-core machine; a sinfo that does not answer in 60 s counts as no Slurm.
            if (p.WaitForExit(60_000) && p.ExitCode == 0) return false;
            if (!p.HasExited) p.Kill(true);
        }
        catch (System.ComponentModel.Win32Exception) { }
        const string missing = "no Slurm controller answers sinfo (run .ci/backends/slurm.sh start)";
        if (Environment.GetEnvironmentVariable("SWARMPS_REQUIRE_BACKENDS") == "1") throw new InvalidOperationException("SWARMPS_REQUIRE_BACKENDS=1 but " + missing);
        Console.Error.WriteLine("SKIPPED (backend missing): " + missing);
        return true;
    }

    [Fact]
    public async Task Bad_input_is_a_usage_error_and_creates_nothing()
    {
        var zero = await _ws.RunAsync("swarm", "launch", "--nodes", "0", "--prompt", "p", "--profile", "command", "--", "true");
        zero.ExitCode.Should().Be(2, zero.ToString());
        zero.StdErrLines[0].Should().StartWith("InvalidArgument:");
        var noArgv = await _ws.RunAsync("swarm", "launch", "--nodes", "2", "--prompt", "p", "--profile", "command");
        noArgv.ExitCode.Should().Be(2, noArgv.ToString());
        var partition = await _ws.RunAsync("swarm", "launch", "--nodes", "2", "--prompt", "p", "--profile", "command", "--partition", "--wrap=x", "--", "true");
        partition.ExitCode.Should().Be(2, partition.ToString());
        var unknown = await _ws.RunAsync("swarm", "inject", "no-such-swarm", "--prompt", "x");
        unknown.ExitCode.Should().Be(1);
        unknown.StdErrLines[0].Should().StartWith("SwarmNotFound:");
        (await _ws.JsonAsync("swarm", "list")).GetArrayLength().Should().Be(0);
    }

    [Fact]
    public async Task Launch_inject_responses_status_terminate_with_json()
    {
        if (SlurmMissing()) return;
        using var slurmLock = SlurmTestLock.Acquire();
        var launch = await _ws.RunAsync("--json", "swarm", "launch", "--nodes", "2", "--prompt", "sys prompt", "--profile", "command", "--node-ttl", "20",
            "--workdir", Path.Combine(_ws.Root, "shared"), "--", "/bin/sh", FakeAgent);
        launch.ExitCode.Should().Be(0, launch.ToString());
        var id = launch.Json.GetProperty("swarmId").GetString()!;
        launch.Json.GetProperty("nodeCount").GetInt32().Should().Be(2);
        launch.Json.GetProperty("jobId").GetString().Should().MatchRegex(@"^\d+$");
        launch.Json.GetProperty("directory").GetString().Should().StartWith(Path.Combine(_ws.Root, "shared"));
        try
        {
            var inject = await _ws.JsonAsync("swarm", "inject", id, "--prompt", "question 'one' $(x)");
            var injection = inject.GetProperty("injectionId").GetString()!;
            var responses = await _ws.JsonAsync("swarm", "responses", id, "--injection", injection, "--wait", "--timeout", "120");
            responses.GetArrayLength().Should().Be(2);
            foreach (var r in responses.EnumerateArray())
            {
                r.GetProperty("injectionId").GetString().Should().Be(injection);
                r.GetProperty("exitCode").GetInt32().Should().Be(0);
                r.GetProperty("costUsd").GetDecimal().Should().Be(0m);
                r.GetProperty("response").GetString().Should().Be($"node {r.GetProperty("node").GetInt32()} answers: sys prompt\n\nquestion 'one' $(x)\n");
            }
            var status = await _ws.JsonAsync("swarm", "status", id);
            status[0].GetProperty("swarmId").GetString().Should().Be(id);
            status[0].GetProperty("nodes").GetArrayLength().Should().Be(2);
            status[0].GetProperty("status").GetString().Should().BeOneOf("Pending", "Running");
        }
        finally
        {
            var stop = await _ws.JsonAsync("swarm", "terminate", id);
            stop.GetProperty("status").GetString().Should().Be("Terminated");
        }
        var list = await _ws.JsonAsync("swarm", "list");
        list.EnumerateArray().Single().GetProperty("status").GetString().Should().Be("Terminated");
    }
}
