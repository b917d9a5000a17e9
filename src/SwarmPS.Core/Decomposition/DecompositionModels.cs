using SwarmPS.Core.Tasks;

namespace SwarmPS.Core.Decomposition;

/// <summary>Which model service plans the work.</summary>
public enum DecompositionBackend
{
    /// <summary>Anthropic Messages API (<c>ANTHROPIC_API_KEY</c>).</summary>
    Anthropic,
    /// <summary>OpenAI Chat Completions (<c>OPENAI_API_KEY</c>).</summary>
    OpenAI,
    /// <summary>Gemini generateContent (<c>GEMINI_API_KEY</c> or <c>GOOGLE_API_KEY</c>).</summary>
    Gemini,
    /// <summary>The local <c>claude</c> CLI in print mode (its own login; no key needed).</summary>
    ClaudeCli,
}

/// <summary>How the Anthropic backend asks for structured output.</summary>
public enum AnthropicStructuredOutput
{
    /// <summary><c>output_config.format</c> json_schema; when the API rejects that field (HTTP 400), one more try with a forced tool.</summary>
    Auto,
    /// <summary>Only <c>output_config.format</c>.</summary>
    OutputConfig,
    /// <summary>Only a forced tool (<c>tool_choice</c> = <c>emit_plan</c>), read from <c>tool_use.input</c>.</summary>
    Tool,
}

/// <summary>Names used on the command line and in config: anthropic, openai, gemini, claude-cli.</summary>
public static class DecompositionBackends
{
    public static IReadOnlyList<string> Names { get; } = new[] { "anthropic", "openai", "gemini", "claude-cli" };

    public static string ToName(DecompositionBackend backend) => backend switch
    {
        DecompositionBackend.Anthropic => "anthropic",
        DecompositionBackend.OpenAI => "openai",
        DecompositionBackend.Gemini => "gemini",
        DecompositionBackend.ClaudeCli => "claude-cli",
        _ => throw new ArgumentOutOfRangeException(nameof(backend)),
    };

    /// <summary>Parses a backend name (case-insensitive; also accepts the enum names, e.g. ClaudeCli), or throws InvalidArgument.</summary>
    public static DecompositionBackend Parse(string? value)
    {
        switch (value?.Trim().ToLowerInvariant())
        {
            case "anthropic": return DecompositionBackend.Anthropic;
            case "openai": return DecompositionBackend.OpenAI;
            case "gemini": case "google": return DecompositionBackend.Gemini;
            case "claude-cli": case "claudecli": case "claude": return DecompositionBackend.ClaudeCli;
        }
        throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument,
            $"Unknown decomposition backend '{SwarmPS.Core.Names.Describe(value)}'. Use one of: {string.Join(", ", Names)}.", value);
    }

    /// <summary>The model used when the request names none (claude-cli: the CLI's own default).</summary>
    public static string? DefaultModel(DecompositionBackend backend) => backend switch
    {
        DecompositionBackend.Anthropic => "claude-sonnet-4-5",
        DecompositionBackend.OpenAI => "gpt-4.1",
        DecompositionBackend.Gemini => "gemini-2.5-flash",
        _ => null,
    };

    /// <summary>The secret names tried for the backend's API key, in order.</summary>
    public static IReadOnlyList<string> ApiKeyNames(DecompositionBackend backend) => backend switch
    {
        DecompositionBackend.Anthropic => new[] { "ANTHROPIC_API_KEY" },
        DecompositionBackend.OpenAI => new[] { "OPENAI_API_KEY" },
        DecompositionBackend.Gemini => new[] { "GEMINI_API_KEY", "GOOGLE_API_KEY" },
        _ => Array.Empty<string>(),
    };
}

/// <summary>What to decompose and with which model.</summary>
public sealed class DecompositionRequest
{
    /// <summary>The work to split into tasks.</summary>
    public required string Query { get; init; }
    /// <summary>Extra background (code layout, constraints) given to the model.</summary>
    public string? Context { get; init; }
    public DecompositionBackend Backend { get; init; } = DecompositionBackend.Anthropic;
    /// <summary>Model id; default <see cref="DecompositionBackends.DefaultModel"/>.</summary>
    public string? Model { get; init; }
    /// <summary>Per HTTP request (each attempt) or for the claude CLI run. Default 180 s. A timed-out request is not retried.</summary>
    public TimeSpan? Timeout { get; init; }
    /// <summary>API root replacing https://api.anthropic.com, https://api.openai.com or
    /// https://generativelanguage.googleapis.com (a trailing /v1 or /v1beta is accepted). For proxies and tests.</summary>
    public Uri? BaseUrl { get; init; }
    /// <summary>Attempts for retryable failures (429 except quota/billing, 408, 5xx, 529, connection errors). Default 6, range 1-10.</summary>
    public int? MaxAttempts { get; init; }
    /// <summary>max_tokens / maxOutputTokens. Default 8192.</summary>
    public int? MaxOutputTokens { get; init; }
    /// <summary>Anthropic only: structured output mechanism.</summary>
    public AnthropicStructuredOutput AnthropicMode { get; init; } = AnthropicStructuredOutput.Auto;
    /// <summary>claude-cli only: the directory the CLI runs in (it may read the code there). Default: current directory.</summary>
    public string? WorkingDirectory { get; init; }
}

/// <summary>The plan: task specs ready for the task store (names unique and valid, dependencies by name, acyclic).</summary>
public sealed class DecompositionResult
{
    public required IReadOnlyList<TaskSpec> Tasks { get; init; }
    public DecompositionBackend Backend { get; init; }
    /// <summary>The model that answered (as reported by the API when it says so).</summary>
    public required string Model { get; init; }
    public long? InputTokens { get; init; }
    public long? OutputTokens { get; init; }
    /// <summary>Only the claude CLI reports a cost.</summary>
    public decimal? CostUsd { get; init; }
    /// <summary>HTTP attempts or CLI runs made (1 when nothing was retried).</summary>
    public int Attempts { get; init; }
    /// <summary>Model names that were changed to valid task names: original -> new.</summary>
    public IReadOnlyDictionary<string, string> RenamedTasks { get; init; } = new Dictionary<string, string>();
}
