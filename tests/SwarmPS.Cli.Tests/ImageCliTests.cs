using System.Diagnostics;
using FluentAssertions;
using SwarmPS.Cli.Tests.Infrastructure;
using Xunit;

namespace SwarmPS.Cli.Tests;

/// <summary>
/// <c>swarmps image register|list|unregister</c> through the real CLI, against a real qcow2 made
/// with qemu-img at test time (the registration validates files with <c>qemu-img info</c>).
/// </summary>
[Trait("Category", "Integration")]
public sealed class ImageCliTests : IDisposable
{
    private readonly TempWorkspace _ws = new();
    public void Dispose() => _ws.Dispose();

    /// <summary>Runs qemu-img; null when it is not installed.</summary>
    private static (int ExitCode, string Output)? QemuImg(params string[] args)
    {
        var psi = new ProcessStartInfo("qemu-img") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["LC_ALL"] = "C";
        try
        {
            using var p = Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEndAsync();
            var error = p.StandardError.ReadToEndAsync();
            p.WaitForExit();
            return (p.ExitCode, output.Result + error.Result);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    /// <summary>A small qcow2 in the temp root, or null (after a loud SKIPPED line) when qemu-img is missing.</summary>
    private string? MakeQcow2()
    {
        var path = Path.Combine(_ws.Root, "base.qcow2");
        var r = QemuImg("create", "-f", "qcow2", path, "8M");
        if (r is null)
        {
            const string missing = "qemu-img is not installed (apt-get install qemu-utils)";
            if (System.Environment.GetEnvironmentVariable("SWARMPS_REQUIRE_BACKENDS") == "1") throw new InvalidOperationException("SWARMPS_REQUIRE_BACKENDS=1 but " + missing);
            Console.Error.WriteLine("SKIPPED (backend missing): " + missing);
            return null;
        }
        r.Value.ExitCode.Should().Be(0, r.Value.Output);
        return path;
    }

    [Fact]
    public async Task Register_list_duplicate_and_unregister_a_real_qcow2()
    {
        var qcow2 = MakeQcow2();
        if (qcow2 is null) return;

        var registered = await _ws.JsonAsync("image", "register", "deb-base", "--provider", "kvm", "--path", qcow2,
            "--os", "Debian 12 + Postgres", "--cpus", "1", "--memory-mb", "512", "--disk-gb", "4");
        registered.GetProperty("name").GetString().Should().Be("deb-base");
        registered.GetProperty("provider").GetString().Should().Be("kvm");
        registered.GetProperty("path").GetString().Should().Be(Path.GetFullPath(qcow2));
        registered.GetProperty("osNote").GetString().Should().Be("Debian 12 + Postgres");
        registered.GetProperty("sshUser").GetString().Should().Be("root");
        registered.GetProperty("cpus").GetInt32().Should().Be(1);
        registered.GetProperty("memoryMb").GetInt32().Should().Be(512);
        registered.GetProperty("diskGb").GetInt32().Should().Be(4);
        registered.TryGetProperty("createdAt", out _).Should().BeTrue();

        var list = await _ws.JsonAsync("image", "list");
        list.GetArrayLength().Should().Be(1);
        list[0].GetProperty("name").GetString().Should().Be("deb-base");
        list[0].GetProperty("path").GetString().Should().Be(Path.GetFullPath(qcow2));
        (await _ws.JsonAsync("image", "list", "--provider", "kvm")).GetArrayLength().Should().Be(1);
        (await _ws.JsonAsync("image", "list", "--provider", "worktree")).GetArrayLength().Should().Be(0);

        var human = await _ws.OkAsync("image", "list");
        human.StdOut.Should().StartWith("NAME").And.Contain("deb-base");

        // Names are unique regardless of case.
        var duplicate = await _ws.RunAsync("image", "register", "DEB-BASE", "--provider", "kvm", "--path", qcow2, "--json");
        duplicate.ExitCode.Should().Be(1, duplicate.ToString());
        duplicate.StdErr.Should().StartWith("ImageExists:");
        duplicate.StdOut.Should().BeEmpty();

        var removed = await _ws.JsonAsync("image", "unregister", "deb-base");
        removed.GetProperty("name").GetString().Should().Be("deb-base");
        (await _ws.JsonAsync("image", "list")).GetArrayLength().Should().Be(0);
        File.Exists(qcow2).Should().BeTrue("unregister never touches the file");

        var again = await _ws.RunAsync("image", "unregister", "deb-base");
        again.ExitCode.Should().Be(1, again.ToString());
        again.StdErr.Should().StartWith("ImageNotFound:");
    }

    [Fact]
    public async Task A_file_that_is_not_qcow2_is_refused_with_exit_2_and_nothing_is_registered()
    {
        if (MakeQcow2() is null) return;
        var raw = Path.Combine(_ws.Root, "disk.raw");
        var made = QemuImg("create", "-f", "raw", raw, "1M")!.Value;
        made.ExitCode.Should().Be(0, made.Output);

        var r = await _ws.RunAsync("image", "register", "raw-1", "--provider", "kvm", "--path", raw);
        r.ExitCode.Should().Be(2, r.ToString());
        r.StdErr.Should().StartWith("InvalidArgument:").And.Contain("qcow2");
        (await _ws.JsonAsync("image", "list")).GetArrayLength().Should().Be(0);
    }

    [Fact]
    public async Task Hostile_names_missing_files_and_bad_providers_are_refused_without_registering()
    {
        // No qemu-img needed: these are refused before the file is inspected.
        var anyFile = Path.Combine(_ws.Repo, "README.md");

        var hostile = await _ws.RunAsync("image", "register", "../x", "--provider", "kvm", "--path", anyFile);
        hostile.ExitCode.Should().Be(2, hostile.ToString());
        hostile.StdErr.Should().StartWith("InvalidTicket:");

        var hostileRemove = await _ws.RunAsync("image", "unregister", "../x");
        hostileRemove.ExitCode.Should().Be(2, hostileRemove.ToString());
        hostileRemove.StdErr.Should().StartWith("InvalidTicket:");

        var unknown = await _ws.RunAsync("image", "register", "img-1", "--provider", "nope", "--path", anyFile);
        unknown.ExitCode.Should().Be(2, unknown.ToString());
        unknown.StdErr.Should().StartWith("ProviderNotFound:");

        var docker = await _ws.RunAsync("image", "register", "img-1", "--provider", "docker", "--path", anyFile);
        docker.ExitCode.Should().Be(2, docker.ToString());
        docker.StdErr.Should().StartWith("InvalidArgument:");

        var noProvider = await _ws.RunAsync("image", "register", "img-1", "--path", anyFile);
        noProvider.ExitCode.Should().Be(2, noProvider.ToString());
        noProvider.StdErr.Should().StartWith("Usage:");

        var missing = await _ws.RunAsync("image", "register", "img-1", "--provider", "kvm", "--path", Path.Combine(_ws.Root, "nope.qcow2"));
        missing.ExitCode.Should().Be(1, missing.ToString());
        missing.StdErr.Should().StartWith("ImageNotFound:");

        (await _ws.JsonAsync("image", "list")).GetArrayLength().Should().Be(0);
    }
}
