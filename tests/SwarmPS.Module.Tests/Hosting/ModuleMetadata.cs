using System.Management.Automation;
using SwarmPS.Module.Tests.Checks;

namespace SwarmPS.Module.Tests.Hosting;

/// <summary>
/// The cmdlets as PowerShell sees them: <c>Get-Command -Module SwarmPS</c> in a runspace of its own
/// (read once, then only the metadata is used), and the deliberately broken samples of this assembly.
/// </summary>
public static class ModuleMetadata
{
    private static readonly Lazy<IReadOnlyList<CmdletModel>> Module = new(() =>
    {
        using var ps = new PowerShellSession();
        return CmdletModel.FromCommands(ps.Ok("Get-Command -Module SwarmPS").Select(o => (CmdletInfo)o.BaseObject));
    });

    private static readonly Lazy<IReadOnlyList<CmdletModel>> Samples = new(() =>
        CmdletModel.FromAssembly(typeof(Samples.BadVerbCmdlet).Assembly).Where(c => c.Type.Namespace == typeof(Samples.BadVerbCmdlet).Namespace).ToList());

    public static IReadOnlyList<CmdletModel> Cmdlets => Module.Value;

    public static IReadOnlyList<CmdletModel> BrokenSamples => Samples.Value;
}
