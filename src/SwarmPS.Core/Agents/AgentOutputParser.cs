using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace SwarmPS.Core.Agents;

/// <summary>One parsed message of an agent's output stream.</summary>
public sealed class AgentMessage
{
    /// <summary>init, text, tool, result, error, usage or raw.</summary>
    public required string Kind { get; init; }
    public string? Text { get; init; }
    public string? Tool { get; init; }
}

/// <summary>What the structured output says about one agent run.</summary>
public sealed class AgentRunSummary
{
    public string? SessionId { get; set; }
    public string? Model { get; set; }
    public int Turns { get; set; }
    public int ToolCalls { get; set; }
    public long InputTokens { get; set; }
    public long OutputTokens { get; set; }
    public long CacheReadTokens { get; set; }
    /// <summary>USD, when the agent reports it (claude, aider, opencode); null otherwise.</summary>
    public decimal? CostUsd { get; set; }
    public string? Result { get; set; }
    /// <summary>The agent's own verdict, when its output has one (claude's is_error/subtype, gemini's status).</summary>
    public bool? ReportedError { get; set; }
    public string? ResultSubtype { get; set; }
    public string? ErrorMessage { get; set; }
    public bool SawResult { get; set; }
}

/// <summary>
/// Parses an agent's output line by line as it streams (or later, from the log). Success is judged
/// from the structured result where the agent has one, not only from the exit code.
/// </summary>
public sealed class AgentOutputParser
{
    private static readonly Regex AiderUsage = new(@"Tokens:\s*(?<sent>[\d.,]+[kKmM]?)\s*sent,(?:\s*(?<cache>[\d.,]+[kKmM]?)\s*cache (?:hit|write)[^,]*,)*\s*(?<recv>[\d.,]+[kKmM]?)\s*received\.(?:\s*Cost:\s*\$(?<msg>[\d.]+)\s*message,\s*\$(?<sess>[\d.]+)\s*session\.)?",
        RegexOptions.CultureInvariant | RegexOptions.Compiled);

    private readonly List<AgentMessage> _messages = new();

    public AgentOutputParser(AgentOutputFormat format) => Format = format;

    public AgentOutputFormat Format { get; }
    public AgentRunSummary Summary { get; } = new();
    public IReadOnlyList<AgentMessage> Messages => _messages;

    public void FeedAll(string text)
    {
        foreach (var line in text.Split('\n')) Feed(line.TrimEnd('\r'));
    }

    public void Feed(string line)
    {
        if (string.IsNullOrWhiteSpace(line)) return;
        switch (Format)
        {
            case AgentOutputFormat.None:
                _messages.Add(new AgentMessage { Kind = "raw", Text = line });
                return;
            case AgentOutputFormat.AiderText:
                FeedAider(line);
                return;
        }
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(line);
            root = doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            _messages.Add(new AgentMessage { Kind = "raw", Text = line });
            return;
        }
        if (root.ValueKind != JsonValueKind.Object) { _messages.Add(new AgentMessage { Kind = "raw", Text = line }); return; }
        switch (Format)
        {
            case AgentOutputFormat.ClaudeStreamJson:
            case AgentOutputFormat.CursorStreamJson:
                FeedClaudeLike(root);
                break;
            case AgentOutputFormat.CodexJson:
                FeedCodex(root);
                break;
            case AgentOutputFormat.OpenCodeJson:
                FeedOpenCode(root);
                break;
            case AgentOutputFormat.GeminiStreamJson:
                FeedGemini(root);
                break;
        }
    }

    /// <summary>Whether the run succeeded: the structured verdict when there is one, and the exit code.</summary>
    public bool Succeeded(int exitCode)
    {
        var s = Summary;
        return Format switch
        {
            AgentOutputFormat.ClaudeStreamJson or AgentOutputFormat.CursorStreamJson =>
                exitCode == 0 && s.SawResult && s.ReportedError == false && (s.ResultSubtype is null or "success"),
            AgentOutputFormat.GeminiStreamJson => exitCode == 0 && s.ReportedError != true && (!s.SawResult || s.ResultSubtype is null or "success"),
            AgentOutputFormat.CodexJson or AgentOutputFormat.OpenCodeJson => exitCode == 0 && s.ReportedError != true,
            _ => exitCode == 0,
        };
    }

    /// <summary>A human explanation of a failed run.</summary>
    public string FailureReason(int exitCode)
    {
        var s = Summary;
        if (s.ErrorMessage is not null) return s.ErrorMessage;
        if (Format is AgentOutputFormat.ClaudeStreamJson or AgentOutputFormat.CursorStreamJson)
        {
            if (!s.SawResult) return $"the agent exited with {exitCode} without a result message";
            if (s.ReportedError == true || s.ResultSubtype is not (null or "success")) return $"the agent reported {s.ResultSubtype ?? "an error"}: {s.Result}";
        }
        if (Format == AgentOutputFormat.GeminiStreamJson)
        {
            var meaning = exitCode switch { 41 => "authentication failed", 42 => "invalid input", 44 => "sandbox error", 52 => "configuration error", 53 => "turn limit reached", 54 => "tool error", 55 => "untrusted folder (use --skip-trust)", 130 => "cancelled", _ => null };
            if (meaning is not null) return $"gemini exited with {exitCode}: {meaning}";
        }
        return $"exit code {exitCode}";
    }

    private static string? Str(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
    private static long Num(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : 0;
    private static bool? Bool(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;
    private static JsonElement? Obj(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Object ? v : null;

    private void FeedClaudeLike(JsonElement e)
    {
        var type = Str(e, "type");
        Summary.SessionId = Str(e, "session_id") ?? Summary.SessionId;
        switch (type)
        {
            case "system":
                Summary.Model = Str(e, "model") ?? Summary.Model;
                _messages.Add(new AgentMessage { Kind = "init", Text = Summary.Model });
                break;
            case "assistant":
                Summary.Turns++;
                if (Obj(e, "message") is { } msg && msg.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array)
                {
                    foreach (var part in content.EnumerateArray())
                    {
                        var pt = Str(part, "type");
                        if (pt == "text") _messages.Add(new AgentMessage { Kind = "text", Text = Str(part, "text") });
                        else if (pt == "tool_use") { Summary.ToolCalls++; _messages.Add(new AgentMessage { Kind = "tool", Tool = Str(part, "name") }); }
                    }
                }
                break;
            case "tool_call":
                if (Str(e, "subtype") == "started") { Summary.ToolCalls++; _messages.Add(new AgentMessage { Kind = "tool", Tool = ToolName(e) }); }
                break;
            case "result":
                Summary.SawResult = true;
                Summary.ResultSubtype = Str(e, "subtype");
                Summary.ReportedError = Bool(e, "is_error") ?? (Summary.ResultSubtype is not (null or "success"));
                Summary.Result = Str(e, "result");
                if (e.TryGetProperty("num_turns", out var nt) && nt.TryGetInt32(out var turns)) Summary.Turns = turns;
                if (e.TryGetProperty("total_cost_usd", out var cost) && cost.ValueKind == JsonValueKind.Number) Summary.CostUsd = cost.GetDecimal();
                if (Obj(e, "usage") is { } u)
                {
                    Summary.InputTokens = Num(u, "input_tokens") + Num(u, "cache_creation_input_tokens");
                    Summary.OutputTokens = Num(u, "output_tokens");
                    Summary.CacheReadTokens = Num(u, "cache_read_input_tokens");
                }
                _messages.Add(new AgentMessage { Kind = "result", Text = Summary.Result });
                break;
        }
    }

    private static string? ToolName(JsonElement e)
    {
        if (Obj(e, "tool_call") is { } tc)
            foreach (var p in tc.EnumerateObject()) return p.Name;
        return null;
    }

    private void FeedCodex(JsonElement e)
    {
        switch (Str(e, "type"))
        {
            case "thread.started":
                Summary.SessionId = Str(e, "thread_id");
                _messages.Add(new AgentMessage { Kind = "init", Text = Summary.SessionId });
                break;
            case "item.completed":
                if (Obj(e, "item") is { } item)
                {
                    var it = Str(item, "type");
                    if (it == "agent_message") { Summary.Result = Str(item, "text"); _messages.Add(new AgentMessage { Kind = "text", Text = Summary.Result }); }
                    else if (it is "command_execution" or "file_change" or "mcp_tool_call" or "web_search") { Summary.ToolCalls++; _messages.Add(new AgentMessage { Kind = "tool", Tool = it, Text = Str(item, "command") }); }
                }
                break;
            case "turn.completed":
                Summary.Turns++;
                Summary.SawResult = true;
                if (Obj(e, "usage") is { } u)
                {
                    Summary.InputTokens += Num(u, "input_tokens");
                    Summary.OutputTokens += Num(u, "output_tokens");
                    Summary.CacheReadTokens += Num(u, "cached_input_tokens");
                }
                break;
            case "turn.failed":
            case "error":
                Summary.ReportedError = true;
                Summary.ErrorMessage = Str(e, "message") ?? (Obj(e, "error") is { } err ? Str(err, "message") : null) ?? "codex reported an error";
                _messages.Add(new AgentMessage { Kind = "error", Text = Summary.ErrorMessage });
                break;
        }
    }

    private void FeedOpenCode(JsonElement e)
    {
        Summary.SessionId = Str(e, "sessionID") ?? Summary.SessionId;
        var part = Obj(e, "part");
        switch (Str(e, "type"))
        {
            case "step_start":
                Summary.Turns++;
                break;
            case "text":
                var t = part is { } p ? Str(p, "text") : null;
                Summary.Result = t ?? Summary.Result;
                _messages.Add(new AgentMessage { Kind = "text", Text = t });
                break;
            case "tool_use":
                Summary.ToolCalls++;
                _messages.Add(new AgentMessage { Kind = "tool", Tool = part is { } tp ? Str(tp, "tool") : null });
                break;
            case "step_finish":
                if (part is { } sf)
                {
                    if (sf.TryGetProperty("cost", out var c) && c.ValueKind == JsonValueKind.Number) Summary.CostUsd = (Summary.CostUsd ?? 0) + c.GetDecimal();
                    if (Obj(sf, "tokens") is { } tok)
                    {
                        Summary.InputTokens += Num(tok, "input");
                        Summary.OutputTokens += Num(tok, "output") + Num(tok, "reasoning");
                        if (Obj(tok, "cache") is { } cache) Summary.CacheReadTokens += Num(cache, "read");
                    }
                }
                break;
            case "error":
                Summary.ReportedError = true;
                Summary.ErrorMessage = Str(e, "message") ?? (Obj(e, "error") is { } err ? Str(err, "message") ?? Str(err, "name") : null) ?? "opencode reported an error";
                _messages.Add(new AgentMessage { Kind = "error", Text = Summary.ErrorMessage });
                break;
            case "done":
                Summary.SawResult = true;
                _messages.Add(new AgentMessage { Kind = "result", Text = Summary.Result });
                break;
        }
    }

    private void FeedGemini(JsonElement e)
    {
        switch (Str(e, "type"))
        {
            case "init":
                Summary.SessionId = Str(e, "session_id");
                Summary.Model = Str(e, "model");
                _messages.Add(new AgentMessage { Kind = "init", Text = Summary.Model });
                break;
            case "message":
                if (Str(e, "role") == "assistant")
                {
                    var text = Str(e, "content");
                    Summary.Result = Bool(e, "delta") == true ? Summary.Result + text : text;
                    _messages.Add(new AgentMessage { Kind = "text", Text = text });
                }
                break;
            case "tool_use":
                Summary.ToolCalls++;
                _messages.Add(new AgentMessage { Kind = "tool", Tool = Str(e, "tool_name") ?? Str(e, "name") });
                break;
            case "error":
                Summary.ReportedError = true;
                Summary.ErrorMessage = Str(e, "message") ?? "gemini reported an error";
                _messages.Add(new AgentMessage { Kind = "error", Text = Summary.ErrorMessage });
                break;
            case "result":
                Summary.SawResult = true;
                Summary.ResultSubtype = Str(e, "status");
                if (Summary.ResultSubtype is not (null or "success")) Summary.ReportedError = true;
                if (Obj(e, "stats") is { } st)
                {
                    Summary.InputTokens = Num(st, "input_tokens");
                    Summary.OutputTokens = Num(st, "output_tokens");
                    Summary.CacheReadTokens = Num(st, "cached");
                    Summary.ToolCalls = Math.Max(Summary.ToolCalls, (int)Num(st, "tool_calls"));
                }
                Summary.Turns = Math.Max(Summary.Turns, 1);
                _messages.Add(new AgentMessage { Kind = "result", Text = Summary.Result });
                break;
        }
    }

    private void FeedAider(string line)
    {
        var m = AiderUsage.Match(line);
        if (m.Success)
        {
            Summary.Turns++;
            Summary.InputTokens += Tokens(m.Groups["sent"].Value);
            Summary.OutputTokens += Tokens(m.Groups["recv"].Value);
            if (m.Groups["cache"].Success) Summary.CacheReadTokens += Tokens(m.Groups["cache"].Value);
            if (m.Groups["sess"].Success) Summary.CostUsd = decimal.Parse(m.Groups["sess"].Value, CultureInfo.InvariantCulture);
            _messages.Add(new AgentMessage { Kind = "usage", Text = line });
            return;
        }
        _messages.Add(new AgentMessage { Kind = "text", Text = line });
    }

    /// <summary>"12k" → 12000, "1.1k" → 1100, "380" → 380, "2.5M" → 2500000.</summary>
    internal static long Tokens(string s)
    {
        s = s.Replace(",", "", StringComparison.Ordinal);
        var mult = 1m;
        if (s.EndsWith('k') || s.EndsWith('K')) { mult = 1000m; s = s[..^1]; }
        else if (s.EndsWith('m') || s.EndsWith('M')) { mult = 1_000_000m; s = s[..^1]; }
        return decimal.TryParse(s, NumberStyles.Number, CultureInfo.InvariantCulture, out var v) ? (long)Math.Round(v * mult) : 0;
    }
}
