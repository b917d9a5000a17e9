using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Decomposition;
using SwarmPS.Core.Tasks;
using Xunit;

namespace SwarmPS.Tests.Decomposition;

public class PlanParserTests
{
    private static IReadOnlyList<TaskSpec> Parse(string json) => PlanParser.ParseText(json, "test", out _);

    private static string T(string name, string deps = "", string priority = "Normal") =>
        $"{{\"name\":\"{name}\",\"title\":\"T {name}\",\"prompt\":\"do {name}\",\"depends_on\":[{deps}],\"priority\":\"{priority}\"}}";

    [Theory]
    [InlineData("Add Invoices Table!", "add-invoices-table")]
    [InlineData("schema", "schema")]
    [InlineData("  --weird__name..x  ", "weird__name.x")]
    [InlineData("Über café", "uber-cafe")]
    [InlineData("CON", "con-task")]
    [InlineData("nul.txt", "nul-task.txt")]
    [InlineData("feature.lock", "feature")]
    [InlineData("", "task")]
    [InlineData("!!!", "task")]
    [InlineData("日本語", "task")]
    [InlineData("a/b\\c:d", "a-b-c-d")]
    [InlineData("v1.2.", "v1.2")]
    public void Sanitize_is_deterministic_and_valid(string input, string expected)
    {
        PlanParser.Sanitize(input).Should().Be(expected);
        Names.IsValid(PlanParser.Sanitize(input)).Should().BeTrue();
    }

    [Fact]
    public void Sanitize_always_yields_a_valid_name()
    {
        var rnd = new Random(1234);
        const string alphabet = "aZ09._-/ \\:\t\n.lockCONé日-..";
        for (var i = 0; i < 5000; i++)
        {
            var chars = Enumerable.Range(0, rnd.Next(0, 90)).Select(_ => alphabet[rnd.Next(alphabet.Length)]).ToArray();
            var s = PlanParser.Sanitize(new string(chars));
            Names.Problem(s).Should().BeNull($"'{new string(chars)}' -> '{s}'");
            s.Length.Should().BeLessThanOrEqualTo(PlanParser.MaxNameLength);
        }
    }

    [Fact]
    public void Duplicate_names_get_suffixes_and_dependencies_follow_the_first()
    {
        var tasks = PlanParser.ParseText($"{{\"tasks\":[{T("Build API")},{T("build-api")},{T("build api")},{T("docs", "\"Build API\",\"build-api-2\"")}]}}", "test", out var renamed);
        tasks.Select(t => t.Name).Should().Equal("build-api", "build-api-2", "build-api-3", "docs");
        tasks[3].DependsOn.Should().Equal("build-api", "build-api-2");
        renamed["Build API"].Should().Be("build-api");
        renamed["build api"].Should().Be("build-api-3");
    }

    [Fact]
    public void Long_names_stay_within_the_limit_with_suffixes()
    {
        var n = new string('a', 80);
        var tasks = Parse($"{{\"tasks\":[{T(n)},{T(n)}]}}");
        tasks[0].Name.Should().HaveLength(40);
        tasks[1].Name.Should().HaveLength(40).And.EndWith("-2");
        tasks.Should().OnlyContain(t => Names.IsValid(t.Name));
    }

    [Fact]
    public void Dependencies_match_by_sanitized_name_and_are_deduplicated()
    {
        var tasks = Parse($"{{\"tasks\":[{T("Set Up DB")},{T("api", "\"set-up-db\",\"Set Up DB\",\"SET UP DB\"")}]}}");
        tasks[1].DependsOn.Should().Equal("set-up-db");
    }

    [Fact]
    public void Cycles_are_spelled_out()
    {
        var act = () => Parse($"{{\"tasks\":[{T("a", "\"c\"")},{T("b", "\"a\"")},{T("c", "\"b\"")},{T("d")}]}}");
        act.Should().Throw<SwarmException>().Which.Message.Should().Contain("cycle: a -> c -> b -> a");
    }

    [Fact]
    public void Self_dependency_is_a_cycle()
    {
        var act = () => Parse($"{{\"tasks\":[{T("a", "\"a\"")}]}}");
        var ex = act.Should().Throw<SwarmException>().Which;
        ex.ErrorId.Should().Be(DecompositionErrorIds.DecompositionFailed);
        ex.Message.Should().Contain("cycle: a -> a");
    }

    [Fact]
    public void Unknown_dependencies_name_the_known_tasks()
    {
        var act = () => Parse($"{{\"tasks\":[{T("a")},{T("b", "\"ghost\"")}]}}");
        act.Should().Throw<SwarmException>().Which.Message.Should().Contain("'b' depends on unknown task 'ghost' (known: a, b)");
    }

    [Fact]
    public void Lenient_forms_are_accepted()
    {
        // a bare array, missing optional fields, priority in any case, a missing name taken from the title
        var tasks = Parse("[{\"title\":\"Write Docs\",\"prompt\":\"p\",\"priority\":\"critical\"},{\"name\":\"x\",\"prompt\":\"Line one\\nLine two\",\"depends_on\":null}]");
        tasks[0].Name.Should().Be("write-docs");
        tasks[0].Priority.Should().Be(TaskPriority.Critical);
        tasks[1].Title.Should().Be("Line one");
        tasks[1].Priority.Should().Be(TaskPriority.Normal);
        tasks[1].DependsOn.Should().BeEmpty();
    }

    [Theory]
    [InlineData("\"1\"")]
    [InlineData("\"urgent\"")]
    public void Bad_priorities_are_rejected(string priority)
    {
        var act = () => Parse($"{{\"tasks\":[{{\"name\":\"a\",\"title\":\"A\",\"prompt\":\"p\",\"depends_on\":[],\"priority\":{priority}}}]}}");
        act.Should().Throw<SwarmException>().Which.Message.Should().Contain("priority");
    }

    [Fact]
    public void Output_with_control_characters_stays_on_one_line_in_the_message()
    {
        var act = () => Parse("oops\r\n\u001b[31mred\u0000");
        var ex = act.Should().Throw<SwarmException>().Which;
        ex.Message.Should().NotContain("\n").And.NotContain("\u001b").And.Contain("oops\\r\\n\\u001B[31mred\\u0000");
    }
}
