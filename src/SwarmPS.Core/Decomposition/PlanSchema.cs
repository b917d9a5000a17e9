using System.Text.Json.Nodes;

namespace SwarmPS.Core.Decomposition;

/// <summary>The plan's JSON schema in each dialect, and the instructions sent with it.</summary>
internal static class PlanSchema
{
    public const string ToolName = "emit_plan";

    public static readonly string[] Priorities = { "Low", "Normal", "High", "Critical" };

    /// <summary>JSON Schema (Anthropic output_config / tool input_schema, OpenAI strict, claude --json-schema):
    /// every property required, additionalProperties false.</summary>
    public static JsonObject JsonSchema() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["tasks"] = new JsonObject
            {
                ["type"] = "array",
                ["items"] = new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = new JsonObject
                    {
                        ["name"] = new JsonObject { ["type"] = "string", ["description"] = "Short unique kebab-case handle, e.g. add-invoices-table." },
                        ["title"] = new JsonObject { ["type"] = "string", ["description"] = "One-line summary." },
                        ["prompt"] = new JsonObject { ["type"] = "string", ["description"] = "Complete, self-contained instructions for a coding agent." },
                        ["depends_on"] = new JsonObject
                        {
                            ["type"] = "array",
                            ["items"] = new JsonObject { ["type"] = "string" },
                            ["description"] = "Names of tasks in this plan that must finish first.",
                        },
                        ["priority"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray(Priorities.Select(p => (JsonNode)p!).ToArray()) },
                    },
                    ["required"] = new JsonArray("name", "title", "prompt", "depends_on", "priority"),
                    ["additionalProperties"] = false,
                },
            },
        },
        ["required"] = new JsonArray("tasks"),
        ["additionalProperties"] = false,
    };

    /// <summary>Gemini responseSchema (OpenAPI subset: upper-case types, no additionalProperties, propertyOrdering).</summary>
    public static JsonObject GeminiSchema() => new()
    {
        ["type"] = "OBJECT",
        ["properties"] = new JsonObject
        {
            ["tasks"] = new JsonObject
            {
                ["type"] = "ARRAY",
                ["items"] = new JsonObject
                {
                    ["type"] = "OBJECT",
                    ["properties"] = new JsonObject
                    {
                        ["name"] = new JsonObject { ["type"] = "STRING" },
                        ["title"] = new JsonObject { ["type"] = "STRING" },
                        ["prompt"] = new JsonObject { ["type"] = "STRING" },
                        ["depends_on"] = new JsonObject { ["type"] = "ARRAY", ["items"] = new JsonObject { ["type"] = "STRING" } },
                        ["priority"] = new JsonObject { ["type"] = "STRING", ["enum"] = new JsonArray(Priorities.Select(p => (JsonNode)p!).ToArray()) },
                    },
                    ["required"] = new JsonArray("name", "title", "prompt", "depends_on", "priority"),
                    ["propertyOrdering"] = new JsonArray("name", "title", "prompt", "depends_on", "priority"),
                },
            },
        },
        ["required"] = new JsonArray("tasks"),
    };

    public const string SystemPrompt =
        "You plan software work for a swarm of autonomous coding agents. Each task runs in its own isolated " +
        "copy of the repository (a git worktree or VM) with a fresh agent that sees only that task's prompt.\n" +
        "Split the user's request into the smallest useful set of tasks (usually 2-10):\n" +
        "- name: short, unique, lowercase kebab-case (letters, digits, '-'), at most 40 characters.\n" +
        "- title: one line.\n" +
        "- prompt: complete, self-contained instructions, including acceptance criteria and which files or areas to touch; " +
        "do not refer to other tasks' prompts, since the agent cannot see them.\n" +
        "- depends_on: names of tasks in this plan whose results this task needs (their branches are merged first). " +
        "Only real dependencies; independent tasks run in parallel. No cycles.\n" +
        "- priority: Low, Normal, High or Critical (Critical only for blockers of most other tasks).\n" +
        "Answer only with JSON of the form {\"tasks\":[{\"name\",\"title\",\"prompt\",\"depends_on\",\"priority\"}]}.";

    public static string UserPrompt(string query, string? context)
    {
        var s = "Request:\n" + query.Trim();
        if (!string.IsNullOrWhiteSpace(context)) s += "\n\nContext:\n" + context.Trim();
        return s;
    }
}
