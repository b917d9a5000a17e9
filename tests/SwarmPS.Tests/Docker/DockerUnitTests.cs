using System.Net;
using System.Net.Sockets;
using System.Text;
using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Providers.Docker;
using SwarmPS.Tests.Support;
using Xunit;

namespace SwarmPS.Tests.Docker;

/// <summary>Docker provider pieces that need no engine: DOCKER_HOST, stream frames, versions, error mapping.</summary>
[Collection(SwarmPS.Tests.Contract.DockerEngineCollection.Name)]
public sealed class DockerUnitTests
{
    [Theory]
    [InlineData(null, false, DockerEndpointKind.Unix, "unix:///var/run/docker.sock", "/var/run/docker.sock")]
    [InlineData("", true, DockerEndpointKind.NamedPipe, "npipe:////./pipe/docker_engine", "./docker_engine")]
    [InlineData("unix:///run/user/1000/podman/podman.sock", false, DockerEndpointKind.Unix, "unix:///run/user/1000/podman/podman.sock", "/run/user/1000/podman/podman.sock")]
    [InlineData("npipe:////./pipe/docker_engine", true, DockerEndpointKind.NamedPipe, "npipe:////./pipe/docker_engine", "./docker_engine")]
    [InlineData("npipe://./pipe/dockerDesktopLinuxEngine", true, DockerEndpointKind.NamedPipe, "npipe:////./pipe/dockerDesktopLinuxEngine", "./dockerDesktopLinuxEngine")]
    [InlineData("tcp://127.0.0.1:2376", false, DockerEndpointKind.Tcp, "tcp://127.0.0.1:2376", "127.0.0.1")]
    [InlineData("tcp://docker.internal", false, DockerEndpointKind.Tcp, "tcp://docker.internal:2375", "docker.internal")]
    public void DOCKER_HOST_is_parsed_like_the_docker_cli(string? value, bool windows, DockerEndpointKind kind, string uri, string address)
    {
        var e = DockerEndpoint.Parse(value, windows);
        e.Kind.Should().Be(kind);
        e.Uri.Should().Be(uri);
        e.Address.Should().Be(address);
        e.FromEnvironment.Should().Be(!string.IsNullOrEmpty(value));
        e.Describe().Should().Contain(uri);
    }

    [Theory]
    [InlineData("ssh://me@host", "ssh")]
    [InlineData("https://host:2376", "TLS")]
    [InlineData("/var/run/docker.sock", "scheme")]
    [InlineData("unix://relative.sock", "absolute")]
    [InlineData("npipe:////./docker_engine", "named pipe")]
    [InlineData("fd://", "scheme")]
    public void Unusable_DOCKER_HOST_values_are_refused_with_the_reason(string value, string reason)
    {
        var act = () => DockerEndpoint.Parse(value);
        var ex = act.Should().Throw<SwarmException>().Which;
        ex.ErrorId.Should().Be(DockerErrorIds.DockerHostInvalid);
        ex.Kind.Should().Be(SwarmErrorKind.InvalidArgument);
        ex.Message.Should().Contain(reason);
    }

    [Fact]
    public void Tcp_with_TLS_verification_is_refused()
    {
        var act = () => DockerEndpoint.Parse("tcp://h:2376", tlsVerify: "1");
        act.Should().Throw<SwarmException>().Which.Message.Should().Contain("DOCKER_TLS_VERIFY");
    }

    // ------------------------------------------------------------------ frames

    private static byte[] Frames(params (byte Type, string Text)[] frames) =>
        frames.SelectMany(f => DockerStreamDemultiplexer.Frame(f.Type, Encoding.UTF8.GetBytes(f.Text))).ToArray();

    /// <summary>Hands out at most one byte per read, as a slow socket may.</summary>
    private sealed class TrickleStream(byte[] data) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) => base.ReadAsync(buffer[..Math.Min(1, buffer.Length)], ct);
    }

    [Fact]
    public async Task Frames_are_split_into_stdout_and_stderr_in_order_even_one_byte_at_a_time()
    {
        var data = Frames((1, "out1 "), (2, "err1 "), (1, "ünïcode "), (0, "stdin-echo "), (2, "err2"), (1, ""));
        foreach (var source in new Stream[] { new MemoryStream(data), new TrickleStream(data) })
        {
            var o = new MemoryStream();
            var e = new MemoryStream();
            await DockerStreamDemultiplexer.DemultiplexAsync(source, o, e, default);
            Encoding.UTF8.GetString(o.ToArray()).Should().Be("out1 ünïcode stdin-echo ");
            Encoding.UTF8.GetString(e.ToArray()).Should().Be("err1 err2");
        }
    }

    [Fact]
    public async Task A_multibyte_character_split_across_frames_survives()
    {
        var bytes = Encoding.UTF8.GetBytes("é");
        var data = DockerStreamDemultiplexer.Frame(1, bytes.AsSpan(0, 1)).Concat(DockerStreamDemultiplexer.Frame(1, bytes.AsSpan(1))).ToArray();
        var o = new MemoryStream();
        await DockerStreamDemultiplexer.DemultiplexAsync(new MemoryStream(data), o, new MemoryStream(), default);
        Encoding.UTF8.GetString(o.ToArray()).Should().Be("é");
    }

    [Fact]
    public async Task Large_frames_and_an_empty_stream()
    {
        var big = new string('x', 300_000);
        var o = new MemoryStream();
        await DockerStreamDemultiplexer.DemultiplexAsync(new MemoryStream(Frames((1, big))), o, new MemoryStream(), default);
        o.Length.Should().Be(300_000);
        var none = new MemoryStream();
        await DockerStreamDemultiplexer.DemultiplexAsync(new MemoryStream(), none, none, default);
        none.Length.Should().Be(0);
    }

    [Fact]
    public async Task Truncated_and_raw_streams_are_errors_not_silent_garbage()
    {
        var full = Frames((1, "hello"));
        var cut = full[..^2];
        var act = () => DockerStreamDemultiplexer.DemultiplexAsync(new MemoryStream(cut), new MemoryStream(), new MemoryStream(), default);
        await act.Should().ThrowAsync<InvalidDataException>().WithMessage("*inside a frame*");
        var header = () => DockerStreamDemultiplexer.DemultiplexAsync(new MemoryStream(full[..5]), new MemoryStream(), new MemoryStream(), default);
        await header.Should().ThrowAsync<InvalidDataException>().WithMessage("*frame header*");
        var raw = () => DockerStreamDemultiplexer.DemultiplexAsync(new MemoryStream(Encoding.UTF8.GetBytes("plain tty output\n")), new MemoryStream(), new MemoryStream(), default);
        await raw.Should().ThrowAsync<InvalidDataException>().WithMessage("*Tty*");
        var sys = () => DockerStreamDemultiplexer.DemultiplexAsync(new MemoryStream(Frames((3, "oci runtime error"))), new MemoryStream(), new MemoryStream(), default);
        (await sys.Should().ThrowAsync<DockerEngineException>()).Which.Message.Should().Contain("oci runtime error");
    }

    // ------------------------------------------------------------------ versions and errors (fake engine)

    private sealed class FakeEngine : HttpMessageHandler
    {
        public List<string> Requests { get; } = new();
        public Func<HttpRequestMessage, HttpResponseMessage> Respond { get; set; } = _ => new HttpResponseMessage(HttpStatusCode.OK);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            lock (Requests) Requests.Add($"{request.Method} {request.RequestUri!.PathAndQuery}");
            return Task.FromResult(Respond(request));
        }
    }

    private static HttpResponseMessage Ping(string? version)
    {
        var r = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("OK") };
        if (version is not null) r.Headers.Add("Api-Version", version);
        return r;
    }

    private static HttpResponseMessage Json(HttpStatusCode code, string json) =>
        new(code) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    private static (DockerEngineClient Client, FakeEngine Fake) Fake(Func<HttpRequestMessage, HttpResponseMessage> respond)
    {
        var fake = new FakeEngine { Respond = respond };
        return (new DockerEngineClient(DockerEndpoint.Parse("unix:///nonexistent/fake.sock"), fake), fake);
    }

    [Theory]
    [InlineData("1.51", "1.41")]
    [InlineData("1.41", "1.41")]
    [InlineData("1.40", "1.40")]
    public async Task The_version_is_negotiated_once_through_ping_and_capped_at_1_41(string server, string expected)
    {
        var (client, fake) = Fake(r => r.RequestUri!.AbsolutePath == "/_ping" ? Ping(server) : Json(HttpStatusCode.OK, "{\"Version\":\"x\",\"ApiVersion\":\"" + server + "\"}"));
        using var _ = client;
        (await client.NegotiateAsync(default)).Should().Be(expected);
        await client.VersionAsync(default);
        await client.VersionAsync(default);
        fake.Requests.Should().Equal("GET /_ping", $"GET /v{expected}/version", $"GET /v{expected}/version");
    }

    [Fact]
    public async Task Without_the_ping_header_the_version_comes_from_slash_version()
    {
        var (client, fake) = Fake(r => r.RequestUri!.AbsolutePath == "/_ping" ? Ping(null) : Json(HttpStatusCode.OK, "{\"ApiVersion\":\"1.43\"}"));
        using var _ = client;
        (await client.NegotiateAsync(default)).Should().Be("1.41");
        fake.Requests.Should().Equal("GET /_ping", "GET /version");
    }

    [Fact]
    public async Task A_too_old_engine_is_refused_with_a_clear_error()
    {
        var (client, _) = Fake(_ => Ping("1.12"));
        using var __ = client;
        var act = () => client.NegotiateAsync(default);
        var ex = (await act.Should().ThrowAsync<DockerEngineException>()).Which;
        ex.ErrorId.Should().Be(DockerErrorIds.DockerApiVersionUnsupported);
        ex.Message.Should().Contain("1.12").And.Contain("1.25");
    }

    [Fact]
    public async Task Engine_answers_map_to_results_and_typed_errors()
    {
        var (client, fake) = Fake(r => (r.Method.Method, r.RequestUri!.AbsolutePath) switch
        {
            (_, "/_ping") => Ping("1.41"),
            ("POST", "/v1.41/containers/up/start") => new HttpResponseMessage(HttpStatusCode.NotModified),
            ("POST", "/v1.41/containers/down/stop") => new HttpResponseMessage(HttpStatusCode.NotModified),
            ("POST", "/v1.41/containers/new/start") => new HttpResponseMessage(HttpStatusCode.NoContent),
            ("GET", "/v1.41/containers/gone/json") => Json(HttpStatusCode.NotFound, "{\"message\":\"No such container: gone\"}"),
            ("DELETE", "/v1.41/containers/gone") => Json(HttpStatusCode.NotFound, "{\"message\":\"No such container: gone\"}"),
            ("POST", "/v1.41/containers/create") => Json(HttpStatusCode.Conflict, "{\"message\":\"Conflict. The container name \\\"/x\\\" is already in use\"}"),
            ("POST", "/v1.41/containers/boom/stop") => Json(HttpStatusCode.InternalServerError, "{\"message\":\"driver failed\"}"),
            ("GET", "/v1.41/images/missing:1/json") => Json(HttpStatusCode.NotFound, "{\"message\":\"No such image: missing:1\"}"),
            ("GET", "/v1.41/containers/json") => Json(HttpStatusCode.OK, "[{\"Id\":\"abc\",\"Names\":[\"/swarmps-t-1\"],\"State\":\"running\",\"Image\":\"i\",\"Labels\":{\"swarmps.home\":\"/h\",\"swarmps.ticket\":\"T-1\"}}," +
                "{\"Id\":\"def\",\"Names\":[\"/swarmps-t-2\"],\"State\":\"running\",\"Image\":\"i\",\"Labels\":{\"swarmps.home\":\"/h\",\"swarmps.ticket\":\"T-2\"}}]"),
            _ => Json(HttpStatusCode.BadRequest, "{\"message\":\"unexpected " + r.RequestUri!.PathAndQuery + "\"}"),
        });
        using var _ = client;
        (await client.StartContainerAsync("up", default)).Should().BeFalse("304 means already started");
        (await client.StartContainerAsync("new", default)).Should().BeTrue();
        (await client.StopContainerAsync("down", 10, default)).Should().BeFalse("304 means already stopped");
        (await client.InspectContainerAsync("gone", default)).Should().BeNull();
        (await client.RemoveContainerAsync("gone", default)).Should().BeFalse();
        (await client.InspectImageAsync("missing:1", default)).Should().BeNull();

        var conflict = (await ((Func<Task>)(() => client.CreateContainerAsync("x", new(), default))).Should().ThrowAsync<DockerEngineException>()).Which;
        conflict.StatusCode.Should().Be(HttpStatusCode.Conflict);
        conflict.Kind.Should().Be(SwarmErrorKind.Conflict);
        conflict.EngineMessage.Should().Contain("already in use");
        var failed = (await ((Func<Task>)(() => client.StopContainerAsync("boom", 1, default))).Should().ThrowAsync<DockerEngineException>()).Which;
        failed.Kind.Should().Be(SwarmErrorKind.OperationFailed);
        failed.Message.Should().Contain("HTTP 500").And.Contain("driver failed");

        var list = await client.ListContainersAsync(new Dictionary<string, string> { ["swarmps.home"] = "/h" }, default);
        list.Select(c => c.Name).Should().Equal(new[] { "swarmps-t-1", "swarmps-t-2" }, "the leading slash is dropped");
        // podman 4.3 answers nothing to several label filters: one goes to the engine, the rest are checked here.
        var one = await client.ListContainersAsync(new Dictionary<string, string> { ["swarmps.home"] = "/h", ["swarmps.ticket"] = "T-2" }, default);
        one.Should().ContainSingle().Which.Id.Should().Be("def");
        fake.Requests.Last().Should().Contain("swarmps.home%3D%2Fh").And.NotContain("swarmps.ticket");
        fake.Requests.Should().Contain(r => r.StartsWith("GET /v1.41/containers/json?all=true&filters=") && r.Contains("swarmps.home%3D%2Fh"));
        fake.Requests.Should().Contain("POST /v1.41/containers/down/stop?t=10");
    }

    [Fact]
    public void Error_kinds_follow_the_status_code()
    {
        DockerEngineException.FromResponse(HttpStatusCode.NotFound, "No such image", "x").Kind.Should().Be(SwarmErrorKind.NotFound);
        DockerEngineException.FromResponse(HttpStatusCode.BadRequest, "bad", "x").Kind.Should().Be(SwarmErrorKind.InvalidArgument);
        var v = DockerEngineException.FromResponse(HttpStatusCode.BadRequest, "client version 1.43 is too new. Maximum supported API version is 1.41", "x");
        v.ErrorId.Should().Be(DockerErrorIds.DockerApiVersionUnsupported);
    }

    // ------------------------------------------------------------------ unreachable engine

    [Fact]
    public async Task A_missing_socket_names_the_endpoint_and_what_to_start()
    {
        var path = Path.Combine(Path.GetTempPath(), "swarmps-no-engine-" + Guid.NewGuid().ToString("N")[..8] + ".sock");
        using var client = new DockerEngineClient(DockerEndpoint.Parse("unix://" + path));
        var ex = (await ((Func<Task>)(() => client.PingAsync(default))).Should().ThrowAsync<DockerEngineUnreachableException>()).Which;
        ex.ErrorId.Should().Be(DockerErrorIds.DockerEngineUnreachable);
        ex.Kind.Should().Be(SwarmErrorKind.Unavailable);
        ex.Message.Should().Contain("unix://" + path).And.Contain("DOCKER_HOST").And.Contain("Start");
    }

    [Fact]
    public async Task A_refused_tcp_port_is_unreachable_too()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        using var client = new DockerEngineClient(DockerEndpoint.Parse($"tcp://127.0.0.1:{port}"));
        var ex = (await ((Func<Task>)(() => client.PingAsync(default))).Should().ThrowAsync<DockerEngineUnreachableException>()).Which;
        ex.Message.Should().Contain($"tcp://127.0.0.1:{port}").And.Contain("refused");
    }

    [Fact]
    public async Task The_provider_reports_an_unreachable_engine_as_unavailable()
    {
        using var p = new DockerProvider(new DockerProviderOptions { Endpoint = DockerEndpoint.Parse("unix:///nonexistent/swarmps/docker.sock") });
        var a = await p.CheckAvailabilityAsync(default);
        a.Available.Should().BeFalse();
        a.Reason.Should().Contain("unix:///nonexistent/swarmps/docker.sock");
    }

    // ------------------------------------------------------------------ names and plans

    [Theory]
    [InlineData("CP-1", "swarmps/cp-1")]
    [InlineData("T.1_a", "swarmps/t.1_a")]
    [InlineData("a__b", "swarmps/a__b")]
    public void Image_repositories_are_the_lowercased_ticket(string ticket, string repo) => DockerProvider.ImageRepository(ticket).Should().Be(repo);

    [Theory]
    [InlineData("T-")]
    [InlineData("a._b")]
    [InlineData("x___y")]
    public void Tickets_that_are_not_repository_names_get_a_valid_hashed_name(string ticket)
    {
        var repo = DockerProvider.ImageRepository(ticket);
        repo.Should().MatchRegex("^swarmps/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$");
        DockerProvider.ImageRepository(ticket).Should().Be(repo, "it is stable");
    }

    [Fact]
    public void Container_names_are_stable_and_differ_per_home()
    {
        var a = DockerProvider.ContainerName(new SwarmHome("/tmp/home-a"), "T-1");
        a.Should().StartWith("swarmps-t-1-").And.Be(DockerProvider.ContainerName(new SwarmHome("/tmp/home-a/"), "T-1"));
        DockerProvider.ContainerName(new SwarmHome("/tmp/home-b"), "T-1").Should().NotBe(a);
    }

    private static SwarmEnvironment Env() => new()
    {
        Ticket = "AG-1", Provider = "docker", InstanceId = "swarmps-ag-1-0000", Ports = new PortBlock(20000, 10),
        Metadata = new Dictionary<string, string> { ["container"] = "swarmps-ag-1-0000", ["noWorktree"] = "true" },
    };

    [Fact]
    public void Agents_are_planned_as_docker_exec_with_values_kept_off_the_command_line()
    {
        var fakeCli = Path.Combine(Path.GetTempPath(), "swarmps-fake-docker-" + Guid.NewGuid().ToString("N")[..8]);
        File.WriteAllText(fakeCli, "");
        try
        {
            using var p = new DockerProvider(new DockerProviderOptions { DockerCli = fakeCli, Endpoint = DockerEndpoint.Parse("unix:///x/docker.sock") });
            var plan = p.PlanAgentLaunch(Env(), new[] { "claude", "-p", "secret prompt" }, new Dictionary<string, string> { ["SWARM_TICKET"] = "AG-1", ["API_KEY"] = "sk-secret" });
            plan.FileName.Should().Be(fakeCli);
            plan.Arguments.Should().Equal("exec", "-i", "-w", "/workspace", "-e", "API_KEY", "-e", "SWARM_TICKET", "-e", "SWARM_WORKSPACE", "swarmps-ag-1-0000", "claude", "-p", "secret prompt");
            plan.Arguments.Should().NotContain(a => a.Contains("sk-secret"));
            plan.Environment["API_KEY"].Should().Be("sk-secret");
            plan.Environment["SWARM_WORKSPACE"].Should().Be("/workspace");
            plan.Environment["DOCKER_HOST"].Should().Be("unix:///x/docker.sock");
        }
        finally
        {
            File.Delete(fakeCli);
        }
    }

    [Fact]
    public void Without_a_docker_CLI_the_agent_plan_explains_what_is_missing()
    {
        using var p = new DockerProvider(new DockerProviderOptions { DockerCli = "/nonexistent/docker" });
        var ex = ((Action)(() => p.PlanAgentLaunch(Env(), new[] { "claude" }, new Dictionary<string, string>()))).Should().Throw<SwarmException>().Which;
        ex.ErrorId.Should().Be(DockerErrorIds.DockerCliMissing);
        ex.Message.Should().Contain("docker exec -i").And.Contain("/nonexistent/docker");
    }
}
