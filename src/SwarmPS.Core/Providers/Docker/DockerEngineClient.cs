using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SwarmPS.Core.Providers.Docker;

/// <summary>A container as listed by the engine.</summary>
public sealed record DockerContainerSummary(string Id, string Name, string State, string Image, IReadOnlyDictionary<string, string> Labels);

/// <summary>An image as listed by the engine.</summary>
public sealed record DockerImageSummary(string Id, IReadOnlyList<string> RepoTags, long Created, IReadOnlyDictionary<string, string> Labels);

/// <summary>The state part of a container inspect.</summary>
public sealed record DockerContainerState(string Id, string Name, string Status, bool Running, int ExitCode, string? Error, string Image);

/// <summary>What an exec printed and its exit code.</summary>
public sealed record DockerExecResult(int ExitCode, byte[] StandardOutput, byte[] StandardError);

/// <summary>
/// A small Docker Engine API client (Docker.DotNet is not in our package source): HTTP/1.1 over the
/// unix socket, the Windows named pipe or TCP, with the API version negotiated once through
/// <c>/_ping</c> (falling back to <c>/version</c>) and capped at <see cref="MaxApiVersion"/>.
/// Works against podman's Docker-compatible API. Errors are <see cref="DockerEngineException"/>s;
/// an engine that does not answer is a <see cref="DockerEngineUnreachableException"/>.
/// </summary>
public sealed class DockerEngineClient : IDisposable
{
    /// <summary>The newest API version SwarmPS uses (Engine 20.10); every call it makes exists there.</summary>
    public static readonly Version MaxApiVersion = new(1, 41);
    /// <summary>The oldest it accepts (Engine 1.13; podman's compat API reports 1.40+).</summary>
    public static readonly Version MinApiVersion = new(1, 25);

    private readonly HttpClient _http;
    private readonly Func<CancellationToken, ValueTask<Stream>> _connect;
    private readonly SemaphoreSlim _versionLock = new(1, 1);
    private string? _version;

    public DockerEngineClient(DockerEndpoint endpoint, HttpMessageHandler? handler = null, TimeSpan? connectTimeout = null)
    {
        Endpoint = endpoint;
        ConnectTimeout = connectTimeout ?? TimeSpan.FromSeconds(5);
        _connect = ct => endpoint.ConnectAsync(ConnectTimeout, ct);
        handler ??= new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) => await _connect(ct).ConfigureAwait(false),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(20),
            UseProxy = false,
            AllowAutoRedirect = false,
        };
        _http = new HttpClient(handler, disposeHandler: true) { BaseAddress = endpoint.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
    }

    public DockerEndpoint Endpoint { get; }
    public TimeSpan ConnectTimeout { get; }

    /// <summary>The negotiated version ("1.41"), after the first call.</summary>
    public string? ApiVersion => _version;

    /// <summary>
    /// A version to speak instead of negotiating (docker.apiVersion in config.json). The engine is still
    /// pinged first, so an unreachable engine is reported as such; an engine older than the pin answers
    /// 400, reported as DockerApiVersionUnsupported.
    /// </summary>
    public string? PinnedApiVersion { get; init; }

    public void Dispose()
    {
        _http.Dispose();
        _versionLock.Dispose();
    }

    // ------------------------------------------------------------------ transport

    /// <summary>Negotiates the API version once: min(engine's, <see cref="MaxApiVersion"/>).</summary>
    public async Task<string> NegotiateAsync(CancellationToken ct)
    {
        if (_version is not null) return _version;
        await _versionLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_version is not null) return _version;
            string? server = null;
            using (var ping = await SendRawAsync(HttpMethod.Get, "/_ping", (HttpContent?)null, "ping", ct).ConfigureAwait(false))
            {
                if (ping.IsSuccessStatusCode && ping.Headers.TryGetValues("Api-Version", out var values)) server = values.FirstOrDefault();
            }
            if (PinnedApiVersion is not null)
            {
                _version = PinnedApiVersion;
                return _version;
            }
            if (string.IsNullOrEmpty(server))
            {
                using var v = await SendRawAsync(HttpMethod.Get, "/version", (HttpContent?)null, "version", ct).ConfigureAwait(false);
                await EnsureAsync(v, "version", null, ct).ConfigureAwait(false);
                var node = JsonNode.Parse(await v.Content.ReadAsStringAsync(ct).ConfigureAwait(false));
                server = node?["ApiVersion"]?.GetValue<string>();
            }
            _version = ChooseVersion(server, Endpoint);
            return _version;
        }
        finally
        {
            _versionLock.Release();
        }
    }

    /// <summary>The version to speak given the engine's: capped at <see cref="MaxApiVersion"/>, refused below <see cref="MinApiVersion"/>.</summary>
    public static string ChooseVersion(string? server, DockerEndpoint endpoint)
    {
        if (string.IsNullOrWhiteSpace(server) || !Version.TryParse(server.Trim(), out var v))
            throw new DockerEngineException(DockerErrorIds.DockerApiVersionUnsupported, SwarmErrorKind.Unavailable,
                $"The engine at {endpoint.Uri} did not report an API version (neither /_ping nor /version); is it a Docker-compatible engine?", null, null, endpoint.Uri);
        if (v < MinApiVersion)
            throw new DockerEngineException(DockerErrorIds.DockerApiVersionUnsupported, SwarmErrorKind.Unavailable,
                $"The engine at {endpoint.Uri} speaks API {server}; SwarmPS needs {MinApiVersion} or newer (Docker Engine 1.13+). Upgrade the engine.", null, null, endpoint.Uri);
        var chosen = v < MaxApiVersion ? v : MaxApiVersion;
        return chosen.ToString(2);
    }

    private Task<HttpResponseMessage> SendRawAsync(HttpMethod method, string pathAndQuery, JsonNode? body, string operation, CancellationToken ct) =>
        SendRawAsync(method, pathAndQuery, body is null ? null : new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"), operation, ct);

    private async Task<HttpResponseMessage> SendRawAsync(HttpMethod method, string pathAndQuery, HttpContent? content, string operation, CancellationToken ct)
    {
        using var req = new HttpRequestMessage(method, pathAndQuery.TrimStart('/'));
        req.Content = content;
        try
        {
            return await _http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            for (var inner = ex.InnerException; inner is not null; inner = inner.InnerException)
                if (inner is DockerEngineUnreachableException u) throw u;
            throw new DockerEngineUnreachableException(Endpoint, $"{operation}: {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is IOException or SocketException)
        {
            throw new DockerEngineUnreachableException(Endpoint, $"{operation}: {ex.Message}", ex);
        }
    }

    /// <summary>Sends a versioned request. Status codes in <paramref name="accept"/> (besides 2xx) are returned, not thrown.</summary>
    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, JsonNode? body, string operation, string? target, CancellationToken ct, params HttpStatusCode[] accept) =>
        SendContentAsync(method, path, body is null ? null : new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"), operation, target, ct, accept);

    private async Task<HttpResponseMessage> SendContentAsync(HttpMethod method, string path, HttpContent? content, string operation, string? target, CancellationToken ct, params HttpStatusCode[] accept)
    {
        var version = await NegotiateAsync(ct).ConfigureAwait(false);
        var resp = await SendRawAsync(method, "/v" + version + path, content, operation, ct).ConfigureAwait(false);
        if (resp.IsSuccessStatusCode || accept.Contains(resp.StatusCode)) return resp;
        try
        {
            await EnsureAsync(resp, operation, target, ct).ConfigureAwait(false);
            return resp;
        }
        finally
        {
            resp.Dispose();
        }
    }

    private static async Task EnsureAsync(HttpResponseMessage resp, string operation, string? target, CancellationToken ct)
    {
        if (resp.IsSuccessStatusCode) return;
        string? message = null;
        try
        {
            var text = await resp.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            message = text;
            if (text.TrimStart().StartsWith('{')) message = JsonNode.Parse(text)?["message"]?.GetValue<string>() ?? text;
        }
        catch (Exception ex) when (ex is JsonException or IOException or HttpRequestException or InvalidOperationException) { }
        throw DockerEngineException.FromResponse(resp.StatusCode, message, operation, target);
    }

    private async Task<JsonNode?> JsonAsync(HttpMethod method, string path, JsonNode? body, string operation, string? target, CancellationToken ct)
    {
        using var resp = await SendAsync(method, path, body, operation, target, ct).ConfigureAwait(false);
        var text = await resp.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        return text.Length == 0 ? null : JsonNode.Parse(text);
    }

    private static string E(string s) => Uri.EscapeDataString(s);

    /// <summary>Image references go into the path as the docker CLI sends them (repo/name:tag), escaped only when unusual.</summary>
    private static string ImagePath(string name) =>
        name.All(c => char.IsAsciiLetterOrDigit(c) || "._-/:@".Contains(c)) && !name.Contains("..", StringComparison.Ordinal) ? name : E(name);

    /// <summary>
    /// The engine-side filter: the first label only. podman 4.3's compatible API returns nothing when
    /// several label filters are given, so the others are checked here (<see cref="HasLabels"/>).
    /// </summary>
    internal static string LabelFilter(IReadOnlyDictionary<string, string> labels) =>
        E(new JsonObject { ["label"] = new JsonArray(labels.OrderBy(kv => kv.Key, StringComparer.Ordinal).Take(1).Select(kv => (JsonNode)JsonValue.Create(kv.Key + "=" + kv.Value)!).ToArray()) }.ToJsonString());

    internal static bool HasLabels(IReadOnlyDictionary<string, string> actual, IReadOnlyDictionary<string, string> wanted) =>
        wanted.All(kv => actual.TryGetValue(kv.Key, out var v) && string.Equals(v, kv.Value, StringComparison.Ordinal));

    private static IReadOnlyDictionary<string, string> Labels(JsonNode? n) =>
        n is JsonObject o ? o.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>(), StringComparer.Ordinal)
                          : new Dictionary<string, string>();

    // ------------------------------------------------------------------ system

    /// <summary>Reaches the engine (every call, even once the version is known) and negotiates the version; throws when it does not answer.</summary>
    public async Task<string> PingAsync(CancellationToken ct)
    {
        if (_version is null) return await NegotiateAsync(ct).ConfigureAwait(false);
        using var ping = await SendRawAsync(HttpMethod.Get, "/_ping", (HttpContent?)null, "ping", ct).ConfigureAwait(false);
        await EnsureAsync(ping, "ping", null, ct).ConfigureAwait(false);
        return _version;
    }

    /// <summary>Engine version text ("20.10.24 (API 1.41)").</summary>
    public async Task<string> VersionAsync(CancellationToken ct)
    {
        var v = await JsonAsync(HttpMethod.Get, "/version", null, "version", null, ct).ConfigureAwait(false);
        return $"{v?["Version"]?.GetValue<string>()} (API {v?["ApiVersion"]?.GetValue<string>()})";
    }

    // ------------------------------------------------------------------ containers

    /// <summary>Creates a container; returns its id and the engine's warnings. 404: image missing; 409: name taken.</summary>
    public async Task<(string Id, IReadOnlyList<string> Warnings)> CreateContainerAsync(string name, JsonObject config, CancellationToken ct)
    {
        var r = await JsonAsync(HttpMethod.Post, "/containers/create?name=" + E(name), config, "create container " + name, name, ct).ConfigureAwait(false);
        var warnings = (r?["Warnings"] as JsonArray)?.Select(w => w?.GetValue<string>() ?? "").Where(w => w.Length > 0).ToList() ?? new List<string>();
        return (r!["Id"]!.GetValue<string>(), warnings);
    }

    /// <summary>Starts a container; false when it was already running (304).</summary>
    public async Task<bool> StartContainerAsync(string id, CancellationToken ct)
    {
        using var r = await SendAsync(HttpMethod.Post, $"/containers/{E(id)}/start", null, "start container " + id, id, ct, HttpStatusCode.NotModified).ConfigureAwait(false);
        return r.StatusCode != HttpStatusCode.NotModified;
    }

    /// <summary>Stops a container (SIGTERM, then SIGKILL after <paramref name="timeoutSeconds"/>); false when it was not running (304).</summary>
    public async Task<bool> StopContainerAsync(string id, int timeoutSeconds, CancellationToken ct)
    {
        using var r = await SendAsync(HttpMethod.Post, $"/containers/{E(id)}/stop?t={timeoutSeconds.ToString(CultureInfo.InvariantCulture)}", null, "stop container " + id, id, ct, HttpStatusCode.NotModified)
            .ConfigureAwait(false);
        return r.StatusCode != HttpStatusCode.NotModified;
    }

    /// <summary>Force-removes a container and its anonymous volumes; false when it did not exist (404).</summary>
    public async Task<bool> RemoveContainerAsync(string id, CancellationToken ct)
    {
        using var r = await SendAsync(HttpMethod.Delete, $"/containers/{E(id)}?force=true&v=true", null, "remove container " + id, id, ct, HttpStatusCode.NotFound).ConfigureAwait(false);
        return r.StatusCode != HttpStatusCode.NotFound;
    }

    /// <summary>The container's state, or null when it does not exist.</summary>
    public async Task<DockerContainerState?> InspectContainerAsync(string id, CancellationToken ct)
    {
        using var r = await SendAsync(HttpMethod.Get, $"/containers/{E(id)}/json", null, "inspect container " + id, id, ct, HttpStatusCode.NotFound).ConfigureAwait(false);
        if (r.StatusCode == HttpStatusCode.NotFound) return null;
        var n = JsonNode.Parse(await r.Content.ReadAsStringAsync(ct).ConfigureAwait(false))!;
        var s = n["State"]!;
        return new DockerContainerState(n["Id"]!.GetValue<string>(), (n["Name"]?.GetValue<string>() ?? "").TrimStart('/'),
            s["Status"]?.GetValue<string>() ?? "", s["Running"]?.GetValue<bool>() ?? false, s["ExitCode"]?.GetValue<int>() ?? 0,
            s["Error"]?.GetValue<string>() is { Length: > 0 } e ? e : null, n["Config"]?["Image"]?.GetValue<string>() ?? "");
    }

    /// <summary>All containers (running or not) carrying every given label.</summary>
    public async Task<IReadOnlyList<DockerContainerSummary>> ListContainersAsync(IReadOnlyDictionary<string, string> labels, CancellationToken ct)
    {
        var r = await JsonAsync(HttpMethod.Get, "/containers/json?all=true&filters=" + LabelFilter(labels), null, "list containers", null, ct).ConfigureAwait(false);
        return (r as JsonArray ?? new JsonArray()).Where(c => c is not null).Select(c => new DockerContainerSummary(
            c!["Id"]!.GetValue<string>(),
            ((c["Names"] as JsonArray)?.FirstOrDefault()?.GetValue<string>() ?? "").TrimStart('/'),
            c["State"]?.GetValue<string>() ?? "", c["Image"]?.GetValue<string>() ?? "", Labels(c["Labels"]))).Where(c => HasLabels(c.Labels, labels)).ToList();
    }

    // ------------------------------------------------------------------ images

    /// <summary>Commits the container's filesystem to <paramref name="repo"/>:<paramref name="tag"/> (pausing it meanwhile) with extra labels; returns the image id.</summary>
    public async Task<string> CommitAsync(string container, string repo, string tag, IReadOnlyDictionary<string, string> labels, CancellationToken ct)
    {
        var config = new JsonObject { ["Labels"] = new JsonObject(labels.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value)))) };
        // podman's compatible API ignores the body's labels (it keeps the container's); both engines
        // apply "changes" (Dockerfile instructions), so the labels go there too when they quote safely.
        var changes = string.Concat(labels.Where(kv => SafeForLabelInstruction(kv.Key) && SafeForLabelInstruction(kv.Value))
            .Select(kv => "&changes=" + E($"LABEL \"{kv.Key}\"=\"{kv.Value}\"")));
        var r = await JsonAsync(HttpMethod.Post, $"/commit?container={E(container)}&repo={E(repo)}&tag={E(tag)}&pause=true{changes}", config, $"commit {container} to {repo}:{tag}", container, ct)
            .ConfigureAwait(false);
        return r?["Id"]?.GetValue<string>() ?? "";
    }

    /// <summary>Extracts a tar archive into <paramref name="directory"/> of the container (which must exist). 404: no such container or directory.</summary>
    public async Task PutArchiveAsync(string container, string directory, byte[] tar, CancellationToken ct)
    {
        var content = new ByteArrayContent(tar);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-tar");
        using var r = await SendContentAsync(HttpMethod.Put, $"/containers/{E(container)}/archive?path={E(directory)}", content, $"copy into {container}:{directory}", container, ct).ConfigureAwait(false);
    }

    private static bool SafeForLabelInstruction(string s) => s.Length > 0 && !s.Any(c => c is '"' or '\\' or '$' or '`' || char.IsControl(c));

    /// <summary>
    /// A tag as the docker CLI shows it: podman reports <c>localhost/x:t</c> and <c>docker.io/x:t</c> for
    /// what Docker calls <c>x:t</c>; Docker itself may say <c>docker.io/library/x:t</c>.
    /// </summary>
    public static string NormalizeTag(string tag)
    {
        foreach (var prefix in new[] { "docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/", "localhost/" })
            if (tag.StartsWith(prefix, StringComparison.Ordinal)) return tag[prefix.Length..];
        return tag;
    }

    /// <summary>The image's id, or null when the engine does not have it.</summary>
    public async Task<string?> InspectImageAsync(string name, CancellationToken ct)
    {
        using var r = await SendAsync(HttpMethod.Get, $"/images/{ImagePath(name)}/json", null, "inspect image " + name, name, ct, HttpStatusCode.NotFound).ConfigureAwait(false);
        if (r.StatusCode == HttpStatusCode.NotFound) return null;
        return JsonNode.Parse(await r.Content.ReadAsStringAsync(ct).ConfigureAwait(false))?["Id"]?.GetValue<string>();
    }

    /// <summary>Images (tagged or not) carrying every given label.</summary>
    public async Task<IReadOnlyList<DockerImageSummary>> ListImagesAsync(IReadOnlyDictionary<string, string> labels, CancellationToken ct)
    {
        var r = await JsonAsync(HttpMethod.Get, "/images/json?all=true&filters=" + LabelFilter(labels), null, "list images", null, ct).ConfigureAwait(false);
        return (r as JsonArray ?? new JsonArray()).Where(i => i is not null).Select(i => new DockerImageSummary(
            i!["Id"]!.GetValue<string>(),
            (i["RepoTags"] as JsonArray)?.Select(t => t?.GetValue<string>() ?? "").Where(t => t.Length > 0 && t != "<none>:<none>").ToList() ?? new List<string>(),
            i["Created"]?.GetValue<long>() ?? 0, Labels(i["Labels"]))).Where(i => HasLabels(i.Labels, labels)).ToList();
    }

    /// <summary>Removes an image or untags it (force: also when a container uses it); false when it did not exist. 409: it has child images.</summary>
    public async Task<bool> RemoveImageAsync(string name, bool force, CancellationToken ct)
    {
        using var r = await SendAsync(HttpMethod.Delete, $"/images/{ImagePath(name)}?force={(force ? "true" : "false")}", null, "remove image " + name, name, ct, HttpStatusCode.NotFound).ConfigureAwait(false);
        return r.StatusCode != HttpStatusCode.NotFound;
    }

    // ------------------------------------------------------------------ exec

    /// <summary>
    /// Runs <paramref name="argv"/> in a running container (no shell, no TTY): exec create, exec start
    /// on a hijacked connection (the multiplexed stream is split into stdout and stderr; stdin is
    /// written and then half-closed), and exec inspect for the exit code, which exists only once the
    /// stream has closed.
    /// </summary>
    public async Task<DockerExecResult> ExecAsync(string container, IReadOnlyList<string> argv, IReadOnlyList<string> env, string? workingDirectory, byte[]? standardInput, CancellationToken ct)
    {
        var create = new JsonObject
        {
            ["AttachStdin"] = standardInput is not null,
            ["AttachStdout"] = true,
            ["AttachStderr"] = true,
            ["Tty"] = false,
            ["Cmd"] = new JsonArray(argv.Select(a => (JsonNode)JsonValue.Create(a)!).ToArray()),
            ["Env"] = new JsonArray(env.Select(a => (JsonNode)JsonValue.Create(a)!).ToArray()),
        };
        if (workingDirectory is not null) create["WorkingDir"] = workingDirectory;
        var created = await JsonAsync(HttpMethod.Post, $"/containers/{E(container)}/exec", create, "exec in " + container, container, ct).ConfigureAwait(false);
        var execId = created!["Id"]!.GetValue<string>();

        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        await using (var conn = await _connect(ct).ConfigureAwait(false))
        {
            var body = Encoding.UTF8.GetBytes(new JsonObject { ["Detach"] = false, ["Tty"] = false }.ToJsonString());
            var head = $"POST /v{_version}/exec/{E(execId)}/start HTTP/1.1\r\nHost: {Endpoint.BaseAddress.Authority}\r\nUser-Agent: SwarmPS\r\n" +
                       $"Content-Type: application/json\r\nContent-Length: {body.Length.ToString(CultureInfo.InvariantCulture)}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";
            await conn.WriteAsync(Encoding.ASCII.GetBytes(head), ct).ConfigureAwait(false);
            await conn.WriteAsync(body, ct).ConfigureAwait(false);
            await conn.FlushAsync(ct).ConfigureAwait(false);

            var reader = new BufferedPrefixStream(conn);
            var (status, headers) = await ReadResponseHeadAsync(reader, ct).ConfigureAwait(false);
            if (status is not (101 or 200))
            {
                var len = headers.TryGetValue("content-length", out var l) && int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out var cl) ? cl : 64 * 1024;
                var buf = new byte[Math.Min(len, 64 * 1024)];
                var got = 0;
                while (got < buf.Length)
                {
                    var n = await reader.ReadAsync(buf.AsMemory(got), ct).ConfigureAwait(false);
                    if (n == 0) break;
                    got += n;
                }
                var text = Encoding.UTF8.GetString(buf, 0, got);
                string? msg = text;
                try { if (text.TrimStart().StartsWith('{')) msg = JsonNode.Parse(text)?["message"]?.GetValue<string>() ?? text; } catch (JsonException) { }
                throw DockerEngineException.FromResponse((HttpStatusCode)status, msg, "exec start in " + container, container);
            }
            // Stdin is written while the output is read (a process that echoes a large input would
            // otherwise block on a full output buffer), then closed: a half-close on sockets, a
            // zero-byte message on Windows named pipes (see DockerStdin).
            var pump = standardInput is null ? Task.CompletedTask
                : DockerStdin.PumpAsync(conn, standardInput, DockerStdin.CloseWriteFor(Endpoint.Kind), ct);
            Stream payload = headers.TryGetValue("transfer-encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase)
                ? new ChunkedReadStream(reader) : reader;
            try
            {
                await DockerStreamDemultiplexer.DemultiplexAsync(payload, stdout, stderr, ct).ConfigureAwait(false);
            }
            finally
            {
                await pump.ConfigureAwait(false);
            }
        }

        // The exit code is only known once the stream has closed; the engine may still be recording it.
        for (var i = 0; ; i++)
        {
            var info = await JsonAsync(HttpMethod.Get, $"/exec/{E(execId)}/json", null, "exec inspect", container, ct).ConfigureAwait(false);
            var running = info?["Running"]?.GetValue<bool>() ?? false;
            var code = info?["ExitCode"];
            if (!running && code is not null) return new DockerExecResult(code.GetValue<int>(), stdout.ToArray(), stderr.ToArray());
            if (i >= 200) throw new DockerEngineException(DockerErrorIds.DockerEngineError, SwarmErrorKind.OperationFailed,
                $"The exec in {container} closed its output but the engine reported no exit code after 10 s.", null, null, container);
            await Task.Delay(50, ct).ConfigureAwait(false);
        }
    }

    private static async Task<(int Status, Dictionary<string, string> Headers)> ReadResponseHeadAsync(BufferedPrefixStream s, CancellationToken ct)
    {
        var statusLine = await s.ReadLineAsync(ct).ConfigureAwait(false)
            ?? throw new DockerEngineException(DockerErrorIds.DockerEngineError, SwarmErrorKind.OperationFailed, "The engine closed the exec connection without answering.", null, null);
        var parts = statusLine.Split(' ', 3);
        if (parts.Length < 2 || !parts[0].StartsWith("HTTP/", StringComparison.Ordinal) || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var status))
            throw new DockerEngineException(DockerErrorIds.DockerEngineError, SwarmErrorKind.OperationFailed, $"Unexpected answer to exec start: '{Names.Describe(statusLine)}'.", null, null);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        while (true)
        {
            var line = await s.ReadLineAsync(ct).ConfigureAwait(false);
            if (string.IsNullOrEmpty(line)) break;
            var c = line.IndexOf(':');
            if (c > 0) headers[line[..c].Trim()] = line[(c + 1)..].Trim();
        }
        return (status, headers);
    }

    /// <summary>Reads CRLF lines from a stream, then hands out the remaining bytes unchanged.</summary>
    private sealed class BufferedPrefixStream : ForwardOnlyReadStream
    {
        private readonly Stream _inner;
        private readonly byte[] _buf = new byte[8192];
        private int _pos, _len;
        public BufferedPrefixStream(Stream inner) => _inner = inner;

        public async Task<string?> ReadLineAsync(CancellationToken ct)
        {
            var line = new List<byte>();
            while (true)
            {
                if (_pos == _len)
                {
                    _len = await _inner.ReadAsync(_buf, ct).ConfigureAwait(false);
                    _pos = 0;
                    if (_len == 0) return line.Count == 0 ? null : Encoding.ASCII.GetString(line.ToArray());
                }
                var b = _buf[_pos++];
                if (b == '\n')
                {
                    if (line.Count > 0 && line[^1] == '\r') line.RemoveAt(line.Count - 1);
                    return Encoding.ASCII.GetString(line.ToArray());
                }
                if (line.Count > 16 * 1024) throw new InvalidDataException("Response header line too long.");
                line.Add(b);
            }
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            if (_pos < _len)
            {
                var n = Math.Min(buffer.Length, _len - _pos);
                _buf.AsMemory(_pos, n).CopyTo(buffer);
                _pos += n;
                return n;
            }
            return await _inner.ReadAsync(buffer, ct).ConfigureAwait(false);
        }

    }

    /// <summary>Decodes an HTTP/1.1 chunked body (some compatible engines answer exec start that way).</summary>
    private sealed class ChunkedReadStream : ForwardOnlyReadStream
    {
        private readonly BufferedPrefixStream _inner;
        private long _left;
        private bool _done;
        public ChunkedReadStream(BufferedPrefixStream inner) => _inner = inner;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            if (_done) return 0;
            if (_left == 0)
            {
                var line = await _inner.ReadLineAsync(ct).ConfigureAwait(false);
                if (line is not null && line.Length == 0) line = await _inner.ReadLineAsync(ct).ConfigureAwait(false); // CRLF after the previous chunk
                if (line is null) { _done = true; return 0; }
                var semi = line.IndexOf(';');
                _left = long.Parse(semi >= 0 ? line[..semi] : line, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (_left == 0) { _done = true; return 0; }
            }
            var n = await _inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _left)], ct).ConfigureAwait(false);
            if (n == 0) { _done = true; return 0; }
            _left -= n;
            return n;
        }

    }

    /// <summary>The Stream members every forward-only, read-only stream here shares; subclasses implement ReadAsync.</summary>
    private abstract class ForwardOnlyReadStream : Stream
    {
        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
