using System.Diagnostics;
using FluentAssertions;
using SwarmPS.Core.Processes.Detached;
using Xunit;

namespace SwarmPS.Module.Tests;

/// <summary>
/// The "start a detached, light helper process" seam, for real: a separate .NET parent process
/// launches the helper and exits (or is killed); the helper goes on and its files show the pid,
/// the output and the exit code. Unix only here (sh); the Windows launcher (cmd.exe) is exercised
/// by tests/pester/Detached.Tests.ps1 in CI.
/// </summary>
public class DetachedProcessTests
{
    private static readonly bool Unix = !OperatingSystem.IsWindows();

    private static Process StartParent(string mode, string stateDir, params string[] command)
    {
        var host = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var psi = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { typeof(Program).Assembly.Location, "detached-parent", mode, stateDir }.Concat(command)) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    private static bool Alive(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    [Fact]
    public async Task Helper_outlives_a_parent_that_exits_and_records_pid_output_and_exit_code()
    {
        if (!Unix) return;
        var state = Path.Combine(Temp.Dir(), "helper");
        using var parent = StartParent("exit", state, "sh", "-c", "sleep 2; echo out; echo err >&2; exit 7");
        var printedPid = (await parent.StandardOutput.ReadToEndAsync()).Trim();
        await parent.WaitForExitAsync();
        parent.ExitCode.Should().Be(0, await parent.StandardError.ReadToEndAsync());

        var helper = new DetachedProcess(state);
        helper.HasExited.Should().BeFalse("the parent is gone but the command (sleep 2) is still running");
        // The supervisor writes its pid (the status file's first line) right after starting the command.
        for (var i = 0; i < 100 && helper.Pid is null; i++) await Task.Delay(50);
        helper.Pid.Should().NotBeNull();
        helper.Pid!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture).Should().Be(printedPid);
        Alive(helper.Pid.Value).Should().BeTrue("the supervisor outlives its parent");

        (await helper.WaitForExitAsync(TimeSpan.FromSeconds(30))).Should().Be(7);
        File.ReadAllText(helper.StdoutFile).Should().Be("out\n");
        File.ReadAllText(helper.StderrFile).Should().Be("err\n");
        helper.ChildPid.Should().NotBeNull();
        for (var i = 0; i < 100 && Alive(helper.Pid.Value); i++) await Task.Delay(50);
        Alive(helper.Pid.Value).Should().BeFalse("the supervisor ends when the command has ended");
    }

    [Fact]
    public async Task Helper_survives_its_parent_being_killed()
    {
        if (!Unix) return;
        var state = Path.Combine(Temp.Dir(), "helper");
        using var parent = StartParent("wait", state, "sh", "-c", "sleep 1; echo done");
        var pidLine = await parent.StandardOutput.ReadLineAsync();
        int.TryParse(pidLine, out _).Should().BeTrue($"the parent prints the helper pid, got '{pidLine}'");
        parent.Kill(entireProcessTree: false);
        await parent.WaitForExitAsync();

        var helper = new DetachedProcess(state);
        (await helper.WaitForExitAsync(TimeSpan.FromSeconds(30))).Should().Be(0);
        File.ReadAllText(helper.StdoutFile).Should().Be("done\n");
    }

    [Fact]
    public async Task Arguments_reach_the_command_as_data_never_as_shell_text()
    {
        if (!Unix) return;
        var root = Temp.Dir();
        var hostile = new[] { "$(touch pwned)", "; touch pwned2", "`touch pwned3`", "\"quoted\" 'single'", "a b", "*", "" };
        var helper = DetachedLauncher.ForCurrentPlatform().Start(new DetachedProcessSpec("printf", new[] { "[%s]\\n" }.Concat(hostile), Path.Combine(root, "state"))
        {
            WorkingDirectory = root,
            Environment = new Dictionary<string, string?> { ["SWARMPS_DETACHED_TEST"] = "1" },
        });
        (await helper.WaitForExitAsync(TimeSpan.FromSeconds(30))).Should().Be(0);
        File.ReadAllLines(helper.StdoutFile).Should().Equal(hostile.Select(h => $"[{h}]"));
        Directory.GetFiles(root).Should().BeEmpty("nothing in the arguments was executed");
    }

    [Fact]
    public async Task A_missing_program_is_recorded_as_exit_code_127()
    {
        if (!Unix) return;
        var helper = DetachedLauncher.ForCurrentPlatform().Start(new DetachedProcessSpec("swarmps-no-such-program", Array.Empty<string>(), Path.Combine(Temp.Dir(), "state")));
        (await helper.WaitForExitAsync(TimeSpan.FromSeconds(30))).Should().Be(127);
        File.ReadAllText(helper.StderrFile).Should().Contain("swarmps-no-such-program");
    }

    [Fact]
    public void State_directory_is_private()
    {
        if (OperatingSystem.IsWindows()) return;
        var state = Path.Combine(Temp.Dir(), "state");
        var helper = DetachedLauncher.ForCurrentPlatform().Start(new DetachedProcessSpec("true", Array.Empty<string>(), state));
        File.GetUnixFileMode(state).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        helper.Pid.Should().NotBeNull();
    }

    [Theory]
    [InlineData(new[] { "a", "b c" }, "a \"b c\"")]
    [InlineData(new[] { "say \"hi\"" }, "\"say \\\"hi\\\"\"")]
    [InlineData(new[] { "C:\\dir with space\\" }, "\"C:\\dir with space\\\\\"")]
    [InlineData(new[] { "" }, "\"\"")]
    [InlineData(new[] { "a&b|c<d>e^f%g!" }, "a&b|c<d>e^f%g!")]
    public void Windows_arguments_are_quoted_for_CommandLineToArgvW(string[] args, string expected)
    {
        CmdDetachedLauncher.JoinArguments(args).Should().Be(expected);
    }

    [Fact]
    public void Windows_supervisor_reads_user_text_only_through_delayed_expansion()
    {
        var script = CmdDetachedLauncher.SupervisorScript;
        script.Should().Contain("setlocal EnableDelayedExpansion");
        script.Should().NotContain("%SWARMPS", "percent expansion happens before cmd parses operators");
        script.Should().Contain("!SWARMPS_DETACHED_ARGS!");
    }
}
