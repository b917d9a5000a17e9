using System.Globalization;
using System.IO.Pipes;
using System.Net;
using System.Net.Sockets;

namespace SwarmPS.Core.Providers.Docker;

public enum DockerEndpointKind
{
    /// <summary>A unix domain socket (Linux, macOS, WSL; podman's socket too).</summary>
    Unix,
    /// <summary>A Windows named pipe (Docker Desktop, Docker Engine on Windows).</summary>
    NamedPipe,
    /// <summary>Plain HTTP over TCP (<c>tcp://host:port</c>). TLS is not supported.</summary>
    Tcp,
}

/// <summary>
/// Where the Docker Engine API is, parsed from <c>DOCKER_HOST</c> the way the docker CLI reads it:
/// <c>unix:///path</c>, <c>npipe:////./pipe/name</c> (or <c>npipe://./pipe/name</c>), <c>tcp://host:port</c>.
/// Unset: <c>unix:///var/run/docker.sock</c>, or <c>npipe:////./pipe/docker_engine</c> on Windows.
/// </summary>
public sealed class DockerEndpoint
{
    public const string DefaultUnixSocket = "/var/run/docker.sock";
    public const string DefaultPipe = "docker_engine";

    private DockerEndpoint(DockerEndpointKind kind, string address, int port, string uri, bool fromEnvironment, string? source = null)
    {
        Kind = kind;
        Address = address;
        Port = port;
        Uri = uri;
        FromEnvironment = fromEnvironment;
        Source = source ?? (fromEnvironment ? "DOCKER_HOST" : null);
    }

    public DockerEndpointKind Kind { get; }
    /// <summary>The socket path, the pipe name (<c>server/name</c> with <c>.</c> for local), or the TCP host.</summary>
    public string Address { get; }
    /// <summary>The TCP port (0 otherwise).</summary>
    public int Port { get; }
    /// <summary>The endpoint as a DOCKER_HOST value (what error messages name and the docker CLI is given).</summary>
    public string Uri { get; }
    /// <summary>True when it was set (DOCKER_HOST or docker.host in config.json), false when it is the platform default.</summary>
    public bool FromEnvironment { get; }

    /// <summary>Where the endpoint came from ("DOCKER_HOST", "docker.host in config.json"); null for the platform default.</summary>
    public string? Source { get; }

    /// <summary>How the endpoint was chosen, for messages.</summary>
    public string Describe() => Source is not null ? $"{Uri} (from {Source})" : $"{Uri} (the default; neither DOCKER_HOST nor docker.host in config.json is set)";

    /// <summary>What to start so that the endpoint answers.</summary>
    public string StartHint() => Kind switch
    {
        DockerEndpointKind.NamedPipe => "Start Docker Desktop (or the docker service: 'Start-Service docker'), or set DOCKER_HOST to a running engine.",
        DockerEndpointKind.Tcp => $"Start the engine listening on {Address}:{Port.ToString(CultureInfo.InvariantCulture)} (dockerd -H tcp://...), or set DOCKER_HOST to a running engine.",
        _ => "Start the Docker Engine ('sudo systemctl start docker', or '.ci/backends/docker.sh start' on a machine without systemd; " +
             "on macOS start Docker Desktop), or for podman run 'systemctl --user start podman.socket' and set " +
             "DOCKER_HOST=unix://$XDG_RUNTIME_DIR/podman/podman.sock.",
    };

    public static DockerEndpoint FromEnvironmentVariables() =>
        Parse(Environment.GetEnvironmentVariable("DOCKER_HOST"), OperatingSystem.IsWindows(), Environment.GetEnvironmentVariable("DOCKER_TLS_VERIFY"));

    /// <summary>Parses a DOCKER_HOST value; null or empty gives the platform default. Throws DockerHostInvalid.</summary>
    public static DockerEndpoint Parse(string? dockerHost, bool windows = false, string? tlsVerify = null, string? source = null)
    {
        var e = ParseCore(dockerHost, windows, tlsVerify);
        return source is null || !e.FromEnvironment ? e : new DockerEndpoint(e.Kind, e.Address, e.Port, e.Uri, true, source);
    }

    private static DockerEndpoint ParseCore(string? dockerHost, bool windows, string? tlsVerify)
    {
        if (string.IsNullOrWhiteSpace(dockerHost))
            return windows
                ? new DockerEndpoint(DockerEndpointKind.NamedPipe, "./" + DefaultPipe, 0, "npipe:////./pipe/" + DefaultPipe, false)
                : new DockerEndpoint(DockerEndpointKind.Unix, DefaultUnixSocket, 0, "unix://" + DefaultUnixSocket, false);
        var value = dockerHost.Trim();
        var sep = value.IndexOf("://", StringComparison.Ordinal);
        if (sep <= 0) throw Invalid(value, "it has no scheme; use unix:///path, npipe:////./pipe/name or tcp://host:port");
        var scheme = value[..sep].ToLowerInvariant();
        var rest = value[(sep + 3)..];
        switch (scheme)
        {
            case "unix":
                if (!rest.StartsWith('/')) throw Invalid(value, "a unix socket path must be absolute (unix:///var/run/docker.sock)");
                return new DockerEndpoint(DockerEndpointKind.Unix, rest, 0, "unix://" + rest, true);
            case "npipe":
            {
                // npipe:////./pipe/docker_engine and npipe://./pipe/docker_engine both name \\.\pipe\docker_engine.
                var p = rest.Replace('\\', '/').TrimStart('/');
                var parts = p.Split('/', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length != 3 || !parts[1].Equals("pipe", StringComparison.OrdinalIgnoreCase))
                    throw Invalid(value, "a named pipe looks like npipe:////./pipe/docker_engine");
                return new DockerEndpoint(DockerEndpointKind.NamedPipe, parts[0] + "/" + parts[2], 0, $"npipe:////{parts[0]}/pipe/{parts[2]}", true);
            }
            case "tcp":
            case "http":
            {
                if (!string.IsNullOrEmpty(tlsVerify) && tlsVerify != "0")
                    throw Invalid(value, "DOCKER_TLS_VERIFY is set, and SwarmPS speaks plain HTTP only; use the unix socket or named pipe, or an SSH tunnel to a local socket");
                if (!System.Uri.TryCreate("tcp://" + rest, UriKind.Absolute, out var u) || string.IsNullOrEmpty(u.Host) || (u.AbsolutePath is not ("/" or "")))
                    throw Invalid(value, "use tcp://host:port");
                var port = u.IsDefaultPort || u.Port <= 0 ? 2375 : u.Port;
                var host = u.Host.Trim('[', ']');
                return new DockerEndpoint(DockerEndpointKind.Tcp, host, port, $"tcp://{(host.Contains(':') ? "[" + host + "]" : host)}:{port.ToString(CultureInfo.InvariantCulture)}", true);
            }
            case "https":
                throw Invalid(value, "TLS endpoints are not supported; use the unix socket or named pipe");
            case "ssh":
                throw Invalid(value, "ssh:// endpoints are not supported; forward the remote socket (ssh -L /tmp/docker.sock:/var/run/docker.sock host) and set DOCKER_HOST=unix:///tmp/docker.sock");
            default:
                throw Invalid(value, $"the scheme '{Names.Describe(scheme)}' is unknown; use unix://, npipe:// or tcp://");
        }
    }

    private static SwarmException Invalid(string value, string why) =>
        new(DockerErrorIds.DockerHostInvalid, SwarmErrorKind.InvalidArgument, $"DOCKER_HOST '{Names.Describe(value)}' cannot be used: {why}.", "DOCKER_HOST");

    /// <summary>The base address HttpClient requests use (the connection itself comes from <see cref="ConnectAsync"/>).</summary>
    internal Uri BaseAddress => Kind == DockerEndpointKind.Tcp
        ? new Uri($"http://{(Address.Contains(':') ? "[" + Address + "]" : Address)}:{Port.ToString(CultureInfo.InvariantCulture)}/")
        : new Uri("http://docker.local/");

    /// <summary>Opens a raw connection to the engine, or throws <see cref="DockerEngineUnreachableException"/>.</summary>
    public async ValueTask<Stream> ConnectAsync(TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            switch (Kind)
            {
                case DockerEndpointKind.NamedPipe:
                {
                    var slash = Address.IndexOf('/');
                    var pipe = new NamedPipeClientStream(Address[..slash], Address[(slash + 1)..], PipeDirection.InOut, PipeOptions.Asynchronous);
                    try
                    {
                        await pipe.ConnectAsync(cts.Token).ConfigureAwait(false);
                        return pipe;
                    }
                    catch
                    {
                        await pipe.DisposeAsync().ConfigureAwait(false);
                        throw;
                    }
                }
                default:
                {
                    var unix = Kind == DockerEndpointKind.Unix;
                    var socket = unix ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
                                      : new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                    try
                    {
                        if (unix) await socket.ConnectAsync(new UnixDomainSocketEndPoint(Address), cts.Token).ConfigureAwait(false);
                        else await socket.ConnectAsync(new DnsEndPoint(Address, Port), cts.Token).ConfigureAwait(false);
                        return new NetworkStream(socket, ownsSocket: true);
                    }
                    catch
                    {
                        socket.Dispose();
                        throw;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new DockerEngineUnreachableException(this, $"no answer within {timeout.TotalSeconds:0.#} s");
        }
        catch (Exception ex) when (ex is SocketException or IOException or TimeoutException or UnauthorizedAccessException)
        {
            throw new DockerEngineUnreachableException(this, Reason(ex), ex);
        }
    }

    private string Reason(Exception ex) => ex switch
    {
        SocketException { SocketErrorCode: SocketError.AddressNotAvailable or SocketError.AddressFamilyNotSupported } when Kind == DockerEndpointKind.Unix && !File.Exists(Address)
            => $"the socket {Address} does not exist",
        SocketException { SocketErrorCode: SocketError.ConnectionRefused } => "connection refused (nothing listens there)",
        SocketException s when Kind == DockerEndpointKind.Unix && !File.Exists(Address) => $"the socket {Address} does not exist ({s.SocketErrorCode})",
        SocketException { SocketErrorCode: SocketError.AccessDenied } or UnauthorizedAccessException =>
            "permission denied (add your user to the 'docker' group, or use rootless docker/podman)",
        _ => ex.Message,
    };
}
