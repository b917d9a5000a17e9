using FluentAssertions;
using SwarmPS.Cli.Tests.Infrastructure;
using Xunit;

namespace SwarmPS.Cli.Tests;

/// <summary><c>swarmps host</c>, <c>env new --force</c> and the input checks of <c>image build</c> through the real CLI.</summary>
[Trait("Category", "Integration")]
public sealed class HostCliTests : IDisposable
{
    private readonly TempWorkspace _ws = new();
    public void Dispose() => _ws.Dispose();

    [Fact]
    public async Task Host_reports_capacity_and_allocations_as_json_and_text()
    {
        await _ws.OkAsync("env", "new", "HOST-1", "--force");
        var j = await _ws.JsonAsync("host");
        j.GetProperty("logicalCpus").GetInt32().Should().Be(System.Environment.ProcessorCount);
        j.GetProperty("memoryMb").GetInt64().Should().BeGreaterThan(0);
        j.GetProperty("environments").GetInt32().Should().Be(1);
        var resources = j.GetProperty("resources").EnumerateArray().ToList();
        resources.Select(r => r.GetProperty("resource").GetString()).Should().Equal("Cpu", "Memory", "Disk");
        resources.Should().OnlyContain(r => r.GetProperty("allocated").GetInt64() == 0, "a worktree allocates nothing");
        resources[0].GetProperty("overcommit").GetDouble().Should().Be(4.0);
        resources[2].GetProperty("limit").ValueKind.Should().Be(System.Text.Json.JsonValueKind.Null);
        j.GetProperty("disks").GetArrayLength().Should().BeGreaterThan(0);

        var text = await _ws.OkAsync("host");
        text.StdOut.Should().Contain("RESOURCE").And.Contain("OVERCOMMIT").And.Contain("not checked").And.Contain("FILESYSTEM");
    }

    [Fact]
    public async Task Host_reads_the_ratios_from_config_json_and_rejects_bad_ones()
    {
        Directory.CreateDirectory(_ws.Home);
        File.WriteAllText(Path.Combine(_ws.Home, "config.json"), "{ \"host\": { \"cpuOvercommit\": 1.5, \"diskOvercommit\": 2 } }");
        var resources = (await _ws.JsonAsync("host")).GetProperty("resources").EnumerateArray().ToList();
        resources[0].GetProperty("overcommit").GetDouble().Should().Be(1.5);
        resources[2].GetProperty("overcommit").GetDouble().Should().Be(2.0);

        File.WriteAllText(Path.Combine(_ws.Home, "config.json"), "{ \"host\": { \"memoryOvercommit\": -1 } }");
        var bad = await _ws.RunAsync("host");
        bad.ExitCode.Should().Be(2);
        bad.StdErr.Should().StartWith("ConfigInvalid:").And.Contain("host.memoryOvercommit");
    }

    [Fact]
    public async Task Image_build_refuses_bad_input_before_doing_anything()
    {
        var missing = await _ws.RunAsync("image", "build", "img1", "--provider", "kvm", "--from", Path.Combine(_ws.Root, "nope.qcow2"));
        missing.ExitCode.Should().Be(2);
        missing.StdErr.Should().StartWith("InvalidArgument:").And.Contain("does not exist");

        var wrongProvider = await _ws.RunAsync("image", "build", "img1", "--provider", "worktree", "--from", "x");
        wrongProvider.ExitCode.Should().Be(2);

        var badName = await _ws.RunAsync("image", "build", "../evil", "--provider", "kvm", "--from", "x");
        badName.ExitCode.Should().Be(2);
        badName.StdErr.Should().StartWith("InvalidTicket:");

        var badTimeout = await _ws.RunAsync("image", "build", "img1", "--provider", "kvm", "--from", "x", "--timeout-minutes", "0");
        badTimeout.ExitCode.Should().Be(2);

        (await _ws.JsonAsync("image", "list")).GetArrayLength().Should().Be(0);
    }
}
