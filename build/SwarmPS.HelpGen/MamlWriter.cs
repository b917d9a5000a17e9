using System.Text;
using System.Xml;

namespace SwarmPS.HelpGen;

/// <summary>
/// Writes MAML, the XML that Get-Help reads for compiled cmdlets (the layout platyPS's New-ExternalHelp
/// writes): helpItems / command:command with details, description, syntax, parameters, inputTypes,
/// returnValues, alertSet, examples and relatedLinks. All text goes through XmlWriter, which escapes it.
/// </summary>
internal static class MamlWriter
{
    private const string Msh = "http://msh";
    private const string Maml = "http://schemas.microsoft.com/maml/2004/10";
    private const string Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    private const string Dev = "http://schemas.microsoft.com/maml/dev/2004/10";
    private const string MsHelp = "http://msdn.microsoft.com/mshelp";

    public static void Write(string path, IEnumerable<CommandHelp> commands)
    {
        var settings = new XmlWriterSettings { Indent = true, Encoding = new UTF8Encoding(false), NewLineChars = "\n" };
        using var xml = XmlWriter.Create(path, settings);
        xml.WriteStartDocument();
        xml.WriteStartElement("helpItems", Msh);
        xml.WriteAttributeString("schema", "maml");
        foreach (var c in commands.OrderBy(c => c.Name, StringComparer.OrdinalIgnoreCase))
        {
            WriteCommand(xml, c);
        }
        xml.WriteEndElement();
        xml.WriteEndDocument();
    }

    private static void WriteCommand(XmlWriter xml, CommandHelp c)
    {
        xml.WriteStartElement("command", "command", Command);
        xml.WriteAttributeString("xmlns", "maml", null, Maml);
        xml.WriteAttributeString("xmlns", "command", null, Command);
        xml.WriteAttributeString("xmlns", "dev", null, Dev);
        xml.WriteAttributeString("xmlns", "MSHelp", null, MsHelp);

        xml.WriteStartElement("command", "details", Command);
        xml.WriteElementString("command", "name", Command, c.Name);
        xml.WriteElementString("command", "verb", Command, c.Verb);
        xml.WriteElementString("command", "noun", Command, c.Noun);
        WriteDescription(xml, c.Synopsis);
        xml.WriteEndElement();

        WriteDescription(xml, c.Description);

        xml.WriteStartElement("command", "syntax", Command);
        var byName = c.Parameters.ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
        foreach (var set in c.Syntax)
        {
            xml.WriteStartElement("command", "syntaxItem", Command);
            xml.WriteElementString("maml", "name", Maml, c.Name);
            foreach (var sp in set.Parameters)
            {
                WriteParameter(xml, byName[sp.Name], sp.Required, inSyntax: true);
            }
            xml.WriteEndElement();
        }
        xml.WriteEndElement();

        xml.WriteStartElement("command", "parameters", Command);
        foreach (var p in c.Parameters)
        {
            var required = c.Syntax.SelectMany(s => s.Parameters).Where(sp => string.Equals(sp.Name, p.Name, StringComparison.OrdinalIgnoreCase)).Any(sp => sp.Required)
                || p.Required.StartsWith("True", StringComparison.OrdinalIgnoreCase);
            WriteParameter(xml, p, required, inSyntax: false);
        }
        xml.WriteEndElement();

        WriteTypes(xml, "inputTypes", "inputType", c.Inputs);
        WriteTypes(xml, "returnValues", "returnValue", c.Outputs);

        xml.WriteStartElement("maml", "alertSet", Maml);
        xml.WriteStartElement("maml", "alert", Maml);
        WriteParas(xml, c.Notes);
        xml.WriteEndElement();
        xml.WriteEndElement();

        xml.WriteStartElement("command", "examples", Command);
        foreach (var e in c.Examples)
        {
            xml.WriteStartElement("command", "example", Command);
            xml.WriteElementString("maml", "title", Maml, $"---------- {e.Title} ----------");
            xml.WriteElementString("dev", "code", Dev, string.Join("\n", e.Code));
            xml.WriteStartElement("dev", "remarks", Dev);
            WriteParas(xml, e.Remarks);
            xml.WriteEndElement();
            xml.WriteEndElement();
        }
        xml.WriteEndElement();

        xml.WriteStartElement("command", "relatedLinks", Command);
        foreach (var link in c.Links)
        {
            xml.WriteStartElement("maml", "navigationLink", Maml);
            xml.WriteElementString("maml", "linkText", Maml, link.Text);
            xml.WriteElementString("maml", "uri", Maml, link.Uri ?? "");
            xml.WriteEndElement();
        }
        xml.WriteEndElement();

        xml.WriteEndElement();
    }

    private static void WriteParameter(XmlWriter xml, ParameterHelp p, bool required, bool inSyntax)
    {
        var type = p.Type;
        var isArray = type.EndsWith("[]", StringComparison.Ordinal);
        xml.WriteStartElement("command", "parameter", Command);
        xml.WriteAttributeString("required", required ? "true" : "false");
        xml.WriteAttributeString("variableLength", isArray ? "true" : "false");
        xml.WriteAttributeString("globbing", p.Globbing.StartsWith("True", StringComparison.OrdinalIgnoreCase) ? "true" : "false");
        xml.WriteAttributeString("pipelineInput", p.PipelineInput);
        xml.WriteAttributeString("position", p.Position.Equals("Named", StringComparison.OrdinalIgnoreCase) ? "named" : p.Position);
        xml.WriteAttributeString("aliases", string.IsNullOrWhiteSpace(p.Aliases) ? "none" : p.Aliases);
        xml.WriteElementString("maml", "name", Maml, p.Name);
        WriteDescription(xml, p.Description);
        var accepted = p.AcceptedValues.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (accepted.Length > 0)
        {
            xml.WriteStartElement("command", "parameterValueGroup", Command);
            foreach (var v in accepted)
            {
                xml.WriteStartElement("command", "parameterValue", Command);
                xml.WriteAttributeString("required", "false");
                xml.WriteAttributeString("command", "variableLength", Command, "false");
                xml.WriteString(v);
                xml.WriteEndElement();
            }
            xml.WriteEndElement();
        }
        // Get-Help shows "-Name <Type>" from parameterValue; a switch has none in a syntax line.
        if (!(inSyntax && p.IsSwitch))
        {
            xml.WriteStartElement("command", "parameterValue", Command);
            xml.WriteAttributeString("required", p.IsSwitch ? "false" : "true");
            xml.WriteAttributeString("variableLength", isArray ? "true" : "false");
            xml.WriteString(type);
            xml.WriteEndElement();
        }
        xml.WriteStartElement("dev", "type", Dev);
        xml.WriteElementString("maml", "name", Maml, type);
        xml.WriteElementString("maml", "uri", Maml, "");
        xml.WriteEndElement();
        xml.WriteElementString("dev", "defaultValue", Dev, p.DefaultValue);
        xml.WriteEndElement();
    }

    private static void WriteTypes(XmlWriter xml, string list, string item, List<TypeHelp> types)
    {
        xml.WriteStartElement("command", list, Command);
        foreach (var t in types)
        {
            xml.WriteStartElement("command", item, Command);
            xml.WriteStartElement("dev", "type", Dev);
            xml.WriteElementString("maml", "name", Maml, t.Name);
            xml.WriteEndElement();
            WriteDescription(xml, t.Description);
            xml.WriteEndElement();
        }
        xml.WriteEndElement();
    }

    private static void WriteDescription(XmlWriter xml, List<string> paras)
    {
        xml.WriteStartElement("maml", "description", Maml);
        WriteParas(xml, paras);
        xml.WriteEndElement();
    }

    private static void WriteParas(XmlWriter xml, List<string> paras)
    {
        foreach (var para in paras)
        {
            xml.WriteElementString("maml", "para", Maml, para);
        }
    }
}
