using System.Text;
using System.Text.Json;
using SwarmPS.Core.Tasks;

namespace SwarmPS.Core.Decomposition;

/// <summary>Turns the model's plan (JSON) into validated <see cref="TaskSpec"/>s.</summary>
public static class PlanParser
{
    /// <summary>Sanitized names are at most this long, leaving room in a 64-character task id.</summary>
    public const int MaxNameLength = 40;

    /// <summary>Parses the model's text: JSON (optionally inside a ```json fence) of the form {"tasks":[...]}.</summary>
    public static IReadOnlyList<TaskSpec> ParseText(string? text, string source, out IReadOnlyDictionary<string, string> renamed)
    {
        if (string.IsNullOrWhiteSpace(text))
            throw Failed($"{source} returned no text", text);
        var json = StripFence(text);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException ex)
        {
            throw Failed($"{source} returned text that is not JSON ({ex.Message.Split('.')[0]})", text);
        }
        using (doc) return Parse(doc.RootElement, source, text, out renamed);
    }

    /// <summary>Converts a parsed plan. <paramref name="original"/> is the text shown in errors.</summary>
    public static IReadOnlyList<TaskSpec> Parse(JsonElement root, string source, string original, out IReadOnlyDictionary<string, string> renamed)
    {
        JsonElement tasks;
        if (root.ValueKind == JsonValueKind.Array) tasks = root;
        else if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("tasks", out tasks) && tasks.ValueKind == JsonValueKind.Array) { }
        else throw Failed($"{source} returned JSON without a \"tasks\" array", original);
        if (tasks.GetArrayLength() == 0) throw Failed($"{source} returned an empty plan (no tasks)", original);

        var raw = new List<(string? Name, string Title, string Prompt, List<string> Deps, TaskPriority Priority)>();
        var i = 0;
        foreach (var t in tasks.EnumerateArray())
        {
            i++;
            if (t.ValueKind != JsonValueKind.Object) throw Failed($"{source} returned a plan whose task #{i} is not an object", original);
            var name = Str(t, "name", i, source, original);
            var title = Str(t, "title", i, source, original);
            var prompt = Str(t, "prompt", i, source, original);
            if (string.IsNullOrWhiteSpace(prompt)) throw Failed($"{source} returned a plan whose task #{i} ('{Names.Describe(name ?? title)}') has no prompt", original);
            if (string.IsNullOrWhiteSpace(title)) title = FirstLine(prompt!);
            var deps = new List<string>();
            var depsProp = Prop(t, "depends_on") ?? Prop(t, "dependsOn") ?? Prop(t, "dependencies");
            if (depsProp is { } d && d.ValueKind != JsonValueKind.Null)
            {
                if (d.ValueKind == JsonValueKind.String) deps.Add(d.GetString()!);
                else if (d.ValueKind == JsonValueKind.Array)
                    foreach (var e in d.EnumerateArray())
                    {
                        if (e.ValueKind != JsonValueKind.String) throw Failed($"{source} returned a plan whose task #{i} has a non-string entry in depends_on", original);
                        if (!string.IsNullOrWhiteSpace(e.GetString())) deps.Add(e.GetString()!.Trim());
                    }
                else throw Failed($"{source} returned a plan whose task #{i} has depends_on that is not a list", original);
            }
            var priority = TaskPriority.Normal;
            var p = Str(t, "priority", i, source, original);
            if (!string.IsNullOrWhiteSpace(p))
            {
                if (!Enum.TryParse(p.Trim(), ignoreCase: true, out priority) || !Enum.IsDefined(priority) || int.TryParse(p, out _))
                    throw Failed($"{source} returned a plan whose task #{i} has priority '{Names.Describe(p)}' (expected Low, Normal, High or Critical)", original);
            }
            raw.Add((name, title!.Trim(), prompt!, deps, priority));
        }

        // Names: sanitize deterministically, dedupe with -2, -3, ...
        var used = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var finalNames = new string[raw.Count];
        var renames = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var k = 0; k < raw.Count; k++)
        {
            var original0 = raw[k].Name;
            var baseName = Sanitize(string.IsNullOrWhiteSpace(original0) ? raw[k].Title : original0);
            var n = baseName;
            for (var suffix = 2; used.Contains(n); suffix++)
            {
                var tail = "-" + suffix;
                n = TrimName(baseName[..Math.Min(baseName.Length, MaxNameLength - tail.Length)]) + tail;
            }
            used.Add(n);
            finalNames[k] = n;
            if (original0 is not null && original0 != n && !renames.ContainsKey(original0)) renames[original0] = n;
        }

        // Dependencies: an exact original name (first occurrence) wins, then a final name, then a sanitized match.
        int Resolve(string reference)
        {
            for (var k = 0; k < raw.Count; k++) if (raw[k].Name == reference) return k;
            for (var k = 0; k < raw.Count; k++) if (string.Equals(finalNames[k], reference, StringComparison.OrdinalIgnoreCase)) return k;
            var s = Sanitize(reference);
            for (var k = 0; k < raw.Count; k++) if (string.Equals(finalNames[k], s, StringComparison.OrdinalIgnoreCase)) return k;
            return -1;
        }
        var edges = new List<int>[raw.Count];
        for (var k = 0; k < raw.Count; k++)
        {
            edges[k] = new List<int>();
            foreach (var dep in raw[k].Deps)
            {
                var target = Resolve(dep);
                if (target < 0)
                    throw Failed($"{source} returned a plan where task '{finalNames[k]}' depends on unknown task '{Names.Describe(dep)}' (known: {string.Join(", ", finalNames)})", original);
                if (!edges[k].Contains(target)) edges[k].Add(target);
            }
        }
        var cycle = FindCycle(edges);
        if (cycle is not null)
            throw Failed($"{source} returned a plan with a dependency cycle: {string.Join(" -> ", cycle.Select(c => finalNames[c]))}", original);

        renamed = renames;
        return raw.Select((r, k) => new TaskSpec
        {
            Name = finalNames[k],
            Title = r.Title,
            Prompt = r.Prompt,
            Priority = r.Priority,
            DependsOn = edges[k].Select(e => finalNames[e]).ToList(),
        }).ToList();
    }

    /// <summary>A valid <see cref="Names"/> identifier from anything, deterministically: lowercase ASCII letters and digits,
    /// '.', '_' and '-' kept, everything else becomes '-', runs collapsed, at most <see cref="MaxNameLength"/> characters.</summary>
    public static string Sanitize(string? value)
    {
        var sb = new StringBuilder();
        foreach (var ch in (value ?? "").Normalize(NormalizationForm.FormD))
        {
            if (System.Globalization.CharUnicodeInfo.GetUnicodeCategory(ch) == System.Globalization.UnicodeCategory.NonSpacingMark) continue; // é -> e
            var c = char.ToLowerInvariant(ch);
            if (c is >= 'a' and <= 'z' or >= '0' and <= '9' or '_' or '.') sb.Append(c);
            else if (sb.Length > 0 && sb[^1] != '-') sb.Append('-');
        }
        var s = sb.ToString();
        while (s.Contains("..", StringComparison.Ordinal)) s = s.Replace("..", ".", StringComparison.Ordinal);
        s = s.Replace(".-", "-", StringComparison.Ordinal).Replace("-.", "-", StringComparison.Ordinal);
        if (s.Length > MaxNameLength) s = s[..MaxNameLength];
        s = TrimName(s);
        while (s.EndsWith(".lock", StringComparison.Ordinal)) s = TrimName(s[..^5]);
        if (s.Length == 0) s = "task";
        if (!Names.IsValid(s))
        {
            // A reserved Windows device stem (CON, nul.txt, ...): suffix the stem.
            var dot = s.IndexOf('.');
            s = (dot < 0 ? s : s[..dot]) + "-task" + (dot < 0 ? "" : s[dot..]);
            if (s.Length > MaxNameLength) s = TrimName(s[..MaxNameLength]);
        }
        return Names.IsValid(s) ? s : "task";
    }

    private static string TrimName(string s) => s.Trim('-', '.', '_');

    private static List<int>? FindCycle(List<int>[] edges)
    {
        var state = new int[edges.Length]; // 0 new, 1 on stack, 2 done
        var stack = new List<int>();
        List<int>? Visit(int v)
        {
            state[v] = 1; stack.Add(v);
            foreach (var w in edges[v])
            {
                if (state[w] == 1)
                {
                    var cycle = stack.Skip(stack.IndexOf(w)).ToList();
                    cycle.Add(w);
                    return cycle;
                }
                if (state[w] == 0 && Visit(w) is { } c) return c;
            }
            state[v] = 2; stack.RemoveAt(stack.Count - 1);
            return null;
        }
        for (var v = 0; v < edges.Length; v++)
            if (state[v] == 0 && Visit(v) is { } c) return c;
        return null;
    }

    private static JsonElement? Prop(JsonElement obj, string name) => obj.TryGetProperty(name, out var v) ? v : null;

    private static string? Str(JsonElement obj, string name, int index, string source, string original)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.String) throw Failed($"{source} returned a plan whose task #{index} has a non-string \"{name}\"", original);
        return v.GetString();
    }

    private static string FirstLine(string s)
    {
        var line = s.Trim().Split('\n')[0].Trim();
        return line.Length > 80 ? line[..80] : line;
    }

    internal static string StripFence(string text)
    {
        var t = text.Trim();
        if (!t.StartsWith("```", StringComparison.Ordinal)) return t;
        var firstNewline = t.IndexOf('\n');
        if (firstNewline < 0) return t;
        var body = t[(firstNewline + 1)..];
        var end = body.LastIndexOf("```", StringComparison.Ordinal);
        return (end >= 0 ? body[..end] : body).Trim();
    }

    internal static SwarmException Failed(string what, string? text) => OutputPreview.Failed(what, text);
}

/// <summary>Shows offending model output in errors: a one-line excerpt in the message, the longer text in Details.</summary>
internal static class OutputPreview
{
    public const int MessageChars = 300;
    public const int DetailChars = 4000;

    public static SwarmException Failed(string what, string? text, SwarmErrorKind kind = SwarmErrorKind.OperationFailed)
    {
        var t = text ?? "";
        var message = t.Length == 0 ? what + " (the output was empty)." : $"{what}. Output ({t.Length} characters): {OneLine(t, MessageChars)}";
        return new SwarmException(DecompositionErrorIds.DecompositionFailed, kind, message) { Details = DetailLines(t) };
    }

    public static string OneLine(string t, int max)
    {
        var s = t.Length > max ? t[..max] : t;
        var sb = new StringBuilder(s.Length + 16);
        foreach (var c in s)
            sb.Append(c switch { '\n' => "\\n", '\r' => "\\r", '\t' => "\\t", _ when char.IsControl(c) => "\\u" + ((int)c).ToString("X4"), _ => c.ToString() });
        if (t.Length > max) sb.Append($"... [{t.Length - max} more characters]");
        return sb.ToString();
    }

    public static IReadOnlyList<string> DetailLines(string t)
    {
        if (t.Length == 0) return Array.Empty<string>();
        var s = t.Length > DetailChars ? t[..DetailChars] : t;
        // Long lines (minified JSON) are wrapped, not cut, so the whole excerpt stays readable.
        var lines = s.Replace("\r\n", "\n").Split('\n')
            .SelectMany(l => l.Length <= 200 ? new[] { l } : Enumerable.Range(0, (l.Length + 199) / 200).Select(k => l.Substring(k * 200, Math.Min(200, l.Length - k * 200))))
            .Select(l => OneLine(l, 200)).ToList();
        if (t.Length > DetailChars) lines.Add($"... [{t.Length - DetailChars} more characters]");
        return lines;
    }
}
