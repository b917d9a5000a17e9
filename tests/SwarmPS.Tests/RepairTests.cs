using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Providers;
using SwarmPS.Core.Registry;
using SwarmPS.Tests.Support;
using Xunit;

namespace SwarmPS.Tests;

public class RepairTests : IDisposable
{
    private readonly TempRepo _r = new();
    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _r.Dispose();
    }

    private SwarmService Service() => new(new SwarmHome(_r.Home), new SwarmConfig());
    private static T Run<T>(Task<T> t) => Sync.Run(t);
    private SwarmEnvironment New(SwarmService s, string t) => Run(s.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = t, RepositoryPath = _r.Repo }));

    [Fact]
    public void A_clean_registry_reports_nothing()
    {
        var svc = Service();
        New(svc, "OK-1");
        Run(svc.CheckpointAsync("OK-1", "a"));
        Run(svc.RepairAsync(fix: false)).Should().BeEmpty();
    }

    [Fact]
    public void A_hand_deleted_worktree_is_a_dangling_row_fixed_only_when_asked()
    {
        var svc = Service();
        var env = New(svc, "DANG-1");
        Run(svc.CheckpointAsync("DANG-1", "a"));
        Directory.Delete(env.WorkspacePath!, true);

        var report = Run(svc.RepairAsync(fix: false));
        report.Should().ContainSingle(i => i.Kind == RepairIssueKind.DanglingRow && i.Ticket == "DANG-1" && !i.Fixed);
        svc.Registry.GetEnvironment("DANG-1").Should().NotBeNull("a report changes nothing");

        var fixedItems = Run(svc.RepairAsync(fix: true));
        fixedItems.Should().ContainSingle(i => i.Kind == RepairIssueKind.DanglingRow && i.Fixed);
        svc.Registry.GetEnvironment("DANG-1").Should().BeNull();
        TempRepo.AllRefs(_r.Repo).Should().NotContain(r => r.StartsWith("refs/swarmps/"));
        TempRepo.Branches(_r.Repo).Should().Contain("refs/heads/swarm/DANG-1", "the branch may hold committed work");
        TempRepo.RunGit(_r.Repo, "worktree", "list").Trim().Split('\n').Should().HaveCount(1);
        Run(svc.RepairAsync(fix: false)).Should().BeEmpty();
    }

    [Fact]
    public void A_worktree_without_a_row_is_an_orphan_removed_when_asked()
    {
        var svc = Service();
        var env = New(svc, "ORPH-1");
        svc.Registry.DeleteEnvironment("ORPH-1"); // as if the registry lost it

        Run(svc.RepairAsync(fix: false)).Should().ContainSingle(i => i.Kind == RepairIssueKind.Orphan && i.Path == env.WorkspacePath && !i.Fixed);
        Directory.Exists(env.WorkspacePath).Should().BeTrue();
        Run(svc.RepairAsync(fix: true)).Should().ContainSingle(i => i.Kind == RepairIssueKind.Orphan && i.Fixed);
        Directory.Exists(env.WorkspacePath).Should().BeFalse();
        TempRepo.RunGit(_r.Repo, "worktree", "list").Trim().Split('\n').Should().HaveCount(1);
        Run(svc.RepairAsync(fix: false)).Should().BeEmpty();
    }

    [Fact]
    public void A_create_whose_process_died_is_rolled_back()
    {
        var svc = Service();
        var env = New(svc, "HALF-1");
        // Simulate a crash mid-create: the row is back in Creating, owned by a process that no longer exists.
        var meta = new Dictionary<string, string>(env.Metadata) { ["creator"] = "999999@1" };
        svc.Registry.Update(env.With(status: EnvironmentStatus.Creating, metadata: meta));

        Run(svc.RepairAsync(fix: false)).Should().ContainSingle(i => i.Kind == RepairIssueKind.IncompleteCreate && i.Ticket == "HALF-1");
        Run(svc.RepairAsync(fix: true)).Should().ContainSingle(i => i.Kind == RepairIssueKind.IncompleteCreate && i.Fixed);
        svc.Registry.GetEnvironment("HALF-1").Should().BeNull();
        Directory.Exists(env.WorkspacePath).Should().BeFalse();
        TempRepo.Branches(_r.Repo).Should().Equal("refs/heads/main");
    }

    [Fact]
    public void A_create_in_progress_in_a_live_process_is_left_alone()
    {
        var svc = Service();
        var env = New(svc, "LIVE-1");
        var meta = new Dictionary<string, string>(env.Metadata) { ["creator"] = SwarmPS.Core.Processes.ProcessIdentity.Current() };
        svc.Registry.Update(env.With(status: EnvironmentStatus.Creating, metadata: meta));
        Run(svc.RepairAsync(fix: true)).Should().BeEmpty();
        svc.Registry.GetEnvironment("LIVE-1").Should().NotBeNull();
    }

    [Fact]
    public void Checkpoint_rows_and_refs_are_reconciled()
    {
        var svc = Service();
        var env = New(svc, "CPR-1");
        Run(svc.CheckpointAsync("CPR-1", "keep"));
        Run(svc.CheckpointAsync("CPR-1", "lost-ref"));
        Run(svc.CheckpointAsync("CPR-1", "lost-row"));
        TempRepo.RunGit(_r.Repo, "update-ref", "-d", "refs/swarmps/checkpoints/CPR-1/lost-ref");
        svc.Registry.DeleteCheckpoint("CPR-1", "lost-row");

        var report = Run(svc.RepairAsync(fix: true));
        report.Should().Contain(i => i.Kind == RepairIssueKind.DanglingCheckpoint && i.Description.Contains("lost-ref") && i.Fixed);
        report.Should().Contain(i => i.Kind == RepairIssueKind.OrphanCheckpoint && i.Path!.EndsWith("lost-row") && i.Fixed);
        svc.GetCheckpoints("CPR-1").Select(c => c.Name).Should().Equal("keep");
        Run(new SwarmPS.Core.Providers.Worktree.WorktreeProvider().ListCheckpointsAsync(env, default)).Should().Equal("keep");
    }

    [Fact]
    public void Rows_of_an_unknown_provider_are_reported_but_never_deleted()
    {
        var svc = Service();
        svc.Registry.Reserve(new SwarmEnvironment { Ticket = "FUT-1", Provider = "future" }, new PortConfig());
        var report = Run(svc.RepairAsync(fix: true));
        report.Should().ContainSingle(i => i.Ticket == "FUT-1" && !i.Fixed);
        svc.Registry.GetEnvironment("FUT-1").Should().NotBeNull();
    }
}
