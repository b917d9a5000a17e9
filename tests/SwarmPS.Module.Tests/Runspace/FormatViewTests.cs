using System.Text.RegularExpressions;
using System.Xml.Linq;
using FluentAssertions;
using SwarmPS.Module.Tests.Checks;
using SwarmPS.Module.Tests.Hosting;
using Xunit;
using Xunit.Abstractions;

namespace SwarmPS.Module.Tests.RealRunspace;

/// <summary>
/// Every view of SwarmPS.format.ps1xml, rendered for real: a realistic object of the view's type
/// (<see cref="SampleObjects"/>) goes through <c>Format-Table/Format-List -View</c> and <c>Out-String -Width</c>
/// 80 and 120 in the runspace (the module's format file loaded by Import-Module). Every header appears
/// whole, no line is wider than the width, and the values a user identifies a row by (ticket, id,
/// name, status) are shown in full.
/// </summary>
[Collection(RunspaceCollection.Name)]
public sealed class FormatViewTests
{
    private static readonly string[] KeyProperties = { "Ticket", "Id", "SwarmId", "Name", "Status", "EnvironmentTicket", "Subject" };
    private readonly PowerShellSession _ps;
    private readonly ITestOutputHelper _log;

    public FormatViewTests(ModuleFixture fixture, ITestOutputHelper log)
    {
        _ps = fixture.Session;
        _log = log;
    }

    public sealed record ViewInfo(string Name, string TypeName, string Kind, IReadOnlyList<string> Labels, IReadOnlyList<string> Properties, bool Wraps);

    public static IReadOnlyList<ViewInfo> Views()
    {
        var doc = XDocument.Load(Repo.FormatPath);
        return doc.Descendants("View").Select(v =>
        {
            var kind = v.Element("TableControl") is not null ? "Table" : v.Element("ListControl") is not null ? "List" : "Other";
            var typeName = v.Element("ViewSelectedBy")!.Element("TypeName")!.Value.Trim();
            List<string> labels;
            List<string> properties;
            if (kind == "Table")
            {
                var headers = v.Descendants("TableColumnHeader").ToList();
                var items = v.Descendants("TableColumnItem").ToList();
                labels = headers.Select((h, i) => h.Element("Label")?.Value ?? items[i].Element("PropertyName")?.Value ?? "").ToList();
                properties = items.Select(i => i.Element("PropertyName")?.Value ?? "").ToList();
            }
            else
            {
                var items = v.Descendants("ListItem").ToList();
                labels = items.Select(i => i.Element("Label")?.Value ?? i.Element("PropertyName")!.Value).ToList();
                properties = items.Select(i => i.Element("PropertyName")?.Value ?? "").ToList();
            }
            return new ViewInfo(v.Element("Name")!.Value.Trim(), typeName, kind, labels, properties, v.Descendants("Wrap").Any());
        }).ToList();
    }

    public static IEnumerable<object[]> ViewNames() => Views().Select(v => new object[] { v.Name });

    [Fact]
    public void Every_view_is_a_table_or_a_list_and_every_type_has_both()
    {
        var views = Views();
        views.Should().OnlyContain(v => v.Kind != "Other");
        foreach (var type in views.GroupBy(v => v.TypeName))
            type.Select(v => v.Kind).Should().Contain("Table", type.Key).And.Contain("List", type.Key);
    }

    [Theory]
    [MemberData(nameof(ViewNames))]
    public void View_is_readable_at_80_and_120_columns(string viewName)
    {
        var view = Views().Single(v => v.Name == viewName);
        var type = AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetType(view.TypeName)).FirstOrDefault(t => t is not null);
        type.Should().NotBeNull($"{view.TypeName} is a SwarmPS type");
        var sample = SampleObjects.Create(type!);
        foreach (var width in new[] { 80, 120 })
        {
            var format = view.Kind == "Table" ? "Format-Table" : "Format-List";
            var text = _ps.Ok($"$args[0] | {format} -View $args[1] | Out-String -Width $args[2]", sample, view.Name, width).Single().ToString();
            _log.WriteLine($"--- {view.Name} at {width}:\n{text}");
            var lines = text.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
            lines.Where(l => l.Length > width).Should().BeEmpty($"no line of {view.Name} is wider than {width}");
            var nonEmpty = lines.Where(l => l.Trim().Length > 0).ToList();
            if (view.Kind == "Table")
            {
                var header = nonEmpty[0];
                foreach (var label in view.Labels)
                    Regex.IsMatch(header, $@"(^|\s){Regex.Escape(label)}(\s|$)").Should().BeTrue($"{view.Name} at {width}: header '{label}' whole in '{header}'");
                nonEmpty[1].Trim().Should().MatchRegex("^[- ]+$", "the second line underlines the headers (no wrapped header line)");
                if (!view.Wraps) nonEmpty.Should().HaveCount(3, $"{view.Name} at {width}: one header, one underline, one row (nothing wraps)");
            }
            else
            {
                foreach (var label in view.Labels)
                    nonEmpty.Should().Contain(l => Regex.IsMatch(l, $@"^{Regex.Escape(label)}\s*:"), $"{view.Name} at {width}: list label '{label}'");
            }
            foreach (var key in KeyProperties.Where(view.Properties.Contains))
            {
                var value = SampleObjects.Text(sample, key);
                if (!string.IsNullOrEmpty(value)) text.Should().Contain(value, $"{view.Name} at {width} shows {key} in full");
            }
        }
    }

    [Fact]
    public void Table_views_show_what_identifies_a_row()
    {
        foreach (var view in Views().Where(v => v.Kind == "Table"))
            view.Properties.Intersect(KeyProperties.Concat(new[] { "Path", "Run", "Kind", "Resource", "Running", "Drained", "HostName", "Node" })).Should().NotBeEmpty(view.Name);
    }
}
