using FluentAssertions;
using SwarmPS.Module.Tests.Hosting;
using Xunit;

namespace SwarmPS.Module.Tests.RealRunspace;

/// <summary>
/// The environment, checkpoint, diff, merge, connection and command cmdlets, invoked for real in a
/// runspace on the worktree provider (a temp git repository and a temp SWARMPS home per test).
/// One cmdlet call per invocation where it matters.
/// </summary>
[Collection(RunspaceCollection.Name)]
public sealed class EnvironmentCmdletTests : RunspaceTest
{
    public EnvironmentCmdletTests(ModuleFixture fixture) : base(fixture) { }

    [Fact]
    public void New_Get_Stop_Start_Remove_an_environment()
    {
        var created = Ok("New-SwarmEnvironment -Ticket RS-1 -RepositoryPath $args[0]", Repo);
        created.Should().ContainSingle();
        created[0].BaseObject.GetType().FullName.Should().Be("SwarmPS.Core.SwarmEnvironment");
        P(created[0], "Ticket").Should().Be("RS-1");
        P(created[0], "Status").Should().Be("Running");
        var workspace = P(created[0], "WorkspacePath");
        File.Exists(Path.Combine(workspace, "README.md")).Should().BeTrue("the worktree is checked out");
        GitRepo.Git(Repo, "branch", "--list", "swarm/RS-1").Should().Contain("swarm/RS-1");

        Ok("Get-SwarmEnvironment").Select(o => P(o, "Ticket")).Should().Equal("RS-1");
        Ok("Get-SwarmEnvironment -Ticket 'RS-*'").Should().ContainSingle("-Ticket takes wildcards");
        Ok("Get-SwarmEnvironment -Status Stopped").Should().BeEmpty();

        P(Ok("Stop-SwarmEnvironment -Ticket RS-1 -PassThru").Single(), "Status").Should().Be("Stopped");
        P(Ok("Get-SwarmEnvironment -Ticket RS-1").Single(), "Status").Should().Be("Stopped");
        P(Ok("Start-SwarmEnvironment -Ticket RS-1 -PassThru").Single(), "Status").Should().Be("Running");

        Ok("Remove-SwarmEnvironment -Ticket RS-1 -Force").Should().BeEmpty();
        Ok("Get-SwarmEnvironment").Should().BeEmpty();
        Directory.Exists(workspace).Should().BeFalse();
        GitRepo.Git(Repo, "branch", "--list", "swarm/RS-1").Should().BeEmpty("the branch goes without -KeepBranch");
    }

    [Fact]
    public void WhatIf_creates_nothing_and_Remove_without_Force_asks_with_high_impact()
    {
        Ok("New-SwarmEnvironment -Ticket RS-W -RepositoryPath $args[0] -WhatIf", Repo).Should().BeEmpty();
        Ok("Get-SwarmEnvironment").Should().BeEmpty();
        Ok("New-SwarmEnvironment -Ticket RS-W -RepositoryPath $args[0]", Repo);
        Ok("Remove-SwarmEnvironment -Ticket RS-W -KeepBranch -WhatIf").Should().BeEmpty();
        Ok("Get-SwarmEnvironment").Should().ContainSingle();
        // $ConfirmPreference High: Remove (ConfirmImpact High) asks, and the runspace has no host to ask.
        Fails("Remove-SwarmEnvironment -Ticket RS-W").Result.Describe().Should().Contain("prompt");
        Ok("Get-SwarmEnvironment").Should().ContainSingle();
    }

    [Fact]
    public void Bad_input_yields_the_stable_error_id_and_creates_nothing()
    {
        var (id, command, _) = Fails("New-SwarmEnvironment -Ticket '../x' -RepositoryPath $args[0]", Repo);
        id.Should().Be("InvalidTicket");
        command.Should().Be("SwarmPS.Cmdlets.Commands.NewSwarmEnvironmentCommand");
        Ok("Get-SwarmEnvironment").Should().BeEmpty();
        Fails("Get-SwarmDiff -Ticket NOPE-1").ErrorId.Should().Be("EnvironmentNotFound");
        Fails("New-SwarmEnvironment -Ticket RS-X -Provider nope -RepositoryPath $args[0]", Repo).ErrorId.Should().Be("ProviderNotFound");
    }

    [Fact]
    public void Pipeline_binds_Ticket_by_property_name()
    {
        Ok("New-SwarmEnvironment -Ticket RS-P -RepositoryPath $args[0]", Repo);
        P(Ok("Get-SwarmEnvironment -Ticket RS-P | Stop-SwarmEnvironment -PassThru").Single(), "Status").Should().Be("Stopped");
        P(Ok("[pscustomobject]@{ Ticket = 'RS-P' } | Start-SwarmEnvironment -PassThru").Single(), "Status").Should().Be("Running");
    }

    [Fact]
    public void Checkpoint_Get_Restore_Remove_checkpoints()
    {
        var workspace = P(Ok("New-SwarmEnvironment -Ticket RS-C -RepositoryPath $args[0]", Repo).Single(), "WorkspacePath");
        File.WriteAllText(Path.Combine(workspace, "work.txt"), "first\n");
        var cp = Ok("Checkpoint-SwarmEnvironment -Ticket RS-C -Name before").Single();
        cp.BaseObject.GetType().FullName.Should().Be("SwarmPS.Core.SwarmCheckpoint");
        P(cp, "Name").Should().Be("before");
        Ok("Get-SwarmCheckpoint -Ticket RS-C").Select(o => P(o, "Name")).Should().Equal("before");

        File.WriteAllText(Path.Combine(workspace, "work.txt"), "second\n");
        Ok("Restore-SwarmEnvironment -Ticket RS-C -Name before -Force");
        File.ReadAllText(Path.Combine(workspace, "work.txt")).Should().Be("first\n");

        Fails("Checkpoint-SwarmEnvironment -Ticket RS-C -Name 'bad name!'").ErrorId.Should().Be("InvalidCheckpointName");
        Fails("Restore-SwarmEnvironment -Ticket RS-C -Name nothere -Force").ErrorId.Should().Be("CheckpointNotFound");
        Ok("Remove-SwarmCheckpoint -Ticket RS-C -Name before -Force");
        Ok("Get-SwarmCheckpoint -Ticket RS-C").Should().BeEmpty();
    }

    [Fact]
    public void A_script_goes_on_after_each_cmdlet_call()
    {
        // Defect 3: a cmdlet's worker closed its output before its task completed; the cmdlet then
        // cancelled itself and its next Core call ended the whole script silently (no error, no output).
        Ok("New-SwarmEnvironment -Ticket RS-S -RepositoryPath $args[0]", Repo);
        Ok("New-SwarmEnvironment -Ticket RS-T -RepositoryPath $args[0]", Repo);
        var output = Ok("""
            foreach ($i in 1..25) {
                Checkpoint-SwarmEnvironment -Ticket RS-S, RS-T -Name "n$i" -Force | Out-Null
                Get-SwarmEnvironment -Ticket RS-S, RS-T | Checkpoint-SwarmEnvironment -Name "p$i" -Force | Out-Null
                "after $i"
            }
            """).Select(o => o.ToString()).ToList();
        output.Should().Equal(Enumerable.Range(1, 25).Select(i => $"after {i}"));
        Ok("Get-SwarmCheckpoint -Ticket RS-S").Should().HaveCount(50);
    }

    [Fact]
    public void Diff_and_Merge_bring_the_work_into_the_repository()
    {
        var workspace = P(Ok("New-SwarmEnvironment -Ticket RS-M -RepositoryPath $args[0]", Repo).Single(), "WorkspacePath");
        File.WriteAllText(Path.Combine(workspace, "feature.txt"), "feature\n");
        GitRepo.Git(workspace, "add", "feature.txt");
        GitRepo.Git(workspace, "commit", "--quiet", "-m", "feature");
        var diff = Ok("Get-SwarmDiff -Ticket RS-M").Single();
        diff.BaseObject.GetType().FullName.Should().Be("SwarmPS.Core.SwarmDiff");
        Ok("(Get-SwarmDiff -Ticket RS-M).Files | ForEach-Object Path").Select(o => o.ToString()).Should().Contain("feature.txt");

        var merged = Ok("Merge-SwarmEnvironment -Ticket RS-M -Message 'feature from RS-M' -Confirm:$false").Single();
        merged.BaseObject.GetType().FullName.Should().Be("SwarmPS.Core.SwarmMergeResult");
        P(merged, "Merged").Should().Be("True");
        File.ReadAllText(Path.Combine(Repo, "feature.txt")).Should().Be("feature\n");
        GitRepo.Git(Repo, "log", "--format=%s").Should().Contain("feature from RS-M");
    }

    [Fact]
    public void Connection_Command_and_Enter_reach_the_worktree()
    {
        var workspace = P(Ok("New-SwarmEnvironment -Ticket RS-E -RepositoryPath $args[0]", Repo).Single(), "WorkspacePath");
        var connection = Ok("Get-SwarmConnection -Ticket RS-E").Single();
        connection.BaseObject.GetType().FullName.Should().Be("SwarmPS.Core.SwarmConnection");
        P(connection, "WorkingDirectory").Should().Be(workspace);

        if (!OperatingSystem.IsWindows())
        {
            var exec = Ok("Invoke-SwarmCommand -Ticket RS-E -Command sh, -c, 'basename \"$(pwd)\"; echo out; exit 3'").Single();
            P(exec, "ExitCode").Should().Be("3");
            P(exec, "StandardOutput").Should().Be("RS-E\nout\n", "the command runs in the worktree and its output is captured");
        }

        Ok("Enter-SwarmEnvironment -Ticket RS-E");
        Path.GetFullPath(Ok("(Get-Location).ProviderPath").Single().ToString()).Should().Be(Path.GetFullPath(workspace), "on the worktree provider Enter moves into the worktree");
        Path.GetFullPath(Ok("Pop-Location; (Get-Location).ProviderPath").Single().ToString()).Should().Be(Path.GetFullPath(Repo));
    }

    [Fact]
    public void Provider_Host_Event_and_Repair_report_real_state()
    {
        Ok("Get-SwarmProvider").Select(o => P(o, "Name")).Should().Contain("worktree");
        Ok("Get-SwarmProvider -Name worktree -Available").Should().ContainSingle();
        var host = Ok("Get-SwarmHost").Single();
        host.BaseObject.GetType().FullName.Should().Be("SwarmPS.Core.Host.SwarmHostInfo");

        Ok("New-SwarmEnvironment -Ticket RS-V -RepositoryPath $args[0]", Repo);
        Ok("Get-SwarmEvent").Select(o => P(o, "Kind")).Should().Contain(k => k.Contains("environment", StringComparison.OrdinalIgnoreCase));

        // The worktree vanishes behind the registry's back: Repair reports it; -Fix repairs.
        var workspace = P(Ok("Get-SwarmEnvironment -Ticket RS-V").Single(), "WorkspacePath");
        GitRepo.Git(Repo, "worktree", "remove", "--force", workspace);
        Ok("Repair-SwarmRegistry").Should().NotBeEmpty("a registered environment whose worktree is gone is a finding");
        Ok("Repair-SwarmRegistry -Fix -Confirm:$false");
        Ok("Repair-SwarmRegistry").Should().BeEmpty("-Fix reconciled it");
    }
}
