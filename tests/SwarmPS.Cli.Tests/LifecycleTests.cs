using System.Text.Json;
using FluentAssertions;
using SwarmPS.Cli.Tests.Infrastructure;
using Xunit;

namespace SwarmPS.Cli.Tests;

/// <summary>The happy paths, through the real CLI process against a temporary repository and home.</summary>
[Trait("Category", "Integration")]
public sealed class LifecycleTests : IDisposable
{
    private readonly TempWorkspace _ws = new();

    public void Dispose() => _ws.Dispose();

    private static string Str(JsonElement o, string name) => o.GetProperty(name).GetString()!;

    [Fact]
    public async Task New_then_list_json_carries_the_contract_fields()
    {
        var created = await _ws.RunAsync("env", "new", "DEMO-1", "--json");
        created.ExitCode.Should().Be(0, created.ToString());
        created.StdErr.Should().BeEmpty();
        var e = created.Json;
        e.ValueKind.Should().Be(JsonValueKind.Object);
        Str(e, "ticket").Should().Be("DEMO-1");

        var list = await _ws.RunAsync("env", "list", "--json");
        list.ExitCode.Should().Be(0, list.ToString());
        list.StdErr.Should().BeEmpty();
        list.Json.ValueKind.Should().Be(JsonValueKind.Array);
        list.Json.GetArrayLength().Should().Be(1);
        var row = list.Json[0];
        foreach (var field in new[] { "ticket", "provider", "status", "instanceId", "repositoryPath", "baseRef", "branch", "workspacePath", "address", "ports", "createdAt", "updatedAt", "metadata" })
            row.TryGetProperty(field, out _).Should().BeTrue($"env list --json must carry '{field}'");
        Str(row, "ticket").Should().Be("DEMO-1");
        Str(row, "provider").Should().Be("worktree");
        Str(row, "status").Should().Be("Running");
        Str(row, "branch").Should().Be("swarm/DEMO-1");
        Str(row, "baseRef").Should().Be("HEAD");
        Path.GetFullPath(Str(row, "repositoryPath")).Should().Be(Path.GetFullPath(_ws.Repo));
        var workspace = Str(row, "workspacePath");
        Directory.Exists(workspace).Should().BeTrue();
        Path.GetFullPath(workspace).Should().StartWith(Path.GetFullPath(_ws.WorktreeRoot));
        row.GetProperty("ports").GetProperty("count").GetInt32().Should().BeGreaterThan(0);
        row.GetProperty("ports").GetProperty("end").GetInt32().Should().Be(row.GetProperty("ports").GetProperty("start").GetInt32() + row.GetProperty("ports").GetProperty("count").GetInt32() - 1);
        DateTimeOffset.TryParse(Str(row, "createdAt"), out _).Should().BeTrue();
        Git.SwarmBranches(_ws.Repo).Should().Equal("swarm/DEMO-1");

        // The readable table names it too, without any escape sequences.
        var table = await _ws.OkAsync("env", "list");
        table.StdOut.Should().Contain("TICKET").And.Contain("DEMO-1").And.Contain("swarm/DEMO-1");
        table.StdOut.Should().NotContain("\u001b");
    }

    [Fact]
    public async Task Checkpoint_restore_list_and_remove_round_trip()
    {
        await _ws.OkAsync("env", "new", "DEMO-1");
        var w = await _ws.WorkspaceOfAsync("DEMO-1");
        var shared = Path.Combine(w, "shared.txt");

        File.WriteAllText(shared, "checkpointed\n");
        File.WriteAllText(Path.Combine(w, "untracked.txt"), "kept by the checkpoint\n");
        var cp1 = (await _ws.OkAsync("env", "checkpoint", "DEMO-1", "cp1", "--json")).Json;
        Str(cp1, "ticket").Should().Be("DEMO-1");
        Str(cp1, "name").Should().Be("cp1");
        Str(cp1, "providerReference").Should().Be("refs/swarmps/checkpoints/DEMO-1/cp1");

        // Later work, then a second checkpoint with the default (timestamp) name.
        File.WriteAllText(shared, "later\n");
        File.Delete(Path.Combine(w, "untracked.txt"));
        File.WriteAllText(Path.Combine(w, "later.txt"), "created after cp1\n");
        var cp2 = (await _ws.OkAsync("env", "checkpoint", "DEMO-1", "--json")).Json;
        var cp2Name = Str(cp2, "name");
        cp2Name.Should().NotBe("cp1");

        var list = (await _ws.OkAsync("env", "checkpoints", "DEMO-1", "--json")).Json;
        list.ValueKind.Should().Be(JsonValueKind.Array);
        list.EnumerateArray().Select(c => Str(c, "name")).Should().Equal("cp1", cp2Name);

        // Restore a named checkpoint: files come back, later files disappear.
        var restored = await _ws.OkAsync("env", "restore", "DEMO-1", "cp1");
        restored.StdOut.Should().Contain("cp1");
        File.ReadAllText(shared).Should().Be("checkpointed\n");
        File.Exists(Path.Combine(w, "untracked.txt")).Should().BeTrue();
        File.Exists(Path.Combine(w, "later.txt")).Should().BeFalse();

        // Restore without a name: the latest.
        var latest = (await _ws.OkAsync("env", "restore", "DEMO-1", "--json")).Json;
        Str(latest, "name").Should().Be(cp2Name);
        File.ReadAllText(shared).Should().Be("later\n");
        File.Exists(Path.Combine(w, "later.txt")).Should().BeTrue();
        File.Exists(Path.Combine(w, "untracked.txt")).Should().BeFalse();

        var removed = (await _ws.OkAsync("env", "rm-checkpoint", "DEMO-1", "cp1", "--json")).Json;
        Str(removed, "name").Should().Be("cp1");
        (await _ws.OkAsync("env", "checkpoints", "DEMO-1", "--json")).Json.EnumerateArray().Select(c => Str(c, "name")).Should().Equal(cp2Name);
        Git.Lines(_ws.Repo, "for-each-ref", "--format=%(refname)", "refs/swarmps/checkpoints/DEMO-1/").Should().Equal($"refs/swarmps/checkpoints/DEMO-1/{cp2Name}");

        var again = await _ws.RunAsync("env", "rm-checkpoint", "DEMO-1", "cp1");
        again.ExitCode.Should().Be(1, again.ToString());
        again.StdErrLines.Should().ContainSingle().Which.Should().StartWith("CheckpointNotFound: ");

        var human = await _ws.OkAsync("env", "checkpoints", "DEMO-1");
        human.StdOut.Should().Contain("NAME").And.Contain(cp2Name);
    }

    [Fact]
    public async Task Diff_shows_changed_files_as_json_and_as_a_patch()
    {
        await _ws.OkAsync("env", "new", "DEMO-1");
        var w = await _ws.WorkspaceOfAsync("DEMO-1");
        File.WriteAllText(Path.Combine(w, "shared.txt"), "line 1\nline 2 changed\n");
        File.WriteAllText(Path.Combine(w, "added.txt"), "new file\n");

        var d = (await _ws.OkAsync("env", "diff", "DEMO-1", "--json")).Json;
        Str(d, "ticket").Should().Be("DEMO-1");
        d.GetProperty("hasUncommittedChanges").GetBoolean().Should().BeTrue();
        var files = d.GetProperty("files").EnumerateArray().ToDictionary(f => Str(f, "path"), f => Str(f, "change"));
        files.Should().Contain("shared.txt", "Modified").And.Contain("added.txt", "Added");
        Str(d, "patch").Should().Contain("+line 2 changed");

        var human = await _ws.OkAsync("env", "diff", "DEMO-1");
        human.StdOut.Should().Contain("diff --git a/shared.txt b/shared.txt").And.Contain("+line 2 changed");
        human.StdOut.Should().Contain("2 files changed");
    }

    [Fact]
    public async Task Merge_brings_the_work_into_the_base_branch_then_rm_cleans_up()
    {
        await _ws.OkAsync("env", "new", "DEMO-1");
        var w = await _ws.WorkspaceOfAsync("DEMO-1");
        File.WriteAllText(Path.Combine(w, "feature.txt"), "feature\n");
        Git.Run(w, "add", "feature.txt");
        Git.Run(w, "commit", "--quiet", "-m", "add feature");

        var merged = await _ws.RunAsync("env", "merge", "DEMO-1", "--message", "Merge DEMO-1 work", "--json");
        merged.ExitCode.Should().Be(0, merged.ToString());
        var m = merged.Json;
        m.GetProperty("merged").GetBoolean().Should().BeTrue();
        Str(m, "targetBranch").Should().Be("main");
        Str(m, "branch").Should().Be("swarm/DEMO-1");
        File.ReadAllText(Path.Combine(_ws.Repo, "feature.txt")).Should().Be("feature\n");
        Git.Run(_ws.Repo, "log", "-1", "--format=%s").Trim().Should().Be("Merge DEMO-1 work");

        var again = await _ws.OkAsync("env", "merge", "DEMO-1");
        again.StdOut.Should().Contain("Nothing to merge");

        var rm = await _ws.RunAsync("env", "rm", "DEMO-1", "--json");
        rm.ExitCode.Should().Be(0, rm.ToString());
        Str(rm.Json, "ticket").Should().Be("DEMO-1");
        Directory.Exists(w).Should().BeFalse();
        Git.SwarmBranches(_ws.Repo).Should().BeEmpty();
        (await _ws.RowCountAsync()).Should().Be(0);
    }

    [Fact]
    public async Task Merge_conflict_exits_1_with_the_result_on_stdout_and_one_error_line()
    {
        await _ws.OkAsync("env", "new", "DEMO-1");
        var w = await _ws.WorkspaceOfAsync("DEMO-1");
        File.WriteAllText(Path.Combine(w, "shared.txt"), "from the environment\n");
        Git.Run(w, "commit", "--quiet", "-am", "env change");
        File.WriteAllText(Path.Combine(_ws.Repo, "shared.txt"), "from main\n");
        Git.Run(_ws.Repo, "commit", "--quiet", "-am", "main change");
        var head = Git.Run(_ws.Repo, "rev-parse", "HEAD").Trim();

        var r = await _ws.RunAsync("env", "merge", "DEMO-1", "--json");
        r.ExitCode.Should().Be(1, r.ToString());
        r.Json.GetProperty("merged").GetBoolean().Should().BeFalse();
        r.Json.GetProperty("conflictingFiles").EnumerateArray().Select(f => f.GetString()).Should().Equal("shared.txt");
        r.StdErrLines.Should().ContainSingle().Which.Should().StartWith("MergeConflict: ").And.Contain("shared.txt");

        // The main worktree is exactly as it was.
        Git.Run(_ws.Repo, "rev-parse", "HEAD").Trim().Should().Be(head);
        Git.Run(_ws.Repo, "status", "--porcelain").Should().BeEmpty();

        var human = await _ws.RunAsync("env", "merge", "DEMO-1");
        human.ExitCode.Should().Be(1);
        human.StdOut.Should().BeEmpty();
        human.StdErrLines.Should().ContainSingle().Which.Should().StartWith("MergeConflict: ");
    }

    [Fact]
    public async Task Rm_refuses_uncommitted_work_and_lists_it_then_force_removes()
    {
        await _ws.OkAsync("env", "new", "DEMO-1");
        var w = await _ws.WorkspaceOfAsync("DEMO-1");
        File.WriteAllText(Path.Combine(w, "precious.txt"), "unsaved\n");

        var r = await _ws.RunAsync("env", "rm", "DEMO-1");
        r.ExitCode.Should().Be(1, r.ToString());
        r.StdErrLines[0].Should().StartWith("UncommittedChanges: ");
        r.StdErrLines.Skip(1).Should().NotBeEmpty().And.OnlyContain(l => l.StartsWith("  ", StringComparison.Ordinal));
        r.StdErrLines.Skip(1).Should().Contain(l => l.Contains("precious.txt"));
        Directory.Exists(w).Should().BeTrue();

        var forced = await _ws.RunAsync("env", "rm", "DEMO-1", "--force");
        forced.ExitCode.Should().Be(0, forced.ToString());
        forced.StdOut.Should().Contain("Removed DEMO-1");
        Directory.Exists(w).Should().BeFalse();
        (await _ws.RowCountAsync()).Should().Be(0);
    }

    [Fact]
    public async Task Rm_keep_branch_keeps_the_branch()
    {
        await _ws.OkAsync("env", "new", "DEMO-1");
        await _ws.OkAsync("env", "rm", "DEMO-1", "--keep-branch");
        Git.SwarmBranches(_ws.Repo).Should().Equal("swarm/DEMO-1");
        (await _ws.RowCountAsync()).Should().Be(0);
    }

    [Fact]
    public async Task Exec_passes_output_and_exit_code_through()
    {
        if (OperatingSystem.IsWindows()) return; // uses sh
        await _ws.OkAsync("env", "new", "DEMO-1");
        var w = await _ws.WorkspaceOfAsync("DEMO-1");

        var r = await _ws.RunAsync("env", "exec", "DEMO-1", "--", "sh", "-c", "echo out:$SWARM_TICKET; pwd; echo err >&2; exit 7");
        r.ExitCode.Should().Be(7, r.ToString());
        r.StdOut.Should().Contain("out:DEMO-1");
        Path.GetFullPath(r.StdOut.Split('\n')[1].Trim()).Should().Be(Path.GetFullPath(w));
        r.StdErr.Should().Be("err\n");

        var j = await _ws.RunAsync("env", "exec", "DEMO-1", "--json", "--", "sh", "-c", "echo hi; echo oops >&2; exit 3");
        j.ExitCode.Should().Be(3, j.ToString());
        j.StdErr.Should().BeEmpty();
        var o = j.Json;
        Str(o, "ticket").Should().Be("DEMO-1");
        o.GetProperty("exitCode").GetInt32().Should().Be(3);
        Str(o, "standardOutput").Should().Be("hi\n");
        Str(o, "standardError").Should().Be("oops\n");

        // Options after '--' belong to the command, not to swarmps.
        var echo = await _ws.RunAsync("env", "exec", "DEMO-1", "--", "echo", "--json", "--home");
        echo.ExitCode.Should().Be(0, echo.ToString());
        echo.StdOut.Should().Be("--json --home\n");

        var missing = await _ws.RunAsync("env", "exec", "DEMO-1", "--", "no-such-program-swarmps-test");
        missing.ExitCode.Should().Be(1, missing.ToString());
        missing.StdErrLines.Should().ContainSingle().Which.Should().StartWith("ProcessFailed: ");
    }

    [Fact]
    public async Task Get_start_stop_and_connection()
    {
        await _ws.OkAsync("env", "new", "DEMO-1");
        var got = (await _ws.JsonAsync("env", "get", "demo-1")).GetProperty("ticket").GetString();
        got.Should().Be("DEMO-1", "tickets are case-insensitive");

        Str(await _ws.JsonAsync("env", "stop", "DEMO-1"), "status").Should().Be("Stopped");
        (await _ws.JsonAsync("env", "list", "--status", "Stopped")).GetArrayLength().Should().Be(1);
        (await _ws.JsonAsync("env", "list", "--status", "running")).GetArrayLength().Should().Be(0);
        Str(await _ws.JsonAsync("env", "start", "DEMO-1"), "status").Should().Be("Running");

        var c = await _ws.JsonAsync("env", "connection", "DEMO-1");
        Str(c, "ticket").Should().Be("DEMO-1");
        Str(c, "provider").Should().Be("worktree");
        Path.GetFullPath(Str(c, "workingDirectory")).Should().Be(Path.GetFullPath(await _ws.WorkspaceOfAsync("DEMO-1")));

        var human = await _ws.OkAsync("env", "get", "DEMO-1");
        human.StdOut.Should().Contain("Ticket").And.Contain("swarm/DEMO-1");
    }

    [Fact]
    public async Task List_filters_by_pattern_provider_and_status()
    {
        await _ws.OkAsync("env", "new", "API-1");
        await _ws.OkAsync("env", "new", "API-2");
        await _ws.OkAsync("env", "new", "WEB-1");
        (await _ws.JsonAsync("env", "list", "api-*")).EnumerateArray().Select(e => Str(e, "ticket")).Should().Equal("API-1", "API-2");
        (await _ws.JsonAsync("env", "list", "API-1", "WEB-?")).EnumerateArray().Select(e => Str(e, "ticket")).Should().Equal("API-1", "WEB-1");
        (await _ws.JsonAsync("env", "list", "--provider", "worktree")).GetArrayLength().Should().Be(3);
        (await _ws.JsonAsync("env", "list", "--provider", "docker")).GetArrayLength().Should().Be(0);
        (await _ws.JsonAsync("env", "list", "--status", "Missing")).GetArrayLength().Should().Be(0);
        await _ws.OkAsync("env", "stop", "WEB-1");
        (await _ws.JsonAsync("env", "list", "--status", "stopped")).EnumerateArray().Select(e => Str(e, "ticket")).Should().Equal("WEB-1");
        (await _ws.JsonAsync("env", "list", "--status", "Stopped,running")).GetArrayLength().Should().Be(3);
        (await _ws.JsonAsync("env", "list", "--status", "Stopped", "--status", "Missing", "*-1")).EnumerateArray().Select(e => Str(e, "ticket")).Should().Equal("WEB-1");
    }

    [Fact]
    public async Task Spec_file_becomes_swarm_spec_md()
    {
        var spec = Path.Combine(_ws.Root, "spec.md");
        File.WriteAllText(spec, "# Task\nDo the thing; $(not a command)\n");
        await _ws.OkAsync("env", "new", "DEMO-1", "--spec-file", spec);
        var w = await _ws.WorkspaceOfAsync("DEMO-1");
        File.ReadAllText(Path.Combine(w, ".swarm", "spec.md")).Should().Be("# Task\nDo the thing; $(not a command)\n");
        File.ReadAllText(Path.Combine(w, ".swarm", "env")).Should().Contain("SWARM_TICKET=DEMO-1");
    }

    [Fact]
    public async Task Repo_and_base_options()
    {
        Git.Run(_ws.Repo, "branch", "release");
        var elsewhere = Path.Combine(_ws.Root, "elsewhere");
        Directory.CreateDirectory(elsewhere);
        var r = await _ws.RunInAsync(elsewhere, "env", "new", "DEMO-1", "--repo", _ws.Repo, "--base", "release", "--json");
        r.ExitCode.Should().Be(0, r.ToString());
        Str(r.Json, "baseRef").Should().Be("release");
        Path.GetFullPath(Str(r.Json, "repositoryPath")).Should().Be(Path.GetFullPath(_ws.Repo));
        r.Json.GetProperty("metadata").GetProperty("baseBranch").GetString().Should().Be("release");
    }

    [Fact]
    public async Task Providers_and_repair_print_arrays()
    {
        var p = (await _ws.OkAsync("providers", "--json")).Json;
        p.ValueKind.Should().Be(JsonValueKind.Array);
        var wt = p.EnumerateArray().Single(x => Str(x, "name") == "worktree");
        wt.GetProperty("available").GetBoolean().Should().BeTrue();
        wt.GetProperty("isDefault").GetBoolean().Should().BeTrue();
        wt.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()).Should().Contain(new[] { "Checkpoint", "Exec", "DiffMerge" });
        (await _ws.OkAsync("providers")).StdOut.Should().Contain("worktree");

        (await _ws.JsonAsync("repair")).GetArrayLength().Should().Be(0);
        (await _ws.OkAsync("repair")).StdOut.Should().Contain("No problems found");

        // A worktree deleted by hand: repair reports the dangling row, --fix removes it.
        await _ws.OkAsync("env", "new", "DEMO-1");
        var w = await _ws.WorkspaceOfAsync("DEMO-1");
        Directory.Delete(w, recursive: true);
        Str(await _ws.JsonAsync("env", "get", "DEMO-1"), "status").Should().Be("Missing");
        var report = await _ws.JsonAsync("repair");
        report.EnumerateArray().Should().ContainSingle(i => Str(i, "kind") == "DanglingRow" && Str(i, "ticket") == "DEMO-1" && !i.GetProperty("fixed").GetBoolean());
        var fixedIt = await _ws.JsonAsync("repair", "--fix");
        fixedIt.EnumerateArray().Should().ContainSingle(i => Str(i, "kind") == "DanglingRow" && i.GetProperty("fixed").GetBoolean());
        (await _ws.RowCountAsync()).Should().Be(0);
    }

    [Fact]
    public async Task Global_options_are_accepted_anywhere_and_SWARMPS_HOME_is_honoured()
    {
        var before = await CliProcess.RunAsync(new[] { "--json", "--home", _ws.Home, "env", "new", "DEMO-1" }, _ws.Repo);
        before.ExitCode.Should().Be(0, before.ToString());
        before.Json.GetProperty("ticket").GetString().Should().Be("DEMO-1");
        var middle = await CliProcess.RunAsync(new[] { "env", "--home", _ws.Home, "list", "--json" }, _ws.Repo);
        middle.ExitCode.Should().Be(0, middle.ToString());
        middle.Json.GetArrayLength().Should().Be(1);

        var viaEnv = await CliProcess.RunAsync(new[] { "env", "list", "--json" }, _ws.Repo, new Dictionary<string, string?> { ["SWARMPS_HOME"] = _ws.Home });
        viaEnv.ExitCode.Should().Be(0, viaEnv.ToString());
        viaEnv.Json.GetArrayLength().Should().Be(1);

        // --home wins over SWARMPS_HOME.
        var other = Path.Combine(_ws.Root, "other-home");
        var overridden = await CliProcess.RunAsync(new[] { "env", "list", "--json", "--home", other }, _ws.Repo, new Dictionary<string, string?> { ["SWARMPS_HOME"] = _ws.Home });
        overridden.ExitCode.Should().Be(0, overridden.ToString());
        overridden.Json.GetArrayLength().Should().Be(0);
    }

    [Fact]
    public async Task Help_and_version()
    {
        var help = await _ws.RunAsync("--help");
        help.ExitCode.Should().Be(0);
        help.StdOut.Should().Contain("env").And.Contain("providers").And.Contain("repair");
        var envHelp = await _ws.RunAsync("env", "new", "--help");
        envHelp.ExitCode.Should().Be(0);
        envHelp.StdOut.Should().Contain("--spec-file").And.Contain("--base").And.Contain("--repo").And.Contain("--provider");

        var v = await CliProcess.RunAsync(new[] { "--version" }, _ws.Repo);
        v.ExitCode.Should().Be(0);
        v.StdOut.Trim().Should().MatchRegex(@"^\d+\.\d+\.\d+");
        var vj = await CliProcess.RunAsync(new[] { "--version", "--json" }, _ws.Repo);
        vj.ExitCode.Should().Be(0);
        vj.Json.GetProperty("version").GetString().Should().Be(v.StdOut.Trim());
    }
}
