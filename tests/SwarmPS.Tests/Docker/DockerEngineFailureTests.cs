using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Providers;
using SwarmPS.Core.Providers.Docker;
using SwarmPS.Tests.Contract;
using SwarmPS.Tests.Support;
using Xunit;

namespace SwarmPS.Tests.Docker;

/// <summary>
/// The Docker Engine stopped and restarted under SwarmPS. The test owns the engine it stops: a
/// <see cref="PrivateDockerd"/> (its own dockerd and containerd, socket and storage under a temp dir), so it
/// passes whether or not another engine runs on the machine, never disturbs one, and leaves nothing behind.
/// Not in the engine collection: it shares nothing with the other engine tests.
/// </summary>
public sealed class DockerEngineFailureTests
{
    private static T Run<T>(Task<T> t) => Sync.Run(t);

    /// <summary>SwarmPS's Docker provider pointed at the private engine (the endpoint plays DOCKER_HOST).</summary>
    private sealed class PrivateEngineFixture : DockerFixture
    {
        public PrivateEngineFixture(PrivateDockerd engine) : base(engine.Endpoint, "private Docker Engine", "PrivateDockerd.Launch()")
        {
        }
    }

    [Fact]
    public void Stopping_the_engine_gives_clear_errors_loses_nothing_and_after_a_restart_status_repair_and_start_agree()
    {
        if (Backends.Missing(PrivateDockerd.Unavailable())) return;
        string dir;
        using (var engine = PrivateDockerd.Launch())
        {
            dir = engine.Dir;
            using var f = new PrivateEngineFixture(engine);
            f.SkipReason.Should().BeNull("the private engine answers and has the test image it was given");
            f.DockerProvider.Client.Endpoint.Uri.Should().Be("unix://" + engine.Socket);
            engine.DockerdNetworkNamespace.Should().NotBeNull().And.NotBe(PrivateDockerd.NetworkNamespace(Environment.ProcessId),
                "the private dockerd (--bridge=none) must not see the host's interfaces, or it deletes the shared engine's docker0");
            Scenario(engine, f);
        }
        // Containers went with the engine's data-root; no dockerd, containerd, shim, mount or file of it is left.
        PrivateDockerd.Leftovers(dir).Should().BeEmpty();
    }

    private static void Scenario(PrivateDockerd engine, DockerFixture f)
    {
        var svc = f.CreateService();
        Run(svc.NewEnvironmentAsync(f.Request("ENG-1")));
        Run(svc.NewEnvironmentAsync(new NewEnvironmentRequest
        {
            Ticket = "ENG-2", Image = DockerFixture.TestImage, Options = new Dictionary<string, string> { [DockerProvider.OptionNoWorktree] = "true" },
        }));
        Run(svc.ExecAsync("ENG-1", new[] { "sh", "-c", "echo kept > /workspace/kept.txt && echo inside > /inside" })).ExitCode.Should().Be(0);
        Run(svc.ExecAsync("ENG-2", new[] { "sh", "-c", "echo image-only > /inside" })).ExitCode.Should().Be(0);
        Run(svc.CheckpointAsync("ENG-1", "before"));
        var uri = f.DockerProvider.Client.Endpoint.Uri;
        try
        {
            engine.Stop();
            engine.Ping().Should().BeFalse("the engine is down");
            // The running service and a fresh one (a new session) say the same thing.
            foreach (var s in new[] { svc, f.CreateService() })
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
                Down(() => Run(s.NewEnvironmentAsync(f.Request("ENG-3"))));
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
            // Waits for the engine's ping; a failed assertion above still gets a running engine to clean up in.
            if (!engine.Running) engine.Start();
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
        Run(f.DockerProvider.Client.RemoveContainerAsync(svc.GetEnvironment("ENG-2").InstanceId!, default));
        Run(svc.GetEnvironmentsAsync()).Single(e => e.Ticket == "ENG-2").Status.Should().Be(EnvironmentStatus.Missing);
        var report = Run(svc.RepairAsync(fix: false)).Where(i => i.Provider == DockerProvider.ProviderName).ToList();
        report.Should().ContainSingle(i => i.Kind == RepairIssueKind.DanglingRow && i.Ticket == "ENG-2" && !i.Fixed)
            .Which.Description.Should().Contain("gone from the engine");
        ((Action)(() => Run(svc.ExecAsync("ENG-2", new[] { "true" })))).Should().Throw<SwarmException>().Which.ErrorId.Should().Be(DockerErrorIds.DockerContainerMissing);

        Run(svc.RemoveEnvironmentAsync("ENG-1", new RemoveOptions { Force = true }));
        Run(svc.RemoveEnvironmentAsync("ENG-2", new RemoveOptions { Force = true }));
        Run(f.LeftoversAsync("ENG-1")).Should().BeEmpty();
        Run(f.LeftoversAsync("ENG-2")).Should().BeEmpty();
    }
}
