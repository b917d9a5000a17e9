using System.Text.Json;

namespace SwarmPS.Module.Tests.Checks;

/// <summary>The module manifest rules: explicit exports equal to the compiled cmdlets, editions, PSData.</summary>
public static class ManifestCheck
{
    public static IReadOnlyList<string> Check(string manifestPath, IEnumerable<CmdletModel> cmdlets)
    {
        var problems = new List<string>();
        JsonElement m;
        try
        {
            m = PsParser.ReadData(manifestPath);
        }
        catch (InvalidOperationException ex)
        {
            return new[] { $"the manifest cannot be read: {ex.Message}" };
        }
        if (m.ValueKind != JsonValueKind.Object) return new[] { "the manifest is not a hashtable" };

        string? Str(string key) => m.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        IReadOnlyList<string>? List(JsonElement obj, string key) =>
            !obj.TryGetProperty(key, out var v) ? null
            : v.ValueKind == JsonValueKind.Array ? v.EnumerateArray().Select(e => e.ToString()).ToList()
            : new[] { v.ToString() };

        var exported = List(m, "CmdletsToExport");
        var compiled = cmdlets.Select(c => c.Name).ToList();
        if (exported is null) problems.Add("CmdletsToExport is missing (it must list every cmdlet explicitly)");
        else
        {
            if (exported.Any(e => e.Contains('*'))) problems.Add("CmdletsToExport uses a wildcard; list the cmdlets explicitly");
            foreach (var missing in compiled.Except(exported, StringComparer.OrdinalIgnoreCase)) problems.Add($"CmdletsToExport lacks the compiled cmdlet {missing}");
            foreach (var extra in exported.Except(compiled, StringComparer.OrdinalIgnoreCase).Where(e => !e.Contains('*'))) problems.Add($"CmdletsToExport names {extra}, which is not a compiled cmdlet");
            if (exported.Count != exported.Distinct(StringComparer.OrdinalIgnoreCase).Count()) problems.Add("CmdletsToExport lists a cmdlet twice");
        }
        foreach (var key in new[] { "FunctionsToExport", "AliasesToExport", "VariablesToExport" })
        {
            var list = List(m, key);
            if (key == "FunctionsToExport" && list is null) problems.Add("FunctionsToExport is missing; it must be @()");
            else if (list is { Count: > 0 }) problems.Add($"{key} must be @() (is {string.Join(", ", list)})");
        }
        if (Str("PowerShellVersion") != "7.4") problems.Add($"PowerShellVersion must be '7.4' (is '{Str("PowerShellVersion")}')");
        var editions = List(m, "CompatiblePSEditions");
        if (editions is null || editions.Count != 1 || editions[0] != "Core") problems.Add("CompatiblePSEditions must be @('Core')");
        if (Str("ModuleVersion") is not { } version || !Version.TryParse(version, out _)) problems.Add("ModuleVersion is missing or not a version");
        if (Str("GUID") is not { } guid || !Guid.TryParse(guid, out _)) problems.Add("GUID is missing or invalid");
        if (string.IsNullOrWhiteSpace(Str("Description"))) problems.Add("Description is missing");
        var root = Str("RootModule");
        if (string.IsNullOrWhiteSpace(root)) problems.Add("RootModule is missing");
        else if (!File.Exists(Path.Combine(Path.GetDirectoryName(manifestPath)!, root))) problems.Add($"RootModule '{root}' does not exist next to the manifest");
        foreach (var format in List(m, "FormatsToProcess") ?? Array.Empty<string>())
            if (!File.Exists(Path.Combine(Path.GetDirectoryName(manifestPath)!, format))) problems.Add($"FormatsToProcess '{format}' does not exist next to the manifest");

        if (!m.TryGetProperty("PrivateData", out var pd) || !pd.TryGetProperty("PSData", out var psdata)) problems.Add("PrivateData.PSData is missing");
        else
        {
            if (List(psdata, "Tags") is not { Count: > 0 }) problems.Add("PSData.Tags is missing");
            foreach (var uri in new[] { "ProjectUri", "LicenseUri" })
                if (!psdata.TryGetProperty(uri, out var u) || !Uri.TryCreate(u.GetString(), UriKind.Absolute, out var parsed) || parsed.Scheme != Uri.UriSchemeHttps)
                    problems.Add($"PSData.{uri} is missing or not an https URI");
            if (!psdata.TryGetProperty("ReleaseNotes", out var rn) || string.IsNullOrWhiteSpace(rn.GetString())) problems.Add("PSData.ReleaseNotes is missing");
        }
        return problems;
    }
}
