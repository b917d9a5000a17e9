using System.Management.Automation;

// Deliberately broken cmdlets: the negative tests feed them to CmdletRules to prove each rule fires.
// They live in the test assembly only; the real checks read SwarmPS.dll.
namespace SwarmPS.Module.Tests.Samples;

/// <summary>Unapproved verb, no [OutputType], class name not Verb+Noun+Command, noun without the prefix.</summary>
[Cmdlet("Delete", "Thing")]
public sealed class BadVerbCmdlet : PSCmdlet
{
}

/// <summary>Changes state without ShouldProcess; redefines -Verbose; bool instead of switch; Ticket not by property name.</summary>
[Cmdlet(VerbsLifecycle.Stop, "SwarmThing")]
[OutputType(typeof(string))]
public sealed class StopSwarmThingCommand : PSCmdlet
{
    [Parameter(Position = 0, ValueFromPipeline = true)]
    public string Ticket { get; set; } = "";

    [Parameter]
    public SwitchParameter Verbose { get; set; }

    [Parameter]
    [Alias("ea")]
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
