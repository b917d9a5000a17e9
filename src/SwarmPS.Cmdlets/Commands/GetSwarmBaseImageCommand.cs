using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core;
using SwarmPS.Core.Registry;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>Lists registered base images by name (wildcards; default: all), optionally of one provider.</summary>
[Cmdlet(VerbsCommon.Get, "SwarmBaseImage")]
[OutputType(typeof(SwarmBaseImage))]
public sealed class GetSwarmBaseImageCommand : SwarmCmdlet
{
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ProviderNameCompleter))]
    public string? Provider { get; set; }

    protected override void ProcessRecord()
    {
        string? provider = null;
        if (!string.IsNullOrWhiteSpace(Provider) && !TryItem(Provider, () => Service.Providers.Get(Provider).Name, out provider)) return;
        if (!TryItem(null, () => Service.Registry.ListBaseImages(provider), out var images)) return;
        var patterns = Name is { Length: > 0 } ? Name : new[] { "*" };
        foreach (var image in images.Where(i => patterns.Any(p => Glob.IsMatch(p, i.Name))))
            WriteObject(image);
        foreach (var n in patterns.Where(p => !Glob.HasWildcards(p) && !images.Any(i => string.Equals(i.Name, p, StringComparison.OrdinalIgnoreCase))))
            WriteError(ToErrorRecord(new SwarmException(ErrorIds.ImageNotFound, SwarmErrorKind.NotFound, $"No base image named '{Names.Describe(n)}' is registered.", n), n));
    }
}
