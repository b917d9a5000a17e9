using FluentAssertions;
using SwarmPS.Cli.Tests.Infrastructure;
using Xunit;

namespace SwarmPS.Cli.Tests;

/// <summary>
/// <c>swarmps image register --provider hyperv|tart</c> and <c>swarmps env new --provider hyperv|tart</c>
/// through the real CLI. Tart registration talks to the fake tart (tests/SwarmPS.Tests/Fakes/tart) through
/// SWARMPS_TART; the CLI has no in-process Hyper-V, so hyperv environments are refused there with the reason.
/// </summary>
public sealed class VmImageCliTests : IDisposable
{
    private readonly TempWorkspace _ws = new();
    public void Dispose() => _ws.Dispose();

    private static string FakeTart()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "tests", "SwarmPS.Tests", "Fakes", "tart"))) dir = dir.Parent;
        return Path.Combine(dir!.FullName, "tests", "SwarmPS.Tests", "Fakes", "tart");
    }

    [Fact]
    public async Task A_base_vhdx_registers_for_hyperv_and_other_files_are_refused()
    {
        var vhdx = Path.Combine(_ws.Root, "ubuntu.vhdx");
        File.WriteAllText(vhdx, "vhdx");
        var i = await _ws.JsonAsync("image", "register", "hv-base", "--provider", "hyperv", "--path", vhdx, "--cpus", "4", "--memory-mb", "8192", "--ssh-user", "swarm");
        i.GetProperty("provider").GetString().Should().Be("hyperv");
        i.GetProperty("path").GetString().Should().Be(Path.GetFullPath(vhdx));
        i.GetProperty("sshUser").GetString().Should().Be("swarm");
        (await _ws.JsonAsync("image", "list", "--provider", "hyperv")).GetArrayLength().Should().Be(1);

        var qcow = Path.Combine(_ws.Root, "x.qcow2");
        File.WriteAllText(qcow, "q");
        var bad = await _ws.RunAsync("image", "register", "hv-2", "--provider", "hyperv", "--path", qcow);
        bad.ExitCode.Should().Be(2, bad.ToString());
        bad.StdErr.Should().Contain(".vhdx");

        // The CLI cannot call Hyper-V in-process: the provider is unavailable, with the reason, and nothing is kept.
        var env = await _ws.RunAsync("env", "new", "HV-1", "--provider", "hyperv", "--image", "hv-base");
        env.ExitCode.Should().Be(1, env.ToString());
        env.StdErr.Should().StartWith("ProviderUnavailable:").And.Contain(OperatingSystem.IsWindows() ? "inside pwsh" : "Windows hosts only");
        (await _ws.RowCountAsync()).Should().Be(0);
    }

    [Fact]
    public async Task A_tart_base_vm_is_checked_with_tart_get_before_it_registers()
    {
        if (OperatingSystem.IsWindows()) return; // the fake tart is a bash script
        var tartHome = Path.Combine(_ws.Root, "tart-home");
        Directory.CreateDirectory(Path.Combine(tartHome, "vms", "sequoia"));
        _ws.Environment["SWARMPS_TART"] = FakeTart();
        _ws.Environment["TART_HOME"] = tartHome;

        var i = await _ws.JsonAsync("image", "register", "mac", "--provider", "tart", "--path", "sequoia");
        i.GetProperty("provider").GetString().Should().Be("tart");
        i.GetProperty("path").GetString().Should().Be("sequoia");
        i.GetProperty("sshUser").GetString().Should().Be("admin");

        var missing = await _ws.RunAsync("image", "register", "mac2", "--provider", "tart", "--path", "no-such-vm");
        missing.ExitCode.Should().Be(1, missing.ToString());
        missing.StdErr.Should().StartWith("ImageNotFound:").And.Contain("the specified VM \"no-such-vm\" does not exist");

        // OCI references are pulled by the first clone, so they register without a local check.
        (await _ws.JsonAsync("image", "register", "oci", "--provider", "tart", "--path", "ghcr.io/cirruslabs/macos-sequoia-base:latest"))
            .GetProperty("path").GetString().Should().Be("ghcr.io/cirruslabs/macos-sequoia-base:latest");
        // Without tart (the Linux CI host), env new says why, and keeps nothing.
        _ws.Environment["SWARMPS_TART"] = Path.Combine(_ws.Root, "no-tart-here");
        var env = await _ws.RunAsync("env", "new", "MAC-1", "--provider", "tart", "--image", "mac");
        env.ExitCode.Should().Be(1, env.ToString());
        env.StdErr.Should().StartWith("ProviderUnavailable:").And.Contain(OperatingSystem.IsMacOS() ? "could not be run" : "macOS hosts only");
        (await _ws.RowCountAsync()).Should().Be(0);
        _ws.Environment["SWARMPS_TART"] = FakeTart();

        var hostile = await _ws.RunAsync("image", "register", "bad", "--provider", "tart", "--path", "--help");
        hostile.ExitCode.Should().Be(2, hostile.ToString());
        (await _ws.JsonAsync("image", "list", "--provider", "tart")).GetArrayLength().Should().Be(2);
    }
}
