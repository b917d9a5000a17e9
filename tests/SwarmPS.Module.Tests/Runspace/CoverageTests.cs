using FluentAssertions;
using SwarmPS.Module.Tests.Checks;
using SwarmPS.Module.Tests.Hosting;
using Xunit;

namespace SwarmPS.Module.Tests.RealRunspace;

/// <summary>
/// Every exported cmdlet is invoked for real by some runspace test: the cmdlets PowerShell exports
/// (Get-Command -Module SwarmPS) must equal the list below, and every name in the list must appear in
/// a script string of the runspace test sources.
/// </summary>
[Collection(RunspaceCollection.Name)]
public sealed class CoverageTests
{
    private readonly PowerShellSession _ps;

    public CoverageTests(ModuleFixture fixture) => _ps = fixture.Session;

    public static readonly string[] Covered =
    {
        // EnvironmentCmdletTests
        "New-SwarmEnvironment", "Get-SwarmEnvironment", "Start-SwarmEnvironment", "Stop-SwarmEnvironment", "Remove-SwarmEnvironment",
        "Checkpoint-SwarmEnvironment", "Restore-SwarmEnvironment", "Get-SwarmCheckpoint", "Remove-SwarmCheckpoint",
        "Get-SwarmDiff", "Merge-SwarmEnvironment", "Get-SwarmConnection", "Invoke-SwarmCommand", "Enter-SwarmEnvironment",
        "Get-SwarmProvider", "Get-SwarmHost", "Get-SwarmEvent", "Repair-SwarmRegistry",
        // AgentAndQueueCmdletTests
        "Start-SwarmAgent", "Get-SwarmAgent", "Wait-SwarmAgent", "Stop-SwarmAgent", "Send-SwarmAgentMessage", "Receive-SwarmAgentOutput", "Get-SwarmAgentProfile",
        "Add-SwarmTask", "Get-SwarmTask", "Stop-SwarmTask", "Remove-SwarmTask", "Invoke-SwarmQueue", "Start-SwarmQueue", "Stop-SwarmQueue",
        "Invoke-SwarmWorkflow", "Invoke-SwarmDecomposition",
        // VmAndSwarmCmdletTests
        "Start-Swarm", "Send-SwarmPrompt", "Receive-SwarmResponse", "Get-Swarm", "Stop-Swarm",
        "New-SwarmBaseImage", "Register-SwarmBaseImage", "Get-SwarmBaseImage", "Unregister-SwarmBaseImage",
    };

    [Fact]
    public void In_process_import_keeps_SwarmPS_in_the_default_context_and_SQLite_in_the_private_one()
    {
        var home = Temp.Dir();
        var previous = Environment.GetEnvironmentVariable("SWARMPS_HOME");
        Environment.SetEnvironmentVariable("SWARMPS_HOME", home);
        try
        {
            _ps.Ok("Get-SwarmEnvironment").Should().BeEmpty(); // opens the registry: SQLite loads
        }
        finally
        {
            Environment.SetEnvironmentVariable("SWARMPS_HOME", previous);
        }
        var dir = Repo.AssembledModuleDir;
        var loaded = System.Runtime.Loader.AssemblyLoadContext.All.SelectMany(c => c.Assemblies.Select(a => (Context: c.Name, Name: a.GetName().Name, a.Location))).ToList();
        loaded.Where(a => a.Name == "Microsoft.Data.Sqlite").Should().ContainSingle()
            .Which.Should().Be(("SwarmPS", "Microsoft.Data.Sqlite", Path.Combine(dir, "dependencies", "Microsoft.Data.Sqlite.dll")));
        foreach (var own in new[] { "SwarmPS", "SwarmPS.Core", "SwarmPS.Loader" })
            loaded.Where(a => a.Name == own).Should().ContainSingle().Which.Should().Be(("Default", own, Path.Combine(dir, own + ".dll")));
        _ps.Ok("[SwarmPS.Core.EnvironmentStatus]::Running.ToString()").Single().ToString().Should().Be("Running", "scripts name the module's types");
    }

    [Fact]
    public void Every_exported_cmdlet_is_invoked_by_a_runspace_test()
    {
        var exported = _ps.Ok("Get-Command -Module SwarmPS | ForEach-Object Name").Select(o => o.ToString()).ToList();
        exported.Should().HaveCount(43);
        exported.Should().BeEquivalentTo(Covered, "a new cmdlet needs a real runspace test and a line here");

        var sources = Directory.GetFiles(Repo.Path_("tests", "SwarmPS.Module.Tests", "Runspace"), "*.cs")
            .Where(f => !f.EndsWith("CoverageTests.cs", StringComparison.Ordinal)).Select(File.ReadAllText).ToList();
        foreach (var name in Covered)
            sources.Should().Contain(s => s.Contains("\"" + name + " ", StringComparison.Ordinal) || s.Contains("Ok(\"" + name, StringComparison.Ordinal) || s.Contains("| " + name, StringComparison.Ordinal),
                $"{name} must be invoked in a script of a runspace test");
    }
}
