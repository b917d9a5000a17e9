using SwarmPS.Core;
using SwarmPS.Core.Providers;
using SwarmPS.Core.Providers.HyperV;

namespace SwarmPS.Tests.HyperV;

/// <summary>
/// A Hyper-V host in memory, built from cli-facts.md section 3: it records every call (cmdlet and
/// parameters) and answers with the property bags the real cmdlets return (Get-VM: Name, Id, State as a
/// name, Notes; Get-VMSnapshot: Name, SnapshotType, ParentSnapshotName; Get-VMNetworkAdapter:
/// IPAddresses as string[] that stays empty until the guest's KVP reports), and with the real errors
/// (FullyQualifiedErrorId and category) for unknown objects. New-VHD and Copy-Item touch real files, so
/// "Remove-VM leaves the VHDX behind" is observable. Error texts marked [mem] in cli-facts are not verified.
/// </summary>
public sealed class FakeHyperVHost : IHyperVHost
{
    public sealed class FakeVm
    {
        public required string Name { get; init; }
        public Guid Id { get; } = Guid.NewGuid();
        public string State { get; set; } = "Off";
        public string Notes { get; set; } = "";
        public string CheckpointType { get; set; } = "Production";
        public bool AutomaticCheckpoints { get; set; } = true;
        public string? Marker { get; set; }
        public int AdapterPolls { get; set; }
        public string Switch { get; set; } = "";
        public List<string> Disks { get; } = new();
        public List<(string Name, string? Marker, string State)> Snapshots { get; } = new();
    }

    private readonly object _gate = new();
    public List<(string Cmdlet, IReadOnlyDictionary<string, object?> Parameters)> Calls { get; } = new();
    public Dictionary<string, FakeVm> Vms { get; } = new(StringComparer.OrdinalIgnoreCase);
    public HashSet<string> Switches { get; } = new(StringComparer.OrdinalIgnoreCase);
    /// <summary>NetNat name to InternalIPInterfaceAddressPrefix.</summary>
    public Dictionary<string, string> Nats { get; } = new(StringComparer.OrdinalIgnoreCase);
    public List<(string Alias, string Address)> HostAddresses { get; } = new();
    /// <summary>Seed VHDX path to the files copied into it.</summary>
    public Dictionary<string, Dictionary<string, string>> SeedFiles { get; } = new(StringComparer.OrdinalIgnoreCase);
    public HashSet<string> Mounted { get; } = new(StringComparer.OrdinalIgnoreCase);

    public ProviderAvailability Availability { get; set; } = ProviderAvailability.Yes;
    /// <summary>The guest never reports an address (no hv_kvp_daemon): readiness times out.</summary>
    public bool NoGuestAddress { get; set; }
    /// <summary>Get-VMNetworkAdapter calls before the address shows (KVP is slow to report).</summary>
    public int PollsBeforeAddress { get; set; } = 1;
    /// <summary>Fail this cmdlet (once) with a generic error, to test cleanup after a late failure.</summary>
    public string? FailCmdlet { get; set; }
    /// <summary>Every cmdlet is unknown (pwsh without the Hyper-V module).</summary>
    public bool MissingCommands { get; set; }

    public Task<ProviderAvailability> CheckAvailabilityAsync(CancellationToken ct) => Task.FromResult(Availability);

    public IEnumerable<string> CallNames { get { lock (_gate) return Calls.Select(c => c.Cmdlet).ToList(); } }

    public Task<IReadOnlyList<HyperVObject>> InvokeAsync(string cmdlet, IReadOnlyDictionary<string, object?> parameters, CancellationToken ct)
    {
        lock (_gate)
        {
            Calls.Add((cmdlet, new Dictionary<string, object?>(parameters, StringComparer.OrdinalIgnoreCase)));
            if (MissingCommands)
                throw new HyperVCommandException(cmdlet, $"The term '{cmdlet}' is not recognized as a name of a cmdlet, function, script file, or executable program.", "CommandNotFoundException", "ObjectNotFound");
            if (FailCmdlet == cmdlet)
            {
                FailCmdlet = null;
                throw new HyperVCommandException(cmdlet, "The operation failed (injected by the test).", "OperationFailed," + cmdlet, "InvalidOperation");
            }
            return Task.FromResult<IReadOnlyList<HyperVObject>>(Handle(cmdlet, new Dictionary<string, object?>(parameters, StringComparer.OrdinalIgnoreCase)));
        }
    }

    private static string S(Dictionary<string, object?> p, string k) => p.TryGetValue(k, out var v) && v is not null ? Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)! : "";
    private static bool On(Dictionary<string, object?> p, string k) => p.TryGetValue(k, out var v) && v is CmdletSwitch { IsPresent: true };
    private static HyperVObject O(params (string, object?)[] props) => new(props.ToDictionary(x => x.Item1, x => x.Item2));
    private static readonly IReadOnlyList<HyperVObject> None = Array.Empty<HyperVObject>();

    private FakeVm Vm(string cmdlet, string name) => Vms.TryGetValue(name, out var vm) ? vm :
        throw new HyperVCommandException(cmdlet, $"Hyper-V was unable to find a virtual machine with name \"{name}\".",
            "InvalidParameter,Microsoft.HyperV.PowerShell.Commands." + cmdlet.Replace("-", "", StringComparison.Ordinal), "InvalidArgument");

    private static HyperVObject VmObject(FakeVm v) => O(("Name", v.Name), ("Id", v.Id.ToString()), ("State", v.State), ("Notes", v.Notes),
        ("UptimeSec", v.State == "Running" ? 12 : 0), ("MemoryAssigned", v.State == "Running" ? 4294967296L : 0L), ("CheckpointType", v.CheckpointType));

    private IReadOnlyList<HyperVObject> Handle(string cmdlet, Dictionary<string, object?> p)
    {
        switch (cmdlet)
        {
            case "Get-VM":
                if (!p.ContainsKey("Name")) return Vms.Values.Select(VmObject).ToList();
                return new[] { VmObject(Vm(cmdlet, S(p, "Name"))) };
            case "Get-VMSwitch":
                if (!Switches.Contains(S(p, "Name")))
                    throw new HyperVCommandException(cmdlet, $"Hyper-V was unable to find a virtual switch with name \"{S(p, "Name")}\".", "InvalidParameter,Microsoft.HyperV.PowerShell.Commands.GetVMSwitch", "InvalidArgument");
                return new[] { O(("Name", S(p, "Name")), ("SwitchType", "Internal")) };
            case "New-VMSwitch":
                Switches.Add(S(p, "Name"));
                return new[] { O(("Name", S(p, "Name")), ("SwitchType", S(p, "SwitchType"))) };
            case "Get-NetNat":
                return Nats.Select(n => O(("Name", n.Key), ("InternalIPInterfaceAddressPrefix", n.Value), ("Active", true))).ToList();
            case "New-NetNat":
                if (Nats.Count > 0) // [mem] Windows refuses a second NetNat
                    throw new HyperVCommandException(cmdlet, "The parameter is incorrect.", "Windows System Error 87,New-NetNat", "InvalidArgument");
                Nats[S(p, "Name")] = S(p, "InternalIPInterfaceAddressPrefix");
                return new[] { O(("Name", S(p, "Name"))) };
            case "Get-NetIPAddress":
                var found = HostAddresses.Where(a => a.Alias == S(p, "InterfaceAlias")).ToList();
                if (found.Count == 0)
                    throw new HyperVCommandException(cmdlet, "No matching MSFT_NetIPAddress objects found by CIM query for instances of the ROOT/StandardCimv2/MSFT_NetIPAddress class on the  CIM server.", "CmdletizationQuery_NotFound,Get-NetIPAddress", "ObjectNotFound");
                return found.Select(a => O(("IPAddress", a.Address), ("InterfaceAlias", a.Alias), ("PrefixLength", 24))).ToList();
            case "New-NetIPAddress":
                HostAddresses.Add((S(p, "InterfaceAlias"), S(p, "IPAddress")));
                return new[] { O(("IPAddress", S(p, "IPAddress"))) };
            case "New-VHD":
            {
                var path = S(p, "Path");
                if (File.Exists(path)) throw new HyperVCommandException(cmdlet, $"Failed to create the virtual hard disk. The file exists. ({path})", "CreateVirtualHardDisk,Microsoft.Vhd.PowerShell.Cmdlets.NewVhd", "ResourceExists");
                if (On(p, "Differencing") && !File.Exists(S(p, "ParentPath"))) throw new HyperVCommandException(cmdlet, $"The system cannot find the file specified. ({S(p, "ParentPath")})", "ObjectNotFound,Microsoft.Vhd.PowerShell.Cmdlets.NewVhd", "ObjectNotFound");
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllText(path, "vhdx");
                return new[] { O(("Path", path), ("VhdType", On(p, "Differencing") ? "Differencing" : "Dynamic"), ("ParentPath", S(p, "ParentPath"))) };
            }
            case "Mount-VHD":
                Mounted.Add(S(p, "Path"));
                return new[] { O(("Path", S(p, "Path")), ("Attached", true), ("DiskNumber", 7)) };
            case "Dismount-VHD":
                Mounted.Remove(S(p, "Path"));
                return None;
            case "Initialize-Disk":
                return None;
            case "New-Partition":
                return new[] { O(("DiskNumber", p["DiskNumber"]), ("PartitionNumber", 1), ("DriveLetter", 'S')) };
            case "Format-Volume":
                return new[] { O(("DriveLetter", 'S'), ("FileSystem", S(p, "FileSystem")), ("FileSystemLabel", S(p, "NewFileSystemLabel"))) };
            case "Copy-Item":
            {
                var seed = Mounted.Single();
                var files = SeedFiles.TryGetValue(seed, out var f) ? f : SeedFiles[seed] = new Dictionary<string, string>();
                foreach (var src in (string[])p["LiteralPath"]!) files[Path.GetFileName(src)] = File.ReadAllText(src);
                return None;
            }
            case "New-VM":
            {
                var name = S(p, "Name");
                if (Vms.ContainsKey(name)) throw new HyperVCommandException(cmdlet, $"A virtual machine named \"{name}\" already exists.", "ObjectExists,Microsoft.HyperV.PowerShell.Commands.NewVM", "ResourceExists");
                if (!Switches.Contains(S(p, "SwitchName")))
                    throw new HyperVCommandException(cmdlet, $"Hyper-V was unable to find a virtual switch with name \"{S(p, "SwitchName")}\".", "InvalidParameter,Microsoft.HyperV.PowerShell.Commands.NewVM", "InvalidArgument");
                var vm = new FakeVm { Name = name, Switch = S(p, "SwitchName") };
                vm.Disks.Add(S(p, "VHDPath"));
                Vms[name] = vm;
                return new[] { VmObject(vm) };
            }
            case "Set-VMProcessor" or "Set-VMMemory" or "Set-VMFirmware":
                Vm(cmdlet, S(p, "VMName"));
                return None;
            case "Set-VM":
            {
                var vm = Vm(cmdlet, S(p, "Name"));
                if (p.ContainsKey("CheckpointType")) vm.CheckpointType = S(p, "CheckpointType");
                if (p.ContainsKey("Notes")) vm.Notes = S(p, "Notes");
                if (p.TryGetValue("AutomaticCheckpointsEnabled", out var a) && a is bool b) vm.AutomaticCheckpoints = b;
                return None;
            }
            case "Add-VMHardDiskDrive":
                Vm(cmdlet, S(p, "VMName")).Disks.Add(S(p, "Path"));
                return None;
            case "Start-VM" or "Resume-VM":
            {
                var vm = Vm(cmdlet, S(p, "Name"));
                vm.State = "Running";
                vm.AdapterPolls = 0;
                return None;
            }
            case "Stop-VM":
            {
                var vm = Vm(cmdlet, S(p, "Name"));
                vm.State = "Off";
                return None;
            }
            case "Remove-VM":
            {
                var vm = Vm(cmdlet, S(p, "Name"));
                if (vm.State != "Off" && !On(p, "Force")) throw new HyperVCommandException(cmdlet, "The operation cannot be performed while the virtual machine is in its current state.", "InvalidState,Microsoft.HyperV.PowerShell.Commands.RemoveVM", "InvalidOperation");
                Vms.Remove(vm.Name); // config only: the VHDX files stay (cli-facts section 3)
                return None;
            }
            case "Get-VMNetworkAdapter":
            {
                var vm = Vm(cmdlet, S(p, "VMName"));
                var ips = Array.Empty<string>();
                if (vm.State == "Running" && !NoGuestAddress && vm.AdapterPolls++ >= PollsBeforeAddress)
                    ips = new[] { "192.168.250." + (10 + Math.Abs(vm.Name.GetHashCode(StringComparison.Ordinal) % 200)), "fe80::215:5dff:fe00:1" };
                return new[] { O(("Name", "Network Adapter"), ("VMName", vm.Name), ("SwitchName", vm.Switch), ("IPAddresses", ips)) };
            }
            case "Checkpoint-VM":
            {
                var vm = Vm(cmdlet, S(p, "Name"));
                vm.Snapshots.Add((S(p, "SnapshotName"), vm.Marker, vm.State));
                return None;
            }
            case "Get-VMSnapshot":
            {
                var vm = Vm(cmdlet, S(p, "VMName"));
                string? parent = null;
                var list = new List<HyperVObject>();
                foreach (var s in vm.Snapshots)
                {
                    list.Add(O(("Name", s.Name), ("Id", Guid.NewGuid().ToString()), ("SnapshotType", vm.CheckpointType), ("ParentSnapshotName", parent), ("CreationTime", DateTime.UtcNow.ToString("o"))));
                    parent = s.Name;
                }
                return list;
            }
            case "Restore-VMSnapshot":
            {
                var vm = Vm(cmdlet, S(p, "VMName"));
                if (!(p.TryGetValue("Confirm", out var c) && c is CmdletSwitch { IsPresent: false }))
                    throw new InvalidOperationException("Restore-VMSnapshot would prompt: -Confirm:$false is missing (cli-facts section 3).");
                var snap = vm.Snapshots.FirstOrDefault(s => s.Name == S(p, "Name"));
                if (snap.Name is null) throw new HyperVCommandException(cmdlet, $"Hyper-V was unable to find a checkpoint with name \"{S(p, "Name")}\".", "InvalidParameter,Microsoft.HyperV.PowerShell.Commands.RestoreVMSnapshot", "InvalidArgument");
                vm.Marker = snap.Marker;
                // Standard: a checkpoint of a running VM comes back Saved; Production ones come back Off.
                vm.State = snap.State == "Running" && vm.CheckpointType == "Standard" ? "Saved" : "Off";
                return None;
            }
            case "Remove-VMSnapshot":
            {
                var vm = Vm(cmdlet, S(p, "VMName"));
                vm.Snapshots.RemoveAll(s => s.Name == S(p, "Name"));
                return None;
            }
            default:
                throw new InvalidOperationException($"The fake Hyper-V host does not know {cmdlet}.");
        }
    }
}

/// <summary>An SSH probe that succeeds (or fails with <see cref="Error"/>) and records the destinations.</summary>
public sealed class FakeSshProbe : ISshProbe
{
    public string? Error { get; set; }
    public List<string> Destinations { get; } = new();

    /// <summary>The known_hosts paths and host key aliases the providers asked the probe to use.</summary>
    public List<string> KnownHosts { get; } = new();

    public Task<string?> ProbeAsync(string keyPath, string user, string host, string? knownHostsPath, string? hostKeyAlias, CancellationToken ct)
    {
        lock (KnownHosts) KnownHosts.Add($"{knownHostsPath} {hostKeyAlias}");
        return ProbeAsync(keyPath, user, host, ct);
    }

    public Task<string?> ProbeAsync(string keyPath, string user, string host, CancellationToken ct)
    {
        lock (Destinations) Destinations.Add($"{user}@{host} -i {keyPath}");
        if (!File.Exists(keyPath)) return Task.FromResult<string?>($"Warning: Identity file {keyPath} not accessible: No such file or directory.");
        return Task.FromResult(Error);
    }
}
