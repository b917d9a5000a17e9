using FluentAssertions;
using Xunit;

namespace SwarmPS.Module.Tests.Hosting;

/// <summary>
/// Every test that runs cmdlets joins this collection: one runspace with the module imported once,
/// shared serially (SWARMPS_HOME, which the cmdlets read, is process-wide).
/// </summary>
[CollectionDefinition(Name)]
public sealed class RunspaceCollection : ICollectionFixture<ModuleFixture>
{
    public const string Name = "SwarmPS runspace";
}

public sealed class ModuleFixture : IDisposable
{
    public PowerShellSession Session { get; } = new();

    public void Dispose() => Session.Dispose();
}

/// <summary>
/// Base class of the runspace tests: each test gets its own SWARMPS home and git repository, set as
/// $env:SWARMPS_HOME and the runspace's location; both are restored when the test ends.
/// </summary>
public abstract class RunspaceTest : IDisposable
{
    private readonly string? _previousHome = Environment.GetEnvironmentVariable("SWARMPS_HOME");

    protected RunspaceTest(ModuleFixture fixture)
    {
        Ps = fixture.Session;
        Root = Temp.Dir();
        Home = Path.Combine(Root, "home");
        Repo = GitRepo.Create(Path.Combine(Root, "repo"));
        Environment.SetEnvironmentVariable("SWARMPS_HOME", Home);
        Ps.Ok("Set-Location -LiteralPath $args[0]", Repo);
    }

    protected PowerShellSession Ps { get; }
    protected string Root { get; }
    protected string Home { get; }
    protected string Repo { get; }

    /// <summary>Runs one script; asserts no error; returns the output.</summary>
    protected IReadOnlyList<System.Management.Automation.PSObject> Ok(string script, params object?[] args) => Ps.Ok(script, args);

    /// <summary>Runs one script that must fail; returns the ErrorId part of the first FullyQualifiedErrorId and the command.</summary>
    protected (string ErrorId, string Command, PsResult Result) Fails(string script, params object?[] args)
    {
        var r = Ps.Run(script, args);
        r.ErrorIds.Should().NotBeEmpty($"'{script}' must fail");
        var parts = r.ErrorIds[0].Split(',');
        return (parts[0], parts.Length > 1 ? parts[1] : "", r);
    }

    /// <summary>A property of a PowerShell output object, as text.</summary>
    protected static string P(System.Management.Automation.PSObject o, string name) => o.Properties[name]?.Value?.ToString() ?? "";

    public void Dispose()
    {
        // Agents and environments of this test: leave nothing running.
        Ps.Run("Get-SwarmAgent -ErrorAction Ignore | Where-Object Status -eq Running | Stop-SwarmAgent -Confirm:$false -ErrorAction Ignore; Get-SwarmEnvironment -ErrorAction Ignore | Remove-SwarmEnvironment -Force -Confirm:$false -ErrorAction Ignore; Set-Location -LiteralPath ([System.IO.Path]::GetTempPath())");
        Environment.SetEnvironmentVariable("SWARMPS_HOME", _previousHome);
        GC.SuppressFinalize(this);
    }
}
