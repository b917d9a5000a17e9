using System.Management.Automation;
using FluentAssertions;
using SwarmPS.Cmdlets;
using SwarmPS.Module.Tests.Hosting;
using Xunit;

namespace SwarmPS.Module.Tests.RealRunspace;

/// <summary>
/// Tab completion through PowerShell's own TabExpansion2 (the module's argument completers against a
/// real registry), and the ErrorRecords the cmdlets write (category, target, error id).
/// </summary>
[Collection(RunspaceCollection.Name)]
public sealed class CompletionAndErrorTests : RunspaceTest
{
    public CompletionAndErrorTests(ModuleFixture fixture) : base(fixture) { }

    private IReadOnlyList<string> Complete(string input) =>
        Ok("(TabExpansion2 -inputScript $args[0] -cursorColumn $args[0].Length).CompletionMatches | ForEach-Object CompletionText", input)
            .Select(o => o.ToString()).ToList();

    [Fact]
    public void Tickets_checkpoints_agents_profiles_and_providers_complete()
    {
        Ok("New-SwarmEnvironment -Ticket COMP-1 -RepositoryPath $args[0]", Repo);
        Ok("New-SwarmEnvironment -Ticket COMP-2 -RepositoryPath $args[0]", Repo);
        Ok("New-SwarmEnvironment -Ticket OTHER-1 -RepositoryPath $args[0]", Repo);
        Ok("Checkpoint-SwarmEnvironment -Ticket COMP-1 -Name before");
        Ok("Checkpoint-SwarmEnvironment -Ticket COMP-1 -Name after");

        Complete("Get-SwarmEnvironment -Ticket comp").Should().Equal("COMP-1", "COMP-2");
        Complete("Stop-SwarmEnvironment -Ticket *-1").Should().Equal("COMP-1", "OTHER-1");
        Complete("Restore-SwarmEnvironment -Ticket COMP-1 -Name b").Should().Equal("before");
        Complete("Start-SwarmAgent -Ticket COMP-1 -Profile cl").Should().Equal("claude");
        Complete("New-SwarmEnvironment -Provider work").Should().Equal("worktree");
        Complete("Get-SwarmAgent -Id ag-").Should().BeEmpty();
        Directory.Exists(Home).Should().BeTrue();
    }

    [Fact]
    public void Completion_never_creates_a_home()
    {
        Complete("Get-SwarmEnvironment -Ticket ").Should().BeEmpty();
        Complete("Get-SwarmTask -Id t-").Should().BeEmpty();
        Directory.Exists(Home).Should().BeFalse("completing in a fresh session must not create SWARMPS_HOME");
    }

    [Fact]
    public void Error_records_carry_a_stable_id_category_and_target()
    {
        var bad = Fails("New-SwarmEnvironment -Ticket '../x' -RepositoryPath $args[0]", Repo).Result;
        var record = bad.Errors.Concat(bad.Terminating is null ? Array.Empty<ErrorRecord>() : new[] { bad.Terminating }).First();
        record.CategoryInfo.Category.Should().Be(ErrorCategory.InvalidArgument);
        record.Exception.Message.Should().Contain("../x");

        var missing = Ps.Run("Get-SwarmDiff -Ticket NOPE-1");
        var notFound = missing.Errors.Concat(missing.Terminating is null ? Array.Empty<ErrorRecord>() : new[] { missing.Terminating }).First();
        notFound.FullyQualifiedErrorId.Should().Be("EnvironmentNotFound,SwarmPS.Cmdlets.Commands.GetSwarmDiffCommand");
        notFound.CategoryInfo.Category.Should().Be(ErrorCategory.ObjectNotFound);
        notFound.TargetObject.Should().Be("NOPE-1");

        Ok("New-SwarmEnvironment -Ticket DUP-1 -RepositoryPath $args[0]", Repo);
        var exists = Ps.Run("New-SwarmEnvironment -Ticket DUP-1 -RepositoryPath $args[0]", Repo);
        exists.ErrorIds.Should().Contain(id => id.StartsWith("EnvironmentExists,", StringComparison.Ordinal));
        (exists.Errors.Concat(exists.Terminating is null ? Array.Empty<ErrorRecord>() : new[] { exists.Terminating }).First().CategoryInfo.Category).Should().Be(ErrorCategory.ResourceExists);
    }

    [Fact]
    public void Every_error_kind_maps_to_a_category_and_progress_ids_are_distinct()
    {
        foreach (var kind in Enum.GetValues<Core.SwarmErrorKind>())
            SwarmCmdlet.Category(kind).Should().NotBe(ErrorCategory.NotSpecified, kind.ToString());
        var ids = StaticModuleTests.Cmdlets.Select(c => SwarmCmdlet.StableId(c.Type.Name)).ToList();
        ids.Should().OnlyHaveUniqueItems().And.OnlyContain(i => i > 0);
    }
}
