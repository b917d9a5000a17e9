using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Processes.Detached;
using SwarmPS.Tests.Support;
using Xunit;

namespace SwarmPS.Tests;

/// <summary>
/// QueueControl.StartDetachedAsync (Start-SwarmQueue, swarmps queue start) with stand-in commands that
/// never take the scheduler lease: its own state folder per start, the cleaning of ended folders, and
/// that a start which gives up leaves nothing running. The races with real schedulers are in
/// SwarmPS.Cli.Tests (TaskCliTests) and tests/pester/Start-SwarmQueue.Tests.ps1.
/// </summary>
public sealed class QueueControlStartTests : IDisposable
{
    private readonly TempRepo _r = new();
    private readonly SwarmService _svc;

    public QueueControlStartTests() => _svc = new SwarmService(new SwarmHome(_r.Home), new SwarmConfig());

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _r.Dispose();
    }

    private static bool Skip => OperatingSystem.IsWindows();

    private string Folder(string name, string? status)
    {
        var dir = Path.Combine(_svc.Queue.SchedulersDirectory, name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "stdout.log"), "old output\n");
        if (status is not null) File.WriteAllText(Path.Combine(dir, "status"), status);
        return dir;
    }

    [Fact]
    public async Task A_failing_start_has_its_own_folder_and_earlier_folders_of_ended_supervisors_are_removed()
    {
        if (Skip) return;
        var self = Environment.ProcessId;
        var ended = Folder("20260101T000000000Z-aaaaaaaa", "11 12\n0\n");
        var live = Folder("20260101T000000001Z-bbbbbbbb", $"{self} {self}\n");
        var starting = Folder("20260101T000000002Z-cccccccc", null);
        var other = Folder("notes", "11 12\n0\n");
        // Files an older version kept directly in the scheduler folder; their supervisor has ended.
        File.WriteAllText(Path.Combine(_svc.Queue.SchedulersDirectory, "status"), "11 12\n0\n");
        File.WriteAllText(Path.Combine(_svc.Queue.SchedulersDirectory, "stderr.log"), "old\n");

        var act = () => _svc.Queue.StartDetachedAsync("/bin/sh", new[] { "-c", "echo broken >&2; exit 3" }, TimeSpan.FromSeconds(120));
        var ex = (await act.Should().ThrowAsync<SwarmException>()).Which;
        ex.ErrorId.Should().Be(ErrorIds.ProcessFailed, ex.Message);
        ex.Message.Should().Contain("exited with 3").And.Contain("broken");

        Directory.Exists(ended).Should().BeFalse("its supervisor recorded the exit");
        Directory.Exists(live).Should().BeTrue("its supervisor still runs");
        Directory.Exists(starting).Should().BeTrue("a folder without a status may be a start under way");
        Directory.Exists(other).Should().BeTrue("only start folders are cleaned");
        File.Exists(Path.Combine(_svc.Queue.SchedulersDirectory, "status")).Should().BeFalse();
        File.Exists(Path.Combine(_svc.Queue.SchedulersDirectory, "stderr.log")).Should().BeFalse();

        // The failed start's own folder is the one the status names, with its own exit code.
        var log = _svc.Queue.Status().LogDirectory!;
        new[] { ended, live, starting }.Should().NotContain(log);
        Path.GetDirectoryName(log).Should().Be(_svc.Queue.SchedulersDirectory);
        ex.Message.Should().Contain(log);
        new DetachedProcess(log).ExitCode.Should().Be(3);
    }

    [Fact]
    public async Task A_start_that_gives_up_ends_the_process_it_launched()
    {
        if (Skip) return;
        // A command that never takes the scheduler lease: the start times out (that outcome does not
        // depend on timing) and must not leave the command running.
        var act = () => _svc.Queue.StartDetachedAsync("/bin/sh", new[] { "-c", "exec sleep 600" }, TimeSpan.FromSeconds(1));
        (await act.Should().ThrowAsync<SwarmException>()).Which.ErrorId.Should().Be(ErrorIds.Timeout);
        var dir = Directory.GetDirectories(_svc.Queue.SchedulersDirectory).Should().ContainSingle().Subject;
        var state = new DetachedProcess(dir);
        state.ChildPid.Should().NotBeNull();
        // Its supervisor records the end (128 + SIGKILL); waited for, generously.
        (await state.WaitForExitAsync(TimeSpan.FromSeconds(60))).Should().Be(137);
        _svc.Queue.Status().Running.Should().BeFalse();
    }

    [Fact]
    public async Task A_launched_scheduler_that_ended_with_0_is_a_start_not_a_failure()
    {
        if (Skip) return;
        // A scheduler that found the queue drained serves and exits 0 before the start sees its lease.
        var s = await _svc.Queue.StartDetachedAsync("/bin/sh", new[] { "-c", "exit 0" }, TimeSpan.FromSeconds(120));
        s.Running.Should().BeFalse();
        new DetachedProcess(s.LogDirectory!).ExitCode.Should().Be(0);
    }
}
