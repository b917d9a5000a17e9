using System.Globalization;

namespace SwarmPS.Core.Providers.Docker;

/// <summary>
/// The <c>docker</c> section of <c>config.json</c>. Every field is optional:
/// <code>
/// "docker": { "host": "unix:///run/user/1000/podman/podman.sock", "defaultImage": "debian:bookworm-slim", "apiVersion": "1.41" }
/// </code>
/// Environment variables win over the file: <c>DOCKER_HOST</c> over <c>host</c> (as for the docker CLI)
/// and <c>SWARMPS_DOCKER_IMAGE</c> over <c>defaultImage</c>. With nothing set the endpoint is the platform
/// default (<c>unix:///var/run/docker.sock</c>, <c>npipe:////./pipe/docker_engine</c>) and the image is
/// <see cref="BuiltInDefaultImage"/>.
/// </summary>
public sealed class DockerConfig
{
    /// <summary>The image when neither the request, SWARMPS_DOCKER_IMAGE nor config names one. SwarmPS never pulls it.</summary>
    public const string BuiltInDefaultImage = "debian:bookworm-slim";

    /// <summary>The engine, as a DOCKER_HOST value (unix://, npipe://, tcp://). DOCKER_HOST overrides it.</summary>
    public string? Host { get; set; }
    /// <summary>Alias of <see cref="Host"/> ("endpoint" reads naturally too). Host wins when both are set.</summary>
    public string? Endpoint { get; set; }
    /// <summary>The image when a request names none. SWARMPS_DOCKER_IMAGE overrides it.</summary>
    public string? DefaultImage { get; set; }
    /// <summary>
    /// Pins the Engine API version (for example "1.41") instead of negotiating it through /_ping.
    /// Must lie between <see cref="DockerEngineClient.MinApiVersion"/> and <see cref="DockerEngineClient.MaxApiVersion"/>.
    /// </summary>
    public string? ApiVersion { get; set; }

    /// <summary>The configured endpoint text (host, else endpoint), or null.</summary>
    public string? ConfiguredHost => !string.IsNullOrWhiteSpace(Host) ? Host : !string.IsNullOrWhiteSpace(Endpoint) ? Endpoint : null;

    public void Validate(string source)
    {
        try
        {
            if (ConfiguredHost is { } h) DockerEndpoint.Parse(h, OperatingSystem.IsWindows());
        }
        catch (SwarmException ex)
        {
            throw new SwarmException(ErrorIds.ConfigInvalid, SwarmErrorKind.InvalidArgument, $"{source}: docker.host: {ex.Message}", source, ex);
        }
        if (DefaultImage is not null && !DockerProvider.IsValidImageReference(DefaultImage.Trim()))
            throw new SwarmException(ErrorIds.ConfigInvalid, SwarmErrorKind.InvalidArgument, $"{source}: docker.defaultImage '{Names.Describe(DefaultImage)}' is not an image reference.", source);
        if (ApiVersion is not null && ParseApiVersion(ApiVersion) is null)
            throw new SwarmException(ErrorIds.ConfigInvalid, SwarmErrorKind.InvalidArgument,
                $"{source}: docker.apiVersion '{Names.Describe(ApiVersion)}' must be a version between {DockerEngineClient.MinApiVersion} and {DockerEngineClient.MaxApiVersion} (for example \"1.41\").", source);
    }

    /// <summary>"1.41" or "v1.41" within the supported range, else null.</summary>
    public static Version? ParseApiVersion(string text)
    {
        var t = text.Trim().TrimStart('v', 'V');
        if (!Version.TryParse(t, out var v) || v.Build != -1 || v < DockerEngineClient.MinApiVersion || v > DockerEngineClient.MaxApiVersion) return null;
        return v;
    }

    /// <summary>Provider options from this section and the environment (DOCKER_HOST, SWARMPS_DOCKER_IMAGE win).</summary>
    public DockerProviderOptions ToOptions() => ToOptions(Environment.GetEnvironmentVariable("DOCKER_HOST"), Environment.GetEnvironmentVariable("SWARMPS_DOCKER_IMAGE"),
        Environment.GetEnvironmentVariable("DOCKER_TLS_VERIFY"), OperatingSystem.IsWindows());

    internal DockerProviderOptions ToOptions(string? dockerHost, string? imageVariable, string? tlsVerify, bool windows)
    {
        // A bad endpoint must not break SwarmService for other providers: it is reported on first use.
        DockerEndpoint? endpoint = null;
        SwarmException? endpointError = null;
        try
        {
            if (!string.IsNullOrWhiteSpace(dockerHost)) endpoint = DockerEndpoint.Parse(dockerHost, windows, tlsVerify);
            else if (ConfiguredHost is { } h) endpoint = DockerEndpoint.Parse(h, windows, tlsVerify, source: "docker.host in config.json");
        }
        catch (SwarmException ex)
        {
            endpointError = ex;
        }
        var image = !string.IsNullOrWhiteSpace(imageVariable) ? imageVariable.Trim()
                  : !string.IsNullOrWhiteSpace(DefaultImage) ? DefaultImage.Trim()
                  : BuiltInDefaultImage;
        var pinned = ApiVersion is null ? null : ParseApiVersion(ApiVersion)?.ToString(2);
        return new DockerProviderOptions
        {
            Endpoint = endpoint, EndpointError = endpointError, DefaultImage = image, ApiVersion = pinned,
            DefaultImageSource = !string.IsNullOrWhiteSpace(imageVariable) ? "SWARMPS_DOCKER_IMAGE"
                               : !string.IsNullOrWhiteSpace(DefaultImage) ? "docker.defaultImage in config.json" : "the built-in default",
        };
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"host={ConfiguredHost ?? "(default)"} defaultImage={DefaultImage ?? BuiltInDefaultImage} apiVersion={ApiVersion ?? "(negotiated)"}");
}
