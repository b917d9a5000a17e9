using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Processes;
using SwarmPS.Core.Providers;
using SwarmPS.Core.Providers.Docker;
using SwarmPS.Tests.Contract;
using SwarmPS.Tests.Support;
using Xunit;

namespace SwarmPS.Tests.Docker;

/// <summary>The Docker provider end to end against the Docker Engine (skips loudly without one, see <see cref="DockerFixture"/>).</summary>
[Collection(DockerEngineCollection.Name)]
public sealed class DockerEndToEndTests : ContainerEndToEndTests<DockerFixture>
{
}

/// <summary>The same end-to-end tests against podman's Docker-compatible API (<c>.ci/backends/podman.sh start</c>).</summary>
[Collection(DockerEngineCollection.Name)]
public sealed class PodmanEndToEndTests : ContainerEndToEndTests<PodmanFixture>
{
}

/// <summary>The Docker provider end to end against a real engine (skips loudly without one, see <see cref="DockerFixture"/>).</summary>
public abstract class ContainerEndToEndTests<TFixture> : IDisposable where TFixture : DockerFixture, new()
{
    private readonly TFixture _f = new();
    public void Dispose() => _f.Dispose();
    private bool Missing() => Backends.Missing(_f.SkipReason);
    private static T Run<T>(Task<T> t) => Sync.Run(t);

    [Fact]
    public void A_process_in_the_container_listens_on_the_first_port_and_the_host_reaches_it_on_127_0_0_1()
    {
        if (Missing()) return;
        var svc = _f.CreateService();
        var env = Run(svc.NewEnvironmentAsync(_f.Request("NET-1")));
        try
        {
            var port = env.Ports.Start;
            var bg = Run(svc.ExecAsync("NET-1", new[] { "sh", "-c", "sh -c 'echo hello-from-container | nc -l -p \"$SWARM_PORT_BASE\" > /tmp/got' </dev/null >/dev/null 2>&1 &" }));
            bg.ExitCode.Should().Be(0, bg.StandardError);

            string? answer = null;
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (answer is null && DateTime.UtcNow < deadline)
            {
                try
                {
                    using var c = new TcpClient();
                    c.Connect("127.0.0.1", port);
                    var s = c.GetStream();
                    s.ReadTimeout = 3000;
                    s.Write(Encoding.ASCII.GetBytes("ping-from-host\n"));
                    var buf = new byte[256];
                    var n = s.Read(buf, 0, buf.Length);
                    if (n > 0) answer = Encoding.ASCII.GetString(buf, 0, n);
                }
                catch (Exception ex) when (ex is SocketException or IOException) { }
                if (answer is null) Thread.Sleep(100); // docker-proxy accepts before the listener is up
            }
            answer.Should().Be("hello-from-container\n");
            var got = "";
            for (var i = 0; i < 50 && got.Length == 0; i++, Thread.Sleep(50))
                got = Run(svc.ExecAsync("NET-1", new[] { "cat", "/tmp/got" })).StandardOutput;
            got.Should().Be("ping-from-host\n");
        }
        finally
        {
            Run(svc.RemoveEnvironmentAsync("NET-1", new RemoveOptions { Force = true }));
        }
        Run(_f.LeftoversAsync("NET-1")).Should().BeEmpty();
    }

    [Fact]
    public void Exec_separates_streams_passes_stdin_and_returns_the_exit_code_and_the_container_has_its_labels_limits_and_variables()
    {
        if (Missing()) return;
        var svc = _f.CreateService();
        var req = _f.Request("EXEC-1");
        var env = Run(svc.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = req.Ticket, RepositoryPath = req.RepositoryPath, Image = req.Image, Cpus = 1, MemoryMb = 64 }));
        try
        {
            var r = Run(svc.ExecAsync("EXEC-1", new[] { "sh", "-c", "cat; echo to-stderr >&2; exit 3" }, "héllo\nwörld"));
            r.ExitCode.Should().Be(3);
            r.StandardOutput.Should().Be("héllo\nwörld");
            r.StandardError.Should().Be("to-stderr\n");

            var big = Run(svc.ExecAsync("EXEC-1", new[] { "sh", "-c", "head -c 300000 /dev/zero | tr '\\0' a" }));
            big.StandardOutput.Length.Should().Be(300000);

            var vars = Run(svc.ExecAsync("EXEC-1", new[] { "sh", "-c", "echo $SWARM_TICKET $SWARM_PROVIDER $SWARM_WORKSPACE $SWARM_PORTS; pwd; ls /workspace/.swarm" }));
            vars.StandardOutput.Should().Be($"EXEC-1 docker /workspace {env.Ports}\n/workspace\nenv\n");

            var missing = Run(svc.ExecAsync("EXEC-1", new[] { "no-such-binary-swarmps" }));
            missing.ExitCode.Should().NotBe(0);

            var fx = _f.DockerProvider.Client;
            using var resp = Run(fx.SendAsync(HttpMethod.Get, $"/containers/{env.InstanceId}/json", null, "inspect", null, default));
            var n = JsonNode.Parse(Run(resp.Content.ReadAsStringAsync()))!;
            n["HostConfig"]!["Memory"]!.GetValue<long>().Should().Be(64L * 1024 * 1024);
            n["HostConfig"]!["NanoCpus"]!.GetValue<long>().Should().Be(1_000_000_000L);
            n["Config"]!["Labels"]![DockerProvider.LabelTicket]!.GetValue<string>().Should().Be("EXEC-1");
            n["Config"]!["Labels"]![DockerProvider.LabelHome]!.GetValue<string>().Should().Be(DockerProvider.HomeKey(_f.Home));
            n["HostConfig"]!["PortBindings"]![$"{env.Ports.Start}/tcp"]![0]!["HostIp"]!.GetValue<string>().Should().Be("127.0.0.1");

            Run(svc.StopEnvironmentAsync("EXEC-1"));
            var stopped = () => Run(svc.ExecAsync("EXEC-1", new[] { "true" }));
            stopped.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.InvalidState);
        }
        finally
        {
            Run(svc.RemoveEnvironmentAsync("EXEC-1", new RemoveOptions { Force = true }));
        }
    }

    [Fact]
    public void An_image_only_environment_has_no_worktree_and_checkpoints_the_container()
    {
        if (Missing()) return;
        var svc = _f.CreateService();
        var env = Run(svc.NewEnvironmentAsync(new NewEnvironmentRequest
        {
            Ticket = "IMG-1", Image = DockerFixture.TestImage, Options = new Dictionary<string, string> { [DockerProvider.OptionNoWorktree] = "true" },
        }));
        env.WorkspacePath.Should().BeNull();
        env.Branch.Should().BeNull();
        // No worktree, no diff or merge: refused up front as a capability of this environment.
        ((Action)(() => Run(svc.DiffAsync("IMG-1")))).Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.CapabilityNotSupported);
        ((Action)(() => Run(svc.MergeAsync("IMG-1")))).Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.CapabilityNotSupported);
        Run(svc.ExecAsync("IMG-1", new[] { "sh", "-c", "echo one > /data" })).ExitCode.Should().Be(0);
        Run(svc.CheckpointAsync("IMG-1", "c1"));
        Run(svc.ExecAsync("IMG-1", new[] { "sh", "-c", "echo two > /data" }));
        var before = svc.GetEnvironment("IMG-1").Metadata[DockerProvider.MetaContainerId];
        Run(svc.RestoreAsync("IMG-1", "c1"));
        Run(svc.ExecAsync("IMG-1", new[] { "cat", "/data" })).StandardOutput.Should().Be("one\n");
        // The row itself records the recreated container and the checkpoint image it came from.
        var row = svc.Registry.GetEnvironment("IMG-1")!;
        var now = Run(_f.DockerProvider.Client.InspectContainerAsync(env.InstanceId!, default))!;
        row.Metadata[DockerProvider.MetaContainerId].Should().Be(now.Id).And.NotBe(before);
        row.Metadata[DockerProvider.MetaContainerImage].Should().Be(DockerProvider.ImageReference("IMG-1", "c1"));
        row.Status.Should().Be(EnvironmentStatus.Running);
        Run(svc.RemoveEnvironmentAsync("IMG-1"));
        Run(_f.LeftoversAsync("IMG-1")).Should().BeEmpty();

        var bad = () => Run(svc.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = "IMG-2", Image = "swarmps-no-such-image:0" }));
        bad.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(DockerErrorIds.DockerImageNotFound);
        svc.Registry.GetEnvironment("IMG-2").Should().BeNull();
    }

    [Fact]
    public void With_the_engine_unreachable_every_operation_says_so_and_nothing_is_lost_from_the_registry()
    {
        if (Missing()) return;
        var svc = _f.CreateService();
        Run(svc.NewEnvironmentAsync(_f.Request("DOWN-1")));
        Run(svc.CheckpointAsync("DOWN-1", "keep"));

        // The same home and registry, seen by a SwarmPS whose engine endpoint answers nothing
        // (what a stopped or deleted dockerd looks like to the client).
        var dead = "unix://" + Path.Combine(Path.GetTempPath(), "swarmps-dead-" + Guid.NewGuid().ToString("N")[..8] + ".sock");
        using var down = new DockerProvider(new DockerProviderOptions { Endpoint = DockerEndpoint.Parse(dead) });
        var downSvc = new SwarmService(_f.Home, _f.Config(), new ProviderCatalog(new IEnvironmentProvider[] { down }, down.Name));

        void Unreachable(Action a)
        {
            var ex = a.Should().Throw<SwarmException>().Which;
            ex.Kind.Should().Be(SwarmErrorKind.Unavailable);
            ex.Message.Should().Contain(dead).And.Contain("Start");
        }
        Unreachable(() => Run(downSvc.StopEnvironmentAsync("DOWN-1")));
        Unreachable(() => Run(downSvc.StartEnvironmentAsync("DOWN-1")));
        Unreachable(() => Run(downSvc.ExecAsync("DOWN-1", new[] { "true" })));
        Unreachable(() => Run(downSvc.CheckpointAsync("DOWN-1", "x")));
        Unreachable(() => Run(downSvc.RestoreAsync("DOWN-1", "keep")));
        Unreachable(() => Run(downSvc.RemoveEnvironmentAsync("DOWN-1", new RemoveOptions { Force = true })));
        Unreachable(() => Run(downSvc.NewEnvironmentAsync(_f.Request("DOWN-2"))));
        Run(downSvc.GetEnvironmentsAsync()).Should().ContainSingle(e => e.Ticket == "DOWN-1" && e.Status == EnvironmentStatus.Error);
        Run(downSvc.RepairAsync(fix: true)).Should().NotContain(i => i.Provider == DockerProvider.ProviderName);
        Run(downSvc.GetProvidersAsync()).Single().Reason.Should().Contain(dead);

        svc.Registry.GetEnvironment("DOWN-1").Should().NotBeNull();
        svc.Registry.GetEnvironment("DOWN-2").Should().BeNull();
        svc.GetCheckpoints("DOWN-1").Select(c => c.Name).Should().Equal("keep");
        Directory.Exists(svc.GetEnvironment("DOWN-1").WorkspacePath).Should().BeTrue();

        // Back on the real engine everything is still there.
        Run(svc.GetEnvironmentsAsync()).Single().Status.Should().Be(EnvironmentStatus.Running);
        Run(svc.RestoreAsync("DOWN-1", "keep"));
        Run(svc.RemoveEnvironmentAsync("DOWN-1", new RemoveOptions { Force = true }));
        Run(_f.LeftoversAsync("DOWN-1")).Should().BeEmpty();
    }

    [Fact]
    public void Repair_recreates_a_vanished_container_and_removes_an_orphan_but_never_other_containers()
    {
        if (Missing()) return;
        var svc = _f.CreateService();
        var client = _f.DockerProvider.Client;
        var a = Run(svc.NewEnvironmentAsync(_f.Request("REP-A")));
        var b = Run(svc.NewEnvironmentAsync(_f.Request("REP-B")));
        // Someone else's container, without our labels.
        var foreign = "swarmps-test-foreign-" + Guid.NewGuid().ToString("N")[..8];
        Run(client.CreateContainerAsync(foreign, new JsonObject { ["Image"] = DockerFixture.TestImage, ["Cmd"] = new JsonArray("true") }, default));
        try
        {
            Run(client.RemoveContainerAsync(a.InstanceId!, default));   // row without container
            svc.Registry.DeleteEnvironment("REP-B");                      // container without row

            var report = Run(svc.RepairAsync(fix: false));
            report.Should().Contain(i => i.Kind == RepairIssueKind.DanglingRow && i.Ticket == "REP-A" && !i.Fixed);
            report.Should().Contain(i => i.Kind == RepairIssueKind.Orphan && i.Ticket == "REP-B" && !i.Fixed);
            Run(client.InspectContainerAsync(b.InstanceId!, default)).Should().NotBeNull("a report changes nothing");

            var fixedItems = Run(svc.RepairAsync(fix: true));
            fixedItems.Where(i => i.Provider == "docker").Should().OnlyContain(i => i.Fixed);
            Run(client.InspectContainerAsync(a.InstanceId!, default))!.Running.Should().BeTrue();
            Run(svc.ExecAsync("REP-A", new[] { "cat", "/workspace/.swarm/env" })).StandardOutput.Should().Contain("SWARM_TICKET=REP-A");
            Run(client.InspectContainerAsync(b.InstanceId!, default)).Should().BeNull();
            Run(client.InspectContainerAsync(foreign, default)).Should().NotBeNull();
            Run(svc.RepairAsync(fix: false)).Where(i => i.Provider == "docker").Should().BeEmpty();
        }
        finally
        {
            Run(client.RemoveContainerAsync(foreign, default));
            Run(svc.RemoveEnvironmentAsync("REP-A", new RemoveOptions { Force = true }));
        }
    }

    [Fact]
    public void An_agent_plan_runs_inside_the_container_through_the_docker_CLI()
    {
        if (Missing()) return;
        var svc = _f.CreateService();
        var env = Run(svc.NewEnvironmentAsync(_f.Request("AGT-1")));
        try
        {
            AgentLaunchPlan plan;
            try
            {
                plan = _f.Provider.PlanAgentLaunch(env, new[] { "sh", "-c", "echo \"$SWARM_AGENT_ID in $PWD\"; cat" },
                    new Dictionary<string, string>(EnvironmentVariables.For(env)) { ["SWARM_AGENT_ID"] = "a1" });
            }
            catch (SwarmException ex) when (ex.ErrorId == DockerErrorIds.DockerCliMissing)
            {
                Console.Error.WriteLine("SKIPPED (no docker CLI): " + ex.Message);
                return;
            }
            var r = Run(ProcessRunner.Default.RunAsync(new ProcessSpec(plan.FileName, plan.Arguments)
            {
                WorkingDirectory = plan.WorkingDirectory, StandardInput = "the prompt", Timeout = TimeSpan.FromSeconds(30),
                Environment = plan.Environment.ToDictionary(kv => kv.Key, kv => (string?)kv.Value),
            }));
            r.ExitCode.Should().Be(0, r.StandardError);
            r.StandardOutput.Should().Be("a1 in /workspace\nthe prompt");
        }
        finally
        {
            Run(svc.RemoveEnvironmentAsync("AGT-1", new RemoveOptions { Force = true }));
        }
    }

    private static bool HasDockerCli() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Any(d => File.Exists(Path.Combine(d, "docker")));

    /// <summary>Processes whose argv is exactly "sleep 300" (the wrapper's own argv merely mentions it).</summary>
    private const string CountSleep300 = "for p in /proc/[0-9]*; do tr '\\000' ' ' < $p/cmdline 2>/dev/null; echo; done | grep -c '^sleep 300 $'";

    private string InContainer(string ticket, string script) =>
        Run(_f.CreateService().ExecAsync(ticket, new[] { "sh", "-c", script })).StandardOutput;

    [Fact]
    public void An_agent_reads_its_prompt_file_inside_the_container_and_stop_ends_it_there_with_and_without_a_worktree()
    {
        if (Missing()) return;
        if (!HasDockerCli())
        {
            if (Backends.Required) throw new InvalidOperationException("SWARMPS_REQUIRE_BACKENDS=1 but the docker CLI (agents run through docker exec) is not on PATH");
            Console.Error.WriteLine("SKIPPED (no docker CLI for docker exec)");
            return;
        }
        var svc = _f.CreateService();
        foreach (var (ticket, noWorktree) in new[] { ("AGS-1", false), ("AGS-2", true) })
        {
            var req = noWorktree
                ? new NewEnvironmentRequest { Ticket = ticket, Image = DockerFixture.TestImage, Options = new Dictionary<string, string> { [DockerProvider.OptionNoWorktree] = "true" } }
                : _f.Request(ticket);
            Run(svc.NewEnvironmentAsync(req));
            try
            {
                var a = Run(svc.Agents.StartAsync(new SwarmPS.Core.Agents.AgentStartRequest
                {
                    Ticket = ticket, Profile = "command", Prompt = "prompt with 'quotes' and $(no-expansion)",
                    Command = new[] { "sh", "-c", "printf 'file=%s\\n' \"$SWARM_PROMPT_FILE\"; cat \"$SWARM_PROMPT_FILE\"; echo; exec sleep 300" },
                }));
                var text = "";
                for (var i = 0; i < 200 && !text.Contains("$(no-expansion)"); i++, Thread.Sleep(50))
                    text = string.Join("\n", svc.Agents.ReadOutput(a.Id, raw: true).Select(o => o.Text));
                text.Should().Contain("file=/tmp/.swarmps-agent-" + a.Id + "-1.prompt").And.Contain("prompt with 'quotes' and $(no-expansion)");
                InContainer(ticket, CountSleep300).Trim().Should().Be("1", "the agent runs inside the container");
                InContainer(ticket, $"cat /tmp/.swarmps-agent-{a.Id}-1.pid >/dev/null && echo pid-recorded").Should().Be("pid-recorded\n");

                var stopped = Run(svc.Agents.StopAsync(a.Id));
                stopped.Status.Should().Be(SwarmPS.Core.Agents.AgentStatus.Stopped);
                var left = "1";
                for (var i = 0; i < 100 && left != "0"; i++, Thread.Sleep(50)) left = InContainer(ticket, CountSleep300).Trim();
                left.Should().Be("0", "stop ends the process inside the container, not only the local docker exec client");
                InContainer(ticket, "ls /tmp/.swarmps-agent-* 2>/dev/null | wc -l").Trim().Should().Be("0", "pid and prompt files are removed");

                // An agent that ends by itself: exit code through docker exec, and its files are removed too.
                var done = Run(svc.Agents.StartAsync(new SwarmPS.Core.Agents.AgentStartRequest
                {
                    Ticket = ticket, Profile = "command", Prompt = "short", Command = new[] { "sh", "-c", "test \"$(cat \"$SWARM_PROMPT_FILE\")\" = short" },
                }));
                var finished = Run(svc.Agents.WaitForStatusAsync(done.Id, SwarmPS.Core.Agents.AgentStatus.Succeeded, TimeSpan.FromSeconds(30)));
                finished.Status.Should().Be(SwarmPS.Core.Agents.AgentStatus.Succeeded, finished.Error);
                InContainer(ticket, "ls /tmp/.swarmps-agent-* 2>/dev/null | wc -l").Trim().Should().Be("0");
            }
            finally
            {
                Run(svc.RemoveEnvironmentAsync(ticket, new RemoveOptions { Force = true }));
            }
        }
    }

    [Fact]
    public void Restore_of_a_worktree_environment_records_the_new_container_in_the_row_and_repair_recreates_from_it()
    {
        if (Missing()) return;
        var svc = _f.CreateService();
        var env = Run(svc.NewEnvironmentAsync(_f.Request("RST-1")));
        try
        {
            env.Metadata[DockerProvider.MetaContainerId].Should().NotBeNullOrEmpty();
            Run(svc.ExecAsync("RST-1", new[] { "sh", "-c", "echo from-checkpoint > /state" }));
            Run(svc.CheckpointAsync("RST-1", "s1"));
            Run(svc.StopEnvironmentAsync("RST-1"));
            Run(svc.RestoreAsync("RST-1", "s1"));
            var row = svc.Registry.GetEnvironment("RST-1")!;
            row.Status.Should().Be(EnvironmentStatus.Stopped, "a stopped environment stays stopped after restore");
            var c = Run(_f.DockerProvider.Client.InspectContainerAsync(env.InstanceId!, default))!;
            row.Metadata[DockerProvider.MetaContainerId].Should().Be(c.Id).And.NotBe(env.Metadata[DockerProvider.MetaContainerId]);
            row.Metadata[DockerProvider.MetaContainerImage].Should().Be(DockerProvider.ImageReference("RST-1", "s1"));

            // The container vanishes behind SwarmPS's back: repair reports the row without a container and
            // recreates it from the image it last came from (the checkpoint), recording the new id.
            Run(_f.DockerProvider.Client.RemoveContainerAsync(env.InstanceId!, default));
            Run(svc.RepairAsync(fix: false)).Should().Contain(i => i.Kind == RepairIssueKind.DanglingRow && i.Ticket == "RST-1" && i.Description.Contains("gone"));
            Run(svc.RepairAsync(fix: true));
            Run(svc.StartEnvironmentAsync("RST-1"));
            Run(svc.ExecAsync("RST-1", new[] { "cat", "/state" })).StandardOutput.Should().Be("from-checkpoint\n");
            var again = Run(_f.DockerProvider.Client.InspectContainerAsync(env.InstanceId!, default))!;
            svc.Registry.GetEnvironment("RST-1")!.Metadata[DockerProvider.MetaContainerId].Should().Be(again.Id);
        }
        finally
        {
            Run(svc.RemoveEnvironmentAsync("RST-1", new RemoveOptions { Force = true }));
        }
        Run(_f.LeftoversAsync("RST-1")).Should().BeEmpty();
    }
}
