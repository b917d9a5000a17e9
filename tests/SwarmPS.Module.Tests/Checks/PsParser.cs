using System.Collections;
using System.Management.Automation.Language;
using System.Text.Json;

namespace SwarmPS.Module.Tests.Checks;

public sealed record ParseError(int Line, int Column, string Text);
public sealed record CommandUse(string Name, int Line, IReadOnlyList<string> Parameters, CommandAst? Ast = null);
public sealed record ParsedFile(string File, IReadOnlyList<ParseError> Errors, IReadOnlyList<CommandUse> Commands, Ast? Ast = null);

/// <summary>
/// PowerShell's own parser (<see cref="Parser"/>, System.Management.Automation 7.6 from the test-only
/// SDK): parse errors, and every command call with the parameters named in it.
/// </summary>
public static class PsParser
{
    public static IReadOnlyList<ParsedFile> Parse(IEnumerable<string> files) =>
        files.Select(f =>
        {
            var ast = Parser.ParseFile(f, out _, out var errors);
            return From(f, ast, errors);
        }).ToList();

    public static ParsedFile ParseText(string source, string label = "<text>")
    {
        var ast = Parser.ParseInput(source, out _, out var errors);
        return From(label, ast, errors);
    }

    private static ParsedFile From(string file, ScriptBlockAst ast, System.Management.Automation.Language.ParseError[] errors) => new(
        file,
        errors.Select(e => new ParseError(e.Extent.StartLineNumber, e.Extent.StartColumnNumber, e.Message)).ToList(),
        ast.FindAll(a => a is CommandAst, searchNestedScriptBlocks: true).Cast<CommandAst>()
            .Where(c => c.GetCommandName() is not null)
            .Select(c => new CommandUse(c.GetCommandName(), c.Extent.StartLineNumber,
                c.CommandElements.OfType<CommandParameterAst>().Select(p => "-" + p.ParameterName).ToList(), c))
            .ToList(),
        ast);

    /// <summary>
    /// Reads a .psd1 as data, the way Import-PowerShellDataFile does (the top-level hashtable through
    /// <see cref="Ast.SafeGetValue()"/>: constants only), returned as JSON.
    /// </summary>
    public static JsonElement ReadData(string psd1)
    {
        var ast = Parser.ParseFile(psd1, out _, out var errors);
        if (errors.Length > 0) throw new InvalidOperationException($"{psd1}:{errors[0].Extent.StartLineNumber}: {errors[0].Message}");
        if (ast.Find(a => a is HashtableAst, searchNestedScriptBlocks: false) is not HashtableAst table)
            throw new InvalidOperationException($"{psd1} holds no hashtable");
        object? value;
        try
        {
            value = table.SafeGetValue();
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidOperationException($"{psd1}: {ex.Message}", ex);
        }
        return JsonSerializer.SerializeToElement(Plain(value));
    }

    private static object? Plain(object? v) => v switch
    {
        null => null,
        string s => s,
        IDictionary d => d.Keys.Cast<object>().ToDictionary(k => k.ToString()!, k => Plain(d[k]), StringComparer.OrdinalIgnoreCase),
        IEnumerable e => e.Cast<object?>().Select(Plain).ToList(),
        System.Management.Automation.PSObject p => Plain(p.BaseObject),
        _ => v,
    };
}
