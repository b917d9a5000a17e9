using System.Reflection;
using System.Xml.Linq;

namespace SwarmPS.Module.Tests.Checks;

/// <summary>
/// Format file rules: it is valid XML; every type it names exists in our assemblies; every output
/// type of every cmdlet has a table view and a list view; columns and headers agree; every
/// PropertyName exists on the type; every ScriptBlock parses.
/// </summary>
public static class FormatCheck
{
    public static IReadOnlyList<string> Check(string formatPath, IEnumerable<CmdletModel> cmdlets, IEnumerable<Assembly> assemblies)
    {
        var problems = new List<string>();
        XDocument doc;
        try
        {
            doc = XDocument.Load(formatPath);
        }
        catch (Exception ex) when (ex is System.Xml.XmlException or IOException)
        {
            return new[] { $"the format file is not valid XML: {ex.Message}" };
        }
        var types = assemblies.SelectMany(a => a.GetTypes()).Where(t => t.FullName is not null).GroupBy(t => t.FullName!).ToDictionary(g => g.Key, g => g.First());
        var views = doc.Descendants("View").ToList();
        if (views.Count == 0) problems.Add("the format file has no views");
        var covered = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var scripts = new List<(string View, string Script)>();
        foreach (var view in views)
        {
            var name = view.Element("Name")?.Value ?? "(unnamed)";
            var typeNames = view.Element("ViewSelectedBy")?.Elements("TypeName").Select(e => e.Value.Trim()).ToList() ?? new List<string>();
            if (typeNames.Count == 0) problems.Add($"view {name} selects no type");
            var kind = view.Element("TableControl") is not null ? "Table" : view.Element("ListControl") is not null ? "List" : view.Element("WideControl") is not null ? "Wide" : "Custom";
            foreach (var typeName in typeNames)
            {
                if (!types.TryGetValue(typeName, out var type))
                {
                    problems.Add($"view {name} names type {typeName}, which does not exist");
                    continue;
                }
                (covered.TryGetValue(typeName, out var set) ? set : covered[typeName] = new HashSet<string>()).Add(kind);
                foreach (var prop in view.Descendants("PropertyName").Select(p => p.Value.Trim()))
                    if (type.GetProperty(prop, BindingFlags.Public | BindingFlags.Instance) is null)
                        problems.Add($"view {name}: {typeName} has no property '{prop}'");
            }
            if (kind == "Table")
            {
                var headers = view.Descendants("TableColumnHeader").Count();
                foreach (var row in view.Descendants("TableColumnItems"))
                    if (row.Elements("TableColumnItem").Count() != headers) problems.Add($"view {name}: {headers} headers but {row.Elements("TableColumnItem").Count()} columns");
            }
            scripts.AddRange(view.Descendants("ScriptBlock").Select(s => (name, s.Value)));
        }
        foreach (var output in cmdlets.SelectMany(c => c.OutputTypes).Where(t => t != typeof(void)).Distinct())
        {
            covered.TryGetValue(output.FullName!, out var kinds);
            if (kinds is null || !kinds.Contains("Table")) problems.Add($"output type {output.FullName} has no table view");
            if (kinds is null || !kinds.Contains("List")) problems.Add($"output type {output.FullName} has no list view");
        }
        if (scripts.Count > 0)
        {
            var source = string.Join("\n", scripts.Select(s => "& {\n" + s.Script + "\n}"));
            var parsed = PsParser.ParseText(source, formatPath);
            problems.AddRange(parsed.Errors.Select(e => $"a ScriptBlock does not parse: {e.Text}"));
        }
        return problems;
    }
}
