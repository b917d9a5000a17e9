namespace SwarmPS.Core.Decomposition;

/// <summary>
/// The <c>decomposition</c> section of <c>config.json</c> (to be hung on <see cref="SwarmConfig"/> as
/// <c>Decomposition</c>). Keys themselves never live in config; only where to find them.
/// <code>
/// "decomposition": { "backend": "anthropic", "model": "claude-sonnet-4-5", "vault": "SwarmSecrets", "timeoutSeconds": 180 }
/// </code>
/// </summary>
public sealed class DecompositionConfig
{
    /// <summary>Default backend name (anthropic, openai, gemini, claude-cli).</summary>
    public string? Backend { get; set; }
    public string? Model { get; set; }
    /// <summary>SecretManagement vault holding ANTHROPIC_API_KEY / OPENAI_API_KEY / GEMINI_API_KEY (secret names as the
    /// environment variables). The cmdlet layer reads it first, then falls back to environment variables.</summary>
    public string? Vault { get; set; }
    public int? TimeoutSeconds { get; set; }
    public int? MaxAttempts { get; set; }
    /// <summary>API root for a proxy or gateway (https, or http to localhost only).</summary>
    public string? BaseUrl { get; set; }
}
