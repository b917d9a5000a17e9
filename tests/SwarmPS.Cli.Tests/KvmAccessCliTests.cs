using System.Diagnostics;
using FluentAssertions;
using SwarmPS.Cli.Tests.Infrastructure;
using Xunit;

namespace SwarmPS.Cli.Tests;

/// <summary>
/// The CLI surface of issue 6 that needs no running VM: image register with direct kernel boot,
/// env ssh (the interactive plan, printed with --json), env connection and --no-wait refusals.
/// </summary>
[Trait("Category", "Integration")]
public sealed class KvmAccessCliTests : IDisposable
{
    private readonly TempWorkspace _ws = new();
    public void Dispose() => _ws.Dispose();

    private string? MakeQcow2()
    {
        var path = Path.Combine(_ws.Root, "tiny.qcow2");
        var psi = new ProcessStartInfo("qemu-img") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "create", "-q", "-f", "qcow2", path, "8M" }) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            p.WaitForExit();
            return p.ExitCode == 0 ? path : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            if (System.Environment.GetEnvironmentVariable("SWARMPS_REQUIRE_BACKENDS") == "1") throw;
            Console.Error.WriteLine("SKIPPED (backend missing): qemu-img is not installed");
            return null;
        }
    }

    [Fact]
    public async Task Image_register_records_kernel_initrd_and_command_line()
    {
        var qcow2 = MakeQcow2();
        if (qcow2 is null) return;
        var kernel = Path.Combine(_ws.Root, "vmlinuz");
        var initrd = Path.Combine(_ws.Root, "initrd.img");
        File.WriteAllText(kernel, "k");
        File.WriteAllText(initrd, "i");
        var i = await _ws.JsonAsync("image", "register", "tiny", "--provider", "kvm", "--path", qcow2, "--kernel", kernel, "--initrd", initrd,
            "--cmdline", "console=ttyS0,115200 x=\"<y>\"", "--ssh-user", "dev", "--cpus", "1", "--memory-mb", "256");
        i.GetProperty("kernelPath").GetString().Should().Be(kernel);
        i.GetProperty("initrdPath").GetString().Should().Be(initrd);
        i.GetProperty("kernelCommandLine").GetString().Should().Be("console=ttyS0,115200 x=\"<y>\"");
        i.GetProperty("sshUser").GetString().Should().Be("dev");
        (await _ws.JsonAsync("image", "list"))[0].GetProperty("kernelPath").GetString().Should().Be(kernel);
        (await _ws.OkAsync("image", "list")).StdOut.Should().Contain("tiny");

        var noKernel = await _ws.RunAsync("image", "register", "bad", "--provider", "kvm", "--path", qcow2, "--initrd", initrd);
        noKernel.ExitCode.Should().Be(2, noKernel.ToString());
        noKernel.StdErr.Should().StartWith("InvalidArgument:");
        var missingKernel = await _ws.RunAsync("image", "register", "bad", "--provider", "kvm", "--path", qcow2, "--kernel", Path.Combine(_ws.Root, "nope"));
        missingKernel.ExitCode.Should().NotBe(0);
        missingKernel.StdErr.Should().StartWith("ImageNotFound:");
        (await _ws.JsonAsync("image", "list")).GetArrayLength().Should().Be(1);
    }

    [Fact]
    public async Task Env_ssh_plans_a_shell_in_the_worktree_and_connection_shows_it()
    {
        await _ws.OkAsync("env", "new", "SSH-1");
        var plan = await _ws.JsonAsync("env", "ssh", "SSH-1");
        plan.GetProperty("kind").GetString().Should().Be("LocalDirectory");
        var ws = (await _ws.JsonAsync("env", "get", "SSH-1")).GetProperty("workspacePath").GetString();
        plan.GetProperty("workingDirectory").GetString().Should().Be(ws);
        plan.GetProperty("environment").GetProperty("SWARM_TICKET").GetString().Should().Be("SSH-1");
        var c = await _ws.JsonAsync("env", "connection", "SSH-1");
        c.GetProperty("host").GetString().Should().Be("localhost");
        c.GetProperty("workingDirectory").GetString().Should().Be(ws);

        var missing = await _ws.RunAsync("env", "ssh", "NOPE-1");
        missing.ExitCode.Should().NotBe(0);
        missing.StdErr.Should().StartWith("EnvironmentNotFound:");
    }

    [Fact]
    public async Task No_wait_is_a_kvm_option_other_providers_refuse_before_creating_anything()
    {
        var r = await _ws.RunAsync("env", "new", "NW-1", "--no-wait");
        r.ExitCode.Should().Be(2, r.ToString());
        r.StdErr.Should().StartWith("InvalidArgument:").And.Contain("noWait");
        (await _ws.JsonAsync("env", "list")).GetArrayLength().Should().Be(0);
    }
}
