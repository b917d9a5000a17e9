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
/// What PowerShell would see of a compiled cmdlet. Read from attribute METADATA
/// (<see cref="CustomAttributeData"/>), never from attribute instances: the PowerShellStandard
/// stub's attribute classes keep no values at run time.
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

    public static IReadOnlyList<CmdletModel> FromAssembly(Assembly assembly) => FromTypes(assembly.GetTypes());

    public static IReadOnlyList<CmdletModel> FromTypes(IEnumerable<Type> types) =>
        types.Where(t => t is { IsClass: true, IsAbstract: false } && t.CustomAttributes.Any(a => a.AttributeType == typeof(CmdletAttribute)))
            .Select(FromType).OrderBy(c => c.Name, StringComparer.OrdinalIgnoreCase).ToList();

    public static CmdletModel FromType(Type type)
    {
        var cmdlet = type.CustomAttributes.Single(a => a.AttributeType == typeof(CmdletAttribute));
        var verb = (string)cmdlet.ConstructorArguments[0].Value!;
        var noun = (string)cmdlet.ConstructorArguments[1].Value!;
        var supports = Named(cmdlet, nameof(CmdletAttribute.SupportsShouldProcess)) is true;
        var impact = Named(cmdlet, nameof(CmdletAttribute.ConfirmImpact)) is { } ci ? Enum.GetName(typeof(ConfirmImpact), ci) : null;
        var defaultSet = Named(cmdlet, nameof(CmdletAttribute.DefaultParameterSetName)) as string;

        var outputs = type.CustomAttributes.Where(a => a.AttributeType == typeof(OutputTypeAttribute))
            .SelectMany(a => a.ConstructorArguments)
            .SelectMany(arg => arg.Value is IEnumerable<CustomAttributeTypedArgument> many ? many.Select(m => m.Value) : new[] { arg.Value })
            .OfType<Type>().ToList();

        var parameters = new List<ParameterModel>();
        foreach (var prop in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var sets = prop.CustomAttributes.Where(a => a.AttributeType == typeof(ParameterAttribute)).Select(a =>
            {
                int? position = Named(a, nameof(ParameterAttribute.Position)) is int p && p >= 0 ? p : null;
                return new ParameterSetInfo(
                    Named(a, nameof(ParameterAttribute.ParameterSetName)) as string ?? AllParameterSets,
                    Named(a, nameof(ParameterAttribute.Mandatory)) is true,
                    position,
                    Named(a, nameof(ParameterAttribute.ValueFromPipeline)) is true,
                    Named(a, nameof(ParameterAttribute.ValueFromPipelineByPropertyName)) is true);
            }).ToList();
            if (sets.Count == 0) continue;
            var aliases = prop.CustomAttributes.Where(a => a.AttributeType == typeof(AliasAttribute))
                .SelectMany(a => a.ConstructorArguments)
                .SelectMany(arg => arg.Value is IEnumerable<CustomAttributeTypedArgument> many ? many.Select(m => m.Value) : new[] { arg.Value })
                .OfType<string>().ToList();
            var wildcards = prop.CustomAttributes.Any(a => a.AttributeType == typeof(SupportsWildcardsAttribute));
            var completer = prop.CustomAttributes.FirstOrDefault(a => a.AttributeType == typeof(ArgumentCompleterAttribute))?.ConstructorArguments.FirstOrDefault().Value as Type;
            parameters.Add(new ParameterModel(prop.Name, prop.PropertyType, aliases, sets, wildcards, completer));
        }
        return new CmdletModel(type, verb, noun, supports, impact, defaultSet, outputs, parameters);
    }

    private static object? Named(CustomAttributeData a, string name)
    {
        foreach (var n in a.NamedArguments)
            if (n.MemberName == name) return n.TypedValue.Value;
        return null;
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
