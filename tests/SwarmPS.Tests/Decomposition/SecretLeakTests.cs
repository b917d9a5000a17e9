using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Decomposition;
using Xunit;

namespace SwarmPS.Tests.Decomposition;

/// <summary>API keys never appear in an exception (message, target, details, inner exceptions) or a log line,
/// even when the server echoes the key back.</summary>
public class SecretLeakTests
{
    public static TheoryData<DecompositionBackend> Backends => new() { DecompositionBackend.Anthropic, DecompositionBackend.OpenAI, DecompositionBackend.Gemini };

    private static string KeyFor(DecompositionBackend b) => b switch
    {
        DecompositionBackend.Anthropic => Harness.AnthropicKey,
        DecompositionBackend.OpenAI => Harness.OpenAIKey,
        _ => Harness.GeminiKey,
    };

    private static string Ok(DecompositionBackend b) => b switch
    {
        DecompositionBackend.Anthropic => Fixtures.Anthropic(Fixtures.Plan),
        DecompositionBackend.OpenAI => Fixtures.OpenAI(Fixtures.Plan),
        _ => Fixtures.Gemini(Fixtures.Plan),
    };

    private static string Text(DecompositionBackend b, string text) => b switch
    {
        DecompositionBackend.Anthropic => Fixtures.Anthropic(text),
        DecompositionBackend.OpenAI => Fixtures.OpenAI(text),
        _ => Fixtures.Gemini(text),
    };

    private static IEnumerable<string> Everything(Exception ex)
    {
        yield return ex.ToString(); // message, type, inner exceptions, stack
        for (var e = ex; e is not null; e = e.InnerException)
        {
            yield return e.Message;
            foreach (System.Collections.DictionaryEntry d in e.Data) yield return $"{d.Key}={d.Value}";
            if (e is SwarmException s)
            {
                yield return s.Target ?? "";
                foreach (var line in s.Details) yield return line;
            }
        }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Keys_never_reach_exceptions_or_logs(DecompositionBackend backend)
    {
        var key = KeyFor(backend);
        var echo = "{\"error\":{\"type\":\"authentication_error\",\"code\":\"invalid_api_key\",\"message\":\"Incorrect API key provided: " + key + "\"}}";
        var scenarios = new (string Name, FakeResponse[] Script, TimeSpan Timeout)[]
        {
            ("success", new[] { FakeResponse.Json(Ok(backend)) }, TimeSpan.FromSeconds(20)),
            ("401 echoing the key", new[] { FakeResponse.Json(echo, 401) }, TimeSpan.FromSeconds(20)),
            ("429 echoing the key until attempts run out", new[] { FakeResponse.Json(echo, 429, ("retry-after", "1")) }, TimeSpan.FromSeconds(20)),
            ("503 with the key in a header", new[] { FakeResponse.Json(echo, 503, ("x-echo", key)), FakeResponse.Json(Ok(backend)) }, TimeSpan.FromSeconds(20)),
            ("malformed output quoting the key", new[] { FakeResponse.Json(Text(backend, "your key is " + key)) }, TimeSpan.FromSeconds(20)),
            ("2xx non-JSON quoting the key", new[] { new FakeResponse { Body = "<html>" + key + "</html>" } }, TimeSpan.FromSeconds(20)),
            ("timeout", new[] { new FakeResponse { Body = Ok(backend), Delay = TimeSpan.FromSeconds(20) } }, TimeSpan.FromMilliseconds(300)),
        };

        var h = new Harness();
        var exceptions = new List<Exception>();
        foreach (var (name, script, timeout) in scenarios)
        {
            await using var server = new FakeLlmServer(script);
            try
            {
                await h.Create().DecomposeAsync(new DecompositionRequest
                {
                    Query = "plan it", Backend = backend, BaseUrl = server.BaseUrl, MaxAttempts = 2, Timeout = timeout,
                });
                name.Should().BeOneOf("success", "503 with the key in a header");
            }
            catch (Exception ex)
            {
                exceptions.Add(ex);
            }
            server.Requests.Should().NotBeEmpty();
            foreach (var r in server.Requests) r.Target.Should().NotContain(key, "the key goes in a header, never the URL");
        }

        // connection refused
        int port;
        using (var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0)) { l.Start(); port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port; l.Stop(); }
        try
        {
            await h.Create().DecomposeAsync(new DecompositionRequest { Query = "q", Backend = backend, BaseUrl = new Uri($"http://127.0.0.1:{port}"), MaxAttempts = 1 });
        }
        catch (Exception ex) { exceptions.Add(ex); }

        exceptions.Should().HaveCount(6);
        exceptions.Should().AllBeOfType<SwarmException>();
        foreach (var text in exceptions.SelectMany(Everything)) text.Should().NotContain(key);
        h.Log.Should().NotBeEmpty();
        foreach (var line in h.Log) line.Should().NotContain(key);
        exceptions.Select(e => e.Message).Should().Contain(m => m.Contains("[redacted]"), "echoed keys are replaced");
    }

    [Fact]
    public async Task A_key_that_cannot_be_a_header_is_rejected_without_showing_it()
    {
        var h = new Harness();
        const string bad = "sk-ant-SECRET-VALUE\r\nX-Injected: 1";
        h.Environment["ANTHROPIC_API_KEY"] = bad;
        await using var server = new FakeLlmServer(FakeResponse.Json(Fixtures.Anthropic(Fixtures.Plan)));
        var act = () => h.Create().DecomposeAsync(new DecompositionRequest { Query = "q", BaseUrl = server.BaseUrl });
        var ex = (await act.Should().ThrowAsync<SwarmException>()).Which;
        ex.ErrorId.Should().Be(DecompositionErrorIds.ApiKeyMissing);
        ex.ToString().Should().NotContain("SECRET-VALUE");
        server.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task Chained_sources_ask_in_order()
    {
        var vault = new DictionarySource("vault 'Work'", new() { ["OPENAI_API_KEY"] = "sk-from-vault" });
        var env = new EnvironmentSecretSource(n => n == "OPENAI_API_KEY" ? "sk-from-env" : null);
        (await new ChainedSecretSource(vault, env).GetSecretAsync("OPENAI_API_KEY")).Should().Be("sk-from-vault");
        (await new ChainedSecretSource(vault, env).GetSecretAsync("ANTHROPIC_API_KEY")).Should().BeNull();
        (await new ChainedSecretSource(new DictionarySource("empty", new()), env).GetSecretAsync("OPENAI_API_KEY")).Should().Be("sk-from-env");

        await using var server = new FakeLlmServer(FakeResponse.Json(Fixtures.OpenAI(Fixtures.Plan)));
        var svc = new DecompositionService(new DecompositionServiceOptions { Secrets = new ChainedSecretSource(vault, env) });
        await svc.DecomposeAsync(new DecompositionRequest { Query = "q", Backend = DecompositionBackend.OpenAI, BaseUrl = server.BaseUrl });
        server.Requests.Single().Header("authorization").Should().Be("Bearer sk-from-vault");

        var none = new DecompositionService(new DecompositionServiceOptions { Secrets = new ChainedSecretSource(new DictionarySource("vault 'Work'", new())) });
        var act = () => none.DecomposeAsync(new DecompositionRequest { Query = "q", Backend = DecompositionBackend.Gemini, BaseUrl = server.BaseUrl });
        (await act.Should().ThrowAsync<SwarmException>()).Which.Message.Should().Contain("GEMINI_API_KEY or GOOGLE_API_KEY").And.Contain("vault 'Work'");
    }

    private sealed class DictionarySource(string description, Dictionary<string, string> values) : ISecretSource
    {
        public string Description => description;
        public ValueTask<string?> GetSecretAsync(string name, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(values.TryGetValue(name, out var v) ? v : null);
    }
}
