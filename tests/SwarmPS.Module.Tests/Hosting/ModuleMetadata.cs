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
    {
        using var ps = new PowerShellSession(importModule: false);
        var output = ps.Run("$m = Import-Module -Assembly $args[0] -PassThru -WarningAction Ignore; Get-Command -Module $m.Name -CommandType Cmdlet", typeof(Samples.BadVerbCmdlet).Assembly);
        return CmdletModel.FromCommands(output.Output.Select(o => (CmdletInfo)o.BaseObject).Where(c => c.ImplementingType.Namespace == typeof(Samples.BadVerbCmdlet).Namespace));
    });

    public static IReadOnlyList<CmdletModel> Cmdlets => Module.Value;

    public static IReadOnlyList<CmdletModel> BrokenSamples => Samples.Value;
}
