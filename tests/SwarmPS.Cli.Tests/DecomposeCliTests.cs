using System.Text.Json;
using System.Text.Json.Nodes;
using FluentAssertions;
using SwarmPS.Cli.Tests.Infrastructure;
using SwarmPS.Tests.Decomposition;
using Xunit;

namespace SwarmPS.Cli.Tests;

/// <summary>
/// <c>swarmps decompose</c> through real CLI processes against the local fake LLM server of the
/// Core decomposition tests (127.0.0.1, Anthropic's Messages API format): the <c>--json</c> specs
/// carry exactly what <c>swarmps task add</c> takes, and <c>--add</c> queues them atomically.
/// </summary>
[Trait("Category", "Integration")]
public sealed class DecomposeCliTests : IDisposable
{
    private const string Plan = """
        {"tasks":[
          {"name":"schema","title":"Add the invoices table","prompt":"Create a migration adding an invoices table.","depends_on":[],"priority":"High"},
          {"name":"api","title":"Expose invoices over REST","prompt":"Add GET/POST /invoices with tests.","depends_on":["schema"],"priority":"Normal"},
          {"name":"docs","title":"Document the invoices API","prompt":"Describe /invoices in docs/api.md.","depends_on":["api","schema"],"priority":"Low"}
        ]}
        """;

    private readonly TempWorkspace _ws = new();

    public DecomposeCliTests() => _ws.Environment["ANTHROPIC_API_KEY"] = "sk-ant-test-not-a-real-key";

    public void Dispose() => _ws.Dispose();

    private static string AnthropicAnswer(string text) => new JsonObject
    {
        ["id"] = "msg_01CliDecompose",
        ["type"] = "message",
        ["role"] = "assistant",
        ["model"] = "claude-sonnet-4-5-20250929",
        ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = text }),
        ["stop_reason"] = "end_turn",
        ["stop_sequence"] = null,
        ["usage"] = new JsonObject { ["input_tokens"] = 300, ["output_tokens"] = 150 },
    }.ToJsonString();

    private static string Str(JsonElement e, string name) => e.GetProperty(name).GetString()!;

    [Fact]
    public async Task Decompose_json_specs_feed_task_add_and_add_queues_them_with_their_dependencies()
    {
        await using var server = new FakeLlmServer(FakeResponse.Json(AnthropicAnswer(Plan)));
        var url = server.BaseUrl.ToString();

        // 1. The specs, as JSON.
        var specs = (await _ws.JsonAsync("decompose", "--query", "Add invoices", "--backend", "anthropic", "--base-url", url)).EnumerateArray().ToList();
        specs.Select(s => Str(s, "name")).Should().Equal("schema", "api", "docs");
        server.Requests.Should().ContainSingle().Which.Target.Should().EndWith("/v1/messages");
        server.Requests.Single().Body.Should().Contain("Add invoices").And.NotContain("sk-ant-test", "the key travels in a header only");

        // 2. Piped into 'task add' one by one, as a script would: every field it needs is in the spec,
        //    and a dependency named in the batch maps to the id 'task add' printed for it.
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var s in specs)
        {
            var args = new List<string> { "task", "add", "--name", Str(s, "name"), "--title", Str(s, "title"), "--prompt", Str(s, "prompt"),
                "--priority", s.GetProperty("priority").ValueKind == JsonValueKind.String ? Str(s, "priority") : s.GetProperty("priority").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--profile", Str(s, "profile") };
            foreach (var d in s.GetProperty("dependsOn").EnumerateArray()) { args.Add("--depends-on"); args.Add(ids[d.GetString()!]); }
            args.Add("--json");
            var added = (await _ws.OkAsync(args.ToArray())).Json;
            ids[Str(s, "name")] = Str(added, "id");
        }
        var docs = await _ws.JsonAsync("task", "get", ids["docs"]);
        docs.GetProperty("dependsOn").EnumerateArray().Select(d => d.GetString()).Should().BeEquivalentTo(new[] { ids["api"], ids["schema"] });
        Str(docs, "status").Should().Be("Blocked");
        Str(await _ws.JsonAsync("task", "get", ids["schema"]), "status").Should().Be("Queued");
        Str(await _ws.JsonAsync("task", "get", ids["schema"]), "priority").Should().Be("High");

        // 3. '--add' does the same in one atomic batch.
        var queued = (await _ws.JsonAsync("decompose", "--query", "Add invoices", "--backend", "anthropic", "--base-url", url, "--add")).EnumerateArray().ToList();
        queued.Should().HaveCount(3);
        var byTitle = queued.ToDictionary(t => Str(t, "title"));
        byTitle["Document the invoices API"].GetProperty("dependsOn").EnumerateArray().Select(d => d.GetString())
            .Should().BeEquivalentTo(new[] { Str(byTitle["Expose invoices over REST"], "id"), Str(byTitle["Add the invoices table"], "id") });
        (await _ws.JsonAsync("task", "list")).GetArrayLength().Should().Be(6);
    }

    [Fact]
    public async Task Malformed_model_output_fails_with_the_offending_text_and_adds_nothing()
    {
        await using var server = new FakeLlmServer(FakeResponse.Json(AnthropicAnswer("Sure! Here are some tasks: schema, api.")));
        var r = await _ws.RunAsync("decompose", "--query", "Add invoices", "--backend", "anthropic", "--base-url", server.BaseUrl.ToString(), "--add", "--json");
        r.ExitCode.Should().NotBe(0);
        r.StdErr.Should().Contain("Here are some tasks");
        (await _ws.JsonAsync("task", "list")).GetArrayLength().Should().Be(0);
    }
}
