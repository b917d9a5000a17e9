using System.Globalization;
using System.Text;
using SwarmPS.Core.Agents;
using SwarmPS.Core.Tasks;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace SwarmPS.Core.Workflows;

/// <summary>
/// Reads a workflow file (YAML, schema in docs/workflows.md) into a <see cref="Workflow"/>: one
/// <see cref="TaskSpec"/> per task, in file order, with the <c>defaults:</c> applied. Everything is
/// checked before anything is returned, so a malformed file queues nothing: YAML syntax, types,
/// unknown keys, names (ticket rules, unique), prompts, dependencies (known, no cycle). Every failure
/// is a <see cref="SwarmException"/> with ErrorId <see cref="WorkflowErrorIds.WorkflowInvalid"/>,
/// kind InvalidArgument, and a message that starts with <c>file:line:column: </c> (1-based) pointing
/// at the offending node. Parsing has no side effects; the only I/O is reading <c>prompt_file</c>s.
/// </summary>
public static class WorkflowParser
{
    /// <summary>Task keys and their camelCase (and other) aliases, alias -> canonical snake_case key.</summary>
    private static readonly Dictionary<string, string> TaskKeys = new(StringComparer.Ordinal)
    {
        ["name"] = "name", ["title"] = "title", ["prompt"] = "prompt",
        ["prompt_file"] = "prompt_file", ["promptFile"] = "prompt_file",
        ["priority"] = "priority",
        ["depends_on"] = "depends_on", ["dependsOn"] = "depends_on",
        ["run_after_failure"] = "run_after_failure", ["runAfterFailure"] = "run_after_failure",
        ["ticket"] = "ticket", ["provider"] = "provider", ["base"] = "base",
        ["repository"] = "repository", ["repository_path"] = "repository", ["repositoryPath"] = "repository",
        ["profile"] = "profile", ["command"] = "command",
        ["timeout_seconds"] = "timeout_seconds", ["timeoutSeconds"] = "timeout_seconds",
        ["max_attempts"] = "max_attempts", ["maxAttempts"] = "max_attempts",
        ["retry_backoff_seconds"] = "retry_backoff_seconds", ["retryBackoffSeconds"] = "retry_backoff_seconds",
        ["cleanup"] = "cleanup",
    };

    /// <summary>The task keys that may also appear under <c>defaults:</c>.</summary>
    private static readonly HashSet<string> DefaultKeys = new(StringComparer.Ordinal)
    {
        "profile", "provider", "base", "repository", "ticket", "priority",
        "max_attempts", "retry_backoff_seconds", "timeout_seconds", "cleanup", "run_after_failure",
    };

    private static readonly Dictionary<string, string> TopKeys = new(StringComparer.Ordinal)
    {
        ["name"] = "name", ["defaults"] = "defaults", ["tasks"] = "tasks",
    };

    /// <summary>The profile whose argv is the task's own <c>command</c> (its prompt is optional).</summary>
    public const string CommandProfile = "command";

    /// <summary>Existing task ids start with this; a depends_on entry that names no task in the file but starts with it passes through.</summary>
    public const string TaskIdPrefix = "t-";

    public const int MaxAttempts = 100;

    /// <summary>Mappings and lists nest at most this deep (a workflow needs 4: file, tasks, task, command).</summary>
    public const int MaxNesting = 32;

    /// <summary>Reads and parses a workflow file. A missing or unreadable file is <see cref="WorkflowErrorIds.WorkflowNotFound"/>.</summary>
    public static Workflow ParseFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new SwarmException(WorkflowErrorIds.WorkflowNotFound, SwarmErrorKind.NotFound,
                $"Cannot read the workflow file '{Escape(path)}': {e.Message}", path, e);
        }
        return Parse(text, path);
    }

    /// <summary>
    /// Parses workflow YAML. <paramref name="sourcePath"/> names the file in error messages, and its
    /// folder is where relative <c>prompt_file</c> and <c>repository</c> paths are resolved.
    /// </summary>
    public static Workflow Parse(string yamlText, string sourcePath)
    {
        ArgumentNullException.ThrowIfNull(yamlText);
        ArgumentNullException.ThrowIfNull(sourcePath);
        return new Reader(sourcePath).Read(yamlText);
    }

    private sealed class Reader
    {
        private readonly string _source;
        private readonly string _baseDir;

        public Reader(string sourcePath)
        {
            _source = sourcePath;
            string dir;
            try
            {
                dir = Path.GetDirectoryName(Path.GetFullPath(sourcePath.Length == 0 ? "." : sourcePath)) ?? Directory.GetCurrentDirectory();
                if (sourcePath.Length == 0) dir = Directory.GetCurrentDirectory();
            }
            catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
            {
                dir = Directory.GetCurrentDirectory();
            }
            _baseDir = dir;
        }

        // ------------------------------------------------------------------ errors

        private SwarmException Error(int line, int column, string message) =>
            new(WorkflowErrorIds.WorkflowInvalid, SwarmErrorKind.InvalidArgument,
                $"{Escape(_source)}:{line}:{column}: {message}", _source);

        private SwarmException Error(YamlNode node, string message) => Error((int)node.Start.Line, (int)node.Start.Column, message);

        // ------------------------------------------------------------------ document

        public Workflow Read(string text)
        {
            var stream = new YamlStream();
            var scanner = new Scanner(new StringReader(text));
            try
            {
                // Pass 1, events only (YamlDotNet's parser is a state machine; its node loader recurses):
                // syntax errors, and a nesting limit so that '[[[[...' cannot overflow the stack in pass 2.
                var parser = new Parser(scanner);
                var depth = 0;
                var anchors = new HashSet<string>(StringComparer.Ordinal);
                while (parser.MoveNext())
                {
                    var ev = parser.Current!;
                    if (ev is MappingStart or SequenceStart && ++depth > MaxNesting)
                        throw Error((int)ev.Start.Line, (int)ev.Start.Column, $"nested more than {MaxNesting} levels deep; a workflow needs 4");
                    if (ev is MappingEnd or SequenceEnd) depth--;
                    if (ev is NodeEvent { Anchor.IsEmpty: false } node) anchors.Add(node.Anchor.Value);
                    if (ev is AnchorAlias alias && !anchors.Contains(alias.Value.Value))
                        throw Error((int)ev.Start.Line, (int)ev.Start.Column, $"YAML syntax error: the alias '*{Escape(alias.Value.Value)}' refers to no anchor '&{Escape(alias.Value.Value)}' defined before it");
                }
                stream.Load(new StringReader(text));
            }
            catch (YamlException e)
            {
                // YamlDotNet reports a few scanner errors (a tab used as indentation) at the start of the
                // enclosing collection, 1:1; the scanner's own position is the better one then.
                var mark = e.Start.Index == 0 && e.End.Index == 0 && scanner.CurrentPosition.Index > 0 ? scanner.CurrentPosition : e.Start;
                throw Error((int)Math.Max(1, mark.Line), (int)Math.Max(1, mark.Column), "YAML syntax error: " + Escape(e.Message));
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or OverflowException or IndexOutOfRangeException)
            {
                // YamlDotNet throws these for some malformed input (an unclosed flow sequence, ...).
                var mark = scanner.CurrentPosition;
                throw Error((int)Math.Max(1, mark.Line), (int)Math.Max(1, mark.Column), "YAML syntax error: the YAML reader stopped here (check brackets, quotes and indentation)");
            }

            if (stream.Documents.Count == 0)
                throw Error(1, 1, "the file is empty; a workflow needs a 'tasks:' list");
            if (stream.Documents.Count > 1)
                throw Error(stream.Documents[1].RootNode, "a workflow file holds one YAML document; found a second one ('---')");

            var root = stream.Documents[0].RootNode;
            CheckTag(root);
            if (root is not YamlMappingNode rootMap)
                throw Error(root, $"a workflow is a mapping with 'tasks:' (and optionally 'name:' and 'defaults:'); found {Kind(root)}");

            var top = Keys(rootMap, TopKeys, "the workflow", null);

            string? name = null;
            if (top.TryGetValue("name", out var n))
            {
                name = String(n.Value, "name");
                if (name is not null) CheckName(n.Value, name, "workflow name");
            }

            var defaults = top.TryGetValue("defaults", out var d) ? ReadDefaults(d.Value) : new WorkflowDefaults();

            if (!top.TryGetValue("tasks", out var t))
                throw Error(rootMap, "missing 'tasks:', the list of tasks");
            CheckTag(t.Value);
            if (t.Value is not YamlSequenceNode taskSeq)
                throw Error(t.Value, $"'tasks' must be a list of tasks; found {Kind(t.Value)}");
            if (taskSeq.Children.Count == 0)
                throw Error(t.Value, "'tasks' is empty; a workflow needs at least one task");

            var parsed = new List<ParsedTask>(taskSeq.Children.Count);
            var byName = new Dictionary<string, ParsedTask>(StringComparer.OrdinalIgnoreCase);
            foreach (var item in taskSeq.Children)
            {
                var task = ReadTask(item, defaults);
                if (byName.TryGetValue(task.Spec.Name!, out var first))
                    throw Error(task.NameNode, $"duplicate task name '{Escape(task.Spec.Name)}'; the first one is at {first.NameNode.Start.Line}:{first.NameNode.Start.Column} (names are unique regardless of case)");
                byName.Add(task.Spec.Name!, task);
                parsed.Add(task);
            }

            ResolveDependencies(parsed, byName);
            CheckCycles(parsed);

            return new Workflow { Name = name, SourcePath = _source, Defaults = defaults, Tasks = parsed.Select(p => p.Spec).ToList() };
        }

        // ------------------------------------------------------------------ defaults and tasks

        private WorkflowDefaults ReadDefaults(YamlNode node)
        {
            CheckTag(node);
            if (IsNull(node)) return new WorkflowDefaults();
            if (node is not YamlMappingNode map)
                throw Error(node, $"'defaults' must be a mapping of task fields; found {Kind(node)}");
            var k = Keys(map, TaskKeys, "defaults", DefaultKeys);
            return new WorkflowDefaults
            {
                Profile = Opt(k, "profile", v => Profile(v)),
                Provider = Opt(k, "provider", v => Provider(v)),
                Base = Opt(k, "base", v => NonEmpty(v, "base")),
                RepositoryPath = Opt(k, "repository", v => Repository(v)),
                Ticket = Opt(k, "ticket", v => Ticket(v)),
                Priority = OptStruct(k, "priority", v => Enum<TaskPriority>(v, "priority")),
                MaxAttempts = OptStruct(k, "max_attempts", v => Int(v, "max_attempts", 1, MaxAttempts)),
                RetryBackoffSeconds = OptStruct(k, "retry_backoff_seconds", v => Int(v, "retry_backoff_seconds", 0, int.MaxValue)),
                TimeoutSeconds = OptStruct(k, "timeout_seconds", v => Int(v, "timeout_seconds", 1, int.MaxValue)),
                Cleanup = OptStruct(k, "cleanup", v => Enum<EnvironmentCleanup>(v, "cleanup")),
                RunAfterFailure = OptStruct(k, "run_after_failure", v => Bool(v, "run_after_failure")),
            };
        }

        private sealed record ParsedTask(TaskSpec Spec, YamlNode Node, YamlNode NameNode, List<YamlNode> DependencyNodes)
        {
            public List<int> Edges { get; } = new();
        }

        private ParsedTask ReadTask(YamlNode node, WorkflowDefaults d)
        {
            CheckTag(node);
            if (node is not YamlMappingNode map)
                throw Error(node, $"each task is a mapping with at least 'name:' and 'prompt:'; found {Kind(node)}");
            var k = Keys(map, TaskKeys, "a task", null);

            if (!k.TryGetValue("name", out var nameEntry))
                throw Error(map, "this task has no 'name:'; every task needs a name (dependencies refer to it)");
            var name = String(nameEntry.Value, "name") ?? throw Error(nameEntry.Value, "the task name is empty");
            CheckName(nameEntry.Value, name, "task name");
            string Where() => $"task '{name}'";

            var title = name;
            if (k.TryGetValue("title", out var titleEntry))
            {
                title = String(titleEntry.Value, "title") ?? name;
                if (string.IsNullOrWhiteSpace(title))
                    throw Error(titleEntry.Value, $"{Where()}: 'title' is empty");
                if (title.Any(char.IsControl))
                    throw Error(titleEntry.Value, $"{Where()}: 'title' must be one line of text without control characters");
            }

            var profile = Opt(k, "profile", v => Profile(v)) ?? d.Profile ?? "claude";
            var isCommandProfile = string.Equals(profile, CommandProfile, StringComparison.OrdinalIgnoreCase);

            List<string>? command = null;
            if (k.TryGetValue("command", out var cmdEntry))
            {
                command = Command(cmdEntry.Value);
                if (!isCommandProfile && BuiltInProfiles.All.Any(p => string.Equals(p.Name, profile, StringComparison.OrdinalIgnoreCase)))
                    throw Error(cmdEntry.Key, $"{Where()}: 'command' is only used by the '{CommandProfile}' profile, and this task runs the '{profile}' profile; add 'profile: {CommandProfile}'");
            }
            if (isCommandProfile && command is null)
                throw Error(map, $"{Where()}: the '{CommandProfile}' profile needs 'command:', an argument list such as [bash, -c, 'make test']");

            string? prompt = null;
            k.TryGetValue("prompt", out var promptEntry);
            k.TryGetValue("prompt_file", out var promptFileEntry);
            if (promptEntry is not null && promptFileEntry is not null)
                throw Error(promptFileEntry.Key, $"{Where()}: give either 'prompt' or 'prompt_file', not both");
            if (promptEntry is not null)
            {
                prompt = String(promptEntry.Value, "prompt");
                if (string.IsNullOrWhiteSpace(prompt))
                    throw Error(promptEntry.Value, $"{Where()}: 'prompt' is empty");
            }
            else if (promptFileEntry is not null)
            {
                prompt = PromptFile(promptFileEntry.Value, Where());
            }
            else if (!isCommandProfile)
            {
                throw Error(map, $"{Where()}: needs 'prompt:' (the text for the agent) or 'prompt_file:' (a file, relative to the workflow file)");
            }

            // An existing environment (ticket) excludes the fields that describe a new one.
            string? ticket = k.TryGetValue("ticket", out var ticketEntry) ? Ticket(ticketEntry.Value) : d.Ticket;
            string? provider = null, @base = null, repository = null;
            if (ticket is not null)
            {
                foreach (var key in new[] { "provider", "base", "repository" })
                    if (k.TryGetValue(key, out var e) && !IsNull(e.Value))
                        throw Error(e.Key, $"{Where()}: '{key}' describes a new environment, but the task runs in the existing environment '{ticket}' (ticket); drop one of them");
            }
            else
            {
                provider = k.TryGetValue("provider", out var p) ? Provider(p.Value) : d.Provider;
                @base = k.TryGetValue("base", out var b) ? NonEmpty(b.Value, "base") : d.Base;
                repository = k.TryGetValue("repository", out var r) ? Repository(r.Value) : d.RepositoryPath;
            }

            var dependsOn = new List<string>();
            var dependencyNodes = new List<YamlNode>();
            if (k.TryGetValue("depends_on", out var depEntry))
            {
                foreach (var (value, valueNode) in StringList(depEntry.Value, "depends_on", allowScalar: true))
                {
                    var problem = Names.Problem(value);
                    if (problem is not null)
                        throw Error(valueNode, $"{Where()}: depends_on entry '{Escape(value)}' is not a task name: {problem}");
                    var dup = dependsOn.FindIndex(x => string.Equals(x, value, StringComparison.OrdinalIgnoreCase));
                    if (dup >= 0)
                        throw Error(valueNode, $"{Where()}: depends_on lists '{Escape(value)}' twice");
                    dependsOn.Add(value);
                    dependencyNodes.Add(valueNode);
                }
            }

            var spec = new TaskSpec
            {
                Name = name,
                Title = title,
                Prompt = prompt ?? "",
                Priority = OptStruct(k, "priority", v => Enum<TaskPriority>(v, "priority")) ?? d.Priority ?? TaskPriority.Normal,
                DependsOn = dependsOn,
                RunAfterFailure = OptStruct(k, "run_after_failure", v => Bool(v, "run_after_failure")) ?? d.RunAfterFailure ?? false,
                Ticket = ticket,
                Provider = provider,
                Base = @base,
                RepositoryPath = repository,
                Profile = profile,
                Command = command,
                TimeoutSeconds = k.TryGetValue("timeout_seconds", out var to) ? NullableInt(to.Value, "timeout_seconds", 1, int.MaxValue) : d.TimeoutSeconds,
                MaxAttempts = OptStruct(k, "max_attempts", v => Int(v, "max_attempts", 1, MaxAttempts)) ?? d.MaxAttempts ?? 1,
                RetryBackoffSeconds = OptStruct(k, "retry_backoff_seconds", v => Int(v, "retry_backoff_seconds", 0, int.MaxValue)) ?? d.RetryBackoffSeconds ?? 30,
                Cleanup = OptStruct(k, "cleanup", v => Enum<EnvironmentCleanup>(v, "cleanup")) ?? d.Cleanup ?? EnvironmentCleanup.KeepOnFailure,
            };
            return new ParsedTask(spec, map, nameEntry.Value, dependencyNodes);
        }

        // ------------------------------------------------------------------ dependencies

        private void ResolveDependencies(List<ParsedTask> tasks, Dictionary<string, ParsedTask> byName)
        {
            var index = new Dictionary<ParsedTask, int>(ReferenceEqualityComparer.Instance);
            for (var i = 0; i < tasks.Count; i++) index[tasks[i]] = i;
            foreach (var t in tasks)
            {
                var deps = t.Spec.DependsOn;
                for (var j = 0; j < deps.Count; j++)
                {
                    if (byName.TryGetValue(deps[j], out var target))
                    {
                        deps[j] = target.Spec.Name!; // the spelling the task was declared with
                        t.Edges.Add(index[target]);
                        t.Edges.Add(j);
                    }
                    else if (!deps[j].StartsWith(TaskIdPrefix, StringComparison.Ordinal))
                    {
                        var names = tasks.Select(x => x.Spec.Name!).ToList();
                        var hint = Suggest(deps[j], names);
                        throw Error(t.DependencyNodes[j],
                            $"task '{t.Spec.Name}': depends_on names '{Escape(deps[j])}', which is not a task in this file" +
                            (hint is null ? "" : $"; did you mean '{hint}'?") +
                            $" (tasks: {Shorten(names)}; an existing task is named by its id, '{TaskIdPrefix}...')");
                    }
                }
            }
        }

        /// <summary>Depth-first search over in-file edges (iterative: a 10,000-task chain must not overflow the stack).</summary>
        private void CheckCycles(List<ParsedTask> tasks)
        {
            var state = new byte[tasks.Count]; // 0 new, 1 on the path, 2 done
            var path = new List<int>();
            var next = new List<int>();
            for (var start = 0; start < tasks.Count; start++)
            {
                if (state[start] != 0) continue;
                path.Add(start); next.Add(0); state[start] = 1;
                while (path.Count > 0)
                {
                    var top = path.Count - 1;
                    var node = path[top];
                    var edges = tasks[node].Edges; // pairs: target index, position in depends_on
                    if (next[top] >= edges.Count)
                    {
                        state[node] = 2;
                        path.RemoveAt(top); next.RemoveAt(top);
                        continue;
                    }
                    var target = edges[next[top]];
                    var position = edges[next[top] + 1];
                    next[top] += 2;
                    if (state[target] == 1)
                    {
                        var from = path.IndexOf(target);
                        var cycle = path.Skip(from).Append(target).Select(i => tasks[i].Spec.Name);
                        throw Error(tasks[node].DependencyNodes[position],
                            $"dependency cycle: {string.Join(" -> ", cycle)} (each task depends on the next, so none can start)");
                    }
                    if (state[target] == 0)
                    {
                        state[target] = 1;
                        path.Add(target); next.Add(0);
                    }
                }
            }
        }

        // ------------------------------------------------------------------ keys

        private sealed record Entry(YamlScalarNode Key, YamlNode Value);

        /// <summary>The mapping's entries by canonical key; unknown, repeated or misplaced keys are errors.</summary>
        private Dictionary<string, Entry> Keys(YamlMappingNode map, Dictionary<string, string> known, string where, HashSet<string>? allowed)
        {
            var result = new Dictionary<string, Entry>(StringComparer.Ordinal);
            foreach (var (keyNode, valueNode) in map.Children)
            {
                CheckTag(keyNode);
                if (keyNode is not YamlScalarNode key || key.Value is null)
                    throw Error(keyNode, $"keys in {where} are plain words; found {Kind(keyNode)}");
                var raw = key.Value;
                if (!known.TryGetValue(raw, out var canonical))
                {
                    var hint = Suggest(raw, known.Keys.Where(x => allowed is null || allowed.Contains(known[x])));
                    var list = known.Where(kv => kv.Key == kv.Value && (allowed is null || allowed.Contains(kv.Value))).Select(kv => kv.Key);
                    throw Error(key, $"unknown key '{Escape(raw)}' in {where}" + (hint is null ? "" : $"; did you mean '{hint}'?") + $" (known keys: {string.Join(", ", list)})");
                }
                if (allowed is not null && !allowed.Contains(canonical))
                    throw Error(key, $"'{Escape(raw)}' cannot be set in {where}; set it on each task (defaults take: {string.Join(", ", allowed.Order(StringComparer.Ordinal))})");
                if (result.TryGetValue(canonical, out var earlier))
                    throw Error(key, $"'{Escape(raw)}' repeats '{earlier.Key.Value}' (line {earlier.Key.Start.Line}) in {where}");
                result.Add(canonical, new Entry(key, valueNode));
            }
            return result;
        }

        private T? Opt<T>(Dictionary<string, Entry> k, string key, Func<YamlNode, T?> read) where T : class =>
            k.TryGetValue(key, out var e) ? read(e.Value) : null;

        private T? OptStruct<T>(Dictionary<string, Entry> k, string key, Func<YamlNode, T> read) where T : struct =>
            k.TryGetValue(key, out var e) ? read(e.Value) : null;

        // ------------------------------------------------------------------ values

        private void CheckTag(YamlNode node)
        {
            if (!node.Tag.IsEmpty && !node.Tag.IsNonSpecific)
                throw Error(node, $"YAML tags such as '{Escape(node.Tag.Value)}' are not supported in a workflow file; quote the value instead");
        }

        private static bool IsNull(YamlNode node) =>
            node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: null or "" or "~" or "null" or "Null" or "NULL" };

        /// <summary>A scalar's text, or null for a plain null (<c>~</c>, <c>null</c>, nothing).</summary>
        private string? String(YamlNode node, string key)
        {
            CheckTag(node);
            if (node is not YamlScalarNode s)
                throw Error(node, $"'{key}' must be text; found {Kind(node)}");
            return IsNull(node) ? null : s.Value ?? "";
        }

        private string? NonEmpty(YamlNode node, string key)
        {
            var v = String(node, key);
            if (v is not null && string.IsNullOrWhiteSpace(v))
                throw Error(node, $"'{key}' is empty");
            if (v is not null && v.Any(char.IsControl))
                throw Error(node, $"'{key}' must not contain control characters or line breaks");
            return v;
        }

        private void CheckName(YamlNode node, string value, string what)
        {
            var problem = Names.Problem(value);
            if (problem is not null)
                throw Error(node, $"{what} '{Escape(value)}' is not valid: {problem}. A name is 1-{Names.MaxLength} characters matching [A-Za-z0-9][A-Za-z0-9._-]*");
        }

        private string? Ticket(YamlNode node)
        {
            var v = String(node, "ticket");
            if (v is not null) CheckName(node, v, "ticket");
            return v;
        }

        private string? Profile(YamlNode node)
        {
            var v = String(node, "profile") ?? throw Error(node, "'profile' is empty");
            CheckName(node, v, "profile");
            return v;
        }

        private string? Provider(YamlNode node)
        {
            var v = String(node, "provider");
            if (v is null) return null;
            if (v.Length is 0 or > 32 || !v.All(c => c is >= 'A' and <= 'Z' or >= 'a' and <= 'z' or >= '0' and <= '9' or '-'))
                throw Error(node, $"provider '{Escape(v)}' is not a provider name (letters, digits and '-', up to 32)");
            return v;
        }

        private string? Repository(YamlNode node)
        {
            var v = NonEmpty(node, "repository");
            if (v is null) return null;
            try
            {
                return Path.GetFullPath(Path.IsPathRooted(v) ? v : Path.Combine(_baseDir, v));
            }
            catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
            {
                throw Error(node, $"repository '{Escape(v)}' is not a valid path: {e.Message}");
            }
        }

        private string PromptFile(YamlNode node, string where)
        {
            var v = NonEmpty(node, "prompt_file") ?? throw Error(node, $"{where}: 'prompt_file' is empty");
            string full;
            try
            {
                full = Path.GetFullPath(Path.IsPathRooted(v) ? v : Path.Combine(_baseDir, v));
            }
            catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
            {
                throw Error(node, $"{where}: prompt_file '{Escape(v)}' is not a valid path: {e.Message}");
            }
            string text;
            try
            {
                text = File.ReadAllText(full, Encoding.UTF8);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw Error(node, $"{where}: cannot read prompt_file '{Escape(v)}' ({Escape(full)}): {Escape(e.Message)}");
            }
            if (string.IsNullOrWhiteSpace(text))
                throw Error(node, $"{where}: prompt_file '{Escape(v)}' is empty");
            return text;
        }

        private string Plain(YamlNode node, string key, string expected)
        {
            CheckTag(node);
            if (node is not YamlScalarNode s)
                throw Error(node, $"'{key}' must be {expected}; found {Kind(node)}");
            if (s.Style is not (ScalarStyle.Plain or ScalarStyle.Any))
                throw Error(node, $"'{key}' must be {expected}, written without quotes; found the text '{Escape(s.Value)}'");
            return s.Value ?? "";
        }

        private int Int(YamlNode node, string key, int min, int max)
        {
            var v = Plain(node, key, "a whole number");
            if (!int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                throw Error(node, $"'{key}' must be a whole number; found '{Escape(v)}'");
            if (n < min || n > max)
                throw Error(node, max == int.MaxValue ? $"'{key}' must be at least {min}; found {n}" : $"'{key}' must be between {min} and {max}; found {n}");
            return n;
        }

        private int? NullableInt(YamlNode node, string key, int min, int max) => IsNull(node) ? null : Int(node, key, min, max);

        private bool Bool(YamlNode node, string key)
        {
            var v = Plain(node, key, "true or false");
            if (string.Equals(v, "true", StringComparison.OrdinalIgnoreCase)) return true;
            if (string.Equals(v, "false", StringComparison.OrdinalIgnoreCase)) return false;
            throw Error(node, $"'{key}' must be true or false; found '{Escape(v)}'");
        }

        private T Enum<T>(YamlNode node, string key) where T : struct, Enum
        {
            var v = String(node, key);
            var names = System.Enum.GetNames<T>();
            var match = v is null ? null : names.FirstOrDefault(x => string.Equals(x, v.Trim(), StringComparison.OrdinalIgnoreCase));
            if (match is null)
                throw Error(node, $"'{key}' must be one of {string.Join(", ", names)}; found '{Escape(v)}'");
            return System.Enum.Parse<T>(match);
        }

        private List<string> Command(YamlNode node)
        {
            CheckTag(node);
            if (node is YamlScalarNode s && !IsNull(node))
                throw Error(node, $"'command' is an argument list such as [bash, -c, 'make test'], never a shell string; found the text '{Escape(s.Value)}'");
            var argv = StringList(node, "command", allowScalar: false).Select(x => x.Value).ToList();
            if (argv.Count == 0 || argv[0].Length == 0)
                throw Error(node, "'command' needs at least the program to run as its first item");
            return argv;
        }

        private List<(string Value, YamlNode Node)> StringList(YamlNode node, string key, bool allowScalar)
        {
            CheckTag(node);
            if (IsNull(node)) return new();
            if (allowScalar && node is YamlScalarNode)
                return new() { (String(node, key)!, node) };
            if (node is not YamlSequenceNode seq)
                throw Error(node, $"'{key}' must be a list such as [a, b]; found {Kind(node)}");
            var list = new List<(string, YamlNode)>(seq.Children.Count);
            foreach (var item in seq.Children)
            {
                CheckTag(item);
                if (item is not YamlScalarNode || IsNull(item))
                    throw Error(item, $"each item of '{key}' must be text; found {Kind(item)}");
                list.Add((((YamlScalarNode)item).Value ?? "", item));
            }
            return list;
        }

        private static string Kind(YamlNode node) => node switch
        {
            YamlMappingNode => "a mapping",
            YamlSequenceNode => "a list",
            _ when IsNull(node) => "nothing (null)",
            YamlScalarNode s => $"the text '{Escape(s.Value)}'",
            _ => "an unsupported node",
        };
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>Keeps user text on one line in a message: control characters become \uXXXX, long text is cut.</summary>
    private static string Escape(string? value)
    {
        if (value is null) return "";
        var s = value.Length > 200 ? value[..200] + "..." : value;
        var sb = new StringBuilder(s.Length);
        foreach (var c in s) sb.Append(char.IsControl(c) ? "\\u" + ((int)c).ToString("X4", CultureInfo.InvariantCulture) : c.ToString());
        return sb.ToString();
    }

    private static string Shorten(IReadOnlyList<string> names) =>
        names.Count <= 10 ? string.Join(", ", names) : string.Join(", ", names.Take(10)) + $", ... ({names.Count} in all)";

    /// <summary>The closest candidate (case-insensitive edit distance at most 2, or equal ignoring case and '_'), or null.</summary>
    private static string? Suggest(string value, IEnumerable<string> candidates)
    {
        static string Squash(string s) => s.Replace("_", "", StringComparison.Ordinal).Replace("-", "", StringComparison.Ordinal).ToLowerInvariant();
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var c in candidates)
        {
            var d = Squash(c) == Squash(value) ? 0 : Distance(c.ToLowerInvariant(), value.ToLowerInvariant());
            if (d < bestDistance) { best = c; bestDistance = d; }
        }
        return bestDistance <= 2 && value.Length > 2 ? best : null;
    }

    private static int Distance(string a, string b)
    {
        if (Math.Abs(a.Length - b.Length) > 2) return int.MaxValue;
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) prev[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (var j = 1; j <= b.Length; j++)
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }
}
