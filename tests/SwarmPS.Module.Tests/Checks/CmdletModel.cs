using System.Management.Automation;
using System.Reflection;

namespace SwarmPS.Module.Tests.Checks;

/// <summary>One parameter set membership of a parameter, read from a [Parameter] attribute.</summary>
public sealed record ParameterSetInfo(string Name, bool Mandatory, int? Position, bool FromPipeline, bool FromPipelineByPropertyName);

public sealed record ParameterModel(string Name, Type Type, IReadOnlyList<string> Aliases, IReadOnlyList<ParameterSetInfo> Sets, bool SupportsWildcards, Type? CompleterType)
{
    public bool IsSwitch => Type == typeof(SwitchParameter);
}

/// <summary>
/// A compiled cmdlet as PowerShell itself sees it: built from the real <see cref="CmdletInfo"/> that
/// <c>Get-Command</c> returns in a runspace (<see cref="CommandMetadata"/> for ShouldProcess,
/// ConfirmImpact and the declared parameters, <see cref="ParameterMetadata"/> for sets and aliases).
/// </summary>
public sealed record CmdletModel(Type Type, string Verb, string Noun, bool SupportsShouldProcess, string? ConfirmImpact, string? DefaultParameterSetName,
    IReadOnlyList<Type> OutputTypes, IReadOnlyList<ParameterModel> Parameters)
{
    public string Name => $"{Verb}-{Noun}";

    public const string AllParameterSets = "__AllParameterSets";

    /// <summary>The parameter set names, the default first (only "__AllParameterSets" when there is one set).</summary>
    public IReadOnlyList<string> ParameterSetNames
    {
        get
        {
            var named = Parameters.SelectMany(p => p.Sets).Select(s => s.Name).Where(n => n != AllParameterSets).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
            if (named.Count == 0) return new[] { AllParameterSets };
            if (DefaultParameterSetName is not null && named.Remove(DefaultParameterSetName)) named.Insert(0, DefaultParameterSetName);
            return named;
        }
    }

    /// <summary>The parameters a user can pass: declared ones, plus WhatIf and Confirm with ShouldProcess.</summary>
    public IReadOnlyList<string> UserParameterNames =>
        Parameters.Select(p => p.Name).Concat(SupportsShouldProcess ? new[] { "WhatIf", "Confirm" } : Array.Empty<string>()).ToList();

    public ParameterModel? Find(string nameOrAlias) =>
        Parameters.FirstOrDefault(p => string.Equals(p.Name, nameOrAlias, StringComparison.OrdinalIgnoreCase) || p.Aliases.Contains(nameOrAlias, StringComparer.OrdinalIgnoreCase));

    /// <summary>The cmdlets of a compiled assembly as PowerShell sees them (Import-Module -Assembly in a runspace of its own).</summary>
    public static IReadOnlyList<CmdletModel> FromAssembly(Assembly assembly)
    {
        using var ps = new Hosting.PowerShellSession(importModule: false);
        var output = ps.Run("$m = Import-Module -Assembly $args[0] -PassThru -WarningAction Ignore; Get-Command -Module $m.Name -CommandType Cmdlet", assembly);
        return FromCommands(output.Output.Select(o => (CmdletInfo)o.BaseObject));
    }

    public static IReadOnlyList<CmdletModel> FromCommands(IEnumerable<CmdletInfo> commands) =>
        commands.Select(FromCommand).OrderBy(c => c.Name, StringComparer.OrdinalIgnoreCase).ToList();

    public static CmdletModel FromCommand(CmdletInfo info)
    {
        var metadata = new CommandMetadata(info);
        var type = info.ImplementingType;
        var outputs = info.OutputType.Select(t => t.Type).Where(t => t is not null).ToList();
        var parameters = new List<ParameterModel>();
        // Declaration order (CommandMetadata's dictionary is keyed by name only).
        var order = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => p.Name).ToList();
        foreach (var p in metadata.Parameters.Values.OrderBy(p => order.IndexOf(p.Name) is var i && i < 0 ? int.MaxValue : i))
        {
            // PowerShell itself refuses a cmdlet that declares a common parameter again (MetadataException).
            if (CommonParameters.Contains(p.Name, StringComparer.OrdinalIgnoreCase)) continue;
            var sets = p.ParameterSets.Select(kv => new ParameterSetInfo(kv.Key, kv.Value.IsMandatory,
                kv.Value.Position >= 0 ? kv.Value.Position : null, kv.Value.ValueFromPipeline, kv.Value.ValueFromPipelineByPropertyName)).ToList();
            var attributes = type.GetProperty(p.Name, BindingFlags.Public | BindingFlags.Instance)?.GetCustomAttributes(inherit: true) ?? Array.Empty<object>();
            // [Parameter(DontShow = true)] in every set: plumbing (e.g. a piped InputObject), hidden from
            // Get-Command's syntax and from Get-Help, so neither help nor scripts may name it.
            var declared = attributes.OfType<ParameterAttribute>().ToList();
            if (declared.Count > 0 && declared.All(a => a.DontShow)) continue;
            var wildcards = attributes.OfType<SupportsWildcardsAttribute>().Any();
            var completer = attributes.OfType<ArgumentCompleterAttribute>().FirstOrDefault()?.Type;
            parameters.Add(new ParameterModel(p.Name, p.ParameterType, p.Aliases.ToList(), sets, wildcards, completer));
        }
        var defaultSet = string.IsNullOrEmpty(metadata.DefaultParameterSetName) || metadata.DefaultParameterSetName == AllParameterSets ? null : metadata.DefaultParameterSetName;
        return new CmdletModel(type, info.Verb, info.Noun, metadata.SupportsShouldProcess, metadata.ConfirmImpact.ToString(), defaultSet, outputs, parameters);
    }

    /// <summary>Common parameters every cmdlet gets from PowerShell; a cmdlet must not declare them.</summary>
    public static readonly IReadOnlyList<string> CommonParameters = new[]
    {
        "Verbose", "Debug", "ErrorAction", "WarningAction", "InformationAction", "ProgressAction", "ErrorVariable", "WarningVariable",
        "InformationVariable", "OutVariable", "OutBuffer", "PipelineVariable", "WhatIf", "Confirm", "UseTransaction",
    };

    /// <summary>Aliases of the common parameters (a cmdlet parameter or alias must not take them either).</summary>
    public static readonly IReadOnlyList<string> CommonParameterAliases = new[] { "vb", "db", "ea", "wa", "infa", "proga", "ev", "wv", "iv", "ov", "ob", "pv", "wi", "cf", "usetx" };

    /// <summary>The approved verbs (Get-Verb), read from the Verbs* classes of System.Management.Automation.</summary>
    public static IReadOnlySet<string> ApprovedVerbs { get; } = new[]
        {
            typeof(VerbsCommon), typeof(VerbsCommunications), typeof(VerbsData), typeof(VerbsDiagnostic),
            typeof(VerbsLifecycle), typeof(VerbsOther), typeof(VerbsSecurity),
        }
        .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.Static))
        .Where(f => f is { IsLiteral: true } && f.FieldType == typeof(string))
        .Select(f => (string)f.GetRawConstantValue()!)
        .ToHashSet(StringComparer.OrdinalIgnoreCase);
}
