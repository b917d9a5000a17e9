using System.Diagnostics;
using System.Text;
using FluentAssertions;
using SwarmPS.Core.Processes.Detached;
using SwarmPS.Tests.Support;
using Xunit;

namespace SwarmPS.Tests;

/// <summary>
/// The shared supervisor (one long-lived /bin/sh for many commands, Linux): the same files and the
/// same meaning as a per-command supervisor, argv and variables byte-exact through its quoting,
/// every subshell reaped, a killed supervisor replaced, and commands that outlive the caller.
/// </summary>
public sealed class ShSharedSupervisorTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "swarmps-shared-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly ShSharedSupervisor? _sup;

    public ShSharedSupervisorTests()
    {
        Directory.CreateDirectory(_root);
        _sup = ShSharedSupervisor.TryCreate(Path.Combine(_root, "supervisor.log"));
    }

    public void Dispose()
    {
        _sup?.Dispose();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    /// <summary>Linux only (it reads /proc/self/stat); elsewhere the scheduler keeps one supervisor per agent, which other tests cover.</summary>
    private bool Skip => _sup is null;

    private string Dir(string name) => Path.Combine(_root, name);

    /// <summary>True while the process exists and is not a zombie (its /proc entry may vanish at any moment).</summary>
    private static bool Running(int pid)
    {
        try { return !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z", StringComparison.Ordinal); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return false; }
    }

    private static void Wait(DetachedProcess p)
    {
        p.Exited.Should().NotBeNull();
        p.Exited!.Wait(TimeSpan.FromSeconds(90)).Should().BeTrue("the supervisor reports the end on its stdout");
    }

    [Fact]
    public void Words_are_quoted_so_that_sh_reads_them_back_exactly_on_one_line()
    {
        ShSharedSupervisor.Quote("a").Should().Be("'a'");
        ShSharedSupervisor.Quote("it's").Should().Be("'it'\\''s'");
        ShSharedSupervisor.Quote("a\nb").Should().Be("'a'\"$_swarm_nl\"'b'");
        ShSharedSupervisor.Quote("").Should().Be("''");
    }

    [Fact]
    public void Argv_variables_directory_and_stdin_reach_the_command_byte_exact_and_the_files_are_those_of_a_per_command_supervisor()
    {
        if (Skip) return;
        string[] hostile =
        {
            "plain", "", "two words", "it's", "\"double\"", "$(touch pwned)", "`touch pwned2`", "$HOME", "a\nb\n", "tab\there",
            "back\\slash\\", "ünïcødé ✓", "*", "-n", "; rm -rf /", "'", "''\"\"", "\r\n", new string('x', 5000),
        };
        var work = Directory.CreateDirectory(Dir("work dir 'q'")).FullName;
        var stdin = Path.Combine(_root, "stdin.txt");
        File.WriteAllBytes(stdin, Encoding.UTF8.GetBytes("from stdin ✓\n"));
        var script = "printf '%s\\0' \"$@\" > args.bin; printf '%s' \"$SWARM_X\" > var.bin; printf '%s' \"${SWARM_GONE-unset}\" > gone.txt; pwd > pwd.txt; cat";
        var dir = Dir("state");
        var p = _sup!.Start(new DetachedProcessSpec("/bin/sh", new[] { "-c", script, "sh" }.Concat(hostile), dir)
        {
            WorkingDirectory = work, StandardInputFile = stdin,
            Environment = new Dictionary<string, string?> { ["SWARM_X"] = "v'a\"l$(x)\nue", ["SWARM_GONE"] = null },
        });
        Wait(p);

        p.ExitCode.Should().Be(0);
        var args = File.ReadAllBytes(Path.Combine(work, "args.bin"));
        args.Should().Equal(Encoding.UTF8.GetBytes(string.Concat(hostile.Select(h => h + "\0"))));
        File.ReadAllText(Path.Combine(work, "var.bin")).Should().Be("v'a\"l$(x)\nue");
        File.ReadAllText(Path.Combine(work, "gone.txt")).Should().Be("unset");
        File.ReadAllText(Path.Combine(work, "pwd.txt")).Trim().Should().Be(work);
        File.ReadAllText(p.StdoutFile).Should().Be("from stdin ✓\n");
        File.Exists(Path.Combine(work, "pwned")).Should().BeFalse();
        File.Exists(Path.Combine(work, "pwned2")).Should().BeFalse();
        Directory.GetFiles(dir).Select(Path.GetFileName).Should().BeEquivalentTo(new[] { "status", "stdout.log", "stderr.log" });
    }

    [Fact]
    public void The_status_line_names_the_command_and_its_own_subshell_and_the_exit_code_follows()
    {
        if (Skip) return;
        var p = _sup!.Start(new DetachedProcessSpec("sh", new[] { "-c", "echo out; echo err >&2; nosuchcommand-xyz; exit 3" }, Dir("s")));
        p.NamedByStatus.Should().BeTrue();
        p.StartedPid.Should().BeNull("no process was started for it: the subshell names itself");
        Wait(p);
        p.ExitCode.Should().Be(3);
        var lines = File.ReadAllText(p.StatusFile).Split('\n');
        lines.Should().HaveCount(3);
        lines[0].Should().Be($"{p.ChildPid} {p.Pid}");
        p.Pid.Should().NotBe(_sup.SupervisorPid, "each command has its own supervising subshell, whose end without an exit code means Lost");
        File.ReadAllText(p.StdoutFile).Should().Be("out\n");
        File.ReadAllText(p.StderrFile).Should().Contain("err").And.Contain("nosuchcommand-xyz");
    }

    [Fact]
    public void Many_commands_share_one_supervisor_which_reaps_every_subshell()
    {
        if (Skip) return;
        var runs = Enumerable.Range(0, 40).Select(i => _sup!.Start(new DetachedProcessSpec("sh", new[] { "-c", $"exit {i % 7}" }, Dir("r" + i)))).ToList();
        foreach (var r in runs) Wait(r);
        runs.Select(r => r.ExitCode).Should().Equal(Enumerable.Range(0, 40).Select(i => (int?)(i % 7)));
        _sup!.SupervisorStarts.Should().Be(1);
        var sup = _sup.SupervisorPid!.Value;
        var children = $"/proc/{sup}/task/{sup}/children";
        var left = "?";
        for (var i = 0; i < 6000; i++) // up to 60 s on a loaded machine
        {
            left = File.ReadAllText(children).Trim();
            if (left.Length == 0) break;
            Thread.Sleep(10);
        }
        left.Should().BeEmpty("every subshell that reported is reaped (no zombies, no growing job table)");
        File.ReadAllText(Path.Combine(_root, "supervisor.log")).Should().BeEmpty("the shell had nothing to complain about");
    }

    [Fact]
    public void A_killed_supervisor_is_replaced_and_its_running_commands_still_record_their_exit()
    {
        if (Skip) return;
        var first = _sup!.Start(new DetachedProcessSpec("sh", new[] { "-c", "sleep 1; exit 4" }, Dir("a")));
        for (var i = 0; i < 6000 && first.ChildPid is null; i++) Thread.Sleep(10);
        var old = _sup.SupervisorPid!.Value;
        Process.GetProcessById(old).Kill();
        for (var i = 0; i < 6000 && Running(old); i++) Thread.Sleep(10);

        var second = _sup.Start(new DetachedProcessSpec("sh", new[] { "-c", "exit 5" }, Dir("b")));
        Wait(second);
        second.ExitCode.Should().Be(5);
        _sup.SupervisorStarts.Should().Be(2);
        Sync.Run(first.WaitForExitAsync(TimeSpan.FromSeconds(90))).Should().Be(4, "the subshell outlives its supervisor and records the exit");
        Thread.Sleep(300);
        File.ReadAllText(Path.Combine(_root, "supervisor.log")).Should().BeEmpty("no shell complained (no reap sent to a shell that is not the subshell's parent)");
    }

    [Fact]
    public void Commands_outlive_the_caller_that_disposed_the_supervisor()
    {
        if (Skip) return;
        var p = _sup!.Start(new DetachedProcessSpec("sh", new[] { "-c", "sleep 1; echo done" }, Dir("late")));
        for (var i = 0; i < 6000 && p.ChildPid is null; i++) Thread.Sleep(10);
        var sup = _sup.SupervisorPid!.Value;
        _sup.Dispose();
        for (var i = 0; i < 6000 && Directory.Exists($"/proc/{sup}"); i++) Thread.Sleep(10); // up to 60 s on a loaded machine
        Directory.Exists($"/proc/{sup}").Should().BeFalse("the supervisor ends when its caller lets it go");
        Sync.Run(p.WaitForExitAsync(TimeSpan.FromSeconds(90))).Should().Be(0);
        File.ReadAllText(p.StdoutFile).Should().Be("done\n");
    }

    [Fact]
    public void A_missing_directory_is_recorded_as_a_failed_start_and_a_variable_sh_cannot_name_takes_the_per_command_launcher()
    {
        if (Skip) return;
        var bad = _sup!.Start(new DetachedProcessSpec("true", Array.Empty<string>(), Dir("nodir")) { WorkingDirectory = Dir("does-not-exist") });
        Wait(bad);
        bad.ExitCode.Should().Be(126);
        File.ReadAllText(bad.StderrFile).Should().Contain("does-not-exist");

        var odd = _sup.Start(new DetachedProcessSpec("sh", new[] { "-c", "exit 0" }, Dir("odd")) { Environment = new Dictionary<string, string?> { ["NOT-A-SH-NAME"] = "1" } });
        odd.NamedByStatus.Should().BeFalse();
        odd.StartedPid.Should().NotBeNull("the per-command launcher started a supervisor process for it");
        Sync.Run(odd.WaitForExitAsync(TimeSpan.FromSeconds(90))).Should().Be(0);
    }
}
