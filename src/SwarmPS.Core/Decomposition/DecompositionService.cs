using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SwarmPS.Core.Processes;
using SwarmPS.Core.Tasks;

namespace SwarmPS.Core.Decomposition;

/// <summary>Wiring for <see cref="DecompositionService"/>. Every field is optional.</summary>
public sealed class DecompositionServiceOptions
{
    /// <summary>Where API keys come from. Default: <see cref="EnvironmentSecretSource"/>.</summary>
    public ISecretSource? Secrets { get; init; }
    /// <summary>HTTP handler (tests, proxies). Default: a shared SocketsHttpHandler.</summary>
    public HttpMessageHandler? HttpHandler { get; init; }
    public ProcessRunner? ProcessRunner { get; init; }
    /// <summary>Progress lines (request, retry waits, token counts). Never contains a key. May be called from any thread.</summary>
    public Action<string>? Log { get; init; }
    /// <summary>Environment lookup used to find the claude CLI on PATH (PATH, PATHEXT). Default: the process environment.</summary>
    public Func<string, string?>? GetEnvironmentVariable { get; init; }
    /// <summary>The claude CLI: a name looked up on PATH, or a path.</summary>
    public string ClaudeExecutable { get; init; } = "claude";
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Longest single wait between attempts. A server asking for more (e.g. a daily quota) is not retried.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// Asks an LLM to split a request into tasks with dependencies (structured JSON output) and returns
/// validated <see cref="TaskSpec"/>s. API keys are read per call and never logged, stored or put in messages.
/// </summary>
public sealed class DecompositionService
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(180);
    public const int DefaultMaxAttempts = 6;
    public const int DefaultMaxOutputTokens = 8192;

    private static readonly Lazy<HttpClient> SharedClient = new(() => CreateClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }));

    private readonly DecompositionServiceOptions _options;
    private readonly HttpClient _client;
    private readonly ISecretSource _secrets;

    /// <summary>Waits between attempts; tests replace it to record the waits.</summary>
    internal Func<TimeSpan, CancellationToken, Task> Delay { get; set; } = Task.Delay;

    public DecompositionService(DecompositionServiceOptions? options = null)
    {
        _options = options ?? new DecompositionServiceOptions();
        _client = _options.HttpHandler is { } h ? CreateClient(h, disposeHandler: false) : SharedClient.Value;
        _secrets = _options.Secrets ?? new EnvironmentSecretSource(_options.GetEnvironmentVariable ?? Environment.GetEnvironmentVariable);
    }

    private static HttpClient CreateClient(HttpMessageHandler handler, bool disposeHandler = true) => new(handler, disposeHandler)
    {
        Timeout = System.Threading.Timeout.InfiniteTimeSpan, // per attempt, see LlmHttp
        DefaultRequestHeaders = { { "User-Agent", "SwarmPS-decomposition" } },
    };

    public async Task<DecompositionResult> DecomposeAsync(DecompositionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        Validate(request);
        var backendName = DecompositionBackends.ToName(request.Backend);
        string? key = null;
        try
        {
            if (request.Backend != DecompositionBackend.ClaudeCli) key = await ApiKeyAsync(request.Backend, cancellationToken).ConfigureAwait(false);
            var log = Logger(key);
            var result = request.Backend switch
            {
                DecompositionBackend.Anthropic => await AnthropicAsync(request, key!, log, cancellationToken).ConfigureAwait(false),
                DecompositionBackend.OpenAI => await OpenAIAsync(request, key!, log, cancellationToken).ConfigureAwait(false),
                DecompositionBackend.Gemini => await GeminiAsync(request, key!, log, cancellationToken).ConfigureAwait(false),
                _ => await ClaudeCliAsync(request, log, cancellationToken).ConfigureAwait(false),
            };
            log($"{backendName}: {result.Tasks.Count} task(s) from {result.Model}; tokens in {result.InputTokens?.ToString() ?? "?"}, out {result.OutputTokens?.ToString() ?? "?"}");
            return result;
        }
        catch (SwarmException ex) when (key is not null && Leaks(ex, key))
        {
            // Belt and braces: nothing we build contains the key, but an API or proxy could echo it back.
            throw new SwarmException(ex.ErrorId, ex.Kind, Redact(ex.Message, key), ex.Target is null ? null : Redact(ex.Target, key))
            { Details = ex.Details.Select(d => Redact(d, key)).ToList() };
        }
    }

    // ---------- validation and keys ----------

    private static void Validate(DecompositionRequest r)
    {
        if (string.IsNullOrWhiteSpace(r.Query))
            throw Invalid("The decomposition query is empty.");
        if (!Enum.IsDefined(r.Backend)) throw Invalid($"Unknown decomposition backend {(int)r.Backend}.");
        if (r.Timeout is { } t && (t <= TimeSpan.Zero || t > TimeSpan.FromHours(2)))
            throw Invalid($"Timeout must be between 0 and 2 hours (got {t}).");
        if (r.MaxAttempts is { } a && (a < 1 || a > 10))
            throw Invalid($"MaxAttempts must be 1-10 (got {a}).");
        if (r.MaxOutputTokens is { } m && (m < 256 || m > 200_000))
            throw Invalid($"MaxOutputTokens must be 256-200000 (got {m}).");
        if (r.Model is { } model)
        {
            if (model.Length == 0 || model.Length > 200 || model[0] == '-' || model.Any(c => c <= ' ' || c > '~' || c is '?' or '#' or '\\'))
                throw Invalid($"Invalid model name '{Names.Describe(model)}': use printable ASCII without spaces, not starting with '-'.");
        }
        if (r.BaseUrl is { } u)
        {
            if (!u.IsAbsoluteUri || (u.Scheme != Uri.UriSchemeHttps && u.Scheme != Uri.UriSchemeHttp))
                throw Invalid($"BaseUrl must be an absolute http(s) URL (got '{Names.Describe(u.OriginalString)}').");
            if (u.Scheme == Uri.UriSchemeHttp && !u.IsLoopback)
                throw Invalid($"BaseUrl must use https unless it points at this machine (got '{Names.Describe(u.OriginalString)}'); the API key would travel in clear text.");
            if (!string.IsNullOrEmpty(u.UserInfo) || !string.IsNullOrEmpty(u.Query))
                throw Invalid("BaseUrl must not contain credentials or a query string.");
        }
    }

    private static SwarmException Invalid(string message) => new(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, message);

    private async Task<string> ApiKeyAsync(DecompositionBackend backend, CancellationToken ct)
    {
        var names = DecompositionBackends.ApiKeyNames(backend);
        foreach (var name in names)
        {
            var v = (await _secrets.GetSecretAsync(name, ct).ConfigureAwait(false))?.Trim();
            if (string.IsNullOrEmpty(v)) continue;
            if (v.Any(c => c <= ' ' || c > '~'))
                throw new SwarmException(DecompositionErrorIds.ApiKeyMissing, SwarmErrorKind.InvalidArgument,
                    $"The API key {name} from {_secrets.Description} contains spaces, control or non-ASCII characters; it cannot be sent as a header. (The value is not shown.)", name);
            return v;
        }
        throw new SwarmException(DecompositionErrorIds.ApiKeyMissing, SwarmErrorKind.InvalidArgument,
            $"No API key for the {DecompositionBackends.ToName(backend)} backend: set {string.Join(" or ", names)} in {_secrets.Description}.", names[0]);
    }

    private Action<string> Logger(string? key)
    {
        var sink = _options.Log;
        if (sink is null) return _ => { };
        return key is null ? sink : line => sink(Redact(line, key));
    }

    private static bool Leaks(SwarmException ex, string key) =>
        ex.Message.Contains(key, StringComparison.Ordinal) || (ex.Target?.Contains(key, StringComparison.Ordinal) ?? false)
        || ex.Details.Any(d => d.Contains(key, StringComparison.Ordinal));

    private static string Redact(string s, string key) => key.Length == 0 ? s : s.Replace(key, "[redacted]", StringComparison.Ordinal);

    // ---------- HTTP backends ----------

    private LlmHttp Http(Action<string> log) => new(_client, _options, Delay, log);

    private static Uri Endpoint(Uri? baseUrl, string defaultRoot, string version, string rest)
    {
        var root = (baseUrl?.GetLeftPart(UriPartial.Path) ?? defaultRoot).TrimEnd('/');
        if (root.EndsWith("/" + version, StringComparison.OrdinalIgnoreCase)) root = root[..^(version.Length + 1)];
        return new Uri(root + "/" + version + rest);
    }

    private static string Serialize(JsonNode node) => node.ToJsonString(new JsonSerializerOptions { WriteIndented = false });

    private async Task<DecompositionResult> AnthropicAsync(DecompositionRequest r, string key, Action<string> log, CancellationToken ct)
    {
        var model = r.Model ?? DecompositionBackends.DefaultModel(r.Backend)!;
        var url = Endpoint(r.BaseUrl, "https://api.anthropic.com", "v1", "/messages");
        var headers = new Dictionary<string, string> { ["x-api-key"] = key, ["anthropic-version"] = "2023-06-01" };
        var useTool = r.AnthropicMode == AnthropicStructuredOutput.Tool;
        var attempts = 0;
        while (true)
        {
            var body = new JsonObject
            {
                ["model"] = model,
                ["max_tokens"] = r.MaxOutputTokens ?? DefaultMaxOutputTokens,
                ["system"] = PlanSchema.SystemPrompt,
                ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = PlanSchema.UserPrompt(r.Query, r.Context) }),
            };
            if (useTool)
            {
                body["tools"] = new JsonArray(new JsonObject
                {
                    ["name"] = PlanSchema.ToolName,
                    ["description"] = "Emit the task plan.",
                    ["input_schema"] = PlanSchema.JsonSchema(),
                });
                body["tool_choice"] = new JsonObject { ["type"] = "tool", ["name"] = PlanSchema.ToolName };
            }
            else
            {
                body["output_config"] = new JsonObject { ["format"] = new JsonObject { ["type"] = "json_schema", ["schema"] = PlanSchema.JsonSchema() } };
            }
            var outcome = await Http(log).PostJsonAsync("anthropic", url, headers, Serialize(body), MaxAttempts(r), Timeout(r), ct).ConfigureAwait(false);
            attempts += outcome.Attempts;
            if (!outcome.Success && !useTool && r.AnthropicMode == AnthropicStructuredOutput.Auto && outcome.Status == 400
                && (outcome.Error?.Message ?? outcome.Body) is { } m
                && (m.Contains("output_config", StringComparison.OrdinalIgnoreCase) || m.Contains("output_format", StringComparison.OrdinalIgnoreCase)
                    || m.Contains("json_schema", StringComparison.OrdinalIgnoreCase) || m.Contains("structured output", StringComparison.OrdinalIgnoreCase)))
            {
                log($"anthropic: structured output rejected ({OutputPreview.OneLine(m, 200)}); retrying with a forced {PlanSchema.ToolName} tool");
                useTool = true;
                continue;
            }
            if (!outcome.Success) throw HttpFailure("anthropic", outcome);

            using var doc = ParseResponse("anthropic", outcome.Body);
            var root = doc.RootElement;
            var stop = Str(root, "stop_reason");
            var text = new StringBuilder();
            JsonElement? toolInput = null;
            if (root.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array)
                foreach (var part in content.EnumerateArray())
                {
                    var type = Str(part, "type");
                    if (type == "text") text.Append(Str(part, "text"));
                    else if (type == "tool_use" && Str(part, "name") == PlanSchema.ToolName && part.TryGetProperty("input", out var input)) toolInput = input;
                }
            var shown = toolInput?.GetRawText() ?? text.ToString();
            if (stop == "refusal") throw OutputPreview.Failed($"anthropic ({model}) refused to plan this request (stop_reason refusal)", shown);
            if (stop == "max_tokens") throw OutputPreview.Failed($"anthropic ({model}) stopped at max_tokens={r.MaxOutputTokens ?? DefaultMaxOutputTokens} before finishing the plan; raise MaxOutputTokens or narrow the query", shown);
            IReadOnlyDictionary<string, string> renamed;
            var tasks = toolInput is { } ti
                ? PlanParser.Parse(ti, $"anthropic ({model})", ti.GetRawText(), out renamed)
                : PlanParser.ParseText(text.ToString(), $"anthropic ({model})", out renamed);
            long? inTok = null, outTok = null;
            if (root.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object)
            {
                inTok = Sum(Long(u, "input_tokens"), Long(u, "cache_creation_input_tokens"), Long(u, "cache_read_input_tokens"));
                outTok = Long(u, "output_tokens");
            }
            return new DecompositionResult
            {
                Tasks = tasks, Backend = r.Backend, Model = Str(root, "model") ?? model,
                InputTokens = inTok, OutputTokens = outTok, Attempts = attempts, RenamedTasks = renamed,
            };
        }
    }

    private async Task<DecompositionResult> OpenAIAsync(DecompositionRequest r, string key, Action<string> log, CancellationToken ct)
    {
        var model = r.Model ?? DecompositionBackends.DefaultModel(r.Backend)!;
        var url = Endpoint(r.BaseUrl, "https://api.openai.com", "v1", "/chat/completions");
        var headers = new Dictionary<string, string> { ["Authorization"] = "Bearer " + key };
        var body = new JsonObject
        {
            ["model"] = model,
            ["max_completion_tokens"] = r.MaxOutputTokens ?? DefaultMaxOutputTokens,
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "system", ["content"] = PlanSchema.SystemPrompt },
                new JsonObject { ["role"] = "user", ["content"] = PlanSchema.UserPrompt(r.Query, r.Context) }),
            ["response_format"] = new JsonObject
            {
                ["type"] = "json_schema",
                ["json_schema"] = new JsonObject { ["name"] = "plan", ["strict"] = true, ["schema"] = PlanSchema.JsonSchema() },
            },
        };
        var outcome = await Http(log).PostJsonAsync("openai", url, headers, Serialize(body), MaxAttempts(r), Timeout(r), ct).ConfigureAwait(false);
        if (!outcome.Success) throw HttpFailure("openai", outcome);

        using var doc = ParseResponse("openai", outcome.Body);
        var root = doc.RootElement;
        if (!root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0)
            throw OutputPreview.Failed($"openai ({model}) returned no choices", outcome.Body);
        var choice = choices[0];
        var finish = Str(choice, "finish_reason");
        var message = choice.TryGetProperty("message", out var msg) && msg.ValueKind == JsonValueKind.Object ? msg : default;
        var refusal = message.ValueKind == JsonValueKind.Object ? Str(message, "refusal") : null;
        var text = message.ValueKind == JsonValueKind.Object ? Str(message, "content") : null;
        if (!string.IsNullOrEmpty(refusal)) throw OutputPreview.Failed($"openai ({model}) refused to plan this request", refusal);
        if (finish == "length") throw OutputPreview.Failed($"openai ({model}) stopped at max_completion_tokens={r.MaxOutputTokens ?? DefaultMaxOutputTokens} before finishing the plan; raise MaxOutputTokens or narrow the query", text);
        if (finish == "content_filter") throw OutputPreview.Failed($"openai ({model}) withheld the answer (finish_reason content_filter)", text);
        var tasks = PlanParser.ParseText(text, $"openai ({model})", out var renamed);
        long? inTok = null, outTok = null;
        if (root.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object)
        {
            inTok = Long(u, "prompt_tokens");
            outTok = Long(u, "completion_tokens");
        }
        return new DecompositionResult
        {
            Tasks = tasks, Backend = r.Backend, Model = Str(root, "model") ?? model,
            InputTokens = inTok, OutputTokens = outTok, Attempts = outcome.Attempts, RenamedTasks = renamed,
        };
    }

    private async Task<DecompositionResult> GeminiAsync(DecompositionRequest r, string key, Action<string> log, CancellationToken ct)
    {
        var model = r.Model ?? DecompositionBackends.DefaultModel(r.Backend)!;
        if (model.StartsWith("models/", StringComparison.Ordinal)) model = model["models/".Length..];
        var url = Endpoint(r.BaseUrl, "https://generativelanguage.googleapis.com", "v1beta", "/models/" + Uri.EscapeDataString(model) + ":generateContent");
        var headers = new Dictionary<string, string> { ["x-goog-api-key"] = key };
        var body = new JsonObject
        {
            ["systemInstruction"] = new JsonObject { ["parts"] = new JsonArray(new JsonObject { ["text"] = PlanSchema.SystemPrompt }) },
            ["contents"] = new JsonArray(new JsonObject
            {
                ["role"] = "user",
                ["parts"] = new JsonArray(new JsonObject { ["text"] = PlanSchema.UserPrompt(r.Query, r.Context) }),
            }),
            ["generationConfig"] = new JsonObject
            {
                ["responseMimeType"] = "application/json",
                ["responseSchema"] = PlanSchema.GeminiSchema(),
                ["maxOutputTokens"] = r.MaxOutputTokens ?? DefaultMaxOutputTokens,
            },
        };
        var outcome = await Http(log).PostJsonAsync("gemini", url, headers, Serialize(body), MaxAttempts(r), Timeout(r), ct).ConfigureAwait(false);
        if (!outcome.Success) throw HttpFailure("gemini", outcome);

        using var doc = ParseResponse("gemini", outcome.Body);
        var root = doc.RootElement;
        if (root.TryGetProperty("promptFeedback", out var fb) && fb.ValueKind == JsonValueKind.Object && Str(fb, "blockReason") is { } block)
            throw OutputPreview.Failed($"gemini ({model}) blocked the prompt (promptFeedback.blockReason {block})", outcome.Body);
        if (!root.TryGetProperty("candidates", out var cands) || cands.ValueKind != JsonValueKind.Array || cands.GetArrayLength() == 0)
            throw OutputPreview.Failed($"gemini ({model}) returned no candidates", outcome.Body);
        var cand = cands[0];
        var finish = Str(cand, "finishReason");
        var text = new StringBuilder();
        if (cand.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Object
            && content.TryGetProperty("parts", out var parts) && parts.ValueKind == JsonValueKind.Array)
            foreach (var p in parts.EnumerateArray())
                if (!(p.TryGetProperty("thought", out var th) && th.ValueKind == JsonValueKind.True)) text.Append(Str(p, "text"));
        if (finish == "MAX_TOKENS") throw OutputPreview.Failed($"gemini ({model}) stopped at maxOutputTokens={r.MaxOutputTokens ?? DefaultMaxOutputTokens} before finishing the plan (thinking tokens count too); raise MaxOutputTokens", text.ToString());
        if (finish is not null && finish != "STOP" && finish != "FINISH_REASON_UNSPECIFIED")
            throw OutputPreview.Failed($"gemini ({model}) stopped with finishReason {finish}", text.Length > 0 ? text.ToString() : outcome.Body);
        var tasks = PlanParser.ParseText(text.ToString(), $"gemini ({model})", out var renamed);
        long? inTok = null, outTok = null;
        if (root.TryGetProperty("usageMetadata", out var u) && u.ValueKind == JsonValueKind.Object)
        {
            inTok = Long(u, "promptTokenCount");
            outTok = Sum(Long(u, "candidatesTokenCount"), Long(u, "thoughtsTokenCount"));
        }
        return new DecompositionResult
        {
            Tasks = tasks, Backend = r.Backend, Model = Str(root, "modelVersion") ?? model,
            InputTokens = inTok, OutputTokens = outTok, Attempts = outcome.Attempts, RenamedTasks = renamed,
        };
    }

    private static SwarmException HttpFailure(string backend, HttpOutcome o)
    {
        var e = o.Error;
        var what = e is null ? OutputPreview.OneLine(o.Body, 300)
            : ((e.Type ?? e.Code) is { } t ? t + ": " : "") + OutputPreview.OneLine(e.Message ?? o.Body, 300);
        var kind = o.Status switch
        {
            400 or 401 or 403 or 404 or 413 or 422 => SwarmErrorKind.InvalidArgument,
            408 or 429 or >= 500 => SwarmErrorKind.Unavailable,
            _ => SwarmErrorKind.OperationFailed,
        };
        string hint = o.Status switch
        {
            401 => " Check the API key.",
            403 => " The key lacks permission for this model or endpoint.",
            404 => " Check the model name and BaseUrl.",
            429 when e?.QuotaExhausted == true => " The quota or billing limit is used up; retrying will not help until it resets.",
            _ => "",
        };
        var retry = o.RetryAfterTooLong is { } ra ? $" The server asks to wait {ra.TotalSeconds:0}s, longer than the retry cap; try again later." : "";
        var attempts = o.Attempts > 1 ? $" after {o.Attempts} attempts" : "";
        return new SwarmException(DecompositionErrorIds.LlmRequestFailed, kind, $"{backend}: HTTP {o.Status}{attempts}: {what}.{hint}{retry}", backend);
    }

    private static JsonDocument ParseResponse(string backend, string body)
    {
        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            throw OutputPreview.Failed($"{backend} answered HTTP 2xx with a body that is not JSON", body);
        }
    }

    // ---------- claude CLI ----------

    private async Task<DecompositionResult> ClaudeCliAsync(DecompositionRequest r, Action<string> log, CancellationToken ct)
    {
        var exe = ResolveClaude();
        var args = new List<string> { "-p", "--output-format", "json" };
        if (r.Model is { } m) args.AddRange(new[] { "--model", m });
        args.AddRange(new[] { "--json-schema", Serialize(PlanSchema.JsonSchema()), "--append-system-prompt", PlanSchema.SystemPrompt });
        var spec = new ProcessSpec(exe, args)
        {
            StandardInput = PlanSchema.UserPrompt(r.Query, r.Context), // user text on stdin, never argv
            WorkingDirectory = r.WorkingDirectory,
        };
        var runner = _options.ProcessRunner ?? ProcessRunner.Default;
        var maxAttempts = MaxAttempts(r);
        var timeout = Timeout(r);
        var backoff = new LlmHttp(_client, _options, Delay, log);
        for (var attempt = 1; ; attempt++)
        {
            log($"claude-cli: {exe} -p --output-format json{(r.Model is null ? "" : " --model " + r.Model)} --json-schema ... (attempt {attempt}/{maxAttempts})");
            ProcessResult pr;
            using (var cts = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                cts.CancelAfter(timeout);
                try
                {
                    pr = await runner.RunAsync(spec, cts.Token).ConfigureAwait(false);
                }
                catch (SwarmException ex) when (ex.ErrorId == ErrorIds.OperationCancelled)
                {
                    if (ct.IsCancellationRequested) throw LlmHttp.Cancelled("claude-cli");
                    throw new SwarmException(ErrorIds.Timeout, SwarmErrorKind.OperationFailed,
                        $"claude-cli: no result within {timeout.TotalSeconds:0.#}s; the process was stopped. Raise the timeout for large requests.", "claude");
                }
            }

            var json = FindJsonObject(pr.StandardOutput);
            if (json is null)
            {
                if (!pr.Success)
                    throw new SwarmException(DecompositionErrorIds.LlmRequestFailed, SwarmErrorKind.OperationFailed,
                        $"claude-cli: exited with code {pr.ExitCode}: {OutputPreview.OneLine((pr.StandardError.Trim().Length > 0 ? pr.StandardError : pr.StandardOutput).Trim(), 300)}", "claude")
                    { Details = OutputPreview.DetailLines(pr.StandardOutput + pr.StandardError) };
                throw OutputPreview.Failed("claude-cli printed output that is not the JSON result of --output-format json", pr.StandardOutput);
            }
            using var doc = json;
            var root = doc.RootElement;
            var isError = root.TryGetProperty("is_error", out var ie) && ie.ValueKind == JsonValueKind.True;
            var subtype = Str(root, "subtype");
            var resultText = Str(root, "result");
            if (isError)
            {
                var status = root.TryGetProperty("api_error_status", out var st) && st.ValueKind == JsonValueKind.Number && st.TryGetInt32(out var s) ? s : (int?)null;
                if (status is { } code && LlmHttp.IsRetryable(code) && attempt < maxAttempts)
                {
                    var wait = backoff.Backoff(attempt, null);
                    log($"claude-cli: API error {code}; retrying in {wait.TotalSeconds:0.0}s");
                    try { await Delay(wait, ct).ConfigureAwait(false); }
                    catch (OperationCanceledException) when (ct.IsCancellationRequested) { throw LlmHttp.Cancelled("claude-cli"); }
                    continue;
                }
                throw new SwarmException(DecompositionErrorIds.LlmRequestFailed, status is 429 or >= 500 ? SwarmErrorKind.Unavailable : SwarmErrorKind.OperationFailed,
                    "claude-cli: reported an error (" + (subtype ?? "unknown") + (status is null ? "" : ", API status " + status) + (attempt > 1 ? ", after " + attempt + " attempts" : "") + "): " + OutputPreview.OneLine(resultText ?? "", 300), "claude");
            }
            if (subtype == "error_max_structured_output_retries")
                throw OutputPreview.Failed("claude-cli could not produce output matching the plan schema (error_max_structured_output_retries)", resultText ?? pr.StandardOutput);
            if (subtype is not null && subtype != "success")
                throw new SwarmException(DecompositionErrorIds.LlmRequestFailed, SwarmErrorKind.OperationFailed,
                    $"claude-cli: ended with {subtype}: {OutputPreview.OneLine(resultText ?? "", 300)}", "claude");

            string model = r.Model ?? "claude-cli default";
            if (root.TryGetProperty("modelUsage", out var mu) && mu.ValueKind == JsonValueKind.Object)
                foreach (var p in mu.EnumerateObject()) { model = p.Name; break; }
            IReadOnlyDictionary<string, string> renamed;
            var tasks = root.TryGetProperty("structured_output", out var so) && so.ValueKind is JsonValueKind.Object or JsonValueKind.Array
                ? PlanParser.Parse(so, $"claude-cli ({model})", so.GetRawText(), out renamed)
                : PlanParser.ParseText(resultText, $"claude-cli ({model})", out renamed);
            long? inTok = null, outTok = null;
            if (root.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object)
            {
                inTok = Sum(Long(u, "input_tokens"), Long(u, "cache_creation_input_tokens"), Long(u, "cache_read_input_tokens"));
                outTok = Long(u, "output_tokens");
            }
            decimal? cost = root.TryGetProperty("total_cost_usd", out var c) && c.ValueKind == JsonValueKind.Number && c.TryGetDecimal(out var cd) ? cd : null;
            return new DecompositionResult
            {
                Tasks = tasks, Backend = r.Backend, Model = model, InputTokens = inTok, OutputTokens = outTok,
                CostUsd = cost, Attempts = attempt, RenamedTasks = renamed,
            };
        }
    }

    /// <summary>The whole output as one JSON object, or else its last line that is one (a CLI may print warnings first).</summary>
    private static JsonDocument? FindJsonObject(string stdout)
    {
        static JsonDocument? Try(string s)
        {
            s = s.Trim();
            if (!s.StartsWith('{')) return null;
            try { return JsonDocument.Parse(s); } catch (JsonException) { return null; }
        }
        if (Try(stdout) is { } whole) return whole;
        foreach (var line in Enumerable.Reverse(stdout.Split('\n')))
            if (Try(line) is { } d) return d;
        return null;
    }

    private string ResolveClaude()
    {
        var exe = _options.ClaudeExecutable;
        if (exe.Contains('/') || exe.Contains('\\') || Path.IsPathRooted(exe))
        {
            if (File.Exists(exe)) return exe;
            throw ClaudeMissing($"'{Names.Describe(exe)}' does not exist");
        }
        var get = _options.GetEnvironmentVariable ?? Environment.GetEnvironmentVariable;
        var exts = OperatingSystem.IsWindows()
            ? new[] { "" }.Concat((get("PATHEXT") ?? ".COM;.EXE;.BAT;.CMD").Split(';', StringSplitOptions.RemoveEmptyEntries)).ToArray()
            : new[] { "" };
        foreach (var dir in (get("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            foreach (var ext in exts)
            {
                string candidate;
                try { candidate = Path.Combine(dir.Trim('"'), exe + ext); } catch (ArgumentException) { continue; }
                if (File.Exists(candidate)) return candidate;
            }
        throw ClaudeMissing($"'{Names.Describe(exe)}' is not on PATH");
    }

    private static SwarmException ClaudeMissing(string why) =>
        new(ErrorIds.ProcessFailed, SwarmErrorKind.Unavailable, $"claude-cli backend: {why}. Install Claude Code (npm i -g @anthropic-ai/claude-code) or use another backend.", "claude");

    // ---------- helpers ----------

    private static int MaxAttempts(DecompositionRequest r) => r.MaxAttempts ?? DefaultMaxAttempts;
    private static TimeSpan Timeout(DecompositionRequest r) => r.Timeout ?? DefaultTimeout;

    private static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static long? Long(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var l) ? l : null;

    private static long? Sum(params long?[] values) => values.All(v => v is null) ? null : values.Sum(v => v ?? 0);
}
