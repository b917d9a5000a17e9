using System.CommandLine;
using SwarmPS.Cli.Output;
using SwarmPS.Core;
using SwarmPS.Core.Providers.Kvm;
using SwarmPS.Core.Registry;

namespace SwarmPS.Cli;

/// <summary>
/// <c>swarmps image ...</c>: base images of VM providers (today: kvm), the CLI side of
/// <see cref="KvmImages"/> (the calls Register-/Get-/Unregister-SwarmBaseImage make). Parse, call,
/// render; every rule (name, file and qcow2 checks, the in-use refusal) lives in Core.
/// </summary>
internal sealed partial class CliApp
{
    private Command ImageCommand()
    {
        var image = new Command("image", "Register, list and unregister the base images VM environments are cloned from (kvm).");
        image.Subcommands.Add(ImageRegister());
        image.Subcommands.Add(ImageList());
        image.Subcommands.Add(ImageUnregister());
        image.Subcommands.Add(ImageBuild());
        return image;
    }

    private static Argument<string> ImageNameArgument() => new("NAME") { Description = "The image name (the ticket rules: 1-64 of [A-Za-z0-9._-], starting with a letter or digit)." };

    /// <summary>The provider that holds base images. Unknown names are ProviderNotFound; known ones without base images are refused.</summary>
    private static string ImageProvider(SwarmService service, string? name)
    {
        var p = service.Providers.Get(name);
        if (!string.Equals(p.Name, KvmProvider.ProviderName, StringComparison.OrdinalIgnoreCase) &&
            !string.Equals(p.Name, Core.Providers.HyperV.HyperVProvider.ProviderName, StringComparison.OrdinalIgnoreCase) &&
            !string.Equals(p.Name, Core.Providers.Tart.TartProvider.ProviderName, StringComparison.OrdinalIgnoreCase))
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument,
                $"The {p.Name} provider has no registered base images; 'swarmps image' supports --provider {KvmProvider.ProviderName}, hyperv or tart.", name);
        return p.Name;
    }

    private Command ImageRegister()
    {
        var name = ImageNameArgument();
        var provider = new Option<string>("--provider") { Description = "The provider the image is for: kvm, hyperv or tart.", HelpName = "P", Required = true };
        var path = new Option<string>("--path") { Description = "kvm: the qcow2 file (checked with qemu-img info); hyperv: the base .vhdx; tart: the base VM name or OCI reference. Never modified or deleted.", HelpName = "FILE", Required = true };
        var os = new Option<string?>("--os") { Description = "Free text: which OS, what is installed.", HelpName = "NOTE" };
        var cpus = new Option<int?>("--cpus") { Description = "Default vCPUs of environments made from it (1-256; default 2).", HelpName = "N" };
        var memory = new Option<int?>("--memory-mb") { Description = "Default memory in MiB (32-4194304; default 4096).", HelpName = "M" };
        var disk = new Option<int?>("--disk-gb") { Description = "Virtual disk size of each overlay in GiB (0-65536; default 0: the base's size).", HelpName = "G" };
        var sshUser = new Option<string?>("--ssh-user") { Description = "The user SSH logs in as (kvm: the seed authorizes each environment's key for it; default kvm.sshUser in config.json, else root; hyperv: root; tart: admin).", HelpName = "USER" };
        var kernel = new Option<string?>("--kernel") { Description = "Direct kernel boot: the kernel file (the qcow2 stays the disk).", HelpName = "FILE" };
        var initrd = new Option<string?>("--initrd") { Description = "Direct kernel boot: the initrd file (needs --kernel).", HelpName = "FILE" };
        var cmdline = new Option<string?>("--cmdline") { Description = "Direct kernel boot: the kernel command line (needs --kernel).", HelpName = "TEXT" };
        var cmd = new Command("register", "Register a base image: a qcow2 file (kvm), a VHDX (hyperv) or a Tart VM (tart).") { name, provider, path, os, cpus, memory, disk, sshUser, kernel, initrd, cmdline };
        Define(cmd, async inv =>
        {
            var n = Names.Ticket(inv.Get(name));
            var pn = ImageProvider(inv.Service, inv.Get(provider));
            // hyperv: --path is a base .vhdx; tart: --path is a local Tart VM name or an OCI reference.
            if (pn == Core.Providers.HyperV.HyperVProvider.ProviderName || pn == Core.Providers.Tart.TartProvider.ProviderName)
            {
                var vi = pn == Core.Providers.Tart.TartProvider.ProviderName
                    ? await Core.Providers.Tart.TartImages.RegisterAsync(inv.Service.Registry, n, inv.Get(path)!, inv.Get(os), inv.Get(cpus) ?? 2, inv.Get(memory) ?? 4096, inv.Get(sshUser) ?? "admin", ct: inv.Ct).ConfigureAwait(false)
                    : Core.Providers.HyperV.HyperVImages.Register(inv.Service.Registry, n, inv.Get(path)!, inv.Get(os), inv.Get(cpus) ?? 2, inv.Get(memory) ?? 4096, inv.Get(sshUser) ?? "root");
                return inv.Emit(() => CliJson.BaseImage(vi), w => HumanOutput.BaseImage(w, vi));
            }
            var images = new KvmImages(inv.Service.Registry);
            var user = inv.Get(sshUser) ?? KvmOptions.Resolve(inv.Service.Config.Kvm).SshUser;
            var i = await images.RegisterAsync(n, inv.Get(path)!, inv.Get(os), inv.Get(cpus) ?? 2, inv.Get(memory) ?? 4096, inv.Get(disk) ?? 0, user, inv.Ct,
                inv.Get(kernel), inv.Get(initrd), inv.Get(cmdline)).ConfigureAwait(false);
            return inv.Emit(() => CliJson.BaseImage(i), w => HumanOutput.BaseImage(w, i));
        });
        return cmd;
    }

    private Command ImageList()
    {
        var provider = new Option<string?>("--provider") { Description = "Only images of this provider.", HelpName = "P" };
        var cmd = new Command("list", "List the registered base images (by name).") { provider };
        Define(cmd, inv =>
        {
            var p = inv.Get(provider);
            // An unknown name is ProviderNotFound; a known provider without base images lists none.
            var filter = p is null ? null : inv.Service.Providers.Get(p).Name;
            var list = inv.Service.Registry.ListBaseImages(filter);
            return Task.FromResult(inv.Emit(() => CliJson.BaseImages(list), w => HumanOutput.BaseImages(w, list)));
        });
        return cmd;
    }

    private Command ImageUnregister()
    {
        var name = ImageNameArgument();
        var cmd = new Command("unregister", "Remove an image's registration (never its file). Refused while an environment uses it.") { name };
        Define(cmd, inv =>
        {
            var n = Names.Ticket(inv.Get(name));
            var i = new KvmImages(inv.Service.Registry).Unregister(n);
            return Task.FromResult(inv.Emit(() => CliJson.BaseImage(i), w => w.WriteLine($"Unregistered base image '{i.Name}' ({i.Provider}); {i.Path} was left as it is.")));
        });
        return cmd;
    }
}
