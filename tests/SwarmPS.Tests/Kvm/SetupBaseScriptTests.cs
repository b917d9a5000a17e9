using System.Diagnostics;
using FluentAssertions;
using Xunit;

namespace SwarmPS.Tests.Kvm;

/// <summary>
/// Static checks of module/scripts/setup-base.sh (it provisions a guest as root, so it is never run on the test
/// host): bash parses it, it is strict, it installs every required component, it never installs Docker, and its
/// steps check before they change.
/// </summary>
public sealed class SetupBaseScriptTests
{
    private static string ScriptPath
    {
        get
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            {
                var p = Path.Combine(d.FullName, "module", "scripts", "setup-base.sh");
                if (File.Exists(p)) return p;
            }
            throw new FileNotFoundException("module/scripts/setup-base.sh not found above " + AppContext.BaseDirectory);
        }
    }

    private static string Text => File.ReadAllText(ScriptPath);

    [Fact]
    public void Bash_parses_it()
    {
        if (OperatingSystem.IsWindows()) return;
        var psi = new ProcessStartInfo("bash") { RedirectStandardError = true };
        psi.ArgumentList.Add("-n");
        psi.ArgumentList.Add(ScriptPath);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        p.ExitCode.Should().Be(0, err);
    }

    [Fact]
    public void It_is_strict_runs_as_root_and_has_no_windows_line_endings()
    {
        Text.Should().StartWith("#!/usr/bin/env bash\n").And.Contain("\nset -euo pipefail\n").And.NotContain("\r");
        Text.Should().Contain("[ \"$(id -u)\" = 0 ] || die");
    }

    [Theory]
    [InlineData("apt_install postgresql postgresql-contrib")]
    [InlineData("postgresql-$pgver-pgvector")]
    [InlineData("CREATE EXTENSION IF NOT EXISTS vector;")]
    [InlineData("apt_install redis-server")]
    [InlineData("apt_install nodejs npm")]
    [InlineData("apt_install python3 python3-venv python3-pip python3-dev pipx")]
    [InlineData("poetry")]
    [InlineData("https://sh.rustup.rs")]
    [InlineData("git openssh-server")]
    public void It_installs_every_required_component(string line) => Text.Should().Contain(line);

    [Fact]
    public void It_never_installs_docker_and_refuses_an_image_that_has_it()
    {
        var installs = Text.Split('\n').Where(l => l.TrimStart().StartsWith("apt_install", StringComparison.Ordinal));
        installs.Should().NotContain(l => l.Contains("docker", StringComparison.OrdinalIgnoreCase) || l.Contains("containerd", StringComparison.OrdinalIgnoreCase));
        Text.Should().Contain("die \"Docker is installed in this image");
    }

    [Fact]
    public void It_is_idempotent_by_construction_and_powers_off_only_as_provisioning()
    {
        Text.Should().Contain("dpkg-query -W").And.Contain("if ! command -v poetry").And.Contain("if ! command -v cargo");
        Text.Should().Contain("[ \"${SWARMPS_PROVISIONING:-0}\" = 1 ] && poweroff_at_end=1").And.Contain("--poweroff) poweroff_at_end=1");
        Text.Should().Contain("if [ $poweroff_at_end = 1 ]; then").And.Contain("shutdown -P +1");
        Text.Should().NotContain("rm -rf /tmp", "it may be run by hand; it must not wipe a machine's temp folders");
    }
}
