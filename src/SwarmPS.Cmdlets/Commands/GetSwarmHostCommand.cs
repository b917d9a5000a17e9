using System.Management.Automation;
using SwarmPS.Core.Host;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Shows the host's CPUs, memory and disk against what environments were allocated.</para>
/// </summary>
/// <remarks>Read-only: reads the registry and the host (CPU count, /proc/meminfo, file system sizes).</remarks>
[Cmdlet(VerbsCommon.Get, "SwarmHost")]
[OutputType(typeof(SwarmHostInfo))]
public sealed class GetSwarmHostCommand : SwarmCmdlet
{
    protected override void ProcessRecord()
    {
        if (TryItem(null, () => Service.HostResources.Get(), out var info)) WriteObject(info);
    }
}
