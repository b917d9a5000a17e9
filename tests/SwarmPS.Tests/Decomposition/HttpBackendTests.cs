using System.Diagnostics;
using System.Text.Json;
using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Decomposition;
using SwarmPS.Core.Tasks;
using Xunit;

namespace SwarmPS.Tests.Decomposition;

/// <summary>Each HTTP backend against a local server speaking the API's request and response format.</summary>
public class HttpBackendTests
{
    private readonly Harness _h = new();

    private static DecompositionRequest Req(DecompositionBackend backend, Uri baseUrl, int? attempts = null, TimeSpan? timeout = null,
        AnthropicStructuredOutput mode = AnthropicStructuredOutput.Auto, string? model = null) => new()
    {
        Query = "Add invoices: table, REST API and a list page",
        Context = "ASP.NET Core app; EF Core migrations in src/Data",
        Backend = backend,
        BaseUrl = baseUrl,
        MaxAttempts = attempts,
        Timeout = timeout ?? TimeSpan.FromSeconds(20),
        AnthropicMode = mode,
        Model = model,
    };

    private static void AssertPlan(DecompositionResult r)
    {
        r.Tasks.Select(t => t.Name).Should().Equal("schema", "api", "ui-page");
        r.Tasks[0].Title.Should().Be("Add the invoices table");
        r.Tasks[0].Priority.Should().Be(TaskPriority.High);
        r.Tasks[0].DependsOn.Should().BeEmpty();
        r.Tasks[1].DependsOn.Should().Equal("schema");
        r.Tasks[2].DependsOn.Should().Equal("api");
        r.Tasks[2].Priority.Should().Be(TaskPriority.Low);
        r.Tasks[2].Prompt.Should().Contain("GET /invoices");
        r.Tasks.Should().OnlyContain(t => Names.IsValid(t.Name));
        r.RenamedTasks.Should().ContainKey("UI Page").WhoseValue.Should().Be("ui-page");
    }

    /// <summary>Every object in a strict schema lists all its properties in required and forbids others.</summary>
    private static void AssertStrict(JsonElement schema)
    {
        if (schema.ValueKind != JsonValueKind.Object) return;
        if (schema.TryGetProperty("properties", out var props))
        {
            schema.GetProperty("additionalProperties").GetBoolean().Should().BeFalse();
            var required = schema.GetProperty("required").EnumerateArray().Select(e => e.GetString()).ToHashSet();
            foreach (var p in props.EnumerateObject())
            {
                required.Should().Contain(p.Name);
                AssertStrict(p.Value);
            }
        }
        if (schema.TryGetProperty("items", out var items)) AssertStrict(items);
    }

    // ---------------- Anthropic ----------------

    [Fact]
    public async Task Anthropic_sends_the_documented_request_and_reads_the_plan()
    {
        await using var server = new FakeLlmServer(FakeResponse.Json(Fixtures.Anthropic(Fixtures.Plan)));
        var r = await _h.Create().DecomposeAsync(Req(DecompositionBackend.Anthropic, server.BaseUrl));

        AssertPlan(r);
        r.Backend.Should().Be(DecompositionBackend.Anthropic);
        r.Model.Should().Be("claude-sonnet-4-5-20250929");
        r.InputTokens.Should().Be(412);
        r.OutputTokens.Should().Be(180);
        r.Attempts.Should().Be(1);

        var req = server.Requests.Single();
        req.Method.Should().Be("POST");
        req.Target.Should().Be("/v1/messages");
        req.Header("x-api-key").Should().Be(Harness.AnthropicKey);
        req.Header("anthropic-version").Should().Be("2023-06-01");
        req.Header("content-type").Should().StartWith("application/json");
        req.Header("authorization").Should().BeNull();
        var body = req.Json;
        body.GetProperty("model").GetString().Should().Be("claude-sonnet-4-5");
        body.GetProperty("max_tokens").GetInt32().Should().Be(8192);
        body.GetProperty("system").GetString().Should().Contain("depends_on");
        var msg = body.GetProperty("messages").EnumerateArray().Single();
        msg.GetProperty("role").GetString().Should().Be("user");
        msg.GetProperty("content").GetString().Should().Contain("Add invoices").And.Contain("EF Core migrations");
        var format = body.GetProperty("output_config").GetProperty("format");
        format.GetProperty("type").GetString().Should().Be("json_schema");
        var schema = format.GetProperty("schema");
        schema.GetProperty("properties").GetProperty("tasks").GetProperty("items").GetProperty("properties")
            .EnumerateObject().Select(p => p.Name).Should().Equal("name", "title", "prompt", "depends_on", "priority");
        AssertStrict(schema);
        body.TryGetProperty("tools", out _).Should().BeFalse();
    }

    [Fact]
    public async Task Anthropic_falls_back_to_a_forced_tool_when_output_config_is_rejected()
    {
        await using var server = new FakeLlmServer(
            FakeResponse.Json(Fixtures.AnthropicError("invalid_request_error", "output_config: Extra inputs are not permitted"), 400),
            FakeResponse.Json(Fixtures.AnthropicToolUse(Fixtures.Plan)));
        var r = await _h.Create().DecomposeAsync(Req(DecompositionBackend.Anthropic, server.BaseUrl));

        AssertPlan(r);
        r.Attempts.Should().Be(2);
        var second = server.Requests.ElementAt(1).Json;
        second.TryGetProperty("output_config", out _).Should().BeFalse();
        second.GetProperty("tool_choice").GetProperty("type").GetString().Should().Be("tool");
        second.GetProperty("tool_choice").GetProperty("name").GetString().Should().Be("emit_plan");
        var tool = second.GetProperty("tools").EnumerateArray().Single();
        tool.GetProperty("name").GetString().Should().Be("emit_plan");
        AssertStrict(tool.GetProperty("input_schema"));
        _h.Log.Should().Contain(l => l.Contains("forced emit_plan tool"));
    }

    [Fact]
    public async Task Anthropic_tool_mode_reads_tool_use_input()
    {
        await using var server = new FakeLlmServer(FakeResponse.Json(Fixtures.AnthropicToolUse(Fixtures.Plan)));
        var r = await _h.Create().DecomposeAsync(Req(DecompositionBackend.Anthropic, server.BaseUrl, mode: AnthropicStructuredOutput.Tool));
        AssertPlan(r);
        server.Requests.Single().Json.TryGetProperty("tool_choice", out _).Should().BeTrue();
    }

    [Fact]
    public async Task Anthropic_400_unrelated_to_structured_output_is_not_retried_and_no_fallback_in_OutputConfig_mode()
    {
        await using var server = new FakeLlmServer(
            FakeResponse.Json(Fixtures.AnthropicError("invalid_request_error", "output_config: Extra inputs are not permitted"), 400));
        var act = () => _h.Create().DecomposeAsync(Req(DecompositionBackend.Anthropic, server.BaseUrl, mode: AnthropicStructuredOutput.OutputConfig));
        var ex = (await act.Should().ThrowAsync<SwarmException>()).Which;
        ex.ErrorId.Should().Be(DecompositionErrorIds.LlmRequestFailed);
        ex.Kind.Should().Be(SwarmErrorKind.InvalidArgument);
        ex.Message.Should().Contain("HTTP 400").And.Contain("invalid_request_error").And.Contain("Extra inputs");
        server.Requests.Should().HaveCount(1);
    }

    [Fact]
    public async Task Anthropic_429_with_retry_after_waits_then_succeeds()
    {
        await using var server = new FakeLlmServer(
            FakeResponse.Json(Fixtures.AnthropicError("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"), 429,
                ("retry-after", "2"), ("anthropic-ratelimit-requests-remaining", "0")),
            FakeResponse.Json(Fixtures.Anthropic(Fixtures.Plan)));
        var r = await _h.Create().DecomposeAsync(Req(DecompositionBackend.Anthropic, server.BaseUrl));

        AssertPlan(r);
        r.Attempts.Should().Be(2);
        server.Requests.Should().HaveCount(2);
        _h.Waits.Should().ContainSingle().Which.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(2));
        _h.Log.Should().Contain(l => l.Contains("HTTP 429") && l.Contains("server asked for 2s"));
    }

    [Theory]
    [InlineData(529, "overloaded_error")]
    [InlineData(500, "api_error")]
    [InlineData(503, "api_error")]
    public async Task Anthropic_retries_server_side_errors(int status, string type)
    {
        await using var server = new FakeLlmServer(
            FakeResponse.Json(Fixtures.AnthropicError(type, "Overloaded"), status),
            FakeResponse.Json(Fixtures.AnthropicError(type, "Overloaded"), status),
            FakeResponse.Json(Fixtures.Anthropic(Fixtures.Plan)));
        var r = await _h.Create().DecomposeAsync(Req(DecompositionBackend.Anthropic, server.BaseUrl));
        AssertPlan(r);
        r.Attempts.Should().Be(3);
        _h.Waits.Should().HaveCount(2);
        _h.Waits.Last().Should().BeGreaterThan(_h.Waits.First() - TimeSpan.FromMilliseconds(10)); // exponential (with jitter)
    }

    [Fact]
    public async Task Retries_are_bounded_by_MaxAttempts()
    {
        await using var server = new FakeLlmServer(FakeResponse.Json(Fixtures.AnthropicError("overloaded_error", "Overloaded"), 529));
        var act = () => _h.Create().DecomposeAsync(Req(DecompositionBackend.Anthropic, server.BaseUrl, attempts: 3));
        var ex = (await act.Should().ThrowAsync<SwarmException>()).Which;
        ex.ErrorId.Should().Be(DecompositionErrorIds.LlmRequestFailed);
        ex.Kind.Should().Be(SwarmErrorKind.Unavailable);
        ex.Message.Should().Contain("HTTP 529 after 3 attempts").And.Contain("overloaded_error");
        server.Requests.Should().HaveCount(3);
    }

    [Theory]
    [InlineData(400, "invalid_request_error")]
    [InlineData(401, "authentication_error")]
    [InlineData(403, "permission_error")]
    [InlineData(404, "not_found_error")]
    [InlineData(413, "request_too_large")]
    public async Task Client_errors_are_never_retried(int status, string type)
    {
        await using var server = new FakeLlmServer(FakeResponse.Json(Fixtures.AnthropicError(type, "nope"), status));
        var act = () => _h.Create().DecomposeAsync(Req(DecompositionBackend.Anthropic, server.BaseUrl, mode: AnthropicStructuredOutput.Tool));
        var ex = (await act.Should().ThrowAsync<SwarmException>()).Which;
        ex.ErrorId.Should().Be(DecompositionErrorIds.LlmRequestFailed);
        ex.Message.Should().Contain($"HTTP {status}").And.Contain(type);
        server.Requests.Should().HaveCount(1);
        _h.Waits.Should().BeEmpty();
    }

    [Fact]
    public async Task A_retry_after_longer_than_the_cap_is_not_waited_for()
    {
        await using var server = new FakeLlmServer(FakeResponse.Json(Fixtures.AnthropicError("rate_limit_error", "slow down"), 429, ("retry-after", "3600")));
        var act = () => _h.Create().DecomposeAsync(Req(DecompositionBackend.Anthropic, server.BaseUrl));
        var ex = (await act.Should().ThrowAsync<SwarmException>()).Which;
        ex.Message.Should().Contain("wait 3600s");
        server.Requests.Should().HaveCount(1);
    }

    [Fact]
    public async Task Anthropic_refusal_shows_the_text()
    {
        await using var server = new FakeLlmServer(FakeResponse.Json(Fixtures.Anthropic("I can't help with planning that.", "refusal")));
        var ex = await Fails(DecompositionBackend.Anthropic, server);
        ex.Message.Should().Contain("refused").And.Contain("I can't help with planning that.");
    }

    [Fact]
    public async Task Anthropic_max_tokens_stop_shows_the_truncated_text()
    {
        await using var server = new FakeLlmServer(FakeResponse.Json(Fixtures.Anthropic("{\"tasks\":[{\"name\":\"schema\",\"title\":\"Add the inv", "max_tokens")));
        var ex = await Fails(DecompositionBackend.Anthropic, server);
        ex.Message.Should().Contain("max_tokens").And.Contain("{\"tasks\":[{\"name\":\"schema\",\"title\":\"Add the inv");
    }

    [Fact]
    public async Task Output_that_is_not_JSON_is_shown_in_the_error()
    {
        await using var server = new FakeLlmServer(FakeResponse.Json(Fixtures.Anthropic("Sure! Here is a plan:\n1. Do the schema\n2. Do the API")));
        var ex = await Fails(DecompositionBackend.Anthropic, server);
        ex.Message.Should().Contain("not JSON").And.Contain("Sure! Here is a plan:\\n1. Do the schema");
        ex.Details.Should().Contain("1. Do the schema");
    }

    [Fact]
    public async Task Long_bad_output_is_truncated_in_the_message_and_kept_longer_in_details()
    {
        var text = "garbage " + new string('x', 10_000);
        await using var server = new FakeLlmServer(FakeResponse.Json(Fixtures.Anthropic(text)));
        var ex = await Fails(DecompositionBackend.Anthropic, server);
        ex.Message.Length.Should().BeLessThan(800);
        ex.Message.Should().Contain("garbage xxx").And.Contain("more characters]");
        string.Concat(ex.Details).Length.Should().BeGreaterThan(3000).And.BeLessThan(6000);
    }

    [Theory]
    [InlineData("{\"plan\":[]}", "without a \"tasks\" array")]
    [InlineData("{\"tasks\":[]}", "empty plan")]
    [InlineData("{\"tasks\":[{\"name\":\"a\",\"title\":\"A\",\"prompt\":\"\",\"depends_on\":[],\"priority\":\"Normal\"}]}", "has no prompt")]
    [InlineData("{\"tasks\":[{\"name\":\"a\",\"title\":\"A\",\"prompt\":\"p\",\"depends_on\":[\"zzz\"],\"priority\":\"Normal\"}]}", "depends on unknown task 'zzz'")]
    [InlineData("{\"tasks\":[{\"name\":\"a\",\"title\":\"A\",\"prompt\":\"p\",\"depends_on\":[\"b\"],\"priority\":\"Normal\"},{\"name\":\"b\",\"title\":\"B\",\"prompt\":\"p\",\"depends_on\":[\"a\"],\"priority\":\"Normal\"}]}", "cycle: a -> b -> a")]
    [InlineData("{\"tasks\":[{\"name\":\"a\",\"title\":\"A\",\"prompt\":\"p\",\"depends_on\":[],\"priority\":\"Urgent\"}]}", "priority 'Urgent'")]
    [InlineData("{\"tasks\":[{\"name\":\"a\",\"title\":\"A\",\"prompt\":42,\"depends_on\":[],\"priority\":\"Normal\"}]}", "non-string \"prompt\"")]
    public async Task Wrong_shapes_are_rejected_with_the_text(string output, string expected)
    {
        await using var server = new FakeLlmServer(FakeResponse.Json(Fixtures.Anthropic(output)));
        var ex = await Fails(DecompositionBackend.Anthropic, server);
        ex.Message.Should().Contain(expected).And.Contain(output.Length > 200 ? output[..200] : output);
    }

    [Fact]
    public async Task A_2xx_body_that_is_not_JSON_is_a_decomposition_failure()
    {
        await using var server = new FakeLlmServer(new FakeResponse { Status = 200, Body = "<html>proxy login</html>" });
        var ex = await Fails(DecompositionBackend.Anthropic, server);
        ex.Message.Should().Contain("<html>proxy login</html>");
    }

    [Fact]
    public async Task A_slow_server_hits_the_per_request_timeout()
    {
        await using var server = new FakeLlmServer(new FakeResponse { Body = Fixtures.Anthropic(Fixtures.Plan), Delay = TimeSpan.FromSeconds(20) });
        var sw = Stopwatch.StartNew();
        var act = () => _h.Create().DecomposeAsync(Req(DecompositionBackend.Anthropic, server.BaseUrl, timeout: TimeSpan.FromMilliseconds(400)));
        var ex = (await act.Should().ThrowAsync<SwarmException>()).Which;
        sw.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(10));
        ex.ErrorId.Should().Be(ErrorIds.Timeout);
        ex.Message.Should().Contain("within 0.4s");
        server.Requests.Should().HaveCount(1);
    }

    [Fact]
    public async Task Cancellation_during_a_request_stops_at_once()
    {
        await using var server = new FakeLlmServer(new FakeResponse { Body = Fixtures.Anthropic(Fixtures.Plan), Delay = TimeSpan.FromSeconds(20) });
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var act = () => _h.Create().DecomposeAsync(Req(DecompositionBackend.Anthropic, server.BaseUrl), cts.Token);
        var ex = (await act.Should().ThrowAsync<SwarmException>()).Which;
        ex.ErrorId.Should().Be(ErrorIds.OperationCancelled);
        ex.Kind.Should().Be(SwarmErrorKind.Cancelled);
    }

    [Fact]
    public async Task Cancellation_during_a_retry_wait_stops()
    {
        await using var server = new FakeLlmServer(FakeResponse.Json(Fixtures.AnthropicError("rate_limit_error", "slow"), 429, ("retry-after", "30")));
        using var cts = new CancellationTokenSource();
        var service = _h.Create(delay: (t, ct) => { cts.Cancel(); return Task.Delay(t, ct); });
        var act = () => service.DecomposeAsync(Req(DecompositionBackend.Anthropic, server.BaseUrl), cts.Token);
        (await act.Should().ThrowAsync<SwarmException>()).Which.ErrorId.Should().Be(ErrorIds.OperationCancelled);
        server.Requests.Should().HaveCount(1);
    }

    [Fact]
    public async Task Connection_refused_is_retried_then_reported()
    {
        int port;
        using (var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0)) { l.Start(); port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port; l.Stop(); }
        var act = () => _h.Create().DecomposeAsync(Req(DecompositionBackend.Anthropic, new Uri($"http://127.0.0.1:{port}"), attempts: 2));
        var ex = (await act.Should().ThrowAsync<SwarmException>()).Which;
        ex.ErrorId.Should().Be(DecompositionErrorIds.LlmRequestFailed);
        ex.Kind.Should().Be(SwarmErrorKind.Unavailable);
        ex.Message.Should().Contain("after 2 attempt(s)");
        _h.Waits.Should().HaveCount(1);
    }

    [Fact]
    public async Task A_missing_key_fails_before_any_request()
    {
        await using var server = new FakeLlmServer(FakeResponse.Json(Fixtures.Anthropic(Fixtures.Plan)));
        _h.Environment.Remove("ANTHROPIC_API_KEY");
        var act = () => _h.Create().DecomposeAsync(Req(DecompositionBackend.Anthropic, server.BaseUrl));
        var ex = (await act.Should().ThrowAsync<SwarmException>()).Which;
        ex.ErrorId.Should().Be(DecompositionErrorIds.ApiKeyMissing);
        ex.Kind.Should().Be(SwarmErrorKind.InvalidArgument);
        ex.Message.Should().Contain("ANTHROPIC_API_KEY").And.Contain("environment variables");
        server.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task Bad_requests_are_rejected_before_any_request()
    {
        await using var server = new FakeLlmServer(FakeResponse.Json(Fixtures.Anthropic(Fixtures.Plan)));
        var svc = _h.Create();
        foreach (var bad in new[]
        {
            new DecompositionRequest { Query = " ", BaseUrl = server.BaseUrl },
            new DecompositionRequest { Query = "q", BaseUrl = new Uri("http://example.com") },
            new DecompositionRequest { Query = "q", BaseUrl = new Uri("ftp://127.0.0.1/") },
            new DecompositionRequest { Query = "q", BaseUrl = server.BaseUrl, Model = "--dangerously-skip-permissions" },
            new DecompositionRequest { Query = "q", BaseUrl = server.BaseUrl, Model = "a b" },
            new DecompositionRequest { Query = "q", BaseUrl = server.BaseUrl, MaxAttempts = 0 },
            new DecompositionRequest { Query = "q", BaseUrl = server.BaseUrl, Timeout = TimeSpan.Zero },
        })
        {
            var act = () => svc.DecomposeAsync(bad);
            (await act.Should().ThrowAsync<SwarmException>()).Which.Kind.Should().Be(SwarmErrorKind.InvalidArgument);
        }
        server.Requests.Should().BeEmpty();
    }

    // ---------------- OpenAI ----------------

    [Fact]
    public async Task OpenAI_sends_a_strict_json_schema_and_reads_the_plan()
    {
        await using var server = new FakeLlmServer(FakeResponse.Json(Fixtures.OpenAI(Fixtures.Plan)));
        var r = await _h.Create().DecomposeAsync(Req(DecompositionBackend.OpenAI, server.BaseUrl, model: "gpt-4.1"));

        AssertPlan(r);
        r.Model.Should().Be("gpt-4.1-2025-04-14");
        r.InputTokens.Should().Be(1117);
        r.OutputTokens.Should().Be(46);
        var req = server.Requests.Single();
        req.Target.Should().Be("/v1/chat/completions");
        req.Header("authorization").Should().Be("Bearer " + Harness.OpenAIKey);
        req.Header("x-api-key").Should().BeNull();
        var body = req.Json;
        body.GetProperty("model").GetString().Should().Be("gpt-4.1");
        body.GetProperty("max_completion_tokens").GetInt32().Should().Be(8192);
        var messages = body.GetProperty("messages").EnumerateArray().ToList();
        messages.Select(m => m.GetProperty("role").GetString()).Should().Equal("system", "user");
        messages[1].GetProperty("content").GetString().Should().Contain("Add invoices");
        var rf = body.GetProperty("response_format");
        rf.GetProperty("type").GetString().Should().Be("json_schema");
        var js = rf.GetProperty("json_schema");
        js.GetProperty("name").GetString().Should().Be("plan");
        js.GetProperty("strict").GetBoolean().Should().BeTrue();
        AssertStrict(js.GetProperty("schema"));
    }

    [Fact]
    public async Task OpenAI_base_url_may_end_in_v1()
    {
        await using var server = new FakeLlmServer(FakeResponse.Json(Fixtures.OpenAI(Fixtures.Plan)));
        await _h.Create().DecomposeAsync(Req(DecompositionBackend.OpenAI, new Uri(server.BaseUrl, "/proxy/v1/")));
        server.Requests.Single().Target.Should().Be("/proxy/v1/chat/completions");
    }

    [Fact]
    public async Task OpenAI_refusal_shows_the_refusal()
    {
        await using var server = new FakeLlmServer(FakeResponse.Json(Fixtures.OpenAI(null, refusal: "I'm sorry, I cannot assist with that request.")));
        var ex = await Fails(DecompositionBackend.OpenAI, server);
        ex.Message.Should().Contain("refused").And.Contain("I'm sorry, I cannot assist with that request.");
    }

    [Fact]
    public async Task OpenAI_length_stop_shows_the_text()
    {
        await using var server = new FakeLlmServer(FakeResponse.Json(Fixtures.OpenAI("{\"tasks\":[{\"name\":\"sch", "length")));
        var ex = await Fails(DecompositionBackend.OpenAI, server);
        ex.Message.Should().Contain("max_completion_tokens").And.Contain("{\"tasks\":[{\"name\":\"sch");
    }

    [Fact]
    public async Task OpenAI_insufficient_quota_is_not_retried()
    {
        await using var server = new FakeLlmServer(FakeResponse.Json(Fixtures.OpenAIError(
            "You exceeded your current quota, please check your plan and billing details.", "insufficient_quota", "insufficient_quota"), 429, ("retry-after", "1")));
        var act = () => _h.Create().DecomposeAsync(Req(DecompositionBackend.OpenAI, server.BaseUrl));
        var ex = (await act.Should().ThrowAsync<SwarmException>()).Which;
        ex.Message.Should().Contain("HTTP 429").And.Contain("exceeded your current quota").And.Contain("retrying will not help");
        server.Requests.Should().HaveCount(1);
        _h.Waits.Should().BeEmpty();
    }

    [Fact]
    public async Task OpenAI_rate_limit_honours_retry_after_ms()
    {
        await using var server = new FakeLlmServer(
            FakeResponse.Json(Fixtures.OpenAIError("Rate limit reached for gpt-4.1", "requests", "rate_limit_exceeded"), 429,
                ("retry-after-ms", "1500"), ("x-ratelimit-reset-requests", "6m0s")),
            FakeResponse.Json(Fixtures.OpenAI(Fixtures.Plan)));
        var r = await _h.Create().DecomposeAsync(Req(DecompositionBackend.OpenAI, server.BaseUrl));
        AssertPlan(r);
        _h.Waits.Should().ContainSingle().Which.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(1500));
    }

    [Fact]
    public async Task OpenAI_fenced_json_is_accepted()
    {
        await using var server = new FakeLlmServer(FakeResponse.Json(Fixtures.OpenAI("```json\n" + Fixtures.Plan + "\n```")));
        AssertPlan(await _h.Create().DecomposeAsync(Req(DecompositionBackend.OpenAI, server.BaseUrl)));
    }

    // ---------------- Gemini ----------------

    [Fact]
    public async Task Gemini_sends_generationConfig_with_the_schema_and_reads_the_plan()
    {
        await using var server = new FakeLlmServer(FakeResponse.Json(Fixtures.Gemini(Fixtures.Plan)));
        var r = await _h.Create().DecomposeAsync(Req(DecompositionBackend.Gemini, server.BaseUrl));

        AssertPlan(r);
        r.Model.Should().Be("gemini-2.5-flash");
        r.InputTokens.Should().Be(301);
        r.OutputTokens.Should().Be(320);
        var req = server.Requests.Single();
        req.Target.Should().Be("/v1beta/models/gemini-2.5-flash:generateContent");
        req.Header("x-goog-api-key").Should().Be(Harness.GeminiKey);
        req.Target.Should().NotContain("key=");
        var body = req.Json;
        body.GetProperty("systemInstruction").GetProperty("parts")[0].GetProperty("text").GetString().Should().Contain("depends_on");
        var content = body.GetProperty("contents")[0];
        content.GetProperty("role").GetString().Should().Be("user");
        content.GetProperty("parts")[0].GetProperty("text").GetString().Should().Contain("Add invoices");
        var gc = body.GetProperty("generationConfig");
        gc.GetProperty("responseMimeType").GetString().Should().Be("application/json");
        gc.GetProperty("maxOutputTokens").GetInt32().Should().Be(8192);
        var schema = gc.GetProperty("responseSchema");
        schema.GetProperty("type").GetString().Should().Be("OBJECT");
        var item = schema.GetProperty("properties").GetProperty("tasks").GetProperty("items");
        item.GetProperty("required").EnumerateArray().Select(e => e.GetString()).Should().Equal("name", "title", "prompt", "depends_on", "priority");
        item.GetProperty("properties").GetProperty("priority").GetProperty("enum").EnumerateArray().Select(e => e.GetString())
            .Should().Equal("Low", "Normal", "High", "Critical");
        schema.GetRawText().Should().NotContain("additionalProperties");
    }

    [Fact]
    public async Task Gemini_uses_GOOGLE_API_KEY_when_GEMINI_API_KEY_is_unset()
    {
        _h.Environment.Remove("GEMINI_API_KEY");
        _h.Environment["GOOGLE_API_KEY"] = "AIzaSyGOOGLEKEY-abcdefghijklmnopqrstuvwxyz";
        await using var server = new FakeLlmServer(FakeResponse.Json(Fixtures.Gemini(Fixtures.Plan)));
        await _h.Create().DecomposeAsync(Req(DecompositionBackend.Gemini, server.BaseUrl, model: "models/gemini-2.5-pro"));
        var req = server.Requests.Single();
        req.Header("x-goog-api-key").Should().Be("AIzaSyGOOGLEKEY-abcdefghijklmnopqrstuvwxyz");
        req.Target.Should().Be("/v1beta/models/gemini-2.5-pro:generateContent");
    }

    [Fact]
    public async Task Gemini_429_honours_RetryInfo_retryDelay()
    {
        await using var server = new FakeLlmServer(
            FakeResponse.Json(Fixtures.GeminiRateLimited("3s"), 429),
            FakeResponse.Json(Fixtures.Gemini(Fixtures.Plan)));
        var r = await _h.Create().DecomposeAsync(Req(DecompositionBackend.Gemini, server.BaseUrl));
        AssertPlan(r);
        r.Attempts.Should().Be(2);
        _h.Waits.Should().ContainSingle().Which.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task Gemini_503_then_success()
    {
        await using var server = new FakeLlmServer(
            FakeResponse.Json("{\"error\":{\"code\":503,\"message\":\"The model is overloaded. Please try again later.\",\"status\":\"UNAVAILABLE\"}}", 503),
            FakeResponse.Json(Fixtures.Gemini(Fixtures.Plan)));
        AssertPlan(await _h.Create().DecomposeAsync(Req(DecompositionBackend.Gemini, server.BaseUrl)));
        server.Requests.Should().HaveCount(2);
    }

    [Fact]
    public async Task Gemini_daily_quota_429_is_not_retried()
    {
        const string body = """
            {"error":{"code":429,"message":"You exceeded your current quota.","status":"RESOURCE_EXHAUSTED","details":[
              {"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]},
              {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"20s"}]}}
            """;
        await using var server = new FakeLlmServer(FakeResponse.Json(body, 429));
        var act = () => _h.Create().DecomposeAsync(Req(DecompositionBackend.Gemini, server.BaseUrl));
        (await act.Should().ThrowAsync<SwarmException>()).Which.Message.Should().Contain("RESOURCE_EXHAUSTED").And.Contain("quota");
        server.Requests.Should().HaveCount(1);
    }

    [Fact]
    public async Task Gemini_blockReason_is_a_decomposition_failure()
    {
        await using var server = new FakeLlmServer(FakeResponse.Json(Fixtures.GeminiBlocked));
        var ex = await Fails(DecompositionBackend.Gemini, server);
        ex.Message.Should().Contain("blockReason SAFETY").And.Contain("HARM_CATEGORY_DANGEROUS_CONTENT");
    }

    [Fact]
    public async Task Gemini_MAX_TOKENS_shows_the_text()
    {
        await using var server = new FakeLlmServer(FakeResponse.Json(Fixtures.Gemini("{\"tasks\":[{\"name\":\"sch", "MAX_TOKENS")));
        var ex = await Fails(DecompositionBackend.Gemini, server);
        ex.Message.Should().Contain("maxOutputTokens").And.Contain("{\"tasks\":[{\"name\":\"sch");
    }

    private async Task<SwarmException> Fails(DecompositionBackend backend, FakeLlmServer server)
    {
        var act = () => _h.Create().DecomposeAsync(Req(backend, server.BaseUrl));
        var ex = (await act.Should().ThrowAsync<SwarmException>()).Which;
        ex.ErrorId.Should().Be(DecompositionErrorIds.DecompositionFailed);
        server.Requests.Should().HaveCount(1, "malformed output is not retried");
        return ex;
    }
}
