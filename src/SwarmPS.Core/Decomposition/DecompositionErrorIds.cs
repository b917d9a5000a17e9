namespace SwarmPS.Core.Decomposition;

/// <summary>Stable error ids for LLM decomposition. Scripts match on these; never rename one.</summary>
public static class DecompositionErrorIds
{
    /// <summary>The model answered, but its output is unusable: not JSON, the wrong shape, a refusal,
    /// truncated at the token limit, blocked, unknown dependencies or a cycle. The message shows the text.</summary>
    public const string DecompositionFailed = "DecompositionFailed";

    /// <summary>The LLM API (or the claude CLI) failed: an HTTP error that is not retried, or retries used up.</summary>
    public const string LlmRequestFailed = "LlmRequestFailed";

    /// <summary>No API key for the backend in the secret sources (environment variables or a vault).</summary>
    public const string ApiKeyMissing = "ApiKeyMissing";
}
