using System.Management.Automation;

// Deliberately broken cmdlets: the negative tests import them into a runspace of their own
// (Import-Module -Assembly) and feed the real metadata to CmdletRules to prove each rule fires.
// (A cmdlet that declares a common parameter again never gets that far: PowerShell refuses it.)
namespace SwarmPS.Module.Tests.Samples;

/// <summary>Unapproved verb, no [OutputType], class name not Verb+Noun+Command, noun without the prefix.</summary>
[Cmdlet("Delete", "Thing")]
public sealed class BadVerbCmdlet : PSCmdlet
{
}

/// <summary>Changes state without ShouldProcess; bool instead of switch; Ticket not by property name.</summary>
[Cmdlet(VerbsLifecycle.Stop, "SwarmThing")]
[OutputType(typeof(string))]
public sealed class StopSwarmThingCommand : PSCmdlet
{
    [Parameter(Position = 0, ValueFromPipeline = true)]
    public string Ticket { get; set; } = "";

    [Parameter]
    public bool Force { get; set; }
}

/// <summary>Destructive verb with the default ConfirmImpact; two ValueFromPipeline parameters in one set.</summary>
[Cmdlet(VerbsData.Restore, "SwarmThing", SupportsShouldProcess = true)]
[OutputType(typeof(string))]
public sealed class RestoreSwarmThingCommand : PSCmdlet
{
    [Parameter(ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(SwarmPS.Cmdlets.Completers.TicketCompleter))]
    public string[] Ticket { get; set; } = Array.Empty<string>();

    [Parameter(ValueFromPipeline = true)]
    public string? Name { get; set; }
}

/// <summary>A read-only verb that claims ShouldProcess.</summary>
[Cmdlet(VerbsCommon.Get, "SwarmThing", SupportsShouldProcess = true)]
[OutputType(typeof(string))]
public sealed class GetSwarmThingCommand : PSCmdlet
{
}
