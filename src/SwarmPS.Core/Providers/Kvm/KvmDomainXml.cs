using System.Globalization;
using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace SwarmPS.Core.Providers.Kvm;

/// <summary>Everything the domain definition needs; all text is escaped by the XML writer.</summary>
public sealed class KvmDomainSpec
{
    public required string Name { get; init; }
    public required string Ticket { get; init; }
    /// <summary>kvm or qemu.</summary>
    public required string Type { get; init; }
    public required int Cpus { get; init; }
    public required int MemoryMb { get; init; }
    public required string DiskPath { get; init; }
    public string? SeedPath { get; init; }
    public string? SerialLogPath { get; init; }
    public string? Network { get; init; } = "default";
    public string? KernelPath { get; init; }
    public string? InitrdPath { get; init; }
    public string? KernelCommandLine { get; init; }
    /// <summary>Identifies the SwarmPS home that owns the domain (repair never touches another home's VMs).</summary>
    public required string HomeId { get; init; }
    public required string HomePath { get; init; }
}

/// <summary>Generates libvirt domain XML with XDocument (no string templates: hostile paths and tickets stay text).</summary>
public static class KvmDomainXml
{
    /// <summary>The namespace of SwarmPS's element in the domain's &lt;metadata&gt;.</summary>
    public const string MetadataNamespace = "https://swarmps.dev/xmlns/kvm/1";
    public const string MetadataKey = "swarmps";

    public static string Build(KvmDomainSpec s)
    {
        if (s.Type is not ("kvm" or "qemu")) throw new ArgumentException($"domain type must be kvm or qemu, not '{s.Type}'", nameof(s));
        if (s.Cpus < 1 || s.MemoryMb < 16) throw new ArgumentException("cpus >= 1 and memory >= 16 MiB", nameof(s));
        XNamespace sw = MetadataNamespace;
        var os = new XElement("os", new XElement("type", new XAttribute("arch", "x86_64"), new XAttribute("machine", "pc"), "hvm"));
        if (s.KernelPath is not null)
        {
            os.Add(new XElement("kernel", s.KernelPath));
            if (s.InitrdPath is not null) os.Add(new XElement("initrd", s.InitrdPath));
            if (s.KernelCommandLine is not null) os.Add(new XElement("cmdline", s.KernelCommandLine));
        }
        else os.Add(new XElement("boot", new XAttribute("dev", "hd")));

        var devices = new XElement("devices",
            new XElement("disk", new XAttribute("type", "file"), new XAttribute("device", "disk"),
                new XElement("driver", new XAttribute("name", "qemu"), new XAttribute("type", "qcow2")),
                new XElement("source", new XAttribute("file", s.DiskPath)),
                new XElement("target", new XAttribute("dev", "vda"), new XAttribute("bus", "virtio"))));
        if (s.SeedPath is not null)
            devices.Add(new XElement("disk", new XAttribute("type", "file"), new XAttribute("device", "cdrom"),
                new XElement("driver", new XAttribute("name", "qemu"), new XAttribute("type", "raw")),
                new XElement("source", new XAttribute("file", s.SeedPath)),
                new XElement("target", new XAttribute("dev", "hdc"), new XAttribute("bus", "ide")),
                new XElement("readonly")));
        if (s.Network is not null)
            devices.Add(new XElement("interface", new XAttribute("type", "network"),
                new XElement("source", new XAttribute("network", s.Network)),
                new XElement("model", new XAttribute("type", "virtio"))));
        if (s.SerialLogPath is not null)
            devices.Add(new XElement("serial", new XAttribute("type", "file"),
                new XElement("source", new XAttribute("path", s.SerialLogPath)),
                new XElement("target", new XAttribute("port", "0"))));
        // The QEMU guest agent's channel: images that run qemu-guest-agent report their address through it
        // (readiness tries the DHCP lease, then the agent, then ARP).
        devices.Add(new XElement("channel", new XAttribute("type", "unix"),
            new XElement("target", new XAttribute("type", "virtio"), new XAttribute("name", "org.qemu.guest_agent.0"))));
        devices.Add(new XElement("rng", new XAttribute("model", "virtio"), new XElement("backend", new XAttribute("model", "random"), "/dev/urandom")));
        devices.Add(new XElement("memballoon", new XAttribute("model", "none")));

        var domain = new XElement("domain", new XAttribute("type", s.Type),
            new XElement("name", s.Name),
            new XElement("description", "SwarmPS environment " + s.Ticket),
            new XElement("metadata",
                new XElement(sw + MetadataKey, new XAttribute(XNamespace.Xmlns + MetadataKey, MetadataNamespace),
                    new XAttribute("ticket", s.Ticket), new XAttribute("home", s.HomePath), new XAttribute("homeId", s.HomeId))),
            new XElement("memory", new XAttribute("unit", "MiB"), s.MemoryMb.ToString(CultureInfo.InvariantCulture)),
            new XElement("vcpu", s.Cpus.ToString(CultureInfo.InvariantCulture)),
            os,
            new XElement("features", new XElement("acpi")),
            s.Type == "kvm" ? new XElement("cpu", new XAttribute("mode", "host-passthrough")) : null,
            new XElement("clock", new XAttribute("offset", "utc")),
            new XElement("on_poweroff", "destroy"),
            new XElement("on_reboot", "restart"),
            new XElement("on_crash", "destroy"),
            devices);

        var sb = new StringBuilder();
        // Characters XML 1.0 cannot carry at all (control characters) are refused, not silently dropped.
        using (var w = XmlWriter.Create(sb, new XmlWriterSettings { OmitXmlDeclaration = true, Indent = true, CheckCharacters = true }))
            domain.WriteTo(w);
        return sb.ToString();
    }

    /// <summary>
    /// Why a domain cannot take internal snapshots (libvirt/QEMU refuse them with UEFI pflash firmware, and
    /// every writable disk must be qcow2); null when it can.
    /// </summary>
    public static string? InternalSnapshotBlocker(string domainXml)
    {
        XDocument doc;
        try { doc = XDocument.Parse(domainXml); }
        catch (XmlException) { return "its definition could not be read"; }
        var os = doc.Root?.Element("os");
        if ((string?)os?.Attribute("firmware") == "efi" || os?.Element("loader") is { } l && ((string?)l.Attribute("type") == "pflash" || os.Element("nvram") is not null))
            return "it boots with UEFI (pflash) firmware";
        foreach (var disk in doc.Root?.Element("devices")?.Elements("disk") ?? Enumerable.Empty<XElement>())
        {
            if ((string?)disk.Attribute("device") is "cdrom" or "floppy" || disk.Element("readonly") is not null) continue;
            var type = (string?)disk.Element("driver")?.Attribute("type");
            if (type != "qcow2") return $"disk {(string?)disk.Element("target")?.Attribute("dev")} is {type ?? "of unknown format"}, not qcow2";
        }
        return null;
    }

    /// <summary>Reads SwarmPS's label (ticket, homeId) from a domain's XML; null when it has none.</summary>
    public static (string Ticket, string HomeId, string Home)? ReadLabel(string domainXml)
    {
        try
        {
            var doc = XDocument.Parse(domainXml);
            var e = doc.Root?.Element("metadata")?.Element(XName.Get(MetadataKey, MetadataNamespace));
            if (e is null) return null;
            return ((string?)e.Attribute("ticket") ?? "", (string?)e.Attribute("homeId") ?? "", (string?)e.Attribute("home") ?? "");
        }
        catch (XmlException)
        {
            return null;
        }
    }
}
