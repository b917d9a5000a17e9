namespace SwarmPS.Core.Agents;

/// <summary>How the prompt reaches the agent process.</summary>
public enum PromptDelivery
{
    /// <summary>As one argument (the <c>{prompt}</c> placeholder). Passed as an argv element, never through a shell.</summary>
    Argument,
    /// <summary>Written to the agent's standard input.</summary>
    Stdin,
    /// <summary>Written to a file whose path replaces <c>{promptFile}</c>.</summary>
    File,
}

/// <summary>Which structured output the supervisor parses for session id, status, tokens and cost.</summary>
public enum AgentOutputFormat
{
    /// <summary>No structure: success is the exit code.</summary>
    None,
    ClaudeStreamJson,
    CodexJson,
    AiderText,
    OpenCodeJson,
    GeminiStreamJson,
    CursorStreamJson,
}

/// <summary>
/// An agent profile is data, not code: the executable, an argument template (an argument list,
/// never a shell string), how the prompt is passed, how to resume a session, and which output to
/// parse. Placeholders inside arguments: <c>{prompt}</c>, <c>{promptFile}</c>, <c>{sessionId}</c>,
/// <c>{ticket}</c>, <c>{workspace}</c>. A placeholder replaces text inside one argument only; it
/// never splits or joins arguments.
/// </summary>
public sealed class AgentProfile
{
    public required string Name { get; init; }
    public required string Executable { get; init; }
    public IReadOnlyList<string> Arguments { get; init; } = Array.Empty<string>();
    /// <summary>Arguments for a follow-up that resumes a session; null when the agent cannot resume.</summary>
    public IReadOnlyList<string>? ResumeArguments { get; init; }
    public PromptDelivery PromptDelivery { get; init; } = PromptDelivery.Argument;
    public AgentOutputFormat OutputFormat { get; init; } = AgentOutputFormat.None;
    public string? Description { get; init; }
    /// <summary>True for built-in profiles; false for those from config.</summary>
    public bool BuiltIn { get; init; }

    /// <summary>
    /// Expands the template into an argv. <paramref name="extraCommand"/> is the user's own argv for the
    /// <c>command</c> profile (its first element is the executable).
    /// </summary>
    public IReadOnlyList<string> BuildArgv(AgentInvocation invocation)
    {
        var template = invocation.FollowUp && ResumeArguments is not null ? ResumeArguments : Arguments;
        if (template.Any(t => t.Contains("{sessionId}", StringComparison.Ordinal)) && string.IsNullOrEmpty(invocation.SessionId))
            throw new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidState,
                $"The '{Name}' profile resumes by session id, and the agent's output never reported one, so there is no session to continue.", invocation.Ticket);
        var argv = new List<string>();
        if (Executable == CommandExecutable)
        {
            if (invocation.Command is not { Count: > 0 } || string.IsNullOrEmpty(invocation.Command[0]))
                throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument,
                    $"The '{Name}' profile runs your own command.", invocation.Ticket) { Hint = Hints.CommandArgv };
            argv.AddRange(invocation.Command);
        }
        else
        {
            argv.Add(Executable);
        }
        foreach (var t in template) argv.Add(Expand(t, invocation));
        return argv;
    }

    /// <summary>Marks a profile whose executable is the user's own argv.</summary>
    public const string CommandExecutable = "{command}";

    private static readonly System.Text.RegularExpressions.Regex Placeholder =
        new(@"\{(prompt|promptFile|sessionId|ticket|workspace)\}", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>One pass over the template token: text that a placeholder brings in is never expanded again.</summary>
    private static string Expand(string token, AgentInvocation i) => Placeholder.Replace(token, m => m.Groups[1].Value switch
    {
        "prompt" => i.Prompt,
        "promptFile" => i.PromptFile ?? "",
        "sessionId" => i.SessionId ?? "",
        "ticket" => i.Ticket,
        _ => i.WorkingDirectory ?? "",
    });
}

/// <summary>The values that fill a profile's template for one run.</summary>
public sealed class AgentInvocation
{
    public required string Ticket { get; init; }
    public required string Prompt { get; init; }
    public string? PromptFile { get; init; }
    public string? SessionId { get; init; }
    /// <summary>A follow-up that continues the previous run's session (uses the resume template).</summary>
    public bool FollowUp { get; init; }
    public string? WorkingDirectory { get; init; }
    public IReadOnlyList<string>? Command { get; init; }
}

/// <summary>The built-in profiles, with the flags taken from each CLI's documented headless mode.</summary>
public static class BuiltInProfiles
{
    public static IReadOnlyList<AgentProfile> All { get; } = new[]
    {
        new AgentProfile
        {
            Name = "claude", Executable = "claude", BuiltIn = true, OutputFormat = AgentOutputFormat.ClaudeStreamJson,
            Description = "Claude Code headless (-p, stream-json; success from is_error/subtype; cost from total_cost_usd).",
            // stream-json with -p requires --verbose; --resume in '=' form so the id can never be read as a flag.
            Arguments = new[] { "-p", "{prompt}", "--output-format", "stream-json", "--verbose" },
            ResumeArguments = new[] { "-p", "{prompt}", "--output-format", "stream-json", "--verbose", "--resume={sessionId}" },
        },
        new AgentProfile
        {
            Name = "codex", Executable = "codex", BuiltIn = true, OutputFormat = AgentOutputFormat.CodexJson,
            Description = "OpenAI Codex CLI (codex exec --json; tokens only, no USD).",
            Arguments = new[] { "exec", "--json", "{prompt}" },
            ResumeArguments = new[] { "exec", "--json", "resume", "{sessionId}", "{prompt}" },
        },
        new AgentProfile
        {
            Name = "aider", Executable = "aider", BuiltIn = true, OutputFormat = AgentOutputFormat.AiderText,
            Description = "Aider (--message, --yes-always; cost from its 'Tokens: ... Cost:' line).",
            Arguments = new[] { "--message", "{prompt}", "--yes-always", "--no-auto-commits", "--no-stream", "--no-pretty", "--no-check-update", "--analytics-disable" },
            ResumeArguments = new[] { "--message", "{prompt}", "--yes-always", "--no-auto-commits", "--no-stream", "--no-pretty", "--no-check-update", "--analytics-disable", "--restore-chat-history" },
        },
        new AgentProfile
        {
            Name = "opencode", Executable = "opencode", BuiltIn = true, OutputFormat = AgentOutputFormat.OpenCodeJson,
            Description = "OpenCode (run --format json; cost and tokens summed over step_finish events).",
            Arguments = new[] { "run", "--format", "json", "{prompt}" },
            ResumeArguments = new[] { "run", "--format", "json", "-s", "{sessionId}", "{prompt}" },
        },
        new AgentProfile
        {
            Name = "gemini", Executable = "gemini", BuiltIn = true, OutputFormat = AgentOutputFormat.GeminiStreamJson,
            Description = "Gemini CLI (-p, --output-format stream-json; tokens only).",
            Arguments = new[] { "-p", "{prompt}", "--output-format", "stream-json" },
            ResumeArguments = new[] { "-r", "{sessionId}", "-p", "{prompt}", "--output-format", "stream-json" },
        },
        new AgentProfile
        {
            Name = "cursor-agent", Executable = "cursor-agent", BuiltIn = true, OutputFormat = AgentOutputFormat.CursorStreamJson,
            Description = "Cursor Agent CLI (-p, --output-format stream-json; no cost fields).",
            Arguments = new[] { "-p", "{prompt}", "--output-format", "stream-json" },
            ResumeArguments = new[] { "--resume", "{sessionId}", "-p", "{prompt}", "--output-format", "stream-json" },
        },
        new AgentProfile
        {
            Name = "command", Executable = AgentProfile.CommandExecutable, BuiltIn = true, OutputFormat = AgentOutputFormat.None,
            PromptDelivery = PromptDelivery.Stdin,
            Description = "Any argv. The prompt goes to its stdin and into the file named by SWARM_PROMPT_FILE.",
        },
    };
}
