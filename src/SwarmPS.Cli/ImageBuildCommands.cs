using System.CommandLine;
using SwarmPS.Cli.Output;
using SwarmPS.Core;
using SwarmPS.Core.Providers.Kvm;

namespace SwarmPS.Cli;

/// <summary><c>swarmps image build</c>: the CLI side of <see cref="KvmImageBuilder"/> (New-SwarmBaseImage). Parse, call, render.</summary>
internal sealed partial class CliApp
{
    private Command ImageBuild()
    {
        var name = ImageNameArgument();
        var provider = new Option<string>("--provider") { Description = "The provider the image is for: kvm.", HelpName = "P", Required = true };
        var from = new Option<string>("--from") { Description = "The source cloud image (qcow2, raw, ...; read, never modified). It must run cloud-init (NoCloud).", HelpName = "FILE", Required = true };
        var script = new Option<string?>("--provision-script") { Description = "A script run once as root in the builder VM (for example the module's scripts/setup-base.sh). It goes onto the seed as a file.", HelpName = "F" };
        var os = new Option<string?>("--os") { Description = "Free text: which OS, what is installed.", HelpName = "NOTE" };
        var cpus = new Option<int?>("--cpus") { Description = "Default vCPUs of environments made from it (1-256; default 2).", HelpName = "N" };
        var memory = new Option<int?>("--memory-mb") { Description = "Default memory of environments in MiB (default 4096).", HelpName = "M" };
        var disk = new Option<int?>("--disk-gb") { Description = "Grow the virtual disk to this many GiB when the source is smaller (default 20; 0 keeps the source's size).", HelpName = "G" };
        var sshUser = new Option<string?>("--ssh-user") { Description = "The user SSH logs in as in environments (default root).", HelpName = "USER" };
        var buildMemory = new Option<int?>("--build-memory-mb") { Description = "Memory of the builder VM in MiB (default 2048).", HelpName = "M" };
        var timeout = new Option<int?>("--timeout-minutes") { Description = "How long the builder VM may run before the build fails (default 60).", HelpName = "MIN" };
        var cmd = new Command("build", "Build a base image: convert the source into the SwarmPS pool, boot it once with a cloud-init seed that runs the provisioning script, wait for it to power off, register it.")
        {
            name, provider, from, script, os, cpus, memory, disk, sshUser, buildMemory, timeout,
        };
        Define(cmd, async inv =>
        {
            var n = Names.Ticket(inv.Get(name));
            ImageProvider(inv.Service, inv.Get(provider));
            var minutes = inv.Get(timeout) ?? 60;
            if (minutes is < 1 or > 24 * 60)
                throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"--timeout-minutes must be 1-1440 (got {minutes}).", n);
            var defaults = new KvmImageBuildRequest { Name = n, From = "" };
            var request = new KvmImageBuildRequest
            {
                Name = n, From = inv.Get(from)!, ProvisionScript = inv.Get(script), OsNote = inv.Get(os),
                Cpus = inv.Get(cpus) ?? defaults.Cpus, MemoryMb = inv.Get(memory) ?? defaults.MemoryMb, DiskGb = inv.Get(disk) ?? defaults.DiskGb,
                SshUser = inv.Get(sshUser) ?? defaults.SshUser, BuildMemoryMb = inv.Get(buildMemory) ?? defaults.BuildMemoryMb,
                Timeout = TimeSpan.FromMinutes(minutes),
            };
            var builder = new KvmImageBuilder(inv.Service.Registry, inv.Service.Home);
            var i = await inv.WithProgress("Building base image", p => builder.BuildAsync(request, p, inv.Ct)).ConfigureAwait(false);
            return inv.Emit(() => CliJson.BaseImage(i), w => HumanOutput.BaseImage(w, i));
        });
        return cmd;
    }
}
