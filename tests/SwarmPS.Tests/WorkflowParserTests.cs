using System.Runtime.CompilerServices;
using System.Text;
using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Tasks;
using SwarmPS.Core.Workflows;
using Xunit;

namespace SwarmPS.Tests;

public sealed class WorkflowParserTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("swarm-wf-").FullName;
    private string Source => Path.Combine(_dir, "wf.yaml");

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private Workflow Parse(string yaml) => WorkflowParser.Parse(yaml, Source);

    /// <summary>Parses, expects WorkflowInvalid at line:column, and returns the message after the position.</summary>
    private string Fails(string yaml, int line, int column)
    {
        var act = () => Parse(yaml);
        var ex = act.Should().Throw<SwarmException>().Which;
        ex.ErrorId.Should().Be(WorkflowErrorIds.WorkflowInvalid);
        ex.Kind.Should().Be(SwarmErrorKind.InvalidArgument);
        ex.Target.Should().Be(Source);
        ex.Message.Should().StartWith($"{Source}:{line}:{column}: ");
        ex.Message.Should().NotContain("\n").And.NotContain("\r");
        return ex.Message[$"{Source}:{line}:{column}: ".Length..];
    }

    // ------------------------------------------------------------------ the documented shape

    private const string BriefExample = """
        name: invoices            # optional
        defaults: { profile: claude, provider: worktree, base: main, priority: Normal, max_attempts: 2, retry_backoff_seconds: 30, timeout_seconds: 3600, cleanup: KeepOnFailure, repository: . }
        tasks:
          - name: schema
            title: optional, defaults to name
            prompt: Add the invoices table      # or prompt_file: relative to the workflow file
            priority: High
          - name: api
            prompt: Expose invoices over REST
            depends_on: [schema]
          - name: smoke
            profile: command
            command: [bash, -c, 'make test']
            depends_on: [api]
            run_after_failure: false
            ticket: EXISTING-1      # run in an existing environment instead of a new one
        """;

    [Fact]
    public void The_documented_example_parses_with_defaults_applied()
    {
        var wf = Parse(BriefExample);
        wf.Name.Should().Be("invoices");
        wf.SourcePath.Should().Be(Source);
        wf.Defaults.Profile.Should().Be("claude");
        wf.Defaults.RepositoryPath.Should().Be(_dir, "a relative repository is resolved against the workflow file's folder");
        wf.Tasks.Select(t => t.Name).Should().Equal("schema", "api", "smoke");

        var schema = wf.Tasks[0];
        schema.Title.Should().Be("optional, defaults to name");
        schema.Prompt.Should().Be("Add the invoices table");
        schema.Priority.Should().Be(TaskPriority.High);
        schema.Profile.Should().Be("claude");
        schema.Provider.Should().Be("worktree");
        schema.Base.Should().Be("main");
        schema.RepositoryPath.Should().Be(_dir);
        schema.Ticket.Should().BeNull();
        schema.MaxAttempts.Should().Be(2);
        schema.RetryBackoffSeconds.Should().Be(30);
        schema.TimeoutSeconds.Should().Be(3600);
        schema.Cleanup.Should().Be(EnvironmentCleanup.KeepOnFailure);
        schema.DependsOn.Should().BeEmpty();
        schema.Command.Should().BeNull();

        var api = wf.Tasks[1];
        api.Title.Should().Be("api", "the title defaults to the name");
        api.Priority.Should().Be(TaskPriority.Normal);
        api.DependsOn.Should().Equal("schema");

        var smoke = wf.Tasks[2];
        smoke.Profile.Should().Be("command");
        smoke.Command.Should().Equal("bash", "-c", "make test");
        smoke.Prompt.Should().Be("", "the command profile needs no prompt");
        smoke.DependsOn.Should().Equal("api");
        smoke.RunAfterFailure.Should().BeFalse();
        smoke.Ticket.Should().Be("EXISTING-1");
        smoke.Provider.Should().BeNull("an existing environment takes no provider, base or repository from the defaults");
        smoke.Base.Should().BeNull();
        smoke.RepositoryPath.Should().BeNull();
        smoke.MaxAttempts.Should().Be(2);
    }

    [Fact]
    public void The_issue_example_parses()
    {
        var wf = Parse("""
            defaults: { profile: claude, provider: worktree }
            tasks:
              - name: schema
                prompt: Add the invoices table
                priority: High
              - name: api
                prompt: Expose invoices over REST
                depends_on: [schema]
              - name: smoke
                profile: command
                command: [bash, -c, 'make test']
                depends_on: [api]
            """);
        wf.Name.Should().BeNull();
        wf.Tasks.Should().HaveCount(3);
        wf.Tasks.Select(t => t.Provider).Should().Equal("worktree", "worktree", "worktree");
        wf.Tasks.Select(t => t.Profile).Should().Equal("claude", "claude", "command");
    }

    [Fact]
    public void Without_defaults_the_task_spec_defaults_apply()
    {
        var t = Parse("tasks:\n  - name: a\n    prompt: p\n").Tasks.Single();
        var expected = new TaskSpec { Title = "x", Prompt = "x" };
        t.Profile.Should().Be(expected.Profile);
        t.Priority.Should().Be(expected.Priority);
        t.MaxAttempts.Should().Be(expected.MaxAttempts);
        t.RetryBackoffSeconds.Should().Be(expected.RetryBackoffSeconds);
        t.Cleanup.Should().Be(expected.Cleanup);
        t.TimeoutSeconds.Should().BeNull();
        t.Provider.Should().BeNull();
        t.Base.Should().BeNull();
        t.RepositoryPath.Should().BeNull();
        t.RunAfterFailure.Should().BeFalse();
    }

    [Fact]
    public void Tasks_override_defaults_and_an_explicit_null_clears_one()
    {
        var wf = Parse("""
            defaults:
              profile: codex
              provider: worktree
              base: main
              priority: low
              max_attempts: 3
              retry_backoff_seconds: 5
              timeout_seconds: 60
              cleanup: remove
              run_after_failure: true
              repository: /srv/repo
            tasks:
              - name: a
                prompt: p
              - name: b
                prompt: p
                profile: aider
                provider: other-provider
                base: ~
                priority: CRITICAL
                max_attempts: 1
                retry_backoff_seconds: 0
                timeout_seconds: null
                cleanup: keep
                run_after_failure: False
                repository: sub/dir
            """);
        var a = wf.Tasks[0];
        (a.Profile, a.Provider, a.Base, a.Priority, a.MaxAttempts, a.RetryBackoffSeconds, a.TimeoutSeconds, a.Cleanup, a.RunAfterFailure, a.RepositoryPath)
            .Should().Be(("codex", "worktree", "main", TaskPriority.Low, 3, 5, (int?)60, EnvironmentCleanup.Remove, true, Path.GetFullPath("/srv/repo")));
        var b = wf.Tasks[1];
        (b.Profile, b.Provider, b.Base, b.Priority, b.MaxAttempts, b.RetryBackoffSeconds, b.TimeoutSeconds, b.Cleanup, b.RunAfterFailure, b.RepositoryPath)
            .Should().Be(("aider", "other-provider", (string?)null, TaskPriority.Critical, 1, 0, (int?)null, EnvironmentCleanup.Keep, false, Path.Combine(_dir, "sub", "dir")));
    }

    [Fact]
    public void CamelCase_aliases_are_accepted()
    {
        File.WriteAllText(Path.Combine(_dir, "p.md"), "from a file");
        var t = Parse("""
            defaults: { maxAttempts: 4, retryBackoffSeconds: 7, timeoutSeconds: 9, runAfterFailure: true, repositoryPath: /r }
            tasks:
              - name: a
                prompt: p
              - name: b
                promptFile: p.md
                dependsOn: a
            """).Tasks;
        t[0].MaxAttempts.Should().Be(4);
        t[0].RetryBackoffSeconds.Should().Be(7);
        t[0].TimeoutSeconds.Should().Be(9);
        t[0].RunAfterFailure.Should().BeTrue();
        t[0].RepositoryPath.Should().Be(Path.GetFullPath("/r"));
        t[1].Prompt.Should().Be("from a file");
        t[1].DependsOn.Should().Equal(new[] { "a" }, "a single name is a one-item list");
    }

    [Fact]
    public void Prompt_file_is_read_relative_to_the_workflow_file()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "prompts"));
        const string text = "Line one with \"quotes\" and $(id)\n\n  indented\tand tabbed\n";
        File.WriteAllText(Path.Combine(_dir, "prompts", "ui.md"), text, new UTF8Encoding(false));
        var t = Parse("tasks:\n  - name: ui\n    prompt_file: prompts/ui.md\n").Tasks.Single();
        t.Prompt.Should().Be(text);
    }

    [Fact]
    public void Dependencies_are_matched_regardless_of_case_and_ids_of_existing_tasks_pass_through()
    {
        var t = Parse("""
            tasks:
              - name: Schema
                prompt: p
              - name: api
                prompt: p
                depends_on: [schema, t-000042, t-20240101-abc]
            """).Tasks;
        t[1].DependsOn.Should().Equal("Schema", "t-000042", "t-20240101-abc");
    }

    [Fact]
    public void Parsing_has_no_side_effects_on_the_folder()
    {
        File.WriteAllText(Path.Combine(_dir, "p.md"), "x");
        var before = Directory.GetFileSystemEntries(_dir, "*", SearchOption.AllDirectories).Order().ToList();
        Parse("defaults: { repository: repo }\ntasks:\n  - name: a\n    prompt_file: p.md\n");
        Directory.GetFileSystemEntries(_dir, "*", SearchOption.AllDirectories).Order().Should().Equal(before);
    }

    // ------------------------------------------------------------------ errors: file:line:column

    [Fact]
    public void Yaml_syntax_errors_point_at_the_position_yamldotnet_reports()
    {
        // A value in flow style left unclosed: the scanner notices at the start of the next line.
        Fails("tasks:\n  - name: a\n    prompt: [x\n  - name: b\n", 4, 3).Should().StartWith("YAML syntax error: ");
        // "key: value: more" in block style.
        Fails("tasks:\n  - name: a\n    prompt: fix: the bug\n", 3, 16).Should().Contain("YAML syntax error");
        // Tabs may not indent.
        Fails("tasks:\n\t- name: a\n", 2, 1).Should().Contain("YAML syntax error");
        // Unclosed quote; an alias to no anchor.
        Fails("tasks:\n  - name: a\n    prompt: \"open\n", 3, 13).Should().StartWith("YAML syntax error: ");
        Fails("tasks:\n  - name: a\n    prompt: *nothing\n", 3, 13).Should().Be("YAML syntax error: the alias '*nothing' refers to no anchor '&nothing' defined before it");
        // Deep nesting is refused before the (recursive) node loader sees it.
        Fails("tasks: " + new string('[', 100_000), 1, 8 + WorkflowParser.MaxNesting - 1).Should().Be($"nested more than {WorkflowParser.MaxNesting} levels deep; a workflow needs 4");
    }

    [Fact]
    public void A_repeated_yaml_key_points_at_the_repetition()
    {
        Fails("tasks:\n  - name: a\n    prompt: p\n    prompt: q\n", 4, 5).Should().Contain("Duplicate key");
        Fails("tasks:\n  - name: a\n    depends_on: []\n    dependsOn: []\n    prompt: p\n", 4, 5).Should().Be("'dependsOn' repeats 'depends_on' (line 3) in a task");
    }

    [Fact]
    public void Unknown_keys_are_errors_with_a_suggestion()
    {
        Fails("tasks:\n  - name: a\n    prompt: p\n    dependson: [b]\n", 4, 5)
            .Should().StartWith("unknown key 'dependson' in a task; did you mean 'depends_on'?").And.Contain("known keys: name, title, prompt, prompt_file");
        Fails("tasks:\n  - name: a\n    prompt: p\n    priorty: High\n", 4, 5).Should().Contain("did you mean 'priority'?");
        Fails("task:\n  - name: a\n", 1, 1).Should().StartWith("unknown key 'task' in the workflow; did you mean 'tasks'?");
        Fails("defaults:\n  profle: claude\ntasks: []\n", 2, 3).Should().StartWith("unknown key 'profle' in defaults; did you mean 'profile'?");
        Fails("tasks:\n  - name: a\n    prompt: p\n    whatever: 1\n", 4, 5).Should().StartWith("unknown key 'whatever' in a task (known keys:");
    }

    [Fact]
    public void Task_only_keys_are_refused_in_defaults()
    {
        Fails("defaults:\n  prompt: shared\ntasks:\n  - name: a\n", 2, 3).Should().StartWith("'prompt' cannot be set in defaults; set it on each task");
        Fails("defaults: { depends_on: [a] }\ntasks:\n  - name: a\n", 1, 13).Should().StartWith("'depends_on' cannot be set in defaults");
    }

    [Theory]
    [InlineData("    max_attempts: two\n", 4, 19, "'max_attempts' must be a whole number; found 'two'")]
    [InlineData("    max_attempts: \"3\"\n", 4, 19, "'max_attempts' must be a whole number, written without quotes; found the text '3'")]
    [InlineData("    max_attempts: 0\n", 4, 19, "'max_attempts' must be between 1 and 100; found 0")]
    [InlineData("    max_attempts: 99999999999\n", 4, 19, "'max_attempts' must be a whole number; found '99999999999'")]
    [InlineData("    retry_backoff_seconds: -1\n", 4, 28, "'retry_backoff_seconds' must be a whole number; found '-1'")]
    [InlineData("    timeout_seconds: 0\n", 4, 22, "'timeout_seconds' must be at least 1; found 0")]
    [InlineData("    timeout_seconds: [1]\n", 4, 22, "'timeout_seconds' must be a whole number; found a list")]
    [InlineData("    run_after_failure: yes\n", 4, 24, "'run_after_failure' must be true or false; found 'yes'")]
    [InlineData("    priority: Urgent\n", 4, 15, "'priority' must be one of Low, Normal, High, Critical; found 'Urgent'")]
    [InlineData("    priority: 2\n", 4, 15, "'priority' must be one of Low, Normal, High, Critical; found '2'")]
    [InlineData("    cleanup: Always\n", 4, 14, "'cleanup' must be one of KeepOnFailure, Remove, Keep; found 'Always'")]
    [InlineData("    depends_on: { a: 1 }\n", 4, 17, "'depends_on' must be a list such as [a, b]; found a mapping")]
    [InlineData("    depends_on: [[a]]\n", 4, 18, "each item of 'depends_on' must be text; found a list")]
    [InlineData("    title: [a]\n", 4, 12, "'title' must be text; found a list")]
    [InlineData("    title: \"two\\nlines\"\n", 4, 12, "task 'a': 'title' must be one line of text without control characters")]
    [InlineData("    provider: 'bad provider'\n", 4, 15, "provider 'bad provider' is not a provider name (letters, digits and '-', up to 32)")]
    [InlineData("    ticket: ../etc\n", 4, 13, "ticket '../etc' is not valid: it contains '/' (U+002F)")]
    [InlineData("    profile: 'a b'\n", 4, 14, "profile 'a b' is not valid: it contains ' ' (U+0020)")]
    [InlineData("    base: !!str main\n", 4, 11, "YAML tags such as 'tag:yaml.org,2002:str' are not supported")]
    [InlineData("    command: [bash]\n", 4, 5, "task 'a': 'command' is only used by the 'command' profile, and this task runs the 'claude' profile; add 'profile: command'")]
    [InlineData("    ticket: T-1\n    provider: worktree\n", 5, 5, "task 'a': 'provider' describes a new environment, but the task runs in the existing environment 'T-1' (ticket)")]
    public void Wrong_values_point_at_the_value(string extraLines, int line, int column, string expected)
    {
        Fails("tasks:\n  - name: a\n    prompt: p\n" + extraLines, line, column).Should().StartWith(expected);
    }

    [Fact]
    public void The_document_shape_is_checked()
    {
        Fails("", 1, 1).Should().StartWith("the file is empty");
        Fails("# only a comment\n", 1, 1).Should().StartWith("the file is empty");
        Fails("- a\n- b\n", 1, 1).Should().StartWith("a workflow is a mapping with 'tasks:'");
        Fails("name: x\n", 1, 1).Should().Be("missing 'tasks:', the list of tasks");
        Fails("tasks: []\n", 1, 8).Should().Be("'tasks' is empty; a workflow needs at least one task");
        Fails("tasks:\n  a: 1\n", 2, 3).Should().Be("'tasks' must be a list of tasks; found a mapping");
        Fails("tasks:\n  - just text\n", 2, 5).Should().StartWith("each task is a mapping with at least 'name:' and 'prompt:'; found the text 'just text'");
        Fails("tasks:\n  - name: a\n    prompt: p\n---\ntasks: []\n", 5, 1).Should().StartWith("a workflow file holds one YAML document");
        Fails("name: 'bad name'\ntasks:\n  - name: a\n    prompt: p\n", 1, 7).Should().StartWith("workflow name 'bad name' is not valid");
        Fails("defaults: [a]\ntasks:\n  - name: a\n    prompt: p\n", 1, 11).Should().Be("'defaults' must be a mapping of task fields; found a list");
    }

    [Fact]
    public void Every_task_needs_a_valid_name_and_a_prompt()
    {
        Fails("tasks:\n  - prompt: p\n", 2, 5).Should().StartWith("this task has no 'name:'");
        Fails("tasks:\n  - name:\n    prompt: p\n", 2, 10).Should().Be("the task name is empty");
        Fails("tasks:\n  - name: 'rm -rf'\n    prompt: p\n", 2, 11).Should().StartWith("task name 'rm -rf' is not valid: it contains ' ' (U+0020)");
        Fails("tasks:\n  - name: CON\n    prompt: p\n", 2, 11).Should().Contain("reserved Windows device name");
        Fails("tasks:\n  - name: a\n    title: T\n", 2, 5).Should().StartWith("task 'a': needs 'prompt:' (the text for the agent) or 'prompt_file:'");
        Fails("tasks:\n  - name: a\n    prompt: ''\n", 3, 13).Should().Be("task 'a': 'prompt' is empty");
        Fails("tasks:\n  - name: a\n    prompt: |\n\n\n", 3, 13).Should().Be("task 'a': 'prompt' is empty");
        Fails("tasks:\n  - name: a\n    prompt: p\n    prompt_file: p.md\n", 4, 5).Should().Be("task 'a': give either 'prompt' or 'prompt_file', not both");
        Fails("tasks:\n  - name: a\n    prompt_file: missing.md\n", 3, 18).Should().StartWith("task 'a': cannot read prompt_file 'missing.md' (" + Path.Combine(_dir, "missing.md") + ")");
    }

    [Fact]
    public void The_command_profile_needs_an_argument_list()
    {
        Fails("tasks:\n  - name: smoke\n    profile: command\n", 2, 5).Should().StartWith("task 'smoke': the 'command' profile needs 'command:', an argument list");
        Fails("tasks:\n  - name: smoke\n    profile: Command\n    command: make test\n", 4, 14)
            .Should().StartWith("'command' is an argument list such as [bash, -c, 'make test'], never a shell string; found the text 'make test'");
        Fails("tasks:\n  - name: smoke\n    profile: command\n    command: []\n", 4, 14).Should().Be("'command' needs at least the program to run as its first item");
        Fails("tasks:\n  - name: smoke\n    profile: command\n    command: [make, ~]\n", 4, 21).Should().Be("each item of 'command' must be text; found nothing (null)");
        Parse("tasks:\n  - name: smoke\n    profile: command\n    command: [make, '', '$(x)']\n    prompt: fed to stdin\n").Tasks.Single()
            .Should().BeEquivalentTo(new { Command = new[] { "make", "", "$(x)" }, Prompt = "fed to stdin" });
    }

    [Fact]
    public void Duplicate_names_point_at_the_second_one()
    {
        Fails("tasks:\n  - name: api\n    prompt: p\n  - name: API\n    prompt: q\n", 4, 11)
            .Should().Be("duplicate task name 'API'; the first one is at 2:11 (names are unique regardless of case)");
    }

    [Fact]
    public void Dependencies_must_name_tasks_in_the_file()
    {
        Fails("tasks:\n  - name: schema\n    prompt: p\n  - name: api\n    prompt: p\n    depends_on: [schema, shema]\n", 6, 26)
            .Should().Be("task 'api': depends_on names 'shema', which is not a task in this file; did you mean 'schema'? (tasks: schema, api; an existing task is named by its id, 't-...')");
        Fails("tasks:\n  - name: a\n    prompt: p\n    depends_on: [later]\n", 4, 18).Should().Contain("depends_on names 'later', which is not a task in this file");
        Fails("tasks:\n  - name: a\n    prompt: p\n  - name: b\n    prompt: p\n    depends_on: [a, A]\n", 6, 21).Should().Be("task 'b': depends_on lists 'A' twice");
        Fails("tasks:\n  - name: a\n    prompt: p\n    depends_on: ['$(id)']\n", 4, 18).Should().StartWith("task 'a': depends_on entry '$(id)' is not a task name");
    }

    [Fact]
    public void Cycles_are_spelled_out_at_the_dependency_that_closes_them()
    {
        Fails("""
            tasks:
              - name: a
                prompt: p
                depends_on: [b]
              - name: b
                prompt: p
                depends_on: [c]
              - name: c
                prompt: p
                depends_on: [x, a]
              - name: x
                prompt: p
            """, 10, 21).Should().Be("dependency cycle: a -> b -> c -> a (each task depends on the next, so none can start)");
        Fails("tasks:\n  - name: solo\n    prompt: p\n    depends_on: [solo]\n", 4, 18).Should().StartWith("dependency cycle: solo -> solo");
        // A cycle that does not include the first task, reached through a task outside it.
        Fails("tasks:\n  - name: top\n    prompt: p\n    depends_on: [m]\n  - name: m\n    prompt: p\n    depends_on: [n]\n  - name: n\n    prompt: p\n    depends_on: [m]\n", 10, 18)
            .Should().StartWith("dependency cycle: m -> n -> m");
    }

    [Fact]
    public void A_long_chain_parses_without_deep_recursion_and_a_back_edge_is_found()
    {
        const int n = 5000;
        var sb = new StringBuilder("tasks:\n");
        for (var i = 0; i < n; i++)
            sb.Append($"  - name: t{i}\n    prompt: p\n").Append(i > 0 ? $"    depends_on: [t{i - 1}]\n" : "");
        Parse(sb.ToString()).Tasks.Should().HaveCount(n);
        sb.Replace("  - name: t0\n    prompt: p\n", $"  - name: t0\n    prompt: p\n    depends_on: [t{n - 1}]\n");
        Fails(sb.ToString(), 7, 18).Should().StartWith($"dependency cycle: t0 -> t{n - 1} -> t{n - 2} -> ").And.Contain("t1 -> t0 (each task");
    }

    [Fact]
    public void The_source_path_in_messages_is_the_one_given_and_control_characters_are_escaped()
    {
        var ex = FluentActions.Invoking(() => WorkflowParser.Parse("tasks:\n  - name: a\n    prompt: p\n    \"x\\ty\": 1\n", "flows/my wf.yaml"))
            .Should().Throw<SwarmException>().Which;
        ex.Message.Should().Be("flows/my wf.yaml:4:5: unknown key 'x\\u0009y' in a task (known keys: name, title, prompt, prompt_file, priority, depends_on, run_after_failure, ticket, provider, base, repository, profile, command, timeout_seconds, max_attempts, retry_backoff_seconds, cleanup)");
    }

    [Fact]
    public void A_missing_file_is_not_found()
    {
        var ex = FluentActions.Invoking(() => WorkflowParser.ParseFile(Path.Combine(_dir, "nope.yaml"))).Should().Throw<SwarmException>().Which;
        ex.ErrorId.Should().Be(WorkflowErrorIds.WorkflowNotFound);
        ex.Kind.Should().Be(SwarmErrorKind.NotFound);
    }

    // ------------------------------------------------------------------ hostile text

    [Fact]
    public void Hostile_prompts_in_block_scalars_are_preserved_exactly()
    {
        var wf = Parse(
            "tasks:\n" +
            "  - name: literal\n" +
            "    prompt: |\n" +
            "      Say \"hi\" and 'bye'; run $(rm -rf /) `id` ${HOME} %PATH% $env:USERNAME\n" +
            "      # not a comment: - not a list, key: value, [not, flow] {x: y} &anchor *alias !tag\n" +
            "\n" +
            "        indented \\n is a backslash and n\ttab inside   \n" +
            "      ---\n" +
            "      ...\n" +
            "      naïve 日本語 🙂 \\\\server\\share\n" +
            "  - name: strip\n" +
            "    prompt: |-\n" +
            "      no trailing newline\n" +
            "\n" +
            "  - name: keep\n" +
            "    prompt: |+\n" +
            "      two trailing newlines\n" +
            "\n" +
            "  - name: indicator\n" +
            "    prompt: |2\n" +
            "         starts with spaces\n" +
            "        \"\n" +
            "  - name: folded\n" +
            "    prompt: >-\n" +
            "      one\n" +
            "      line \"$(x)\"\n");
        var p = wf.Tasks.ToDictionary(t => t.Name!, t => t.Prompt);
        p["literal"].Should().Be(
            "Say \"hi\" and 'bye'; run $(rm -rf /) `id` ${HOME} %PATH% $env:USERNAME\n" +
            "# not a comment: - not a list, key: value, [not, flow] {x: y} &anchor *alias !tag\n" +
            "\n" +
            "  indented \\n is a backslash and n\ttab inside   \n" +
            "---\n" +
            "...\n" +
            "naïve 日本語 🙂 \\\\server\\share\n");
        p["strip"].Should().Be("no trailing newline");
        p["keep"].Should().Be("two trailing newlines\n\n");
        p["indicator"].Should().Be("   starts with spaces\n  \"\n");
        p["folded"].Should().Be("one line \"$(x)\"");
    }

    [Fact]
    public void Random_hostile_text_round_trips_through_a_literal_block()
    {
        const string alphabet = "abcXYZ019 \t\"'`$(){}[]<>|&;*?!#%@:,.-_/\\~^=+\u00e9\u65e5\ud83d\ude42\n";
        var rng = new Random(20240605);
        for (var round = 0; round < 300; round++)
        {
            var chars = new StringBuilder();
            var length = rng.Next(1, 120);
            while (chars.Length < length)
            {
                var i = rng.Next(alphabet.Length);
                if (char.IsHighSurrogate(alphabet[i])) chars.Append(alphabet, i, 2);
                else if (!char.IsLowSurrogate(alphabet[i])) chars.Append(alphabet[i]);
            }
            var text = chars.ToString();
            if (string.IsNullOrWhiteSpace(text)) continue;
            var yaml = new StringBuilder("tasks:\n  - name: h\n    prompt: |4").Append(text.EndsWith('\n') ? "+" : "-").Append('\n');
            foreach (var line in (text.EndsWith('\n') ? text[..^1] : text).Split('\n'))
                yaml.Append("        ").Append(line).Append('\n');
            Parse(yaml.ToString()).Tasks.Single().Prompt.Should().Be(text, "round {0}: {1}", round, yaml.ToString());
        }
    }

    // ------------------------------------------------------------------ shipped examples

    private static string RepoRoot([CallerFilePath] string thisFile = "")
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "SwarmPS.slnx"))) return dir.FullName;
        return Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, "..", ".."));
    }

    [Fact]
    public void The_shipped_examples_parse()
    {
        var dir = Path.Combine(RepoRoot(), "examples", "workflows");
        Directory.GetFiles(dir, "*.yaml").Select(Path.GetFileName).Should().BeEquivalentTo(new[] { "invoices-feature.yaml", "dependency-bump.yaml" });

        var feature = WorkflowParser.ParseFile(Path.Combine(dir, "invoices-feature.yaml"));
        feature.Name.Should().Be("invoices");
        feature.Tasks.Select(t => (t.Name, string.Join(",", t.DependsOn))).Should().Equal(("schema", ""), ("api", "schema"), ("ui", "api"), ("smoke", "ui"));
        feature.Tasks.Should().OnlyContain(t => t.Ticket == "INVOICES-1" && t.TimeoutSeconds == 3600);
        feature.Tasks[2].Prompt.Should().Be(File.ReadAllText(Path.Combine(dir, "prompts", "invoices-ui.md")));
        feature.Tasks[3].Command.Should().Equal("bash", "-c", "make test");
        feature.Tasks[3].MaxAttempts.Should().Be(1);
        feature.Tasks.Take(3).Should().OnlyContain(t => t.Profile == "claude" && t.MaxAttempts == 2 && t.Prompt.Length > 100);

        var bump = WorkflowParser.ParseFile(Path.Combine(dir, "dependency-bump.yaml"));
        bump.Name.Should().Be("bump-serilog");
        bump.Tasks.Should().HaveCount(6);
        var bumps = bump.Tasks.Where(t => t.Name!.StartsWith("bump-", StringComparison.Ordinal)).ToList();
        bumps.Select(t => t.Prompt).Distinct().Should().ContainSingle("the three bumps share one prompt through a YAML anchor");
        bumps.Should().OnlyContain(t => t.MaxAttempts == 3 && t.RetryBackoffSeconds == 120 && t.Profile == "codex" && t.DependsOn.Count == 0);
        bumps.Single(t => t.Name == "bump-gateway").Priority.Should().Be(TaskPriority.High);
        foreach (var test in bump.Tasks.Where(t => t.Name!.StartsWith("test-", StringComparison.Ordinal)))
        {
            var repo = test.Name!["test-".Length..];
            test.DependsOn.Should().Equal("bump-" + repo);
            test.Ticket.Should().Be(bump.Tasks.Single(t => t.Name == "bump-" + repo).Ticket);
            test.Command.Should().Equal("dotnet", "test", "--configuration", "Release");
            (test.MaxAttempts, test.RetryBackoffSeconds).Should().Be((2, 10));
        }
    }
}
