using System.Diagnostics;
using FluentAssertions;
using SwarmPS.Cli.Tests.Infrastructure;
using Xunit;

namespace SwarmPS.Cli.Tests;

/// <summary>Exit codes, the one-line error format, hostile input and cancellation.</summary>
[Trait("Category", "Integration")]
public sealed class ErrorTests : IDisposable
{
    private readonly TempWorkspace _ws = new();

    public void Dispose() => _ws.Dispose();

    public static TheoryData<string> HostileTickets => new()
    {
        "../etc",
        "a;rm -rf /",
        "$(id)",
        "",
        new string('A', 65),
        "CON",
        "DEM\u041E-1", // Cyrillic capital O looks like a Latin O
        "a/../../b",
        "x\ny",
        "DEMO-1.",
    };

    private async Task AssertNothingCreatedAsync()
    {
        (await _ws.RowCountAsync()).Should().Be(0);
        Git.SwarmBranches(_ws.Repo).Should().BeEmpty();
        Git.Lines(_ws.Repo, "worktree", "list", "--porcelain").Count(l => l.StartsWith("worktree ", StringComparison.Ordinal)).Should().Be(1);
        if (Directory.Exists(_ws.WorktreeRoot))
            Directory.EnumerateFileSystemEntries(_ws.WorktreeRoot, "*", SearchOption.AllDirectories).Should().BeEmpty();
    }

    [Theory]
    [MemberData(nameof(HostileTickets))]
    public async Task Hostile_ticket_exits_2_with_one_InvalidTicket_line_and_creates_nothing(string ticket)
    {
        foreach (var json in new[] { false, true })
        {
            var args = new List<string> { "env", "new", ticket };
            if (json) args.Add("--json");
            var r = await _ws.RunAsync(args.ToArray());
            r.ExitCode.Should().Be(2, r.ToString());
            r.StdOut.Should().BeEmpty();
            r.StdErrLines.Should().ContainSingle().Which.Should().StartWith("InvalidTicket: ");
        }
        await AssertNothingCreatedAsync();
        var owned = Directory.Exists(_ws.Home) ? Directory.EnumerateDirectories(_ws.Home).Select(Path.GetFileName).ToList() : new List<string?>();
        owned.Should().NotContain("worktrees");
    }

    [Fact]
    public async Task Hints_name_swarmps_commands_in_the_cli()
    {
        // Core words each hint per front end (FrontEndHint); the CLI shows its own form.
        var r = await _ws.RunAsync("env", "get", "NO-SUCH");
        r.StdErrLines.Should().ContainSingle().Which.Should().StartWith("EnvironmentNotFound: ").And.EndWith("'swarmps env list' shows the tickets that exist.");
        r = await _ws.RunAsync("agent", "get", "ag-0000000000");
        r.StdErrLines.Should().ContainSingle().Which.Should().Contain("'swarmps agent list'").And.NotContain("Get-SwarmAgent");
    }

    [Fact]
    public async Task Provider_and_image_hints_name_swarmps_commands_and_options_in_the_cli()
    {
        // Sites converted in issue 14 defect 10: provider validation, the repository check, image registration.
        var plain = Path.Combine(_ws.Root, "plain");
        Directory.CreateDirectory(plain);
        var file = Path.Combine(plain, "file");
        File.WriteAllText(file, "x");
        var cases = new (string[] Args, string Id, string[] Words)[]
        {
            (new[] { "env", "new", "HINT-2", "--provider", "kvm" }, "InvalidArgument", new[] { "'swarmps image register NAME --provider kvm --path base.qcow2'" }),
            (new[] { "env", "new", "HINT-3", "--provider", "worktree", "--repo", plain }, "NotAGitRepository", new[] { "--repo" }),
            (new[] { "image", "register", "img1", "--provider", "kvm", "--path", file, "--initrd", file }, "InvalidArgument", new[] { "--kernel", "--initrd" }),
        };
        foreach (var (args, id, words) in cases)
        {
            var r = await _ws.RunAsync(args);
            r.ExitCode.Should().Be(2, r.ToString());
            var line = r.StdErrLines.Should().ContainSingle().Which;
            line.Should().StartWith(id + ": ");
            foreach (var w in words) line.Should().Contain(w);
            line.Should().NotMatchRegex(@"(Register|New|Start)-Swarm\w*|-RepositoryPath|-Kernel\b", "the CLI names its own commands and options");
        }
    }

    [Theory]
    [InlineData("get")]
    [InlineData("rm")]
    [InlineData("checkpoint")]
    [InlineData("restore")]
    [InlineData("checkpoints")]
    [InlineData("diff")]
    [InlineData("merge")]
    [InlineData("connection")]
    [InlineData("start")]
    public async Task Hostile_ticket_is_rejected_by_every_ticket_command(string command)
    {
        var r = await _ws.RunAsync("env", command, "../etc", "--json");
        r.ExitCode.Should().Be(2, r.ToString());
        r.StdOut.Should().BeEmpty();
        r.StdErrLines.Should().ContainSingle().Which.Should().StartWith("InvalidTicket: ");
    }

    [Fact]
    public async Task Exec_with_hostile_ticket_is_rejected()
    {
        var r = await _ws.RunAsync("env", "exec", "$(id)", "--", "true");
        r.ExitCode.Should().Be(2, r.ToString());
        r.StdErrLines.Should().ContainSingle().Which.Should().StartWith("InvalidTicket: ");
    }

    [Fact]
    public async Task Hostile_checkpoint_name_exits_2()
    {
        await _ws.OkAsync("env", "new", "DEMO-1");
        foreach (var name in new[] { "../x", "a b", "CON" })
        {
            var r = await _ws.RunAsync("env", "checkpoint", "DEMO-1", name);
            r.ExitCode.Should().Be(2, r.ToString());
            r.StdErrLines.Should().ContainSingle().Which.Should().StartWith("InvalidCheckpointName: ");
        }
        (await _ws.JsonAsync("env", "checkpoints", "DEMO-1")).GetArrayLength().Should().Be(0);
        Git.Lines(_ws.Repo, "for-each-ref", "refs/swarmps/").Should().BeEmpty();
    }

    [Theory]
    [InlineData("bogus")]
    [InlineData("env", "bogus")]
    [InlineData("env", "new")]
    [InlineData("env", "new", "A-1", "--no-such-option")]
    [InlineData("env", "exec", "A-1")]
    [InlineData("env", "list", "--status", "Sleeping")]
    [InlineData("env", "rm-checkpoint", "A-1")]
    [InlineData("env")]
    [InlineData()]
    public async Task Usage_errors_exit_2_with_one_Usage_line(params string[] args)
    {
        foreach (var json in new[] { false, true })
        {
            var r = await _ws.RunAsync(json ? args.Append("--json").ToArray() : args);
            r.ExitCode.Should().Be(2, r.ToString());
            r.StdOut.Should().BeEmpty();
            r.StdErrLines.Should().ContainSingle().Which.Should().StartWith("Usage: ");
        }
    }

    [Fact]
    public async Task Not_found_exits_1_and_json_stdout_stays_empty()
    {
        var r = await _ws.RunAsync("env", "get", "NOPE-1", "--json");
        r.ExitCode.Should().Be(1, r.ToString());
        r.StdOut.Should().BeEmpty();
        r.StdErrLines.Should().ContainSingle().Which.Should().StartWith("EnvironmentNotFound: ").And.Contain("NOPE-1");

        var cp = await _ws.RunAsync("env", "restore", "NOPE-1");
        cp.ExitCode.Should().Be(1);
        cp.StdErrLines.Should().ContainSingle().Which.Should().StartWith("EnvironmentNotFound: ");
    }

    [Fact]
    public async Task Duplicate_ticket_regardless_of_case_exits_1()
    {
        await _ws.OkAsync("env", "new", "DEMO-1");
        var r = await _ws.RunAsync("env", "new", "demo-1", "--json");
        r.ExitCode.Should().Be(1, r.ToString());
        r.StdOut.Should().BeEmpty();
        r.StdErrLines.Should().ContainSingle().Which.Should().StartWith("EnvironmentExists: ");
        (await _ws.RowCountAsync()).Should().Be(1);
        Git.SwarmBranches(_ws.Repo).Should().Equal("swarm/DEMO-1");
    }

    [Fact]
    public async Task Restore_without_checkpoints_exits_1()
    {
        await _ws.OkAsync("env", "new", "DEMO-1");
        var r = await _ws.RunAsync("env", "restore", "DEMO-1");
        r.ExitCode.Should().Be(1, r.ToString());
        r.StdErrLines.Should().ContainSingle().Which.Should().StartWith("CheckpointNotFound: ");
    }

    [Fact]
    public async Task Bad_inputs_to_new_exit_2_and_create_nothing()
    {
        var notRepo = Path.Combine(_ws.Root, "not-a-repo");
        Directory.CreateDirectory(notRepo);
        var cases = new (string[] Args, string Id)[]
        {
            (new[] { "env", "new", "DEMO-1", "--repo", notRepo }, "NotAGitRepository: "),
            (new[] { "env", "new", "DEMO-1", "--repo", Path.Combine(_ws.Root, "missing") }, "NotAGitRepository: "),
            (new[] { "env", "new", "DEMO-1", "--base", "no-such-branch" }, "BaseRefNotFound: "),
            (new[] { "env", "new", "DEMO-1", "--base", "--upload-pack=evil" }, "BaseRefNotFound: "),
            (new[] { "env", "new", "DEMO-1", "--provider", "nope" }, "ProviderNotFound: "),
            (new[] { "env", "new", "DEMO-1", "--spec-file", Path.Combine(_ws.Root, "missing.md") }, "InvalidArgument: "),
        };
        foreach (var (args, id) in cases)
        {
            var r = await _ws.RunAsync(args);
            r.ExitCode.Should().Be(2, r.ToString());
            r.StdOut.Should().BeEmpty();
            r.StdErrLines.Should().ContainSingle().Which.Should().StartWith(id, r.ToString());
        }
        var emptyHome = await CliProcess.RunAsync(new[] { "env", "new", "DEMO-1", "--home", "" }, _ws.Repo);
        emptyHome.ExitCode.Should().Be(2, emptyHome.ToString());
        emptyHome.StdErrLines.Should().ContainSingle().Which.Should().StartWith("InvalidArgument: ");
        await AssertNothingCreatedAsync();
    }

    [Fact]
    public async Task Json_stdout_is_only_json_for_every_successful_command()
    {
        var objects = new[]
        {
            new[] { "env", "new", "DEMO-1" }, new[] { "env", "get", "DEMO-1" }, new[] { "env", "stop", "DEMO-1" }, new[] { "env", "start", "DEMO-1" },
            new[] { "env", "checkpoint", "DEMO-1", "one" }, new[] { "env", "restore", "DEMO-1" }, new[] { "env", "diff", "DEMO-1" },
            new[] { "env", "merge", "DEMO-1" }, new[] { "env", "connection", "DEMO-1" }, new[] { "env", "rm-checkpoint", "DEMO-1", "one" },
            new[] { "env", "rm", "DEMO-1" },
        };
        var arrays = new[] { new[] { "env", "list" }, new[] { "env", "checkpoints", "NEXT-1" }, new[] { "providers" }, new[] { "repair" } };
        foreach (var args in objects)
        {
            var r = await _ws.RunAsync(args.Append("--json").ToArray());
            r.ExitCode.Should().Be(0, r.ToString());
            r.StdErr.Should().BeEmpty(r.ToString());
            r.Json.ValueKind.Should().Be(System.Text.Json.JsonValueKind.Object, r.ToString());
        }
        await _ws.OkAsync("env", "new", "NEXT-1");
        foreach (var args in arrays)
        {
            var r = await _ws.RunAsync(args.Append("--json").ToArray());
            r.ExitCode.Should().Be(0, r.ToString());
            r.StdErr.Should().BeEmpty(r.ToString());
            r.Json.ValueKind.Should().Be(System.Text.Json.JsonValueKind.Array, r.ToString());
        }
    }

    [Fact]
    public async Task Ctrl_C_cancels_the_running_operation_and_exits_130()
    {
        if (OperatingSystem.IsWindows()) return; // SIGINT delivery to a child needs a POSIX kill
        await _ws.OkAsync("env", "new", "DEMO-1");
        var marker = Path.Combine(_ws.Root, "started");
        var args = new[] { "env", "exec", "DEMO-1", "--home", _ws.Home, "--", "sh", "-c", $"touch '{marker}'; sleep 600" };
        var psi = CliProcess.StartInfo(args, _ws.Repo);
        // A process started in the background by a non-interactive shell (a CI job, `cmd &`) inherits
        // SIGINT as ignored, and .NET keeps an ignored signal ignored: the CLI would never see the Ctrl+C.
        // Give it SIGINT's default disposition, as a terminal's foreground process has (GNU env).
        if (OperatingSystem.IsLinux())
        {
            psi.ArgumentList.Insert(0, psi.FileName);
            psi.ArgumentList.Insert(0, "--default-signal=INT");
            psi.FileName = "env";
        }
        using var p = new Process { StartInfo = psi };
        var sw = Stopwatch.StartNew();
        p.Start();
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        try
        {
            while (!File.Exists(marker))
            {
                sw.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(120), "the command should start");
                await Task.Delay(50);
            }
            sw.Restart(); // from the Ctrl+C on
            Process.Start(new ProcessStartInfo("kill", new[] { "-INT", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) }) { UseShellExecute = false })!.WaitForExit();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(300));
            await p.WaitForExitAsync(cts.Token);
        }
        finally
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
        }
        p.ExitCode.Should().Be(130, await stderr);
        sw.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(300), "the sleep (600 s) must have been killed, not waited for");
        (await stdout).Should().BeEmpty();
        var lines = (await stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().ContainSingle().Which.Should().StartWith("OperationCancelled: ");
    }
}
