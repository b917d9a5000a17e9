using System.Net;

namespace SwarmPS.Core.Providers.Docker;

/// <summary>Stable error ids of the Docker provider. Scripts match on these; never rename one.</summary>
public static class DockerErrorIds
{
    /// <summary>No Docker Engine answers at the endpoint; the message names the endpoint and what to start.</summary>
    public const string DockerEngineUnreachable = "DockerEngineUnreachable";
    /// <summary>The engine answered with an error not covered by a more specific id.</summary>
    public const string DockerEngineError = "DockerEngineError";
    /// <summary>DOCKER_HOST cannot be parsed or names an unsupported transport (ssh, TLS).</summary>
    public const string DockerHostInvalid = "DockerHostInvalid";
    /// <summary>The engine's API version is older than SwarmPS needs.</summary>
    public const string DockerApiVersionUnsupported = "DockerApiVersionUnsupported";
    /// <summary>The image is not present in the engine (SwarmPS never pulls implicitly).</summary>
    public const string DockerImageNotFound = "DockerImageNotFound";
    /// <summary>The container of an environment is gone from the engine.</summary>
    public const string DockerContainerMissing = "DockerContainerMissing";
    /// <summary>An agent launch needs the docker CLI (docker exec -i) and none is on PATH.</summary>
    public const string DockerCliMissing = "DockerCliMissing";
}

/// <summary>The engine answered with an HTTP error. <see cref="StatusCode"/> and <see cref="EngineMessage"/> are the engine's.</summary>
public class DockerEngineException : SwarmException
{
    public DockerEngineException(string errorId, SwarmErrorKind kind, string message, HttpStatusCode? statusCode, string? engineMessage, string? target = null, Exception? inner = null)
        : base(errorId, kind, message, target, inner)
    {
        StatusCode = statusCode;
        EngineMessage = engineMessage;
    }

    public HttpStatusCode? StatusCode { get; }
    public string? EngineMessage { get; }

    /// <summary>Maps an engine error response to an error kind: 404 NotFound, 409 Conflict, 400 InvalidArgument, others OperationFailed.</summary>
    public static DockerEngineException FromResponse(HttpStatusCode status, string? engineMessage, string operation, string? target = null)
    {
        var code = (int)status;
        var kind = code switch
        {
            404 => SwarmErrorKind.NotFound,
            409 => SwarmErrorKind.Conflict,
            400 => SwarmErrorKind.InvalidArgument,
            _ => SwarmErrorKind.OperationFailed,
        };
        var msg = string.IsNullOrWhiteSpace(engineMessage) ? status.ToString() : engineMessage.Trim();
        if (code == 400 && msg.Contains("API version", StringComparison.OrdinalIgnoreCase))
            return new DockerEngineException(DockerErrorIds.DockerApiVersionUnsupported, SwarmErrorKind.Unavailable,
                $"The Docker Engine refused the API version for {operation}: {msg}", status, engineMessage, target);
        return new DockerEngineException(DockerErrorIds.DockerEngineError, kind, $"Docker Engine: {operation} failed with HTTP {code}: {msg}", status, engineMessage, target);
    }
}

/// <summary>Nothing answers at the endpoint. The message names the endpoint tried and what to start.</summary>
public sealed class DockerEngineUnreachableException : DockerEngineException
{
    public DockerEngineUnreachableException(DockerEndpoint endpoint, string reason, Exception? inner = null)
        : base(DockerErrorIds.DockerEngineUnreachable, SwarmErrorKind.Unavailable,
            $"Cannot reach the Docker Engine at {endpoint.Describe()}: {reason}. {endpoint.StartHint()}", null, null, endpoint.Uri, inner)
    {
        Endpoint = endpoint;
    }

    public DockerEndpoint Endpoint { get; }
}
