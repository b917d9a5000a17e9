using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using SwarmPS.Core.Decomposition;

namespace SwarmPS.Tests.Decomposition;

/// <summary>Response bodies shaped like the APIs' documented answers (cli-facts.md section 8).</summary>
public static class Fixtures
{
    public const string Plan = """
        {"tasks":[
          {"name":"schema","title":"Add the invoices table","prompt":"Create a migration adding an invoices table (id, customer_id, total_cents, issued_at).","depends_on":[],"priority":"High"},
          {"name":"api","title":"Expose invoices over REST","prompt":"Add GET/POST /invoices backed by the invoices table, with tests.","depends_on":["schema"],"priority":"Normal"},
          {"name":"UI Page","title":"Invoice list page","prompt":"Add an invoice list page that calls GET /invoices.","depends_on":["api"],"priority":"Low"}
        ]}
        """;

    public static string Anthropic(string text, string stopReason = "end_turn") => new JsonObject
    {
        ["id"] = "msg_01XFDUDYJgAACzvnptvVoYEL",
        ["type"] = "message",
        ["role"] = "assistant",
        ["model"] = "claude-sonnet-4-5-20250929",
        ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = text }),
        ["stop_reason"] = stopReason,
        ["stop_sequence"] = null,
        ["usage"] = new JsonObject { ["input_tokens"] = 412, ["output_tokens"] = 180, ["cache_creation_input_tokens"] = 0, ["cache_read_input_tokens"] = 0 },
    }.ToJsonString();

    public static string AnthropicToolUse(string planJson) => new JsonObject
    {
        ["id"] = "msg_01Aq9w938a90dw8q",
        ["type"] = "message",
        ["role"] = "assistant",
        ["model"] = "claude-sonnet-4-5-20250929",
        ["content"] = new JsonArray(new JsonObject
        {
            ["type"] = "tool_use", ["id"] = "toolu_01A09q90qw90lq917835lq9", ["name"] = "emit_plan", ["input"] = JsonNode.Parse(planJson),
        }),
        ["stop_reason"] = "tool_use",
        ["stop_sequence"] = null,
        ["usage"] = new JsonObject { ["input_tokens"] = 530, ["output_tokens"] = 240 },
    }.ToJsonString();

    public static string AnthropicError(string type, string message) =>
        new JsonObject { ["type"] = "error", ["error"] = new JsonObject { ["type"] = type, ["message"] = message } }.ToJsonString();

    public static string OpenAI(string? content, string finishReason = "stop", string? refusal = null) => new JsonObject
    {
        ["id"] = "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
        ["object"] = "chat.completion",
        ["created"] = 1741570283,
        ["model"] = "gpt-4.1-2025-04-14",
        ["choices"] = new JsonArray(new JsonObject
        {
            ["index"] = 0,
            ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = content, ["refusal"] = refusal, ["annotations"] = new JsonArray() },
            ["logprobs"] = null,
            ["finish_reason"] = finishReason,
        }),
        ["usage"] = new JsonObject
        {
            ["prompt_tokens"] = 1117, ["completion_tokens"] = 46, ["total_tokens"] = 1163,
            ["prompt_tokens_details"] = new JsonObject { ["cached_tokens"] = 0 },
            ["completion_tokens_details"] = new JsonObject { ["reasoning_tokens"] = 0 },
        },
        ["system_fingerprint"] = "fp_fc9f1d7035",
    }.ToJsonString();

    public static string OpenAIError(string message, string type, string? code) =>
        new JsonObject { ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = null, ["code"] = code } }.ToJsonString();

    public static string Gemini(string text, string finishReason = "STOP") => new JsonObject
    {
        ["candidates"] = new JsonArray(new JsonObject
        {
            ["content"] = new JsonObject { ["parts"] = new JsonArray(new JsonObject { ["text"] = text }), ["role"] = "model" },
            ["finishReason"] = finishReason,
            ["index"] = 0,
        }),
        ["usageMetadata"] = new JsonObject { ["promptTokenCount"] = 301, ["candidatesTokenCount"] = 220, ["totalTokenCount"] = 621, ["thoughtsTokenCount"] = 100 },
        ["modelVersion"] = "gemini-2.5-flash",
        ["responseId"] = "p3vKaOXVEqGf1dkP7bS0sQk",
    }.ToJsonString();

    public const string GeminiBlocked = """
        {"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[{"category":"HARM_CATEGORY_DANGEROUS_CONTENT","probability":"HIGH"}]},
         "usageMetadata":{"promptTokenCount":12,"totalTokenCount":12},"modelVersion":"gemini-2.5-flash"}
        """;

    public static string GeminiRateLimited(string? retryDelay) => new JsonObject
    {
        ["error"] = new JsonObject
        {
            ["code"] = 429,
            ["message"] = "Resource has been exhausted (e.g. check quota).",
            ["status"] = "RESOURCE_EXHAUSTED",
            ["details"] = retryDelay is null ? new JsonArray() : new JsonArray(new JsonObject
            {
                ["@type"] = "type.googleapis.com/google.rpc.RetryInfo", ["retryDelay"] = retryDelay,
            }),
        },
    }.ToJsonString();
}

/// <summary>A service wired to a fake key, recorded waits and a captured log.</summary>
public sealed class Harness
{
    public const string AnthropicKey = "sk-ant-api03-TESTKEY-abcdefghijklmnopqrstuvwxyz0123456789";
    public const string OpenAIKey = "sk-proj-TESTKEY-0123456789abcdefghijklmnopqrstuvwxyz";
    public const string GeminiKey = "AIzaSyTESTKEY-0123456789abcdefghijklmnop";

    public ConcurrentQueue<string> Log { get; } = new();
    public ConcurrentQueue<TimeSpan> Waits { get; } = new();
    public Dictionary<string, string?> Environment { get; } = new()
    {
        ["ANTHROPIC_API_KEY"] = AnthropicKey,
        ["OPENAI_API_KEY"] = OpenAIKey,
        ["GEMINI_API_KEY"] = GeminiKey,
    };

    public DecompositionService Create(Func<TimeSpan, CancellationToken, Task>? delay = null, string claude = "claude")
    {
        var service = new DecompositionService(new DecompositionServiceOptions
        {
            GetEnvironmentVariable = n => Environment.TryGetValue(n, out var v) ? v : null,
            Log = Log.Enqueue,
            ClaudeExecutable = claude,
            RetryBaseDelay = TimeSpan.FromMilliseconds(10),
        });
        service.Delay = delay ?? ((t, ct) => { Waits.Enqueue(t); return Task.Delay(TimeSpan.FromMilliseconds(1), ct); });
        return service;
    }
}
