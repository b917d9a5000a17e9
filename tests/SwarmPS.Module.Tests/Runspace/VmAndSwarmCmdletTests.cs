using FluentAssertions;
using SwarmPS.Module.Tests.Hosting;
using Xunit;

namespace SwarmPS.Module.Tests.RealRunspace;

/// <summary>
/// Cmdlets whose real work needs Slurm or a KVM host (the backend suites test that work): here they
/// run on their empty-state or error paths, which proves binding, the stable ErrorIds and that the
/// Core call behind them is reached.
/// </summary>
[Collection(RunspaceCollection.Name)]
public sealed class VmAndSwarmCmdletTests : RunspaceTest
{
    public VmAndSwarmCmdletTests(ModuleFixture fixture) : base(fixture) { }

    [Fact]
    public void Swarm_cmdlets_find_no_swarm()
    {
        Ok("Get-Swarm -Offline").Should().BeEmpty();
        Fails("Start-Swarm -Nodes 0 -Prompt x -Profile command").ErrorId.Should().StartWith("ParameterArgumentValidationError");
        var (id, command, _) = Fails("Send-SwarmPrompt -SwarmId sw-nope -Prompt x");
        (id, command).Should().Be(("SwarmNotFound", "SwarmPS.Cmdlets.Commands.SendSwarmPromptCommand"));
        Fails("Receive-SwarmResponse -SwarmId sw-nope").ErrorId.Should().Be("SwarmNotFound");
        Fails("Stop-Swarm -SwarmId sw-nope -Confirm:$false").ErrorId.Should().Be("SwarmNotFound");
    }

    [Fact]
    public void Base_image_cmdlets_on_an_empty_registry()
    {
        Ok("Get-SwarmBaseImage").Should().BeEmpty();
        Fails("New-SwarmBaseImage -Name img1 -Provider kvm -From $args[0]", Path.Combine(Root, "missing.qcow2")).ErrorId.Should().Be("InvalidArgument");
        Fails("Register-SwarmBaseImage -Name img2 -Path $args[0]", Path.Combine(Root, "missing.qcow2")).ErrorId.Should().Be("ImageNotFound");
        Fails("Register-SwarmBaseImage -Name img2 -Path $args[0] -Provider docker", Path.Combine(Root, "missing.qcow2")).Result.Describe().Should().Contain("use -Provider kvm");
        Fails("Unregister-SwarmBaseImage -Name img2 -Confirm:$false").ErrorId.Should().Be("ImageNotFound");
    }

    [Fact]
    public void A_base_image_is_registered_listed_and_unregistered_when_qemu_img_is_installed()
    {
        var qemuImg = Environment.GetEnvironmentVariable("PATH")!.Split(Path.PathSeparator).Select(d => Path.Combine(d, "qemu-img")).FirstOrDefault(File.Exists);
        if (qemuImg is null) return; // the error paths above still run; the KVM suites cover images where qemu is installed
        var disk = Path.Combine(Root, "base.qcow2");
        var psi = new System.Diagnostics.ProcessStartInfo(qemuImg) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "create", "-q", "-f", "qcow2", disk, "16M" }) psi.ArgumentList.Add(a);
        using (var p = System.Diagnostics.Process.Start(psi)!) p.WaitForExit();
        var image = Ok("Register-SwarmBaseImage -Name base1 -Path $args[0] -OsNote 'test image'", disk).Single();
        image.BaseObject.GetType().FullName.Should().Be("SwarmPS.Core.Registry.SwarmBaseImage");
        Ok("Get-SwarmBaseImage").Select(o => P(o, "Name")).Should().Equal("base1");
        P(Ok("Unregister-SwarmBaseImage -Name base1 -PassThru -Confirm:$false").Single(), "Name").Should().Be("base1");
        Ok("Get-SwarmBaseImage").Should().BeEmpty();
    }
}
