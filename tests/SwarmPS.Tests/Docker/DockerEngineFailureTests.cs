using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Processes;
using SwarmPS.Core.Providers;
using SwarmPS.Core.Providers.Docker;
using SwarmPS.Tests.Contract;
using SwarmPS.Tests.Support;
using Xunit;

namespace SwarmPS.Tests.Docker;

/// <summary>
/// The real dockerd stopped and restarted under SwarmPS (through the project's own
/// <c>.ci/backends/docker.sh stop|start</c>, which only ever stops the dockerd it started). In the engine
/// collection, so no other engine test runs meanwhile; the engine is started again even when a test fails.
/// </summary>
[Collection(DockerEngineCollection.Name)]
public sealed class DockerEngineFailureTests : IDisposable
{
    private readonly DockerFixture _f = new();
    private bool _stopped;

    public void Dispose()
    {
        try
        {
            if (_stopped) Engine("start");
        }
        finally
        {
            _f.Dispose();
        }
    }

    private static T Run<T>(Task<T> t) => Sync.Run(t);

    private static string? Script()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var p = Path.Combine(dir.FullName, ".ci", "backends", "docker.sh");
            if (File.Exists(p)) return p;
        }
        return null;
    }

    /// <summary>Why this test cannot stop the engine (null when it can): it must be the dockerd docker.sh started, on the socket SwarmPS uses.</summary>
    private string? CannotControl()
    {
        if (Script() is null) return ".ci/backends/docker.sh not found above the test binaries";
        var dir = Environment.GetEnvironmentVariable("SWARMPS_BACKENDS_DIR") is { Length: > 0 } d ? d : "/tmp/swarmps-backends";
        var pidFile = Path.Combine(dir, "swarmps-docker", "dockerd.pid");
        if (!File.Exists(pidFile) || !int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid) || !ProcessIdentity.IsAlive(ProcessIdentity.Of(pid)))
            return "the Docker Engine was not started by .ci/backends/docker.sh, so the test will not stop it";
        var sock = Environment.GetEnvironmentVariable("DOCKER_SOCK") is { Length: > 0 } s ? s : "/var/run/docker.sock";
        if (_f.DockerProvider.Client.Endpoint.Uri != "unix://" + sock) return $"SwarmPS talks to {_f.DockerProvider.Client.Endpoint.Uri}, not the script's socket {sock}";
        return null;
    }

    private void Engine(string command)
    {
        var r = Run(ProcessRunner.Default.RunAsync(new ProcessSpec("bash", new[] { Script()!, command }) { Timeout = TimeSpan.FromMinutes(2) }));
        r.ExitCode.Should().Be(0, $"docker.sh {command}: {r.StandardError}");
        _stopped = command == "stop";
    }

    [Fact]
    public void Stopping_the_engine_gives_clear_errors_loses_nothing_and_after_a_restart_status_repair_and_start_agree()
    {
        if (Backends.Missing(_f.SkipReason)) return;
        if (CannotControl() is { } why)
        {
            if (Backends.Required) throw new InvalidOperationException("SWARMPS_REQUIRE_BACKENDS=1 but " + why);
            Console.Error.WriteLine("SKIPPED: " + why);
            return;
        }
        var svc = _f.CreateService();
        Run(svc.NewEnvironmentAsync(_f.Request("ENG-1")));
        Run(svc.NewEnvironmentAsync(new NewEnvironmentRequest
        {
            Ticket = "ENG-2", Image = DockerFixture.TestImage, Options = new Dictionary<string, string> { [DockerProvider.OptionNoWorktree] = "true" },
        }));
        Run(svc.ExecAsync("ENG-1", new[] { "sh", "-c", "echo kept > /workspace/kept.txt && echo inside > /inside" })).ExitCode.Should().Be(0);
        Run(svc.ExecAsync("ENG-2", new[] { "sh", "-c", "echo image-only > /inside" })).ExitCode.Should().Be(0);
        Run(svc.CheckpointAsync("ENG-1", "before"));
        var uri = _f.DockerProvider.Client.Endpoint.Uri;
        // Other test assemblies (the CLI's docker test) hold the engine shared; wait for them, keep them out.
        using var exclusive = EngineLock.Exclusive();
        try
        {
            Engine("stop");
            // The running service and a fresh one (a new session) say the same thing.
            foreach (var s in new[] { svc, _f.CreateService() })
            {
                void Down(Action a)
                {
                    var ex = a.Should().Throw<SwarmException>().Which;
                    ex.Kind.Should().Be(SwarmErrorKind.Unavailable);
                    ex.Message.Should().Contain(uri, "the error names the endpoint that was tried").And.Contain("Start", "and what to start");
                }
                Down(() => Run(s.ExecAsync("ENG-1", new[] { "true" })));
                Down(() => Run(s.StopEnvironmentAsync("ENG-1")));
                Down(() => Run(s.StartEnvironmentAsync("ENG-2")));
                Down(() => Run(s.CheckpointAsync("ENG-1", "during")));
                Down(() => Run(s.RestoreAsync("ENG-1", "before")));
                Down(() => Run(s.RemoveEnvironmentAsync("ENG-2", new RemoveOptions { Force = true })));
                Down(() => Run(s.NewEnvironmentAsync(_f.Request("ENG-3"))));
                Run(s.GetEnvironmentsAsync()).Where(e => e.Ticket.StartsWith("ENG-", StringComparison.Ordinal))
                    .Should().HaveCount(2).And.OnlyContain(e => e.Status == EnvironmentStatus.Error, "unknown while the engine is down, never Missing");
                Run(s.RepairAsync(fix: true)).Should().NotContain(i => i.Provider == DockerProvider.ProviderName, "repair never acts on a backend it cannot see");
            }
            svc.Registry.GetEnvironment("ENG-1").Should().NotBeNull();
            svc.Registry.GetEnvironment("ENG-2").Should().NotBeNull();
            svc.Registry.GetEnvironment("ENG-3").Should().BeNull();
            svc.GetCheckpoints("ENG-1").Select(c => c.Name).Should().Equal("before");
            File.ReadAllText(Path.Combine(svc.GetEnvironment("ENG-1").WorkspacePath!, "kept.txt")).Should().Be("kept\n");
        }
        finally
        {
            if (_stopped) Engine("start");
        }

        // The engine stopped the containers with it (restart policy "no"): status says Stopped, repair
        // finds nothing to fix, start brings each back with its filesystem, and the checkpoint restores.
        Run(svc.GetEnvironmentsAsync()).Where(e => e.Ticket.StartsWith("ENG-", StringComparison.Ordinal))
            .Should().HaveCount(2).And.OnlyContain(e => e.Status == EnvironmentStatus.Stopped);
        Run(svc.RepairAsync(fix: false)).Where(i => i.Provider == DockerProvider.ProviderName).Should().BeEmpty();
        Run(svc.StartEnvironmentAsync("ENG-1"));
        Run(svc.StartEnvironmentAsync("ENG-2"));
        Run(svc.ExecAsync("ENG-1", new[] { "cat", "/inside", "/workspace/kept.txt" })).StandardOutput.Should().Be("inside\nkept\n");
        Run(svc.ExecAsync("ENG-2", new[] { "cat", "/inside" })).StandardOutput.Should().Be("image-only\n");
        Run(svc.RestoreAsync("ENG-1", "before"));
        Run(svc.ExecAsync("ENG-1", new[] { "cat", "/inside" })).StandardOutput.Should().Be("inside\n");

        // A container deleted behind SwarmPS's back: repair reports the row without a container.
        Run(_f.DockerProvider.Client.RemoveContainerAsync(svc.GetEnvironment("ENG-2").InstanceId!, default));
        Run(svc.GetEnvironmentsAsync()).Single(e => e.Ticket == "ENG-2").Status.Should().Be(EnvironmentStatus.Missing);
        var report = Run(svc.RepairAsync(fix: false)).Where(i => i.Provider == DockerProvider.ProviderName).ToList();
        report.Should().ContainSingle(i => i.Kind == RepairIssueKind.DanglingRow && i.Ticket == "ENG-2" && !i.Fixed)
            .Which.Description.Should().Contain("gone from the engine");
        ((Action)(() => Run(svc.ExecAsync("ENG-2", new[] { "true" })))).Should().Throw<SwarmException>().Which.ErrorId.Should().Be(DockerErrorIds.DockerContainerMissing);

        Run(svc.RemoveEnvironmentAsync("ENG-1", new RemoveOptions { Force = true }));
        Run(svc.RemoveEnvironmentAsync("ENG-2", new RemoveOptions { Force = true }));
        Run(_f.LeftoversAsync("ENG-1")).Should().BeEmpty();
        Run(_f.LeftoversAsync("ENG-2")).Should().BeEmpty();
    }
}
