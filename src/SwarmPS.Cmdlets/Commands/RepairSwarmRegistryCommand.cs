using System.Management.Automation;
using SwarmPS.Core;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>
/// Reconciles the registry with what each provider really has (after a crash or a hand deletion)
/// and reports every discrepancy. With -Fix it repairs them; -WhatIf -Fix only reports.
/// </summary>
[Cmdlet(VerbsDiagnostic.Repair, "SwarmRegistry", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(SwarmRepairItem))]
public sealed class RepairSwarmRegistryCommand : SwarmCmdlet
{
    [Parameter]
    public SwitchParameter Fix { get; set; }

    protected override void EndProcessing()
    {
        var fix = Fix && ShouldProcessItem(Service.Home.RegistryPath, "Fix the discrepancies between the registry and the providers");
        if (TryItem(null, () => Run((progress, ct) => Service.RepairAsync(fix, progress, ct)), out var items))
            foreach (var item in items) WriteObject(item);
        base.EndProcessing();
    }
}
