using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Decomposition;
using Xunit;

namespace SwarmPS.Tests.Decomposition;

/// <summary>
/// The claude-cli backend against a fake <c>claude</c> (POSIX sh, first on the PATH the service sees) that
/// records its argv and stdin and prints the documented <c>--output-format json</c> result. Linux/macOS only.
/// </summary>
public class ClaudeCliTests : IDisposable
{
    private static bool Skip => !(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS());

    private const string Script = """
        #!/bin/sh
        d=$(dirname "$0")
        : > "$d/argv"
        for a in "$@"; do printf '%s\0' "$a" >> "$d/argv"; done
        cat > "$d/stdin"
        n=$(cat "$d/count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$d/count"
        if [ -f "$d/sleep" ]; then sleep 300; fi
        if [ -f "$d/stderr" ]; then cat "$d/stderr" >&2; fi
        if [ -f "$d/out$n" ]; then cat "$d/out$n"; elif [ -f "$d/out" ]; then cat "$d/out"; fi
        exit $(cat "$d/exit" 2>/dev/null || echo 0)
        """;

    private readonly string _dir;
    private readonly Harness _h = new();

    public ClaudeCliTests()
    {
        _dir = Path.Combine(Path.GetTempPath(), "swarmps-dec-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(_dir);
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        var path = Path.Combine(_dir, "claude");
        File.WriteAllText(path, Script.Replace("\r\n", "\n") + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        _h.Environment["PATH"] = _dir + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH");
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static string Result(JsonNode? structured = null, string? result = null, bool isError = false, string subtype = "success", int? apiStatus = null)
    {
        var o = new JsonObject
        {
            ["type"] = "result", ["subtype"] = subtype, ["is_error"] = isError, ["duration_ms"] = 48211, ["duration_api_ms"] = 39004,
            ["num_turns"] = 2, ["result"] = result ?? "", ["session_id"] = "2b0c7a54-3c1e-4a4e-9d7e-1f2a3b4c5d6e", ["total_cost_usd"] = 0.1834,
            ["usage"] = new JsonObject { ["input_tokens"] = 1530, ["cache_creation_input_tokens"] = 8200, ["cache_read_input_tokens"] = 96000, ["output_tokens"] = 2100 },
            ["modelUsage"] = new JsonObject
            {
                ["claude-sonnet-4-5"] = new JsonObject { ["inputTokens"] = 1530, ["outputTokens"] = 2100, ["cacheReadInputTokens"] = 96000, ["cacheCreationInputTokens"] = 8200, ["costUSD"] = 0.1834 },
            },
            ["permission_denials"] = new JsonArray(),
        };
        if (apiStatus is { } s) o["api_error_status"] = s;
        if (structured is not null) o["structured_output"] = structured;
        return o.ToJsonString();
    }

    private void Out(string text, int? n = null) => File.WriteAllText(Path.Combine(_dir, n is null ? "out" : "out" + n), text);

    private string[] Argv() => File.ReadAllText(Path.Combine(_dir, "argv")).Split('\0')[..^1];

    private DecompositionRequest Req(string query = "Add invoices", string? model = null, TimeSpan? timeout = null) => new()
    {
        Query = query,
        Context = "ASP.NET Core app",
        Backend = DecompositionBackend.ClaudeCli,
        Model = model,
        Timeout = timeout ?? TimeSpan.FromSeconds(30),
        WorkingDirectory = _dir,
    };

    [Fact]
    public async Task Reads_structured_output_and_passes_the_prompt_on_stdin()
    {
        if (Skip) return;
        Out(Result(structured: JsonNode.Parse(Fixtures.Plan), result: "Plan ready."));
        const string hostile = "Add invoices; $(rm -rf /) `id` --help -p \"quoted\" 'single'\nsecond line\ttab";
        var r = await _h.Create().DecomposeAsync(Req(hostile, model: "sonnet"));

        r.Tasks.Select(t => t.Name).Should().Equal("schema", "api", "ui-page");
        r.Tasks[2].DependsOn.Should().Equal("api");
        r.Backend.Should().Be(DecompositionBackend.ClaudeCli);
        r.Model.Should().Be("claude-sonnet-4-5");
        r.CostUsd.Should().Be(0.1834m);
        r.InputTokens.Should().Be(1530 + 8200 + 96000);
        r.OutputTokens.Should().Be(2100);

        var argv = Argv();
        argv[..5].Should().Equal("-p", "--output-format", "json", "--model", "sonnet");
        argv[5].Should().Be("--json-schema");
        var schema = JsonDocument.Parse(argv[6]).RootElement;
        schema.GetProperty("properties").GetProperty("tasks").GetProperty("items").GetProperty("required").GetArrayLength().Should().Be(5);
        argv[7].Should().Be("--append-system-prompt");
        argv[8].Should().Contain("depends_on");
        argv.Should().HaveCount(9);
        argv.Should().NotContain(a => a.Contains("rm -rf"), "user text goes on stdin, never argv");
        var stdin = File.ReadAllText(Path.Combine(_dir, "stdin"));
        stdin.Should().Contain(hostile).And.Contain("ASP.NET Core app");
    }

    [Fact]
    public async Task Falls_back_to_the_result_text_and_omits_model_when_unset()
    {
        if (Skip) return;
        Out("some warning on stdout\n" + Result(result: "```json\n" + Fixtures.Plan + "\n```"));
        var r = await _h.Create().DecomposeAsync(Req());
        r.Tasks.Should().HaveCount(3);
        Argv().Should().NotContain("--model");
    }

    [Fact]
    public async Task Result_text_that_is_not_a_plan_is_shown()
    {
        if (Skip) return;
        Out(Result(result: "I looked at the repository and I think you should start with the schema."));
        var act = () => _h.Create().DecomposeAsync(Req());
        var ex = (await act.Should().ThrowAsync<SwarmException>()).Which;
        ex.ErrorId.Should().Be(DecompositionErrorIds.DecompositionFailed);
        ex.Message.Should().Contain("I looked at the repository");
    }

    [Fact]
    public async Task Structured_output_retries_exhausted_is_a_decomposition_failure()
    {
        if (Skip) return;
        Out(Result(result: "{\"tasks\": \"later\"}", subtype: "error_max_structured_output_retries"));
        var act = () => _h.Create().DecomposeAsync(Req());
        var ex = (await act.Should().ThrowAsync<SwarmException>()).Which;
        ex.ErrorId.Should().Be(DecompositionErrorIds.DecompositionFailed);
        ex.Message.Should().Contain("error_max_structured_output_retries").And.Contain("{\"tasks\": \"later\"}");
    }

    [Fact]
    public async Task Non_JSON_stdout_is_shown()
    {
        if (Skip) return;
        Out("Welcome to Claude Code!\nPlease log in.\n");
        var act = () => _h.Create().DecomposeAsync(Req());
        var ex = (await act.Should().ThrowAsync<SwarmException>()).Which;
        ex.ErrorId.Should().Be(DecompositionErrorIds.DecompositionFailed);
        ex.Message.Should().Contain("Welcome to Claude Code!\\nPlease log in.");
    }

    [Fact]
    public async Task A_crash_reports_stderr()
    {
        if (Skip) return;
        File.WriteAllText(Path.Combine(_dir, "stderr"), "Error: Invalid API key · Please run /login\n");
        File.WriteAllText(Path.Combine(_dir, "exit"), "1");
        var act = () => _h.Create().DecomposeAsync(Req());
        var ex = (await act.Should().ThrowAsync<SwarmException>()).Which;
        ex.ErrorId.Should().Be(DecompositionErrorIds.LlmRequestFailed);
        ex.Message.Should().Contain("exited with code 1").And.Contain("Invalid API key");
    }

    [Fact]
    public async Task Retryable_api_errors_are_retried()
    {
        if (Skip) return;
        Out(Result(result: "API Error: 529 Overloaded", isError: true, apiStatus: 529), 1);
        Out(Result(structured: JsonNode.Parse(Fixtures.Plan)));
        var r = await _h.Create().DecomposeAsync(Req());
        r.Attempts.Should().Be(2);
        r.Tasks.Should().HaveCount(3);
        _h.Waits.Should().HaveCount(1);
    }

    [Fact]
    public async Task Non_retryable_errors_are_reported()
    {
        if (Skip) return;
        Out(Result(result: "Invalid model name", isError: true, apiStatus: 404));
        var act = () => _h.Create().DecomposeAsync(Req());
        var ex = (await act.Should().ThrowAsync<SwarmException>()).Which;
        ex.ErrorId.Should().Be(DecompositionErrorIds.LlmRequestFailed);
        ex.Message.Should().Contain("API status 404").And.Contain("Invalid model name");
        File.ReadAllText(Path.Combine(_dir, "count")).Trim().Should().Be("1");
    }

    [Fact]
    public async Task A_slow_cli_is_stopped_at_the_timeout()
    {
        if (Skip) return;
        File.WriteAllText(Path.Combine(_dir, "sleep"), "");
        Out(Result(structured: JsonNode.Parse(Fixtures.Plan)));
        var sw = Stopwatch.StartNew();
        var act = () => _h.Create().DecomposeAsync(Req(timeout: TimeSpan.FromMilliseconds(500)));
        var ex = (await act.Should().ThrowAsync<SwarmException>()).Which;
        ex.ErrorId.Should().Be(ErrorIds.Timeout);
        sw.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(120), "stopped at the 0.5 s timeout, not after the fake's 300 s");
    }

    [Fact]
    public async Task Cancellation_stops_the_cli()
    {
        if (Skip) return;
        File.WriteAllText(Path.Combine(_dir, "sleep"), "");
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(400));
        var act = () => _h.Create().DecomposeAsync(Req(), cts.Token);
        (await act.Should().ThrowAsync<SwarmException>()).Which.ErrorId.Should().Be(ErrorIds.OperationCancelled);
    }

    [Fact]
    public async Task A_missing_cli_is_reported()
    {
        if (Skip) return;
        _h.Environment["PATH"] = Path.Combine(_dir, "empty");
        var act = () => _h.Create().DecomposeAsync(Req());
        var ex = (await act.Should().ThrowAsync<SwarmException>()).Which;
        ex.Kind.Should().Be(SwarmErrorKind.Unavailable);
        ex.Message.Should().Contain("'claude' is not on PATH");
    }

    [Fact]
    public async Task An_explicit_executable_path_is_used()
    {
        if (Skip) return;
        Out(Result(structured: JsonNode.Parse(Fixtures.Plan)));
        _h.Environment["PATH"] = "";
        var r = await _h.Create(claude: Path.Combine(_dir, "claude")).DecomposeAsync(Req());
        r.Tasks.Should().HaveCount(3);
    }
}
