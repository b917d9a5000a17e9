using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>Lists the providers, whether each works on this machine (and why not), and what it can do.</summary>
[Cmdlet(VerbsCommon.Get, "SwarmProvider")]
[OutputType(typeof(SwarmProviderInfo))]
public sealed class GetSwarmProviderCommand : SwarmCmdlet
{
    /// <summary>Provider names (wildcards). Bound from a piped environment's Provider property.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Provider")]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ProviderNameCompleter))]
    public string[]? Name { get; set; }

    [Parameter]
    public SwitchParameter Available { get; set; }

    private IReadOnlyList<SwarmProviderInfo>? _providers;

    protected override void ProcessRecord()
    {
        if (_providers is null && !TryItem(null, () => Run((_, ct) => Service.GetProvidersAsync(ct)), out _providers)) return;
        var names = Name is { Length: > 0 } ? Name : new[] { "*" };
        foreach (var p in _providers!)
        {
            if (!names.Any(n => Glob.IsMatch(n, p.Name))) continue;
            if (Available && !p.Available) continue;
            WriteObject(p);
        }
        foreach (var n in names.Where(n => !Glob.HasWildcards(n) && !_providers!.Any(p => string.Equals(p.Name, n, StringComparison.OrdinalIgnoreCase))))
            WriteError(ToErrorRecord(new SwarmException(ErrorIds.ProviderNotFound, SwarmErrorKind.NotFound, $"Unknown provider '{Names.Describe(n)}'.", n), n));
    }
}
