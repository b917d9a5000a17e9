using FluentAssertions;
using SwarmPS.Cli.Tests.Infrastructure;
using Xunit;

namespace SwarmPS.Cli.Tests;

/// <summary>env new's provider options through the CLI: docker for real when an engine runs, the worktree refusal always.</summary>
[Trait("Category", "Integration")]
public sealed class ProviderOptionsCliTests : IDisposable
{
    private readonly TempWorkspace _ws = new();
    public void Dispose() => _ws.Dispose();

    [Fact]
    public async Task The_worktree_provider_refuses_docker_options_with_exit_2_and_creates_nothing()
    {
        var r = await _ws.RunAsync("env", "new", "OPT-1", "--no-worktree");
        r.ExitCode.Should().Be(2, r.ToString());
        r.StdErr.Should().StartWith("InvalidArgument:");
        (await _ws.RowCountAsync()).Should().Be(0);
    }

    [Fact]
    public async Task Docker_no_worktree_with_image_and_limits_then_exec_and_remove()
    {
        const string socket = "/var/run/docker.sock";
        string? missing = OperatingSystem.IsWindows() ? "not on Windows" : !File.Exists(socket) ? $"no Docker Engine at {socket} (.ci/backends/docker.sh start)" : null;
        if (missing is not null)
        {
            if (System.Environment.GetEnvironmentVariable("SWARMPS_REQUIRE_BACKENDS") == "1") throw new InvalidOperationException("SWARMPS_REQUIRE_BACKENDS=1 but " + missing);
            Console.Error.WriteLine("SKIPPED (backend missing): " + missing);
            return;
        }
        var created = await _ws.JsonAsync("env", "new", "DK-CLI-1", "--provider", "docker", "--no-worktree", "--image", "swarmps-tiny:latest", "--cpus", "1", "--memory-mb", "128");
        created.GetProperty("provider").GetString().Should().Be("docker");
        created.GetProperty("status").GetString().Should().Be("Running");
        var exec = await _ws.RunAsync("env", "exec", "DK-CLI-1", "--", "sh", "-c", "echo \"in $SWARM_TICKET\"; exit 3");
        exec.ExitCode.Should().Be(3, exec.ToString());
        exec.StdOut.Should().Contain("in DK-CLI-1");
        await _ws.OkAsync("env", "rm", "DK-CLI-1", "--force");
        (await _ws.RowCountAsync()).Should().Be(0);
    }
}
