using System.Net;
using System.Net.Sockets;
using SwarmPS.Core;
using SwarmPS.Core.Providers;
using SwarmPS.Core.Providers.Docker;
using SwarmPS.Tests.Support;
using Xunit;

namespace SwarmPS.Tests.Contract;

/// <summary>
/// The Docker provider against a real engine (DOCKER_HOST or the default socket) and the offline test
/// image <see cref="TestImage"/> that <c>.ci/backends/docker.sh start</c> imports. Without them the suite
/// skips loudly (fails under SWARMPS_REQUIRE_BACKENDS=1).
/// </summary>
public class DockerFixture : IProviderFixture
{
    public const string TestImage = "swarmps-tiny:latest";
    private static int _rangeCounter;
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<string?>> Probes = new();
    private readonly TempRepo _repo = new();
    private readonly int _portStart;
    private readonly DockerEndpoint? _endpoint;
    private readonly string _engineName;

    public DockerFixture() : this(null, "Docker Engine", ".ci/backends/docker.sh start")
    {
    }

    /// <summary>A fixture on another engine (podman's compatible API): <paramref name="endpoint"/> plays DOCKER_HOST.</summary>
    protected DockerFixture(DockerEndpoint? endpoint, string engineName, string startHint)
    {
        _endpoint = endpoint;
        _engineName = engineName;
        StartHint = startHint;
        // Each fixture gets its own 100-port range: fixtures of parallel test classes share one engine,
        // and docker-proxy binds the published ports on the host. The ranges lie below Linux's
        // ephemeral ports (32768-60999): a port up there can be taken at any moment by an outgoing
        // connection of any process, which made a create fail now and then ("address already in use").
        _portStart = 21000 + (Interlocked.Increment(ref _rangeCounter) + Environment.ProcessId) % 110 * 100;
        DockerProvider = new DockerProvider(new DockerProviderOptions { StopTimeoutSeconds = 2, Endpoint = endpoint });
    }

    /// <summary>The endpoint the fixture's provider talks to.</summary>
    public DockerEndpoint Endpoint => _endpoint ?? DockerEndpoint.FromEnvironmentVariables();
    public string StartHint { get; }
    public DockerProvider DockerProvider { get; }
    public IEnvironmentProvider Provider => DockerProvider;
    public string? SkipReason => Probes.GetOrAdd(Endpoint.Uri, _ => new Lazy<string?>(() => ProbeEngine(Endpoint, _engineName, StartHint))).Value;
    public SwarmHome Home => new(_repo.Home);
    public string Repo => _repo.Repo;

    /// <summary>Null when an engine answers and has the test image; otherwise why not.</summary>
    private static string? ProbeEngine(DockerEndpoint endpoint, string engineName, string startHint)
    {
        try
        {
            using var client = new DockerEngineClient(endpoint, connectTimeout: TimeSpan.FromSeconds(2));
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            Sync.Run(client.PingAsync(cts.Token));
            if (Sync.Run(client.InspectImageAsync(TestImage, cts.Token)) is null)
                return $"the {engineName} at {client.Endpoint.Uri} has no image {TestImage}; run '{startHint}'";
            return null;
        }
        catch (SwarmException ex)
        {
            return $"no {engineName} for the Docker provider tests ('{startHint}'): " + ex.Message;
        }
    }

    public SwarmConfig Config() => new() { Ports = new PortConfig { Start = _portStart, End = _portStart + 99, BlockSize = 10 } };

    public SwarmService CreateService(SwarmConfig? config = null) =>
        new(Home, config ?? Config(), new ProviderCatalog(new[] { Provider }, Provider.Name));

    public NewEnvironmentRequest Request(string ticket) => new() { Ticket = ticket, RepositoryPath = _repo.Repo, Image = TestImage };

    /// <summary>
    /// A port of the block is held by another process, so the container is created and then fails to
    /// start (docker-proxy cannot bind): the rollback of a half-made container and worktree is exercised.
    /// </summary>
    public SwarmConfig FailingCreateConfig()
    {
        _blocker ??= StartBlocker();
        var p = ((IPEndPoint)_blocker.LocalEndpoint).Port;
        return new SwarmConfig { Ports = new PortConfig { Start = p, End = p + 9, BlockSize = 10 } };
    }

    private TcpListener? _blocker;

    private static TcpListener StartBlocker()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return l;
    }

    private ProviderContext Context() { var s = CreateService(); return new ProviderContext { Home = s.Home, Config = s.Config, Registry = s.Registry }; }

    public async Task WriteMarkerAsync(SwarmEnvironment env, string content)
    {
        // Into the container's own filesystem (captured by commit) and into the worktree (captured by git).
        var r = await Provider.ExecAsync(env, new[] { "sh", "-c", "printf %s \"$1\" > /marker && printf %s \"$1\" > /workspace/marker.txt", "sh", content }, null, Context(), default);
        if (r.ExitCode != 0) throw new InvalidOperationException("marker write failed: " + r.StandardError);
    }

    public async Task<string?> ReadMarkerAsync(SwarmEnvironment env)
    {
        var r = await Provider.ExecAsync(env, new[] { "sh", "-c", "cat /marker 2>/dev/null; echo '|'; cat /workspace/marker.txt 2>/dev/null" }, null, Context(), default);
        var parts = r.StandardOutput.Split("|\n");
        var inContainer = parts[0];
        var inWorktree = parts.Length > 1 ? parts[1] : "";
        if (inContainer.Length == 0 && inWorktree.Length == 0) return null;
        return inContainer == inWorktree ? inContainer : $"container={inContainer} worktree={inWorktree}";
    }

    public async Task<IReadOnlyList<string>> LeftoversAsync(string ticket)
    {
        var left = new List<string>();
        var home = new Dictionary<string, string> { [DockerProvider.LabelHome] = DockerProvider.HomeKey(Home) };
        if (SkipReason is null)
        {
            left.AddRange((await DockerProvider.Client.ListContainersAsync(home, default))
                .Where(c => string.Equals(c.Labels.GetValueOrDefault(DockerProvider.LabelTicket), ticket, StringComparison.OrdinalIgnoreCase)).Select(c => "container " + c.Name));
            left.AddRange((await DockerProvider.Client.ListImagesAsync(home, default))
                .Where(i => string.Equals(i.Labels.GetValueOrDefault(DockerProvider.LabelTicket), ticket, StringComparison.OrdinalIgnoreCase)).Select(i => "image " + i.Id));
            if (Names.IsValid(ticket) && await DockerProvider.Client.InspectContainerAsync(DockerProvider.ContainerName(Home, ticket), default) is not null)
                left.Add("container " + DockerProvider.ContainerName(Home, ticket));
        }
        left.AddRange(TempRepo.AllRefs(_repo.Repo).Where(r =>
            r.Equals("refs/heads/swarm/" + ticket, StringComparison.OrdinalIgnoreCase) ||
            r.StartsWith("refs/swarmps/checkpoints/" + ticket + "/", StringComparison.OrdinalIgnoreCase)));
        var root = Path.Combine(_repo.Home, "worktrees");
        if (Directory.Exists(root))
            left.AddRange(Directory.EnumerateDirectories(root, "*", SearchOption.AllDirectories)
                .Where(d => string.Equals(Path.GetFileName(d), ticket, StringComparison.OrdinalIgnoreCase)));
        return left;
    }

    /// <summary>Removes whatever a failed test left in the engine for this home (never other containers).</summary>
    public void Dispose()
    {
        _blocker?.Stop();
        if (SkipReason is null)
        {
            try
            {
                var home = new Dictionary<string, string> { [DockerProvider.LabelHome] = DockerProvider.HomeKey(Home) };
                foreach (var c in Sync.Run(DockerProvider.Client.ListContainersAsync(home, default))) Sync.Run(DockerProvider.Client.RemoveContainerAsync(c.Id, default));
                for (var pass = 0; pass < 3; pass++)
                    foreach (var i in Sync.Run(DockerProvider.Client.ListImagesAsync(home, default)).OrderByDescending(i => i.Created))
                    {
                        try { Sync.Run(DockerProvider.Client.RemoveImageAsync(i.Id, true, default)); } catch (SwarmException) { }
                    }
            }
            catch (SwarmException) { }
        }
        DockerProvider.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _repo.Dispose();
    }
}

/// <summary>
/// The test classes that use the shared container engines (docker.sh's dockerd, podman.sh's API service) and
/// the Docker unit classes: they run one at a time and not beside other collections, as they always have.
/// Nothing here stops, kills or restarts an engine: a test that does owns a <see cref="PrivateDockerd"/>
/// (see DockerEngineFailureTests) and stays out of this collection.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DockerEngineCollection
{
    public const string Name = "Docker engine";
}

[Collection(DockerEngineCollection.Name)]
public sealed class DockerContractTests : ProviderContractTests<DockerFixture>
{
}

/// <summary>
/// podman's Docker-compatible API as the engine (<c>.ci/backends/podman.sh start</c>): SWARMPS_PODMAN_HOST,
/// else the socket that script makes. The same provider code, a different engine.
/// </summary>
public sealed class PodmanFixture : DockerFixture
{
    public PodmanFixture() : base(PodmanEndpoint(), "podman API", ".ci/backends/podman.sh start")
    {
    }

    public static DockerEndpoint PodmanEndpoint()
    {
        var host = Environment.GetEnvironmentVariable("SWARMPS_PODMAN_HOST");
        if (string.IsNullOrWhiteSpace(host))
        {
            var dir = Environment.GetEnvironmentVariable("SWARMPS_BACKENDS_DIR") is { Length: > 0 } d ? d : "/tmp/swarmps-backends";
            host = "unix://" + Path.Combine(dir, "swarmps-podman", "podman.sock");
        }
        return DockerEndpoint.Parse(host, source: "SWARMPS_PODMAN_HOST");
    }
}

[Collection(DockerEngineCollection.Name)]
public sealed class PodmanContractTests : ProviderContractTests<PodmanFixture>
{
}
