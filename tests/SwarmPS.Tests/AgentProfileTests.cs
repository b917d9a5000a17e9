using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Agents;
using Xunit;

namespace SwarmPS.Tests;

public class AgentProfileTests
{
    private static AgentProfile P(string name) => BuiltInProfiles.All.Single(p => p.Name == name);

    [Fact]
    public void Claude_uses_print_mode_stream_json_with_verbose_and_resume_in_equals_form()
    {
        var argv = P("claude").BuildArgv(new AgentInvocation { Ticket = "T", Prompt = "fix it; $(rm -rf /)" });
        argv.Should().Equal("claude", "-p", "fix it; $(rm -rf /)", "--output-format", "stream-json", "--verbose");
        var resume = P("claude").BuildArgv(new AgentInvocation { Ticket = "T", Prompt = "next", SessionId = "--evil", FollowUp = true });
        resume.Should().Contain("--resume=--evil").And.NotContain("--evil");
    }

    [Fact]
    public void Placeholders_never_split_or_join_arguments()
    {
        var prompt = "line1\nline2 \"quoted\" 'single' `tick` $HOME ünï";
        var argv = P("codex").BuildArgv(new AgentInvocation { Ticket = "T", Prompt = prompt });
        argv.Should().Equal("codex", "exec", "--json", prompt);
    }

    [Fact]
    public void The_command_profile_runs_the_users_argv_and_requires_one()
    {
        P("command").BuildArgv(new AgentInvocation { Ticket = "T", Prompt = "p", Command = new[] { "./script.sh", "arg one" } })
            .Should().Equal("./script.sh", "arg one");
        P("command").PromptDelivery.Should().Be(PromptDelivery.Stdin);
        var act = () => P("command").BuildArgv(new AgentInvocation { Ticket = "T", Prompt = "p" });
        act.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.InvalidArgument);
    }

    [Fact]
    public void Every_built_in_profile_has_a_unique_name()
    {
        BuiltInProfiles.All.Select(p => p.Name).Should().OnlyHaveUniqueItems()
            .And.BeEquivalentTo("claude", "codex", "aider", "opencode", "gemini", "cursor-agent", "command");
    }
}

public class AgentOutputParserTests
{
    [Fact]
    public void Claude_stream_json_gives_session_turns_tools_tokens_cost_and_verdict()
    {
        var p = new AgentOutputParser(AgentOutputFormat.ClaudeStreamJson);
        p.FeedAll("""
            {"type":"system","subtype":"init","session_id":"2b0c7a54-3c1e-4a4e-9d7e-1f2a3b4c5d6e","cwd":"/w","model":"claude-sonnet-4-5","tools":[],"permissionMode":"default"}
            {"type":"assistant","message":{"content":[{"type":"text","text":"Looking."},{"type":"tool_use","name":"Bash","input":{}}]},"session_id":"2b0c7a54-3c1e-4a4e-9d7e-1f2a3b4c5d6e"}
            {"type":"user","message":{"content":[{"type":"tool_result","content":"ok"}]}}
            {"type":"result","subtype":"success","is_error":false,"duration_ms":48211,"duration_api_ms":39004,"num_turns":7,"result":"Done; tests pass.","session_id":"2b0c7a54-3c1e-4a4e-9d7e-1f2a3b4c5d6e","total_cost_usd":0.1834,"usage":{"input_tokens":1530,"cache_creation_input_tokens":8200,"cache_read_input_tokens":96000,"output_tokens":2100},"permission_denials":[]}
            """);
        var s = p.Summary;
        s.SessionId.Should().Be("2b0c7a54-3c1e-4a4e-9d7e-1f2a3b4c5d6e");
        s.Model.Should().Be("claude-sonnet-4-5");
        s.Turns.Should().Be(7);
        s.ToolCalls.Should().Be(1);
        s.CostUsd.Should().Be(0.1834m);
        s.InputTokens.Should().Be(9730);
        s.OutputTokens.Should().Be(2100);
        s.CacheReadTokens.Should().Be(96000);
        s.Result.Should().Be("Done; tests pass.");
        p.Succeeded(0).Should().BeTrue();
        p.Messages.Select(m => m.Kind).Should().Equal("init", "text", "tool", "result");
    }

    [Fact]
    public void Claude_is_error_fails_even_with_exit_code_zero_and_subtype_success()
    {
        var p = new AgentOutputParser(AgentOutputFormat.ClaudeStreamJson);
        p.Feed("""{"type":"result","subtype":"success","is_error":true,"api_error_status":529,"result":"Overloaded","session_id":"s"}""");
        p.Succeeded(0).Should().BeFalse();
        p.FailureReason(0).Should().Contain("Overloaded");
    }

    [Fact]
    public void Claude_max_turns_fails_and_no_result_fails()
    {
        var p = new AgentOutputParser(AgentOutputFormat.ClaudeStreamJson);
        p.Feed("""{"type":"result","subtype":"error_max_turns","is_error":false,"session_id":"s"}""");
        p.Succeeded(0).Should().BeFalse();
        var q = new AgentOutputParser(AgentOutputFormat.ClaudeStreamJson);
        q.Feed("Error: When using --print, --output-format=stream-json requires --verbose");
        q.Succeeded(1).Should().BeFalse();
        q.FailureReason(1).Should().Contain("without a result");
    }

    [Fact]
    public void Codex_json_sums_turn_usage_and_detects_failure()
    {
        var p = new AgentOutputParser(AgentOutputFormat.CodexJson);
        p.FeedAll("""
            {"type":"thread.started","thread_id":"0199a213-81c0-7800-8aa1-bbab2a035a53"}
            {"type":"item.completed","item":{"id":"item_1","type":"command_execution","command":"bash -lc ls","aggregated_output":"README.md\n","exit_code":0,"status":"completed"}}
            {"type":"item.completed","item":{"id":"item_3","type":"agent_message","text":"Done."}}
            {"type":"turn.completed","usage":{"input_tokens":24763,"cached_input_tokens":24448,"output_tokens":122}}
            """);
        p.Summary.SessionId.Should().Be("0199a213-81c0-7800-8aa1-bbab2a035a53");
        p.Summary.ToolCalls.Should().Be(1);
        p.Summary.InputTokens.Should().Be(24763);
        p.Summary.CostUsd.Should().BeNull("codex reports tokens only");
        p.Summary.Result.Should().Be("Done.");
        p.Succeeded(0).Should().BeTrue();
        p.Feed("""{"type":"turn.failed","error":{"message":"stream disconnected"}}""");
        p.Succeeded(0).Should().BeFalse();
        p.FailureReason(0).Should().Contain("stream disconnected");
    }

    [Fact]
    public void Aider_cost_comes_from_its_text_line()
    {
        var p = new AgentOutputParser(AgentOutputFormat.AiderText);
        p.FeedAll("Applied edit to app.py\nTokens: 12k sent, 1.1k cache hit, 380 received. Cost: $0.0123 message, $0.0456 session.\n");
        p.Summary.InputTokens.Should().Be(12000);
        p.Summary.CacheReadTokens.Should().Be(1100);
        p.Summary.OutputTokens.Should().Be(380);
        p.Summary.CostUsd.Should().Be(0.0456m);
        var noPrice = new AgentOutputParser(AgentOutputFormat.AiderText);
        noPrice.Feed("Tokens: 2.5k sent, 100 received.");
        noPrice.Summary.InputTokens.Should().Be(2500);
        noPrice.Summary.CostUsd.Should().BeNull();
    }

    [Fact]
    public void OpenCode_sums_step_finish_cost_and_tokens()
    {
        var p = new AgentOutputParser(AgentOutputFormat.OpenCodeJson);
        p.FeedAll("""
            {"type":"step_start","timestamp":1,"sessionID":"ses_abc"}
            {"type":"tool_use","timestamp":2,"sessionID":"ses_abc","part":{"tool":"edit","state":{"status":"completed"}}}
            {"type":"step_finish","timestamp":3,"sessionID":"ses_abc","part":{"cost":0.01,"tokens":{"input":100,"output":20,"reasoning":5,"cache":{"read":50,"write":0}}}}
            {"type":"text","timestamp":4,"sessionID":"ses_abc","part":{"text":"All done"}}
            {"type":"step_finish","timestamp":5,"sessionID":"ses_abc","part":{"cost":0.02,"tokens":{"input":200,"output":30,"reasoning":0,"cache":{"read":0,"write":0}}}}
            {"type":"done","reason":"idle","rejected":[]}
            """);
        p.Summary.SessionId.Should().Be("ses_abc");
        p.Summary.CostUsd.Should().Be(0.03m);
        p.Summary.InputTokens.Should().Be(300);
        p.Summary.OutputTokens.Should().Be(55);
        p.Summary.ToolCalls.Should().Be(1);
        p.Succeeded(0).Should().BeTrue();
        p.Succeeded(1).Should().BeFalse();
    }

    [Fact]
    public void Gemini_stream_json_reads_session_stats_and_exit_code_meanings()
    {
        var p = new AgentOutputParser(AgentOutputFormat.GeminiStreamJson);
        p.FeedAll("""
            {"type":"init","session_id":"g-1","model":"gemini-2.5-pro"}
            {"type":"message","role":"assistant","content":"Hel","delta":true}
            {"type":"message","role":"assistant","content":"lo","delta":true}
            {"type":"result","status":"success","stats":{"total_tokens":120,"input_tokens":100,"output_tokens":20,"cached":0,"duration_ms":10,"tool_calls":2}}
            """);
        p.Summary.SessionId.Should().Be("g-1");
        p.Summary.Result.Should().Be("Hello");
        p.Summary.ToolCalls.Should().Be(2);
        p.Succeeded(0).Should().BeTrue();
        new AgentOutputParser(AgentOutputFormat.GeminiStreamJson).FailureReason(53).Should().Contain("turn limit");
    }

    [Fact]
    public void Cursor_failure_is_non_zero_exit_without_json()
    {
        var p = new AgentOutputParser(AgentOutputFormat.CursorStreamJson);
        p.Feed("Error: not authenticated");
        p.Succeeded(1).Should().BeFalse();
        var ok = new AgentOutputParser(AgentOutputFormat.CursorStreamJson);
        ok.FeedAll("""
            {"type":"system","subtype":"init","session_id":"c-1"}
            {"type":"tool_call","subtype":"started","tool_call":{"readToolCall":{"args":{}}}}
            {"type":"result","subtype":"success","is_error":false,"duration_ms":1234,"duration_api_ms":1234,"result":"ok","session_id":"c-1","request_id":"r"}
            """);
        ok.Summary.ToolCalls.Should().Be(1);
        ok.Succeeded(0).Should().BeTrue();
    }

    [Theory]
    [InlineData("12k", 12000)]
    [InlineData("1.1k", 1100)]
    [InlineData("380", 380)]
    [InlineData("2.5M", 2500000)]
    [InlineData("1,234", 1234)]
    public void Aider_token_counts_parse(string s, long expected) => AgentOutputParser.Tokens(s).Should().Be(expected);
}
