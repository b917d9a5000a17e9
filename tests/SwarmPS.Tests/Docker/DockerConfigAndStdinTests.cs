using System.Net;
using System.Net.Sockets;
using System.Text;
using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Providers;
using SwarmPS.Core.Providers.Docker;
using SwarmPS.Tests.Support;
using Xunit;

namespace SwarmPS.Tests.Docker;

/// <summary>The docker section of config.json, the API version pin, per-environment capabilities, the agent wrapper, and stdin framing (no engine needed).</summary>
[Collection(SwarmPS.Tests.Contract.DockerEngineCollection.Name)]
public sealed class DockerConfigAndStdinTests
{
    // ------------------------------------------------------------------ config.json

    [Fact]
    public void With_nothing_set_the_default_socket_and_debian_bookworm_slim_are_used()
    {
        var o = new DockerConfig().ToOptions(null, null, null, windows: false);
        o.Endpoint.Should().BeNull("the provider falls back to DOCKER_HOST / the platform default");
        o.DefaultImage.Should().Be("debian:bookworm-slim").And.Be(DockerConfig.BuiltInDefaultImage);
        o.DefaultImageSource.Should().Be("the built-in default");
        o.ApiVersion.Should().BeNull();
    }

    [Fact]
    public void Config_sets_the_endpoint_image_and_version_and_the_environment_variables_win()
    {
        var cfg = new DockerConfig { Host = "unix:///run/podman/podman.sock", DefaultImage = "alpine:3", ApiVersion = "v1.40" };
        var fromConfig = cfg.ToOptions(null, null, null, windows: false);
        fromConfig.Endpoint!.Uri.Should().Be("unix:///run/podman/podman.sock");
        fromConfig.Endpoint.Describe().Should().Contain("docker.host in config.json");
        fromConfig.DefaultImage.Should().Be("alpine:3");
        fromConfig.DefaultImageSource.Should().Contain("config.json");
        fromConfig.ApiVersion.Should().Be("1.40");

        var fromEnv = cfg.ToOptions("unix:///var/run/docker.sock", "busybox:1", null, windows: false);
        fromEnv.Endpoint!.Uri.Should().Be("unix:///var/run/docker.sock");
        fromEnv.Endpoint.Describe().Should().Contain("DOCKER_HOST");
        fromEnv.DefaultImage.Should().Be("busybox:1");
        fromEnv.DefaultImageSource.Should().Be("SWARMPS_DOCKER_IMAGE");

        new DockerConfig { Endpoint = "tcp://10.0.0.5:2375" }.ToOptions(null, null, null, false).Endpoint!.Uri.Should().Be("tcp://10.0.0.5:2375");
    }

    [Fact]
    public void A_bad_DOCKER_HOST_does_not_break_construction_and_is_reported_on_first_use()
    {
        var o = new DockerConfig().ToOptions("ssh://me@far", null, null, false);
        o.EndpointError.Should().NotBeNull();
        using var p = new DockerProvider(o);
        var ex = ((Action)(() => _ = p.Client)).Should().Throw<SwarmException>().Which;
        ex.ErrorId.Should().Be(DockerErrorIds.DockerHostInvalid);
    }

    [Theory]
    [InlineData("{\"docker\": {\"apiVersion\": \"1.99\"}}", "docker.apiVersion")]
    [InlineData("{\"docker\": {\"apiVersion\": \"1.12\"}}", "docker.apiVersion")]
    [InlineData("{\"docker\": {\"host\": \"ssh://x\"}}", "docker.host")]
    [InlineData("{\"docker\": {\"defaultImage\": \"-rf\"}}", "docker.defaultImage")]
    public void Invalid_docker_settings_are_ConfigInvalid_naming_the_field(string json, string field)
    {
        using var repo = new TempRepo();
        var home = new SwarmHome(repo.Home);
        Directory.CreateDirectory(home.Path);
        File.WriteAllText(home.ConfigPath, json);
        var ex = ((Action)(() => SwarmConfig.Load(home))).Should().Throw<SwarmException>().Which;
        ex.ErrorId.Should().Be(ErrorIds.ConfigInvalid);
        ex.Message.Should().Contain(field);
    }

    [Fact]
    public void The_docker_section_reaches_the_provider_of_a_service()
    {
        using var repo = new TempRepo();
        var home = new SwarmHome(repo.Home);
        Directory.CreateDirectory(home.Path);
        File.WriteAllText(home.ConfigPath, "{ \"docker\": { \"host\": \"unix:///nonexistent/swarmps-cfg.sock\", \"defaultImage\": \"swarmps-cfg:1\" } }");
        var saved = Environment.GetEnvironmentVariable("DOCKER_HOST");
        var savedImage = Environment.GetEnvironmentVariable("SWARMPS_DOCKER_IMAGE");
        try
        {
            // Only when neither variable is set can config decide (the variables win, as for the docker CLI).
            if (!string.IsNullOrEmpty(saved) || !string.IsNullOrEmpty(savedImage)) return;
            var svc = new SwarmService(home);
            var docker = (DockerProvider)svc.Providers.Get("docker");
            docker.Client.Endpoint.Uri.Should().Be("unix:///nonexistent/swarmps-cfg.sock");
            var ex = ((Func<Task>)(() => svc.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = "CFG-1", Provider = "docker", Options = new Dictionary<string, string> { ["noWorktree"] = "true" } })))
                .Should().ThrowAsync<SwarmException>().GetAwaiter().GetResult().Which;
            ex.Kind.Should().Be(SwarmErrorKind.Unavailable);
            ex.Message.Should().Contain("unix:///nonexistent/swarmps-cfg.sock").And.Contain("config.json").And.Contain("Start");
            svc.Registry.GetEnvironment("CFG-1").Should().BeNull();
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        }
    }

    private sealed class FakeEngine : HttpMessageHandler
    {
        public List<string> Requests { get; } = new();
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            lock (Requests) Requests.Add($"{request.Method} {request.RequestUri!.PathAndQuery}");
            var r = request.RequestUri!.AbsolutePath == "/_ping"
                ? new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("OK") }
                : new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("{\"Version\":\"x\",\"ApiVersion\":\"1.41\"}", Encoding.UTF8, "application/json") };
            r.Headers.Add("Api-Version", "1.41");
            return Task.FromResult(r);
        }
    }

    [Fact]
    public async Task A_pinned_API_version_is_used_after_a_ping_instead_of_the_negotiated_one()
    {
        var fake = new FakeEngine();
        using var client = new DockerEngineClient(DockerEndpoint.Parse("unix:///nonexistent/fake.sock"), fake) { PinnedApiVersion = "1.30" };
        (await client.NegotiateAsync(default)).Should().Be("1.30");
        await client.VersionAsync(default);
        fake.Requests.Should().Equal("GET /_ping", "GET /v1.30/version");
    }

    // ------------------------------------------------------------------ capabilities per environment

    [Fact]
    public void An_image_only_environment_has_no_DiffMerge_and_a_worktree_one_has()
    {
        using var p = new DockerProvider(new DockerProviderOptions { Endpoint = DockerEndpoint.Parse("unix:///x/docker.sock") });
        var withWorktree = new SwarmEnvironment { Ticket = "C-1", Provider = "docker", WorkspacePath = "/tmp/x", Metadata = new Dictionary<string, string> { ["noWorktree"] = "false" } };
        var imageOnly = new SwarmEnvironment { Ticket = "C-2", Provider = "docker", Metadata = new Dictionary<string, string> { ["noWorktree"] = "true" } };
        p.CapabilitiesOf(withWorktree).Should().Be(p.Capabilities);
        p.CapabilitiesOf(imageOnly).HasFlag(ProviderCapabilities.DiffMerge).Should().BeFalse();
        p.CapabilitiesOf(imageOnly).HasFlag(ProviderCapabilities.Checkpoint).Should().BeTrue();
        ((IEnvironmentProvider)new SwarmPS.Core.Providers.Worktree.WorktreeProvider()).CapabilitiesOf(withWorktree)
            .Should().Be(new SwarmPS.Core.Providers.Worktree.WorktreeProvider().Capabilities, "the default is the provider's capabilities");
    }

    // ------------------------------------------------------------------ agents

    [Fact]
    public void An_agent_runs_under_a_wrapper_that_records_its_pid_and_takes_the_argv_as_parameters()
    {
        var fakeCli = Path.Combine(Path.GetTempPath(), "swarmps-fake-docker-" + Guid.NewGuid().ToString("N")[..8]);
        File.WriteAllText(fakeCli, "");
        try
        {
            using var p = new DockerProvider(new DockerProviderOptions { DockerCli = fakeCli, Endpoint = DockerEndpoint.Parse("unix:///x/docker.sock") });
            var env = new SwarmEnvironment { Ticket = "AG-2", Provider = "docker", InstanceId = "swarmps-ag-2-0000" };
            var plan = p.PlanAgentLaunch(env, new[] { "claude", "-p", "it's; $(rm -rf /)" },
                new Dictionary<string, string> { ["SWARM_AGENT_ID"] = "ag-123", ["SWARM_AGENT_RUN"] = "2" });
            var i = plan.Arguments.ToList().IndexOf("swarmps-ag-2-0000");
            plan.Arguments.Skip(i + 1).Should().Equal("sh", "-c", DockerProvider.AgentWrapperScript, "/tmp/.swarmps-agent-ag-123-2.pid", "claude", "-p", "it's; $(rm -rf /)");
            DockerProvider.AgentWrapperScript.Should().NotContain("claude", "user text never enters the script");
        }
        finally
        {
            File.Delete(fakeCli);
        }
    }

    // ------------------------------------------------------------------ stdin framing

    /// <summary>Records every write as one message, as a message-mode pipe would deliver it, and the end-of-stream marker.</summary>
    private sealed class MessageRecorder : Stream
    {
        public List<string> Events { get; } = new();
        public int FailAfter { get; init; } = int.MaxValue;
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default)
        {
            if (Events.Count >= FailAfter) throw new IOException("broken pipe");
            Events.Add("data:" + buffer.Length);
            return ValueTask.CompletedTask;
        }
        public override Task FlushAsync(CancellationToken ct) { Events.Add("flush"); return Task.CompletedTask; }
        public override void Flush() { }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static ValueTask Eof(Stream s, CancellationToken ct)
    {
        ((MessageRecorder)s).Events.Add("eof");
        return ValueTask.CompletedTask;
    }

    [Theory]
    [InlineData(0, new[] { "flush", "eof" })]
    [InlineData(5, new[] { "data:5", "flush", "eof" })]
    [InlineData(70000, new[] { "data:32768", "data:32768", "data:4464", "flush", "eof" })]
    public async Task Stdin_is_written_in_non_empty_messages_then_ended_exactly_once(int length, string[] expected)
    {
        // On a message-mode pipe an empty data message would already mean EOF: none may be written.
        var s = new MessageRecorder();
        await DockerStdin.PumpAsync(s, new byte[length], Eof, default);
        s.Events.Should().Equal(expected);
    }

    [Fact]
    public async Task A_process_that_stops_reading_stdin_is_not_an_exec_failure()
    {
        var s = new MessageRecorder { FailAfter = 1 };
        await DockerStdin.PumpAsync(s, new byte[100000], Eof, default);
        s.Events.Should().Equal("data:32768");
    }

    [Fact]
    public async Task On_sockets_the_end_of_stdin_is_a_half_close_and_the_reply_still_arrives()
    {
        var path = Path.Combine(Path.GetTempPath(), "swarmps-hc-" + Guid.NewGuid().ToString("N")[..8] + ".sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        try
        {
            // An "engine" that reads stdin to EOF and then answers with what it got.
            var server = Task.Run(async () =>
            {
                using var conn = await listener.AcceptAsync();
                var got = new MemoryStream();
                var buf = new byte[4096];
                int n;
                while ((n = await conn.ReceiveAsync(buf, SocketFlags.None)) > 0) got.Write(buf, 0, n);
                await conn.SendAsync(Encoding.ASCII.GetBytes("got " + got.Length), SocketFlags.None);
            });
            await using var client = await DockerEndpoint.Parse("unix://" + path).ConnectAsync(TimeSpan.FromSeconds(5), default);
            await DockerStdin.PumpAsync(client, new byte[50000], DockerStdin.CloseWriteFor(DockerEndpointKind.Unix), default);
            var reply = new byte[64];
            var len = await client.ReadAsync(reply);
            Encoding.ASCII.GetString(reply, 0, len).Should().Be("got 50000");
            await server;
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task On_a_named_pipe_endpoint_the_end_of_stdin_is_the_zero_byte_message()
    {
        // The strategy is chosen by the endpoint kind; off Windows there is no pipe to write to, and
        // it says so rather than silently leaving the process waiting for stdin.
        var close = DockerStdin.CloseWriteFor(DockerEndpointKind.NamedPipe);
        close.Should().NotBeSameAs(DockerStdin.CloseWriteFor(DockerEndpointKind.Unix));
        var act = async () => await close(new MemoryStream(), default);
        await act.Should().ThrowAsync<NotSupportedException>().WithMessage("*zero-byte*");
    }
}
