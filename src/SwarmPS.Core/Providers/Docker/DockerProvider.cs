using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SwarmPS.Core.Providers.Worktree;

namespace SwarmPS.Core.Providers.Docker;

/// <summary>Settings of the Docker provider. Every field has a default; none is required.</summary>
public sealed class DockerProviderOptions
{
    /// <summary>The engine; default: DOCKER_HOST, else the platform default socket or pipe (see <see cref="DockerConfig"/> for config.json).</summary>
    public DockerEndpoint? Endpoint { get; init; }
    /// <summary>The image when the request names none: SWARMPS_DOCKER_IMAGE, else debian:bookworm-slim. SwarmPS never pulls.</summary>
    public string DefaultImage { get; init; } = Environment.GetEnvironmentVariable("SWARMPS_DOCKER_IMAGE") is { Length: > 0 } i ? i : DockerConfig.BuiltInDefaultImage;
    /// <summary>Where <see cref="DefaultImage"/> came from, for the image-missing message.</summary>
    public string DefaultImageSource { get; init; } = Environment.GetEnvironmentVariable("SWARMPS_DOCKER_IMAGE") is { Length: > 0 } ? "SWARMPS_DOCKER_IMAGE" : "the built-in default";
    /// <summary>Why the configured endpoint cannot be used (thrown on first use of the engine, never at construction).</summary>
    public SwarmException? EndpointError { get; init; }
    /// <summary>A pinned Engine API version ("1.41"); null negotiates it through /_ping.</summary>
    public string? ApiVersion { get; init; }
    /// <summary>PID 1 of every container: waits for SIGTERM (so stop is immediate), reaps nothing else. Needs <c>sh</c> in the image.</summary>
    public IReadOnlyList<string> InitCommand { get; init; } = new[] { "sh", "-c", "trap exit TERM; while :; do sleep 3600 & wait; done" };
    /// <summary>Seconds between SIGTERM and SIGKILL on stop.</summary>
    public int StopTimeoutSeconds { get; init; } = 10;
    /// <summary>How long start waits for the container to report running.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>The docker CLI agents are launched through (<c>docker exec -i</c>): a name looked up on PATH, or a path.</summary>
    public string DockerCli { get; init; } = "docker";
}

/// <summary>
/// One container per ticket through the Docker Engine API (or podman's compatible API). The code lives
/// in a host git worktree made by <see cref="WorktreeProvider"/> and bind-mounted read-write at
/// <c>/workspace</c>, so diff, merge and worktree checkpoints work as before; the request option
/// <c>noWorktree=true</c> gives an image-only environment. The container carries the labels
/// <c>swarmps.ticket</c> and <c>swarmps.home</c>, its CPU and memory limits, the environment's port block
/// published on 127.0.0.1 (container port P = host port P), the SWARM_* variables, and a long-running init.
/// Checkpoints commit the container to <c>swarmps/&lt;ticket&gt;:&lt;checkpoint&gt;</c> together with a worktree
/// checkpoint; restore recreates the container from that image. Filesystem only: no memory state.
/// </summary>
public sealed partial class DockerProvider : EnvironmentProviderBase, IDisposable
{
    public const string ProviderName = "docker";
    public const string LabelTicket = "swarmps.ticket";
    public const string LabelHome = "swarmps.home";
    public const string LabelCheckpoint = "swarmps.checkpoint";
    /// <summary>Request option (<see cref="NewEnvironmentRequest.Options"/>): "true" for an image-only environment without a worktree.</summary>
    public const string OptionNoWorktree = "noWorktree";
    public const string ContainerWorkspace = "/workspace";
    public const string ImageRepositoryPrefix = "swarmps/";

    private const string MetaImage = "image", MetaContainer = "container", MetaHome = "dockerHome", MetaNoWorktree = "noWorktree", MetaCpus = "cpus", MetaMemory = "memoryMb";
    /// <summary>Row metadata: the engine id of the current container, and the image it was made from (the base image, or a checkpoint's after restore).</summary>
    public const string MetaContainerId = "containerId", MetaContainerImage = "containerImage";

    private readonly DockerProviderOptions _options;
    private readonly WorktreeProvider _worktree;
    private readonly Lazy<DockerEngineClient> _client;

    public DockerProvider(DockerProviderOptions? options = null, WorktreeProvider? worktree = null, DockerEngineClient? client = null)
    {
        _options = options ?? new DockerProviderOptions();
        _worktree = worktree ?? new WorktreeProvider();
        _client = client is not null
            ? new Lazy<DockerEngineClient>(client)
            : new Lazy<DockerEngineClient>(() => _options.EndpointError is { } bad ? throw bad
                : new DockerEngineClient(_options.Endpoint ?? DockerEndpoint.FromEnvironmentVariables()) { PinnedApiVersion = _options.ApiVersion });
    }

    public override string Name => ProviderName;
    public override string Description => "A Docker (or podman) container per ticket, with the ticket's git worktree at /workspace (Docker Engine API).";
    public override ProviderCapabilities Capabilities =>
        ProviderCapabilities.Checkpoint | ProviderCapabilities.CheckpointWhileRunning | ProviderCapabilities.Exec |
        ProviderCapabilities.StartStop | ProviderCapabilities.DiffMerge;

    /// <summary>An image-only environment (<c>noWorktree</c>) has no worktree: no DiffMerge.</summary>
    public override ProviderCapabilities CapabilitiesOf(SwarmEnvironment env) =>
        HasWorktree(env) ? Capabilities : Capabilities & ~ProviderCapabilities.DiffMerge;

    /// <summary>The Engine API client (created on first use from DOCKER_HOST; a bad DOCKER_HOST throws DockerHostInvalid here).</summary>
    public DockerEngineClient Client => _client.Value;

    public void Dispose()
    {
        if (_client.IsValueCreated) _client.Value.Dispose();
    }

    public override async Task<ProviderAvailability> CheckAvailabilityAsync(CancellationToken ct)
    {
        try
        {
            await Client.PingAsync(ct).ConfigureAwait(false);
            return ProviderAvailability.Yes;
        }
        catch (SwarmException ex) when (ex.Kind != SwarmErrorKind.Cancelled)
        {
            return ProviderAvailability.No(ex.Message);
        }
    }

    // ------------------------------------------------------------------ names

    /// <summary>The key of a SwarmPS home in labels: its full path.</summary>
    public static string HomeKey(SwarmHome home) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(home.Path));

    /// <summary><c>swarmps-&lt;ticket&gt;-&lt;8 hex of the home&gt;</c>: stable (restore keeps it) and distinct per SwarmPS home.</summary>
    public static string ContainerName(SwarmHome home, string ticket) =>
        $"swarmps-{ticket.ToLowerInvariant()}-{Hash(HomeKey(home))[..8]}";

    [GeneratedRegex("^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$", RegexOptions.CultureInvariant)]
    private static partial Regex RepoComponent();

    /// <summary>
    /// <c>swarmps/&lt;ticket-lowercase&gt;</c>. Tickets that are not a valid repository component once
    /// lowercased (a trailing '-', "._") get their separators folded and a hash suffix.
    /// </summary>
    public static string ImageRepository(string ticket)
    {
        var t = ticket.ToLowerInvariant();
        if (RepoComponent().IsMatch(t)) return ImageRepositoryPrefix + t;
        var folded = Regex.Replace(t, "[._-]+", "-").Trim('-');
        if (folded.Length == 0) folded = "t";
        return ImageRepositoryPrefix + folded + "-" + Hash(ticket)[..8];
    }

    public static string ImageReference(string ticket, string checkpoint) => ImageRepository(ticket) + ":" + checkpoint;

    private static string Hash(string s) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(s))).ToLowerInvariant();

    private static string ContainerOf(SwarmEnvironment env) => env.Metadata.GetValueOrDefault(MetaContainer) ?? env.InstanceId!;
    private static bool HasWorktree(SwarmEnvironment env) => env.WorkspacePath is not null && env.Metadata.GetValueOrDefault(MetaNoWorktree) != "true";

    private static Dictionary<string, string> LabelsOf(string home, string ticket) => new(StringComparer.Ordinal) { [LabelHome] = home, [LabelTicket] = ticket };
    private static Dictionary<string, string> LabelsOf(SwarmEnvironment env) => LabelsOf(env.Metadata.GetValueOrDefault(MetaHome) ?? "", env.Ticket);

    /// <summary>The SWARM_* variables as the container sees them (SWARM_WORKSPACE is /workspace).</summary>
    public static IReadOnlyDictionary<string, string> ContainerVariables(SwarmEnvironment env)
    {
        var d = new Dictionary<string, string>(EnvironmentVariables.For(env), StringComparer.Ordinal) { ["SWARM_WORKSPACE"] = ContainerWorkspace };
        return d;
    }

    // ------------------------------------------------------------------ errors

    private static SwarmException ContainerMissing(SwarmEnvironment env) =>
        new(DockerErrorIds.DockerContainerMissing, SwarmErrorKind.InvalidState,
            $"The container {ContainerOf(env)} of '{env.Ticket}' is gone from the engine.", env.Ticket) { Hint = Hints.RepairFixRecreates };

    private SwarmException ImageMissing(string image, string? ticket)
    {
        var which = string.Equals(image, _options.DefaultImage, StringComparison.Ordinal) ? $" (the default image, from {_options.DefaultImageSource})" : "";
        return new(DockerErrorIds.DockerImageNotFound, SwarmErrorKind.InvalidArgument,
            $"The image '{Names.Describe(image)}'{which} is not in the engine at {Client.Endpoint.Uri}. SwarmPS never pulls: run 'docker pull {image}' " +
            $"(offline: 'docker load -i FILE.tar' or 'docker import ROOTFS.tar {image}').", ticket) { Hint = Hints.ChooseImage };
    }

    /// <summary>A docker image reference as SwarmPS accepts it: [registry/]name[:tag][@digest] characters only, no leading '-'.</summary>
    public static bool IsValidImageReference(string image) =>
        image.Length is > 0 and <= 255 && !image.StartsWith('-') && image.All(c => char.IsAsciiLetterOrDigit(c) || "._-/:@".Contains(c));

    // ------------------------------------------------------------------ create

    public override async Task<SwarmEnvironment> PrepareAsync(NewEnvironmentRequest request, ProviderContext context, CancellationToken ct)
    {
        var ticket = Names.Ticket(request.Ticket);
        var noWorktree = false;
        foreach (var (key, value) in request.Options ?? new Dictionary<string, string>())
        {
            if (!key.Equals(OptionNoWorktree, StringComparison.OrdinalIgnoreCase))
                throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"The docker provider has no option '{Names.Describe(key)}'. Known: {OptionNoWorktree}.", ticket);
            if (!bool.TryParse(value, out noWorktree))
                throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"Option {OptionNoWorktree} must be true or false, not '{Names.Describe(value)}'.", ticket);
        }
        var image = string.IsNullOrWhiteSpace(request.Image) ? _options.DefaultImage : request.Image!.Trim();
        if (!IsValidImageReference(image))
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"Invalid image reference '{Names.Describe(image)}'.", ticket);
        if (request.Cpus is < 1 or > 1024)
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"Cpus must be between 1 and 1024 (got {request.Cpus}).", ticket);
        if (request.MemoryMb is < 6 or > 16 * 1024 * 1024)
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"MemoryMb must be at least 6 (Docker's minimum) (got {request.MemoryMb}).", ticket);

        // Engine, image and name before anything is reserved or created.
        context.Report("Creating environment", $"{ticket}: checking the Docker Engine at {Client.Endpoint.Uri}", 2);
        await Client.PingAsync(ct).ConfigureAwait(false);
        if (await Client.InspectImageAsync(image, ct).ConfigureAwait(false) is null) throw ImageMissing(image, ticket);
        var name = ContainerName(context.Home, ticket);
        if (await Client.InspectContainerAsync(name, ct).ConfigureAwait(false) is not null)
            throw new SwarmException(ErrorIds.EnvironmentExists, SwarmErrorKind.AlreadyExists,
                $"The container {name} already exists but no environment owns it.", ticket) { Hint = Hints.RepairReportsFixRemoves };

        Dictionary<string, string> meta;
        SwarmEnvironment draft;
        if (!noWorktree)
        {
            var w = await _worktree.PrepareAsync(request.WithoutOptions(), context, ct).ConfigureAwait(false);
            meta = new Dictionary<string, string>(w.Metadata);
            draft = new SwarmEnvironment
            {
                Ticket = w.Ticket, Provider = Name, RepositoryPath = w.RepositoryPath, BaseRef = w.BaseRef, Branch = w.Branch, WorkspacePath = w.WorkspacePath,
                InstanceId = name, Address = "127.0.0.1", Metadata = meta,
            };
        }
        else
        {
            meta = new Dictionary<string, string> { ["creator"] = Processes.ProcessIdentity.Current() };
            draft = new SwarmEnvironment { Ticket = ticket, Provider = Name, InstanceId = name, Address = "127.0.0.1", Metadata = meta };
        }
        meta[MetaImage] = image;
        meta[MetaContainer] = name;
        meta[MetaHome] = HomeKey(context.Home);
        meta[MetaNoWorktree] = noWorktree ? "true" : "false";
        if (request.Cpus is { } cpus) meta[MetaCpus] = cpus.ToString(CultureInfo.InvariantCulture);
        if (request.MemoryMb is { } mem) meta[MetaMemory] = mem.ToString(CultureInfo.InvariantCulture);
        return draft;
    }

    public override async Task<SwarmEnvironment> CreateAsync(SwarmEnvironment env, NewEnvironmentRequest request, ProviderContext context, CancellationToken ct)
    {
        const string activity = "Creating environment";
        var current = env;
        var worktreeMade = false;
        try
        {
            if (HasWorktree(env))
            {
                current = await _worktree.CreateAsync(env, request.WithoutOptions(), context, ct).ConfigureAwait(false);
                worktreeMade = true;
            }
            context.Report(activity, $"{env.Ticket}: creating container {ContainerOf(env)} from {env.Metadata[MetaImage]}", 70);
            var id = await CreateContainerAsync(current, env.Metadata[MetaImage], start: true, context, ct).ConfigureAwait(false);
            context.Report(activity, $"{env.Ticket}: container running", 100);
            var meta = new Dictionary<string, string>(current.Metadata);
            meta.Remove("creator");
            return WithContainer(current.With(metadata: meta), id, env.Metadata[MetaImage], EnvironmentStatus.Running);
        }
        catch
        {
            try { await Client.RemoveContainerAsync(ContainerOf(env), CancellationToken.None).ConfigureAwait(false); }
            catch (SwarmException) { /* the failure being handled is the one that matters */ }
            if (worktreeMade)
            {
                try { await _worktree.RemoveAsync(current, new RemoveOptions { Force = true }, context, CancellationToken.None).ConfigureAwait(false); }
                catch (SwarmException) { }
            }
            throw;
        }
    }

    /// <summary>The container create body: image, init, env, labels, limits, ports on 127.0.0.1, the worktree at /workspace.</summary>
    internal JsonObject ContainerConfig(SwarmEnvironment env, string image)
    {
        var exposed = new JsonObject();
        var bindings = new JsonObject();
        for (var p = env.Ports.Start; env.Ports.Count > 0 && p <= env.Ports.End; p++)
        {
            var key = p.ToString(CultureInfo.InvariantCulture) + "/tcp";
            exposed[key] = new JsonObject();
            bindings[key] = new JsonArray(new JsonObject { ["HostIp"] = "127.0.0.1", ["HostPort"] = p.ToString(CultureInfo.InvariantCulture) });
        }
        var host = new JsonObject
        {
            ["PortBindings"] = bindings,
            ["RestartPolicy"] = new JsonObject { ["Name"] = "no" },
            ["Mounts"] = HasWorktree(env)
                ? new JsonArray(new JsonObject { ["Type"] = "bind", ["Source"] = Path.GetFullPath(env.WorkspacePath!), ["Target"] = ContainerWorkspace, ["ReadOnly"] = false })
                : new JsonArray(),
        };
        if (env.Metadata.TryGetValue(MetaMemory, out var mem)) host["Memory"] = long.Parse(mem, CultureInfo.InvariantCulture) * 1024 * 1024;
        if (env.Metadata.TryGetValue(MetaCpus, out var cpus)) host["NanoCpus"] = long.Parse(cpus, CultureInfo.InvariantCulture) * 1_000_000_000L;
        var labels = new JsonObject();
        foreach (var (k, v) in LabelsOf(env)) labels[k] = v;
        return new JsonObject
        {
            ["Image"] = image,
            ["Cmd"] = new JsonArray(_options.InitCommand.Select(a => (JsonNode)JsonValue.Create(a)!).ToArray()),
            ["Env"] = new JsonArray(ContainerVariables(env).Select(kv => (JsonNode)JsonValue.Create(kv.Key + "=" + kv.Value)!).ToArray()),
            ["WorkingDir"] = ContainerWorkspace,
            ["Labels"] = labels,
            ["Tty"] = false,
            ["OpenStdin"] = false,
            ["ExposedPorts"] = exposed,
            ["HostConfig"] = host,
        };
    }

    /// <summary>Creates (and optionally starts) the container; returns its engine id.</summary>
    private async Task<string> CreateContainerAsync(SwarmEnvironment env, string image, bool start, ProviderContext context, CancellationToken ct)
    {
        var name = ContainerOf(env);
        string id;
        try
        {
            (id, var warnings) = await Client.CreateContainerAsync(name, ContainerConfig(env, image), ct).ConfigureAwait(false);
            foreach (var w in warnings) context.Report("Creating environment", $"{env.Ticket}: engine warning: {w}", 75);
        }
        catch (DockerEngineException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            throw ImageMissing(image, env.Ticket);
        }
        catch (DockerEngineException ex) when (ex.StatusCode == HttpStatusCode.Conflict)
        {
            throw new SwarmException(ErrorIds.EnvironmentExists, SwarmErrorKind.AlreadyExists, $"The container name {name} is taken: {ex.EngineMessage}", env.Ticket, ex);
        }
        if (start) await StartAndWaitAsync(env, ct).ConfigureAwait(false);
        return id;
    }

    /// <summary>The row with the current container's id and image recorded.</summary>
    private static SwarmEnvironment WithContainer(SwarmEnvironment env, string id, string image, EnvironmentStatus? status = null)
    {
        var meta = new Dictionary<string, string>(env.Metadata) { [MetaContainerId] = id, [MetaContainerImage] = image };
        return env.With(status: status, metadata: meta);
    }

    private async Task StartAndWaitAsync(SwarmEnvironment env, CancellationToken ct)
    {
        var name = ContainerOf(env);
        try
        {
            await Client.StartContainerAsync(name, ct).ConfigureAwait(false);
        }
        catch (DockerEngineException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            throw ContainerMissing(env);
        }
        catch (DockerEngineException ex) when (ex.EngineMessage?.Contains("address already in use", StringComparison.OrdinalIgnoreCase) == true ||
                                               ex.EngineMessage?.Contains("port is already allocated", StringComparison.OrdinalIgnoreCase) == true)
        {
            throw new DockerEngineException(DockerErrorIds.DockerEngineError, SwarmErrorKind.Conflict,
                $"The container of '{env.Ticket}' cannot publish its ports {env.Ports} on 127.0.0.1: another process holds one of them ({ex.EngineMessage}).", ex.StatusCode, ex.EngineMessage, env.Ticket, ex);
        }
        var deadline = DateTime.UtcNow + _options.StartTimeout;
        while (true)
        {
            var s = await Client.InspectContainerAsync(name, ct).ConfigureAwait(false) ?? throw ContainerMissing(env);
            if (s.Running) return;
            if (s.Status is "exited" or "dead")
                throw new DockerEngineException(DockerErrorIds.DockerEngineError, SwarmErrorKind.OperationFailed,
                    $"The container {name} of '{env.Ticket}' exited right after starting (exit code {s.ExitCode}{(s.Error is null ? "" : ", " + s.Error)}). " +
                    $"Its init is '{string.Join(' ', _options.InitCommand)}'; does the image have sh?", null, s.Error, env.Ticket);
            if (DateTime.UtcNow > deadline)
                throw new SwarmException(ErrorIds.Timeout, SwarmErrorKind.OperationFailed, $"The container {name} of '{env.Ticket}' was not running after {_options.StartTimeout.TotalSeconds:0} s (status {s.Status}).", env.Ticket);
            await Task.Delay(50, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Replaces the container with a new one from <paramref name="image"/> with the same name, ports, labels, limits and mount.</summary>
    private async Task<string> RecreateAsync(SwarmEnvironment env, string image, bool start, ProviderContext context, CancellationToken ct)
    {
        await Client.RemoveContainerAsync(ContainerOf(env), ct).ConfigureAwait(false);
        return await CreateContainerAsync(env, image, start, context, ct).ConfigureAwait(false);
    }

    // ------------------------------------------------------------------ lifecycle

    public override async Task<EnvironmentStatus> GetStatusAsync(SwarmEnvironment env, CancellationToken ct)
    {
        if (env.Status == EnvironmentStatus.Creating) return EnvironmentStatus.Creating;
        DockerContainerState? s;
        try
        {
            s = await Client.InspectContainerAsync(ContainerOf(env), ct).ConfigureAwait(false);
        }
        catch (SwarmException ex) when (ex.Kind is SwarmErrorKind.Unavailable or SwarmErrorKind.InvalidArgument)
        {
            return EnvironmentStatus.Error; // the engine is down: unknown, never "gone"
        }
        if (s is null || (HasWorktree(env) && !Directory.Exists(env.WorkspacePath))) return EnvironmentStatus.Missing;
        return s.Status switch
        {
            "running" or "restarting" => EnvironmentStatus.Running,
            "dead" => EnvironmentStatus.Error,
            _ => EnvironmentStatus.Stopped, // created, paused, exited, removing
        };
    }

    public override async Task<SwarmEnvironment> StartAsync(SwarmEnvironment env, ProviderContext context, CancellationToken ct)
    {
        context.Report("Starting environment", $"{env.Ticket}: starting {ContainerOf(env)}", 30);
        await StartAndWaitAsync(env, ct).ConfigureAwait(false);
        return env.With(status: EnvironmentStatus.Running);
    }

    public override async Task<SwarmEnvironment> StopAsync(SwarmEnvironment env, ProviderContext context, CancellationToken ct)
    {
        context.Report("Stopping environment", $"{env.Ticket}: stopping {ContainerOf(env)}", 30);
        try
        {
            await Client.StopContainerAsync(ContainerOf(env), _options.StopTimeoutSeconds, ct).ConfigureAwait(false);
        }
        catch (DockerEngineException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            throw ContainerMissing(env);
        }
        return env.With(status: EnvironmentStatus.Stopped);
    }

    public override async Task RemoveAsync(SwarmEnvironment env, RemoveOptions options, ProviderContext context, CancellationToken ct)
    {
        // The engine first: when it is down nothing is touched and the row stays.
        await Client.PingAsync(ct).ConfigureAwait(false);
        // The worktree next: it refuses (and removes nothing) when work would be lost.
        if (HasWorktree(env)) await _worktree.RemoveAsync(env, options, context, ct).ConfigureAwait(false);
        context.Report("Removing environment", $"{env.Ticket}: removing container {ContainerOf(env)}", 70);
        await Client.RemoveContainerAsync(ContainerOf(env), ct).ConfigureAwait(false);
        context.Report("Removing environment", $"{env.Ticket}: removing checkpoint images", 85);
        await RemoveImagesAsync(LabelsOf(env), ct).ConfigureAwait(false);
    }

    /// <summary>Removes every image carrying the labels (checkpoints, tagged or not), children before parents.</summary>
    private async Task RemoveImagesAsync(IReadOnlyDictionary<string, string> labels, CancellationToken ct)
    {
        for (var pass = 0; pass < 5; pass++)
        {
            var images = await Client.ListImagesAsync(labels, ct).ConfigureAwait(false);
            if (images.Count == 0) return;
            DockerEngineException? last = null;
            foreach (var i in images.OrderByDescending(i => i.Created))
            {
                try { await Client.RemoveImageAsync(i.Id, force: true, ct).ConfigureAwait(false); }
                catch (DockerEngineException ex) when (ex.StatusCode == HttpStatusCode.Conflict) { last = ex; }
            }
            if (last is not null && pass == 4) throw last;
        }
    }

    // ------------------------------------------------------------------ checkpoints

    public override async Task<string> CheckpointAsync(SwarmEnvironment env, string name, ProviderContext context, CancellationToken ct)
    {
        var container = ContainerOf(env);
        if (await Client.InspectContainerAsync(container, ct).ConfigureAwait(false) is null) throw ContainerMissing(env);
        var image = ImageReference(env.Ticket, name);
        if (await Client.InspectImageAsync(image, ct).ConfigureAwait(false) is not null)
            throw new SwarmException(ErrorIds.CheckpointExists, SwarmErrorKind.AlreadyExists, $"Checkpoint '{name}' of '{env.Ticket}' already exists (image {image}).", env.Ticket);
        string? gitRef = null;
        if (HasWorktree(env)) gitRef = await _worktree.CheckpointAsync(env, name, context, ct).ConfigureAwait(false);
        try
        {
            context.Report("Checkpoint", $"{env.Ticket}: committing {container} to {image}", 60);
            var labels = LabelsOf(env);
            labels[LabelCheckpoint] = name;
            await Client.CommitAsync(container, ImageRepository(env.Ticket), name, labels, ct).ConfigureAwait(false);
        }
        catch
        {
            if (gitRef is not null)
            {
                try { await _worktree.RemoveCheckpointAsync(env, new SwarmCheckpoint { Ticket = env.Ticket, Name = name, ProviderReference = gitRef }, context, CancellationToken.None).ConfigureAwait(false); }
                catch (SwarmException) { }
            }
            throw;
        }
        context.Report("Checkpoint", $"{env.Ticket}: saved {name}", 100);
        return image;
    }

    public override async Task RestoreAsync(SwarmEnvironment env, SwarmCheckpoint checkpoint, ProviderContext context, CancellationToken ct)
    {
        var image = checkpoint.ProviderReference ?? ImageReference(env.Ticket, checkpoint.Name);
        if (await Client.InspectImageAsync(image, ct).ConfigureAwait(false) is null)
            throw new SwarmException(ErrorIds.CheckpointNotFound, SwarmErrorKind.NotFound,
                $"The image {image} of checkpoint '{checkpoint.Name}' is gone from the engine.", env.Ticket) { Hint = Hints.Repair };
        var worktreeCheckpoint = new SwarmCheckpoint { Ticket = env.Ticket, Name = checkpoint.Name, CreatedAt = checkpoint.CreatedAt };
        if (HasWorktree(env) && !(await _worktree.ListCheckpointsAsync(env, ct).ConfigureAwait(false)).Contains(checkpoint.Name, StringComparer.Ordinal))
            throw new SwarmException(ErrorIds.CheckpointNotFound, SwarmErrorKind.NotFound,
                $"The git data of checkpoint '{checkpoint.Name}' is gone.", env.Ticket) { Hint = Hints.Repair };
        context.Report("Restore", $"{env.Ticket}: recreating {ContainerOf(env)} from {image}", 30);
        var running = env.Status != EnvironmentStatus.Stopped;
        var id = await RecreateAsync(env, image, start: running, context, ct).ConfigureAwait(false);
        // The row itself records the new container and the image it came from (repair recreates from it).
        var latest = context.Registry.GetEnvironment(env.Ticket) ?? env;
        context.Registry.Update(WithContainer(latest, id, image, running ? EnvironmentStatus.Running : EnvironmentStatus.Stopped));
        if (HasWorktree(env)) await _worktree.RestoreAsync(env, worktreeCheckpoint, context, ct).ConfigureAwait(false);
        context.Report("Restore", $"{env.Ticket}: restored {checkpoint.Name}", 100);
    }

    public override async Task<IReadOnlyList<string>> ListCheckpointsAsync(SwarmEnvironment env, CancellationToken ct)
    {
        // A checkpoint is a tag swarmps/<ticket>:<name> on an image labelled for this home and ticket
        // (tags normalized: podman says localhost/ or docker.io/ where Docker says nothing).
        var images = await Client.ListImagesAsync(LabelsOf(env), ct).ConfigureAwait(false);
        var prefix = ImageRepository(env.Ticket) + ":";
        return images
            .SelectMany(i => i.RepoTags.Select(DockerEngineClient.NormalizeTag)
                .Where(t => t.StartsWith(prefix, StringComparison.Ordinal) && Names.IsValid(t[prefix.Length..]))
                .Select(t => (Image: i, Name: t[prefix.Length..])))
            .OrderBy(x => x.Image.Created).ThenBy(x => x.Name, StringComparer.Ordinal)
            .Select(x => x.Name).Distinct(StringComparer.Ordinal).ToList();
    }

    public override async Task RemoveCheckpointAsync(SwarmEnvironment env, SwarmCheckpoint checkpoint, ProviderContext context, CancellationToken ct)
    {
        // By reference: untags it; the layers stay while the container (restored from it) or a later checkpoint uses them.
        await Client.RemoveImageAsync(checkpoint.ProviderReference ?? ImageReference(env.Ticket, checkpoint.Name), force: true, ct).ConfigureAwait(false);
        if (HasWorktree(env))
            await _worktree.RemoveCheckpointAsync(env, new SwarmCheckpoint { Ticket = env.Ticket, Name = checkpoint.Name }, context, ct).ConfigureAwait(false);
    }

    // ------------------------------------------------------------------ access

    public override Task<SwarmConnection> GetConnectionAsync(SwarmEnvironment env, CancellationToken ct) =>
        Task.FromResult(new SwarmConnection
        {
            Ticket = env.Ticket, Provider = Name, Host = "127.0.0.1", Port = env.Ports.Count > 0 ? env.Ports.Start : null, WorkingDirectory = ContainerWorkspace,
        });

    public override async Task<SwarmExecResult> ExecAsync(SwarmEnvironment env, IReadOnlyList<string> command, string? standardInput, ProviderContext context, CancellationToken ct)
    {
        if (command.Count == 0 || string.IsNullOrEmpty(command[0]))
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, "No command to run.", env.Ticket);
        DockerExecResult r;
        try
        {
            r = await Client.ExecAsync(ContainerOf(env), command, ContainerVariables(env).Select(kv => kv.Key + "=" + kv.Value).ToList(), ContainerWorkspace,
                standardInput is null ? null : new UTF8Encoding(false).GetBytes(standardInput), ct).ConfigureAwait(false);
        }
        catch (DockerEngineException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            throw ContainerMissing(env);
        }
        catch (DockerEngineException ex) when (ex.StatusCode is { } code && code != HttpStatusCode.NotFound)
        {
            // Docker answers 409, podman 500 "container state improper": ask the engine what the state is.
            if (!await IsNotRunningAsync(env, ct).ConfigureAwait(false)) throw;
            throw new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidState,
                $"'{env.Ticket}' is not running ({ex.EngineMessage}).", env.Ticket, ex) { Hint = Hints.StartEnvironment(env.Ticket) };
        }
        return new SwarmExecResult
        {
            Ticket = env.Ticket, ExitCode = r.ExitCode, StandardOutput = Encoding.UTF8.GetString(r.StandardOutput), StandardError = Encoding.UTF8.GetString(r.StandardError),
        };
    }

    /// <summary>Where an agent's pid and prompt live inside the container (in /tmp, which every image SwarmPS can run has).</summary>
    public static string AgentPidFile(string agentId, string run) => $"/tmp/.swarmps-agent-{agentId}-{run}.pid";
    public static string AgentPromptFile(string agentId, string run) => $"/tmp/.swarmps-agent-{agentId}-{run}.prompt";

    /// <summary>
    /// The in-container wrapper of an agent: records its pid (the exec'd process leads its own process
    /// group) in <c>$0</c> so <see cref="StopAgentAsync"/> can signal the whole group, runs the argv with
    /// the inherited stdin, and removes the pid and prompt files when the agent ends. No user text is in the script:
    /// the argv follows as positional parameters.
    /// </summary>
    internal const string AgentWrapperScript = "echo $$ > \"$0\"; \"$@\"; rc=$?; rm -f \"$0\" \"${0%.pid}.prompt\"; exit $rc";

    /// <summary>Stops an agent's process group inside the container: TERM, up to 5 s grace, then KILL.</summary>
    internal const string AgentStopScript =
        "[ -s \"$0\" ] || exit 0; p=$(cat \"$0\"); case \"$p\" in ''|*[!0-9]*) rm -f \"$0\"; exit 0;; esac; " +
        "kill -s TERM -\"$p\" 2>/dev/null || kill -s TERM \"$p\" 2>/dev/null || { rm -f \"$0\"; exit 0; }; " +
        "i=0; while { kill -s 0 -\"$p\" 2>/dev/null || kill -s 0 \"$p\" 2>/dev/null; } && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; " +
        "kill -s KILL -\"$p\" 2>/dev/null; kill -s KILL \"$p\" 2>/dev/null; rm -f \"$0\"; exit 0";

    private static bool IsAgentToken(string? s) => !string.IsNullOrEmpty(s) && s.Length <= 64 && s.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');

    private async Task<bool> IsNotRunningAsync(SwarmEnvironment env, CancellationToken ct)
    {
        try
        {
            return await Client.InspectContainerAsync(ContainerOf(env), ct).ConfigureAwait(false) is { Running: false };
        }
        catch (SwarmException)
        {
            return false;
        }
    }

    /// <summary>
    /// Agents are local processes run by a detached supervisor, so an agent on a container is the local
    /// process <c>docker exec -i -w /workspace -e NAME... &lt;container&gt; sh -c WRAPPER pidfile argv...</c>.
    /// Variable values travel in the docker CLI's environment (<c>-e NAME</c> without a value), never on its
    /// command line; the prompt reaches the agent through argv or stdin (<c>-i</c>), and SWARM_PROMPT_FILE
    /// (and a <c>{promptFile}</c> argument) names a copy inside the container, put there through the
    /// archive API (so it works without a worktree too). Stopping the agent signals its process group
    /// inside the container (<see cref="StopAgentAsync"/>). Needs the docker CLI on PATH.
    /// </summary>
    public override AgentLaunchPlan PlanAgentLaunch(SwarmEnvironment env, IReadOnlyList<string> argv, IReadOnlyDictionary<string, string> variables)
    {
        var cli = FindDockerCli() ?? throw new SwarmException(DockerErrorIds.DockerCliMissing, SwarmErrorKind.Unavailable,
            $"Agents on Docker environments run as 'docker exec -i {ContainerOf(env)} ...', and the docker CLI ('{_options.DockerCli}') is not on PATH. " +
            "Install it (Debian/Ubuntu: docker.io or docker-ce-cli; podman: podman-docker), or run the agent on a worktree environment.", env.Ticket);
        var vars = new Dictionary<string, string>(variables, StringComparer.Ordinal) { ["SWARM_WORKSPACE"] = ContainerWorkspace };
        var command = argv.ToList();
        variables.TryGetValue("SWARM_AGENT_ID", out var agentId);
        var run = variables.GetValueOrDefault("SWARM_AGENT_RUN") is { } r && IsAgentToken(r) ? r : "1";
        if (IsAgentToken(agentId))
        {
            // The prompt file: a host path means nothing inside the container; copy it in and point there.
            if (variables.TryGetValue("SWARM_PROMPT_FILE", out var hostPrompt) && !string.IsNullOrEmpty(hostPrompt) && File.Exists(hostPrompt))
            {
                var inside = AgentPromptFile(agentId!, run);
                Sync(PutFileAsync(env, inside, File.ReadAllBytes(hostPrompt), CancellationToken.None));
                vars["SWARM_PROMPT_FILE"] = inside;
                for (var i = 0; i < command.Count; i++)
                    if (command[i].Contains(hostPrompt, StringComparison.Ordinal)) command[i] = command[i].Replace(hostPrompt, inside, StringComparison.Ordinal);
            }
            command.InsertRange(0, new[] { "sh", "-c", AgentWrapperScript, AgentPidFile(agentId!, run) });
        }
        var args = new List<string> { "exec", "-i", "-w", ContainerWorkspace };
        foreach (var key in vars.Keys.OrderBy(k => k, StringComparer.Ordinal)) { args.Add("-e"); args.Add(key); }
        args.Add(ContainerOf(env));
        args.AddRange(command);
        var local = new Dictionary<string, string>(vars, StringComparer.Ordinal) { ["DOCKER_HOST"] = Client.Endpoint.Uri };
        return new AgentLaunchPlan(cli, args, HasWorktree(env) && Directory.Exists(env.WorkspacePath) ? env.WorkspacePath : null, local);
    }

    /// <summary>Signals the agent's process group inside the container (the local docker exec client alone would leave it running).</summary>
    public override async Task StopAgentAsync(SwarmEnvironment env, string agentId, int run, CancellationToken ct)
    {
        if (!IsAgentToken(agentId)) return;
        var pidFile = AgentPidFile(agentId, run.ToString(CultureInfo.InvariantCulture));
        try
        {
            await Client.ExecAsync(ContainerOf(env), new[] { "sh", "-c", AgentStopScript, pidFile }, Array.Empty<string>(), "/", null, ct).ConfigureAwait(false);
            await Client.ExecAsync(ContainerOf(env), new[] { "rm", "-f", AgentPromptFile(agentId, run.ToString(CultureInfo.InvariantCulture)) }, Array.Empty<string>(), "/", null, ct).ConfigureAwait(false);
        }
        catch (DockerEngineException ex) when (ex.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
            // The container is gone or not running: nothing of the agent runs there any more.
        }
    }

    /// <summary>Writes one file into the container (archive API: a one-entry tar extracted into its directory). Mode 0644: the agent may run as the image's user.</summary>
    internal async Task PutFileAsync(SwarmEnvironment env, string containerPath, byte[] content, CancellationToken ct)
    {
        var dir = containerPath[..containerPath.LastIndexOf('/')];
        var name = containerPath[(containerPath.LastIndexOf('/') + 1)..];
        using var tar = new MemoryStream();
        await using (var w = new System.Formats.Tar.TarWriter(tar, System.Formats.Tar.TarEntryFormat.Ustar, leaveOpen: true))
        {
            var entry = new System.Formats.Tar.UstarTarEntry(System.Formats.Tar.TarEntryType.RegularFile, name)
            {
                DataStream = new MemoryStream(content),
                Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                ModificationTime = DateTimeOffset.UtcNow,
            };
            await w.WriteEntryAsync(entry, ct).ConfigureAwait(false);
        }
        try
        {
            await Client.PutArchiveAsync(ContainerOf(env), dir.Length == 0 ? "/" : dir, tar.ToArray(), ct).ConfigureAwait(false);
        }
        catch (DockerEngineException ex) when (ex.StatusCode == HttpStatusCode.NotFound && ex.EngineMessage?.Contains("container", StringComparison.OrdinalIgnoreCase) == true)
        {
            throw ContainerMissing(env);
        }
    }

    private static void Sync(Task t) => t.ConfigureAwait(false).GetAwaiter().GetResult();

    private string? FindDockerCli()
    {
        var exe = _options.DockerCli;
        if (Path.IsPathRooted(exe)) return File.Exists(exe) ? exe : null;
        var exts = OperatingSystem.IsWindows() ? new[] { ".exe", ".cmd", "" } : new[] { "" };
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            foreach (var ext in exts)
            {
                var p = Path.Combine(dir, exe + ext);
                if (File.Exists(p)) return p;
            }
        return null;
    }

    // ------------------------------------------------------------------ repair

    public override async Task<IReadOnlyList<SwarmRepairItem>> RepairAsync(IReadOnlyList<SwarmEnvironment> owned, bool fix, ProviderContext context, CancellationToken ct)
    {
        var items = new List<SwarmRepairItem>();
        var home = HomeKey(context.Home);
        var containers = await Client.ListContainersAsync(new Dictionary<string, string> { [LabelHome] = home }, ct).ConfigureAwait(false);
        var byName = containers.GroupBy(c => c.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var ownedNames = new HashSet<string>(owned.Select(ContainerOf), StringComparer.Ordinal);

        foreach (var env in owned)
        {
            ct.ThrowIfCancellationRequested();
            var name = ContainerOf(env);
            if (env.Status == EnvironmentStatus.Creating)
            {
                if (Processes.ProcessIdentity.IsAlive(env.Metadata.GetValueOrDefault("creator"))) continue;
                if (fix) await RemoveEverythingAsync(env, keepBranch: false, context, ct).ConfigureAwait(false);
                items.Add(Item(RepairIssueKind.IncompleteCreate, env.Ticket, name, "The process creating this environment died before it finished.",
                    "remove the partial container, worktree, branch and row", fix));
                continue;
            }
            if (HasWorktree(env) && !Directory.Exists(env.WorkspacePath))
            {
                if (fix) await RemoveEverythingAsync(env, keepBranch: true, context, ct).ConfigureAwait(false);
                items.Add(Item(RepairIssueKind.DanglingRow, env.Ticket, env.WorkspacePath, $"The worktree is gone (container {name}: {(byName.ContainsKey(name) ? "present" : "gone")}).",
                    $"remove the container, checkpoint images and refs, and the row; keep branch {env.Branch} (it may hold commits)", fix));
                continue;
            }
            if (!byName.ContainsKey(name))
            {
                // The image the last container came from (a restored checkpoint), else the base image.
                var image = env.Metadata.GetValueOrDefault(MetaContainerImage) is { Length: > 0 } last && await Client.InspectImageAsync(last, ct).ConfigureAwait(false) is not null
                    ? last : env.Metadata.GetValueOrDefault(MetaImage) ?? _options.DefaultImage;
                var canFix = await Client.InspectImageAsync(image, ct).ConfigureAwait(false) is not null;
                if (fix && canFix)
                {
                    var id = await CreateContainerAsync(env, image, start: env.Status == EnvironmentStatus.Running, context, ct).ConfigureAwait(false);
                    context.Registry.Update(WithContainer(context.Registry.GetEnvironment(env.Ticket) ?? env, id, image));
                }
                items.Add(Item(RepairIssueKind.DanglingRow, env.Ticket, name, $"The container {name} is gone from the engine" + (HasWorktree(env) ? " (the worktree is intact)." : "."),
                    canFix ? $"recreate it from {image} (changes made inside the old container are lost{(HasWorktree(env) ? "; the worktree keeps the code" : "")})"
                           : $"none: its image {image} is gone too; remove the environment", fix && canFix));
                continue;
            }
            // Checkpoints: rows without images, images without rows.
            var rows = context.Registry.ListCheckpoints(env.Ticket);
            var images = await ListCheckpointsAsync(env, ct).ConfigureAwait(false);
            foreach (var cp in rows.Where(r => !images.Contains(r.Name, StringComparer.Ordinal)))
            {
                if (fix)
                {
                    if (HasWorktree(env)) await _worktree.RemoveCheckpointAsync(env, new SwarmCheckpoint { Ticket = env.Ticket, Name = cp.Name }, context, ct).ConfigureAwait(false);
                    context.Registry.DeleteCheckpoint(env.Ticket, cp.Name);
                }
                items.Add(Item(RepairIssueKind.DanglingCheckpoint, env.Ticket, cp.ProviderReference, $"Checkpoint '{cp.Name}' has no image.", "delete its row and git ref", fix));
            }
            foreach (var n in images.Where(n => !rows.Any(r => string.Equals(r.Name, n, StringComparison.Ordinal))))
            {
                var reference = ImageReference(env.Ticket, n);
                if (fix) await Client.RemoveImageAsync(reference, force: true, ct).ConfigureAwait(false);
                items.Add(Item(RepairIssueKind.OrphanCheckpoint, env.Ticket, reference, $"Image {reference} has no checkpoint row.", "remove the image", fix));
            }
        }

        // Orphans: containers labelled with this home that no row owns (never other containers).
        foreach (var c in containers.Where(c => !ownedNames.Contains(c.Name)))
        {
            ct.ThrowIfCancellationRequested();
            c.Labels.TryGetValue(LabelTicket, out var ticket);
            // A concurrent create in another process reserves its row before making the container.
            if (Names.IsValid(ticket) && context.Registry.GetEnvironment(ticket!) is { } row && string.Equals(ContainerOf(row), c.Name, StringComparison.Ordinal)) continue;
            if (fix)
            {
                await Client.RemoveContainerAsync(c.Id, ct).ConfigureAwait(false);
                if (Names.IsValid(ticket) && context.Registry.GetEnvironment(ticket!) is null) await RemoveImagesAsync(LabelsOf(home, ticket!), ct).ConfigureAwait(false);
            }
            items.Add(Item(RepairIssueKind.Orphan, Names.IsValid(ticket) ? ticket : null, c.Name, $"Container {c.Name} ({c.State}) is labelled for this SwarmPS home but no registry row owns it.",
                "remove the container and its checkpoint images", fix));
        }
        return items;
    }

    private async Task RemoveEverythingAsync(SwarmEnvironment env, bool keepBranch, ProviderContext context, CancellationToken ct)
    {
        await Client.RemoveContainerAsync(ContainerOf(env), ct).ConfigureAwait(false);
        await RemoveImagesAsync(LabelsOf(env), ct).ConfigureAwait(false);
        if (HasWorktree(env) && env.RepositoryPath is not null && Directory.Exists(env.RepositoryPath))
            await _worktree.RemoveAsync(env, new RemoveOptions { Force = true, KeepBranch = keepBranch }, context, ct).ConfigureAwait(false);
        else if (HasWorktree(env) && Directory.Exists(env.WorkspacePath)) WorktreeProvider.DeleteDirectory(env.WorkspacePath!);
        context.Registry.DeleteEnvironment(env.Ticket);
    }
}
