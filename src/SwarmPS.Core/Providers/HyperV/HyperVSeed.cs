using System.Globalization;
using System.Text;
using SwarmPS.Core.Providers.Kvm;

namespace SwarmPS.Core.Providers.HyperV;

/// <summary>
/// The NoCloud seed of a Hyper-V guest: the same meta-data and user-data as the KVM provider's
/// (<see cref="CloudInitSeed"/>: hostname, the environment's SSH key, the SWARM_* port block), plus a
/// static network-config when the guest sits on the SwarmPS NAT switch (a NetNat has no DHCP).
/// Windows has no ISO tool, so the seed is a small dynamic VHDX with one FAT32 volume labelled CIDATA
/// (cloud-init's NoCloud reads vfat as well as iso9660), built with New-VHD, Mount-VHD, the Storage
/// cmdlets and Copy-Item, then attached to the VM's SCSI controller.
/// </summary>
public static class HyperVSeed
{
    /// <summary>cloud-init network-config v2: one NIC (matched by driver hv_netvsc) with a static address.</summary>
    public static string NetworkConfig(string address, string gateway, IReadOnlyList<string> dns)
    {
        var sb = new StringBuilder("version: 2\nethernets:\n  swarm0:\n    match:\n      driver: hv_netvsc\n    dhcp4: false\n");
        sb.Append("    addresses: [").Append(address).Append("/24]\n");
        sb.Append("    routes:\n      - to: default\n        via: ").Append(gateway).Append('\n');
        sb.Append("    nameservers:\n      addresses: [").Append(string.Join(", ", dns)).Append("]\n");
        return sb.ToString();
    }

    /// <summary>The seed's files (name to content).</summary>
    public static IReadOnlyDictionary<string, string> Files(string instanceId, string hostName, string user, string publicKey,
        IReadOnlyDictionary<string, string> variables, string? networkConfig)
    {
        var files = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["meta-data"] = CloudInitSeed.MetaData(instanceId, hostName),
            ["user-data"] = CloudInitSeed.UserData(hostName, user, publicKey, variables),
        };
        if (networkConfig is not null) files["network-config"] = networkConfig;
        return files;
    }

    /// <summary>Writes the files to a private temporary folder, packs them into <paramref name="vhdx"/> and deletes the folder.</summary>
    public static async Task BuildAsync(HyperVCalls hv, string vhdx, int sizeMb, IReadOnlyDictionary<string, string> files, string ticket, CancellationToken ct)
    {
        var dir = Path.Combine(Path.GetTempPath(), "swarmps-seed-" + Guid.NewGuid().ToString("N"));
        SwarmHome.EnsurePrivateDirectory(dir);
        try
        {
            foreach (var (name, content) in files)
                await File.WriteAllTextAsync(Path.Combine(dir, name), content, new UTF8Encoding(false), ct).ConfigureAwait(false);
            await hv.RunAsync("New-VHD", ticket, ct, ("Path", vhdx), ("SizeBytes", (long)sizeMb * 1024 * 1024), ("Dynamic", CmdletSwitch.Present)).ConfigureAwait(false);
            var mounted = false;
            try
            {
                var disk = await hv.RunAsync("Mount-VHD", ticket, ct, ("Path", vhdx), ("Passthru", CmdletSwitch.Present)).ConfigureAwait(false);
                mounted = true;
                var number = disk.FirstOrDefault()?.Int64("DiskNumber") ?? throw new SwarmException(ErrorIds.ProcessFailed, SwarmErrorKind.OperationFailed, $"Mount-VHD {vhdx} returned no DiskNumber.", ticket);
                await hv.RunAsync("Initialize-Disk", ticket, ct, ("Number", number), ("PartitionStyle", "MBR")).ConfigureAwait(false);
                var part = await hv.RunAsync("New-Partition", ticket, ct, ("DiskNumber", number), ("UseMaximumSize", CmdletSwitch.Present), ("AssignDriveLetter", CmdletSwitch.Present)).ConfigureAwait(false);
                var letter = part.FirstOrDefault()?.String("DriveLetter") is { Length: 1 } l ? l : throw new SwarmException(ErrorIds.ProcessFailed, SwarmErrorKind.OperationFailed, $"New-Partition on the seed disk {number} got no drive letter (all letters in use?).", ticket);
                await hv.RunAsync("Format-Volume", ticket, ct, ("DriveLetter", letter), ("FileSystem", "FAT32"), ("NewFileSystemLabel", "CIDATA"), ("Force", CmdletSwitch.Present), ("Confirm", CmdletSwitch.Off)).ConfigureAwait(false);
                await hv.RunAsync("Copy-Item", ticket, ct, ("LiteralPath", files.Keys.Select(n => Path.Combine(dir, n)).ToArray()), ("Destination", letter + ":\\")).ConfigureAwait(false);
            }
            catch (SwarmException ex) when (ex.Kind == SwarmErrorKind.OperationFailed)
            {
                // Mounting and formatting a disk needs an elevated session even for Hyper-V Administrators.
                throw new SwarmException(ex.ErrorId, ex.Kind, ex.Message + " Building the cloud-init seed disk (Mount-VHD, Initialize-Disk, Format-Volume) needs an elevated pwsh (Run as administrator).", ticket, ex);
            }
            finally
            {
                if (mounted) await hv.TryRunAsync("Dismount-VHD", CancellationToken.None, ("Path", vhdx)).ConfigureAwait(false);
            }
        }
        finally
        {
            VmAccess.TryDeleteDirectory(dir);
        }
    }

    /// <summary>The guest address for a port block: the block's index in the configured port range, from .10 up.</summary>
    public static string StaticAddress(string network24, PortBlock ports, PortConfig range, string ticket)
    {
        var index = (ports.Start - range.Start) / Math.Max(1, range.BlockSize);
        var host = 10 + index;
        if (index < 0 || host > 250)
            throw new SwarmException(ErrorIds.PortsExhausted, SwarmErrorKind.Unavailable,
                $"The SwarmPS NAT switch has room for 241 guests (.10-.250); '{ticket}' got port block #{index}. Remove environments or use a switch with DHCP (SWARMPS_HYPERV_SWITCH).", ticket);
        return network24 + "." + host.ToString(CultureInfo.InvariantCulture);
    }
}
