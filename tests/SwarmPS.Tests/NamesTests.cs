using FluentAssertions;
using SwarmPS.Core;
using Xunit;

namespace SwarmPS.Tests;

public class NamesTests
{
    public static TheoryData<string> Hostile => new()
    {
        "", " ", "../etc", "..", "a..b", "a/b", "a\\b", "/abs", "C:\\x", "a;rm -rf /", "$(id)", "`id`", "a|b", "a&b", "a>b",
        "a b", "a\tb", "a\nb", "a\0b", "-rf", ".hidden", "_x", "trailing.", "x.lock", "CON", "nul", "Com1", "LPT9.txt", "aux.tar",
        "DEMО-1" /* Cyrillic O */, "ＤＥＭＯ" /* fullwidth */, "é", "a\u200Bb" /* zero-width space */, "a*b", "a?b", "a[b]", "a~b", "a^b", "a:b",
        "a@{b", "'quoted'", "\"q\"", new string('a', 65),
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public void Hostile_tickets_are_rejected_with_a_stable_error_id(string ticket)
    {
        var act = () => Names.Ticket(ticket);
        var ex = act.Should().Throw<SwarmException>().Which;
        ex.ErrorId.Should().Be(ErrorIds.InvalidTicket);
        ex.Kind.Should().Be(SwarmErrorKind.InvalidArgument);
        ex.Message.Should().NotContain("\n").And.NotContain("\0");
    }

    [Theory]
    [InlineData("DEMO-1")]
    [InlineData("a")]
    [InlineData("JIRA_123.fix")]
    [InlineData("0")]
    [InlineData("con-1")] // not a device name: the stem is "con-1"
    public void Valid_tickets_pass(string ticket) => Names.Ticket(ticket).Should().Be(ticket);

    [Fact]
    public void Sixty_four_characters_is_the_limit()
    {
        Names.IsValid(new string('a', 64)).Should().BeTrue();
        Names.IsValid(new string('a', 65)).Should().BeFalse();
    }

    [Fact]
    public void Checkpoint_names_use_the_same_rules_with_their_own_error_id()
    {
        var act = () => Names.Checkpoint("../x");
        act.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.InvalidCheckpointName);
        Names.Checkpoint("before-refactor").Should().Be("before-refactor");
    }

    [Fact]
    public void Problem_explains_the_offending_character()
    {
        Names.Problem("DEMО-1").Should().Contain("U+041E");
        Names.Problem("a;b").Should().Contain("';'");
    }

    [Theory]
    [InlineData("DEMO-*", "demo-12", true)]
    [InlineData("DEMO-?", "DEMO-1", true)]
    [InlineData("DEMO-?", "DEMO-12", false)]
    [InlineData("DEMO-[12]", "DEMO-2", true)]
    [InlineData("DEMO-[12]", "DEMO-3", false)]
    [InlineData("demo-1", "DEMO-1", true)]
    [InlineData("a.b", "aXb", false)]
    public void Glob_matches_case_insensitively(string pattern, string value, bool expected) => Glob.IsMatch(pattern, value).Should().Be(expected);
}
