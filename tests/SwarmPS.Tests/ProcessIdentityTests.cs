using System.Diagnostics;
using System.Globalization;
using FluentAssertions;
using SwarmPS.Core.Processes;
using Xunit;

namespace SwarmPS.Tests;

/// <summary>
/// A process identity (pid@start) must read the same every time while the process lives: an identity that
/// flips makes a live supervisor look gone, and its agent is reported Lost (seen under load in CI).
/// </summary>
public sealed class ProcessIdentityTests
{
    [Fact]
    public void The_identity_of_a_live_process_reads_the_same_every_time()
    {
        using var self = Process.GetCurrentProcess();
        var first = ProcessIdentity.Of(self.Id);
        first.Should().NotBeNull();
        for (var i = 0; i < 5000; i++) ProcessIdentity.Of(self.Id).Should().Be(first);
        ProcessIdentity.Current().Should().Be(first);
        ProcessIdentity.IsAlive(first).Should().BeTrue();
    }

    [Fact]
    public void On_linux_the_start_comes_from_the_kernel_and_agrees_with_dotnets_reading()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var self = Process.GetCurrentProcess();
        var linux = ProcessIdentity.LinuxStartSeconds(self.Id);
        linux.Should().NotBeNull();
        var dotnet = self.StartTime.ToUniversalTime().Ticks / TimeSpan.TicksPerSecond;
        Math.Abs(linux!.Value - dotnet).Should().BeLessThanOrEqualTo(ProcessIdentity.StartToleranceSeconds,
            "identities recorded by earlier versions (Process.StartTime) still name the same live process");
    }

    [Fact]
    public void A_start_a_rounding_away_is_the_same_process_and_one_further_off_is_a_recycled_pid()
    {
        using var self = Process.GetCurrentProcess();
        var start = long.Parse(ProcessIdentity.Current().Split('@')[1], CultureInfo.InvariantCulture);
        string Id(long s) => string.Create(CultureInfo.InvariantCulture, $"{self.Id}@{s}");
        ProcessIdentity.IsAlive(Id(start - 1)).Should().BeTrue();
        ProcessIdentity.IsAlive(Id(start + 1)).Should().BeTrue();
        ProcessIdentity.IsAlive(Id(start - 60)).Should().BeFalse("a process that started a minute earlier with this pid is gone");
        ProcessIdentity.IsAlive(Id(start + 3600)).Should().BeFalse();
        ProcessIdentity.IsAlive($"{self.Id}@x").Should().BeFalse();
        ProcessIdentity.IsAlive(null).Should().BeFalse();
    }

    [Fact]
    public void A_process_that_ended_is_not_alive()
    {
        if (OperatingSystem.IsWindows()) return;
        using var p = Process.Start(new ProcessStartInfo("sleep", "600") { UseShellExecute = false })!;
        var id = ProcessIdentity.Of(p.Id);
        ProcessIdentity.IsAlive(id).Should().BeTrue();
        p.Kill();
        p.WaitForExit(60_000).Should().BeTrue();
        ProcessIdentity.IsAlive(id).Should().BeFalse();
    }
}
