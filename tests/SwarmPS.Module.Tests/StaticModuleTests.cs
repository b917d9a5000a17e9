using FluentAssertions;
using SwarmPS.Cmdlets;
using SwarmPS.Module.Tests.Checks;
using SwarmPS.Module.Tests.Hosting;
using Xunit;

namespace SwarmPS.Module.Tests;

/// <summary>
/// Static rules of the module, checked on what PowerShell reports (Get-Command metadata in a real
/// runspace, PowerShell's own parser) and on the module's files. Each check runs on the real module
/// and, through the same function, on a broken sample to prove it fails when its rule is broken.
/// Behaviour is tested by invoking the cmdlets (Runspace/*).
/// </summary>
public class StaticModuleTests
{
    public static IReadOnlyList<CmdletModel> Cmdlets => ModuleMetadata.Cmdlets;

    private static readonly string[] Required =
    {
        "New-SwarmEnvironment", "Get-SwarmEnvironment", "Start-SwarmEnvironment", "Stop-SwarmEnvironment", "Remove-SwarmEnvironment",
        "Checkpoint-SwarmEnvironment", "Restore-SwarmEnvironment", "Get-SwarmCheckpoint", "Remove-SwarmCheckpoint",
        "Get-SwarmDiff", "Merge-SwarmEnvironment", "Get-SwarmProvider", "Repair-SwarmRegistry",
        "Start-SwarmAgent", "Get-SwarmAgent", "Wait-SwarmAgent", "Stop-SwarmAgent", "Send-SwarmAgentMessage",
        "Receive-SwarmAgentOutput", "Get-SwarmAgentProfile",
        "Add-SwarmTask", "Get-SwarmTask", "Stop-SwarmTask", "Remove-SwarmTask", "Invoke-SwarmQueue", "Start-SwarmQueue", "Stop-SwarmQueue",
        "Invoke-SwarmWorkflow", "Invoke-SwarmDecomposition", "Get-SwarmEvent",
        "Get-SwarmHost", "New-SwarmBaseImage",
        "Start-Swarm", "Send-SwarmPrompt", "Receive-SwarmResponse", "Get-Swarm", "Stop-Swarm",
        "Register-SwarmBaseImage", "Get-SwarmBaseImage", "Unregister-SwarmBaseImage",
        "Get-SwarmConnection", "Invoke-SwarmCommand", "Enter-SwarmEnvironment",
    };

    [Fact]
    public void The_module_compiles_exactly_the_required_cmdlets()
    {
        Cmdlets.Select(c => c.Name).Should().BeEquivalentTo(Required);
    }

    // ------------------------------------------------------------------ reflection rules

    [Fact]
    public void Compiled_cmdlets_follow_the_rules()
    {
        CmdletRules.Check(Cmdlets).Should().BeEmpty();
    }

    [Fact]
    public void Every_environment_cmdlet_takes_Ticket_by_property_name()
    {
        foreach (var c in Cmdlets.Where(c => c.Noun is "SwarmEnvironment" or "SwarmCheckpoint" or "SwarmDiff"))
            c.Find("Ticket").Should().NotBeNull($"{c.Name} acts on tickets");
    }

    [Fact]
    public void Remove_and_Restore_confirm_with_high_impact_and_offer_Force()
    {
        foreach (var c in Cmdlets.Where(c => c.Verb is "Remove" or "Restore"))
        {
            c.ConfirmImpact.Should().Be("High", c.Name);
            c.Find("Force").Should().NotBeNull(c.Name);
        }
    }

    [Fact]
    public void Rules_fail_on_broken_cmdlets()
    {
        var problems = CmdletRules.Check(ModuleMetadata.BrokenSamples);
        problems.Should().Contain(p => p.Contains("Delete-Thing") && p.Contains("not an approved verb"));
        problems.Should().Contain(p => p.Contains("Delete-Thing") && p.Contains("no [OutputType]"));
        problems.Should().Contain(p => p.Contains("Delete-Thing") && p.Contains("Pascal case with the 'Swarm' prefix"));
        problems.Should().Contain(p => p.Contains("Delete-Thing") && p.Contains("class should be named"));
        problems.Should().Contain(p => p.Contains("Stop-SwarmThing") && p.Contains("does not declare SupportsShouldProcess"));
        problems.Should().Contain(p => p.Contains("Stop-SwarmThing") && p.Contains("-Force is bool"));
        problems.Should().Contain(p => p.Contains("Stop-SwarmThing") && p.Contains("-Ticket is not ValueFromPipelineByPropertyName"));
        problems.Should().Contain(p => p.Contains("Stop-SwarmThing") && p.Contains("-Ticket does not accept an array"));
        problems.Should().Contain(p => p.Contains("Restore-SwarmThing") && p.Contains("ConfirmImpact must be High"));
        problems.Should().Contain(p => p.Contains("Restore-SwarmThing") && p.Contains("2 ValueFromPipeline parameters"));
        problems.Should().Contain(p => p.Contains("Get-SwarmThing") && p.Contains("read-only but declares SupportsShouldProcess"));
    }

    // ------------------------------------------------------------------ manifest

    [Fact]
    public void Manifest_exports_exactly_the_compiled_cmdlets()
    {
        ManifestCheck.Check(Repo.ManifestPath, Cmdlets).Should().BeEmpty();
    }

    [Fact]
    public void Assembled_manifest_is_valid_and_carries_the_build_version()
    {
        var manifest = Path.Combine(Repo.AssembledModuleDir, "SwarmPS.psd1");
        ManifestCheck.Check(manifest, Cmdlets).Should().BeEmpty();
        var version = PsParser.ReadData(manifest).GetProperty("ModuleVersion").GetString();
        version.Should().NotBe("0.0.0", "the build fills in the version");
        Version.Parse(version!).Should().Be(Version.Parse(typeof(SwarmCmdlet).Assembly.GetName().Version!.ToString(3)));
    }

    [Theory]
    [InlineData("'Stop-SwarmEnvironment'", "", "CmdletsToExport lacks the compiled cmdlet Stop-SwarmEnvironment")]
    [InlineData("'Stop-SwarmEnvironment'", "'Stop-SwarmEnvironment'\n        'Stop-SwarmEverything'", "names Stop-SwarmEverything, which is not a compiled cmdlet")]
    [InlineData("FunctionsToExport    = @()", "FunctionsToExport    = '*'", "FunctionsToExport must be @()")]
    [InlineData("PowerShellVersion    = '7.4'", "PowerShellVersion    = '5.1'", "PowerShellVersion must be '7.4'")]
    [InlineData("CompatiblePSEditions = @('Core')", "CompatiblePSEditions = @('Desktop', 'Core')", "CompatiblePSEditions must be @('Core')")]
    [InlineData("ProjectUri", "ProjectUrl", "PSData.ProjectUri is missing")]
    [InlineData("ReleaseNotes", "ReleaseNote", "PSData.ReleaseNotes is missing")]
    [InlineData("RootModule           = 'SwarmPS.psm1'", "RootModule           = 'Nope.psm1'", "RootModule 'Nope.psm1' does not exist")]
    [InlineData("@{", "@{ (", "the manifest cannot be read")]
    public void Manifest_check_fails_on_a_broken_manifest(string find, string replace, string expected)
    {
        var dir = Temp.Dir();
        foreach (var f in Directory.GetFiles(Path.GetDirectoryName(Repo.ManifestPath)!)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        var text = File.ReadAllText(Repo.ManifestPath);
        text.Should().Contain(find);
        File.WriteAllText(Path.Combine(dir, "SwarmPS.psd1"), ReplaceFirst(text, find, replace));
        ManifestCheck.Check(Path.Combine(dir, "SwarmPS.psd1"), Cmdlets).Should().Contain(p => p.Contains(expected));
    }

    // ------------------------------------------------------------------ format

    private static readonly System.Reflection.Assembly[] OutputAssemblies = { typeof(SwarmPS.Core.SwarmService).Assembly, typeof(SwarmCmdlet).Assembly };

    [Fact]
    public void Format_file_names_real_types_and_covers_every_output_type()
    {
        FormatCheck.Check(Repo.FormatPath, Cmdlets, OutputAssemblies).Should().BeEmpty();
    }

    [Theory]
    [InlineData("<TypeName>SwarmPS.Core.SwarmDiffFile</TypeName>", "<TypeName>SwarmPS.Core.SwarmDiffFiles</TypeName>", "names type SwarmPS.Core.SwarmDiffFiles, which does not exist")]
    [InlineData("<PropertyName>Provider</PropertyName>", "<PropertyName>Providr</PropertyName>", "has no property 'Providr'")]
    [InlineData("<ScriptBlock>$_.Ports.ToString()</ScriptBlock>", "<ScriptBlock>$_.Ports.ToString(</ScriptBlock>", "a ScriptBlock does not parse")]
    [InlineData("<TableColumnHeader><Label>Ticket</Label><Width>24</Width></TableColumnHeader>", "", "headers but")]
    [InlineData("</Configuration>", "", "not valid XML")]
    public void Format_check_fails_on_a_broken_format_file(string find, string replace, string expected)
    {
        var text = File.ReadAllText(Repo.FormatPath);
        text.Should().Contain(find);
        var path = Path.Combine(Temp.Dir(), "SwarmPS.format.ps1xml");
        File.WriteAllText(path, ReplaceFirst(text, find, replace));
        var problems = FormatCheck.Check(path, Cmdlets, OutputAssemblies);
        if (expected.Length > 0) problems.Should().Contain(p => p.Contains(expected));
        else problems.Should().NotBeEmpty();
    }

    [Fact]
    public void Format_check_fails_when_an_output_type_has_no_list_view()
    {
        var text = File.ReadAllText(Repo.FormatPath);
        var start = text.IndexOf("<View>\n      <Name>SwarmCheckpoint.List</Name>", StringComparison.Ordinal);
        start.Should().BeGreaterThan(0);
        var end = text.IndexOf("</View>", start, StringComparison.Ordinal) + "</View>".Length;
        var path = Path.Combine(Temp.Dir(), "SwarmPS.format.ps1xml");
        File.WriteAllText(path, text.Remove(start, end - start));
        FormatCheck.Check(path, Cmdlets, OutputAssemblies).Should().Contain("output type SwarmPS.Core.SwarmCheckpoint has no list view");
    }

    // ------------------------------------------------------------------ help

    [Fact]
    public void Every_cmdlet_has_help_matching_its_compiled_parameters()
    {
        HelpCheck.CheckFolder(Repo.HelpDir, Cmdlets).Should().BeEmpty();
    }

    [Fact]
    public void About_topic_explains_the_concepts()
    {
        var about = File.ReadAllText(Path.Combine(Repo.HelpDir, "about_SwarmPS.md"));
        foreach (var concept in new[] { "ticket", "provider", "checkpoint", "registry", "SWARMPS_HOME",
                     "## The task queue", "### Priorities", "### Dependencies", "### Retries", "-RunAfterFailure", "Invoke-SwarmQueue", "## Events", "Get-SwarmEvent -Follow" })
            about.Should().Contain(concept);
    }

    [Theory]
    [InlineData("Remove-SwarmEnvironment", "### -KeepBranch", "### -KeepBranches", "documents -KeepBranches, which the cmdlet does not have")]
    [InlineData("Remove-SwarmEnvironment", "### -KeepBranch", "### -KeepBranches", "parameter -KeepBranch is not documented")]
    [InlineData("Remove-SwarmEnvironment", "external help file: SwarmPS.dll-Help.xml", "external help file: SwarmPS-help.xml", "front matter 'external help file'")]
    [InlineData("Remove-SwarmEnvironment", "schema: 2.0.0", "schema: 1.0.0", "'schema' must be 2.0.0")]
    [InlineData("Start-SwarmEnvironment", "### Example 2:", "#### Example 2:", "at least 2 are required")]
    [InlineData("Remove-SwarmEnvironment", "Accept wildcard characters: False", "Accept wildcard characters: True", "yaml 'Accept wildcard characters' is 'True'")]
    [InlineData("Remove-SwarmEnvironment", "Required: True", "Required: False", "yaml 'Required' is 'False', the cmdlet says 'True'")]
    [InlineData("Remove-SwarmEnvironment", "Type: SwitchParameter", "Type: Boolean", "yaml 'Type' is 'Boolean'")]
    [InlineData("Remove-SwarmEnvironment", "## OUTPUTS", "## OUTPUT", "sections are")]
    [InlineData("Remove-SwarmEnvironment", "[-KeepBranch] ", "", "SYNTAX block does not match any parameter set")]
    public void Help_check_fails_on_broken_help(string cmdlet, string find, string replace, string expected)
    {
        var dir = Temp.Dir();
        foreach (var f in Directory.GetFiles(Repo.HelpDir, "*.md")) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        var target = Path.Combine(dir, cmdlet + ".md");
        var text = File.ReadAllText(target);
        text.Should().Contain(find);
        File.WriteAllText(target, ReplaceFirst(text, find, replace));
        HelpCheck.CheckFolder(dir, Cmdlets).Should().Contain(p => p.Contains(expected));
    }

    [Fact]
    public void Help_check_fails_when_a_cmdlet_has_no_help_file()
    {
        var dir = Temp.Dir();
        foreach (var f in Directory.GetFiles(Repo.HelpDir, "*.md").Where(f => !f.EndsWith("Get-SwarmDiff.md", StringComparison.Ordinal)))
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        File.WriteAllText(Path.Combine(dir, "Get-SwarmNothing.md"), File.ReadAllText(Path.Combine(Repo.HelpDir, "Get-SwarmDiff.md")));
        var problems = HelpCheck.CheckFolder(dir, Cmdlets);
        problems.Should().Contain("Get-SwarmDiff: no help file Get-SwarmDiff.md");
        problems.Should().Contain("Get-SwarmNothing.md: help for a cmdlet that does not exist");
    }

    // ------------------------------------------------------------------ parsing

    [Fact]
    public void Every_PowerShell_file_in_the_repository_parses()
    {
        var files = Repo.PowerShellFiles();
        files.Should().Contain(f => f.EndsWith("SwarmPS.psd1", StringComparison.Ordinal));
        files.Should().Contain(f => f.EndsWith("SwarmPS.psm1", StringComparison.Ordinal));
        files.Should().Contain(f => f.EndsWith("build.ps1", StringComparison.Ordinal));
        files.Should().Contain(f => f.EndsWith(".Tests.ps1", StringComparison.Ordinal));
        PsParser.Parse(files).Where(p => p.Errors.Count > 0)
            .Select(p => $"{Path.GetRelativePath(Repo.Root, p.File)}:{p.Errors[0].Line}: {p.Errors[0].Text}")
            .Should().BeEmpty();
    }

    [Theory]
    [InlineData("function Broken {\n    if ($true) {\n        'unclosed'\n}\n")]
    [InlineData("$x = @{ Name = 'a'; Value = }\n")]
    [InlineData("Get-SwarmEnvironment | Where-Object { $_.Status -eq 'Running' \n")]
    [InlineData("$list = @('a', 'b'\n")]
    public void Parse_check_fails_on_a_broken_script(string source)
    {
        PsParser.ParseText(source).Errors.Should().NotBeEmpty();
    }

    [Fact]
    public void Parse_check_accepts_valid_PowerShell()
    {
        PsParser.ParseText("param([string]$Ticket)\nGet-SwarmEnvironment -Ticket $Ticket | ForEach-Object { $_.Ticket }\n$h = @{ a = 1; b = @('x', 'y') }\n").Errors.Should().BeEmpty();
    }

    // ------------------------------------------------------------------ commands and parameters used

    [Fact]
    public void Scripts_tests_help_and_docs_use_only_real_cmdlets_and_parameters()
    {
        // Every PowerShell file of the repository (Pester tests, build.ps1, scripts), parsed by PowerShell's parser.
        var files = Repo.PowerShellFiles().Where(f => !f.EndsWith(".psd1", StringComparison.OrdinalIgnoreCase)).ToList();
        files.Should().Contain(f => f.StartsWith(Repo.PesterDir, StringComparison.Ordinal));
        var parsed = PsParser.Parse(files).ToList();
        parsed.SelectMany(p => p.Commands).Should().Contain(c => c.Name.Contains("-Swarm"));
        // Help examples and about topics.
        foreach (var md in Directory.GetFiles(Repo.HelpDir, "*.md"))
        {
            var code = Path.GetFileName(md).StartsWith("about_", StringComparison.Ordinal) ? FencedPowerShell(File.ReadAllText(md)) : HelpDoc.Load(md).ExampleCode();
            if (code.Count == 0) continue;
            parsed.Add(PsParser.ParseText(string.Join("\n", code), Path.GetFileName(md) + " EXAMPLES"));
        }
        // PowerShell blocks of the README and docs/.
        var docs = new[] { Repo.Path_("README.md") }.Concat(Directory.GetFiles(Repo.Path_("docs"), "*.md")).Where(File.Exists).ToList();
        var blocks = 0;
        foreach (var md in docs)
        {
            var code = FencedPowerShell(File.ReadAllText(md));
            blocks += code.Count;
            for (var i = 0; i < code.Count; i++) parsed.Add(PsParser.ParseText(code[i], $"{Path.GetRelativePath(Repo.Root, md)} block {i + 1}"));
        }
        blocks.Should().BeGreaterThan(0, "the README shows PowerShell");
        UsageCheck.Check(parsed, Cmdlets).Should().BeEmpty();
    }

    /// <summary>The ```powershell (pwsh, ps1) fenced blocks of a markdown text, without "PS>" prompts.</summary>
    private static IReadOnlyList<string> FencedPowerShell(string markdown) =>
        System.Text.RegularExpressions.Regex.Matches(markdown.Replace("\r\n", "\n"), "^```(?:powershell|pwsh|ps1|PowerShell)[ \\t]*\n(.*?)^```", System.Text.RegularExpressions.RegexOptions.Multiline | System.Text.RegularExpressions.RegexOptions.Singleline)
            .Select(m => string.Join("\n", m.Groups[1].Value.Split('\n').Select(l => System.Text.RegularExpressions.Regex.Replace(l, @"^\s*PS[^>]*>\s?", "")))).ToList();

    [Fact]
    public void Every_cmdlet_is_exercised_by_its_own_Pester_file()
    {
        foreach (var c in Cmdlets)
            File.Exists(Path.Combine(Repo.PesterDir, c.Name + ".Tests.ps1")).Should().BeTrue($"{c.Name} needs tests/pester/{c.Name}.Tests.ps1");
    }

    [Theory]
    [InlineData("Get-SwarmEnvironment -Tickets X", "Get-SwarmEnvironment has no parameter -Tickets")]
    [InlineData("Get-SwarmEnvironment -WhatIf", "Get-SwarmEnvironment has no parameter -WhatIf")]
    [InlineData("Remove-SwarmThing -Ticket X", "Remove-SwarmThing is not a SwarmPS cmdlet")]
    [InlineData("Get-SwarmEnvironment | Stop-SwarmEnvironment -PassThru -Forse", "Stop-SwarmEnvironment has no parameter -Forse")]
    [InlineData("Describe 'x' { It 'y' { { Remove-SwarmEnvironment -Ticket X -Confirm:$false -Purge } | Should -Throw } }", "Remove-SwarmEnvironment has no parameter -Purge")]
    [InlineData("Get-SwarmEnvironment -Ticket (", "does not parse")]
    public void Usage_check_fails_on_unknown_commands_and_parameters(string script, string expected)
    {
        UsageCheck.Check(new[] { PsParser.ParseText(script, "sample.ps1") }, Cmdlets).Should().Contain(p => p.Contains(expected));
    }

    [Fact]
    public void Usage_check_accepts_aliases_and_common_parameters()
    {
        var script = "New-SwarmEnvironment -Ticket A -Repository . -Base main -Verbose -ErrorAction Stop -WhatIf\nGet-SwarmProvider -Provider worktree -ev e\n";
        UsageCheck.Check(new[] { PsParser.ParseText(script, "sample.ps1") }, Cmdlets).Should().BeEmpty();
    }

    private static string ReplaceFirst(string text, string find, string replace)
    {
        var i = text.IndexOf(find, StringComparison.Ordinal);
        return text[..i] + replace + text[(i + find.Length)..];
    }
}
