using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Providers;
using SwarmPS.Core.Providers.Worktree;
using SwarmPS.Tests.Support;
using Xunit;

namespace SwarmPS.Tests;

public class WorktreeProviderTests : IDisposable
{
    private readonly TempRepo _r = new();
    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _r.Dispose();
    }

    private SwarmService Service(SwarmConfig? config = null) => new(new SwarmHome(_r.Home), config ?? new SwarmConfig());
    private NewEnvironmentRequest Req(string t, string? spec = null, string? baseRef = null) => new() { Ticket = t, RepositoryPath = _r.Repo, Spec = spec, BaseRef = baseRef };
    private static T Run<T>(Task<T> t) => Sync.Run(t);
    private string G(string dir, params string[] a) => TempRepo.RunGit(dir, a);

    [Fact]
    public void Create_makes_branch_and_worktree_outside_the_repo_with_ports_and_spec()
    {
        var spec = "# Ticket\nQuotes ' \" `backticks` $(subshell) ünïcødé\r\nend";
        var progress = new ListProgress();
        var env = Run(Service().NewEnvironmentAsync(Req("DEMO-1", spec), progress));

        env.Branch.Should().Be("swarm/DEMO-1");
        env.BaseRef.Should().Be("HEAD");
        env.RepositoryPath.Should().Be(Path.GetFullPath(_r.Repo));
        var expectedRoot = Path.Combine(_r.Home, "worktrees", WorktreeProvider.RepositoryFolderName(_r.Repo));
        env.WorkspacePath.Should().Be(Path.Combine(expectedRoot, "DEMO-1"));
        Path.GetFileName(expectedRoot).Should().MatchRegex("^repo-[0-9a-f]{8}$");
        env.WorkspacePath!.StartsWith(_r.Repo, StringComparison.Ordinal).Should().BeFalse();
        TempRepo.Branches(_r.Repo).Should().Contain("refs/heads/swarm/DEMO-1");
        G(env.WorkspacePath, "rev-parse", "--abbrev-ref", "HEAD").Trim().Should().Be("swarm/DEMO-1");
        File.ReadAllText(Path.Combine(env.WorkspacePath, "README.md")).Should().Be("# test repo\n");

        var dotenv = File.ReadAllText(Path.Combine(env.WorkspacePath, ".swarm", "env"));
        dotenv.Should().Contain("SWARM_TICKET=DEMO-1").And.Contain($"SWARM_PORT_BASE={env.Ports.Start}").And.Contain($"SWARM_PORT_COUNT={env.Ports.Count}");
        File.ReadAllText(Path.Combine(env.WorkspacePath, ".swarm", "spec.md")).Should().Be(spec);
        // .swarm/ is invisible to git: no pending changes, nothing in checkpoints.
        G(env.WorkspacePath, "status", "--porcelain").Should().BeEmpty();
        env.Metadata["baseBranch"].Should().Be("main");
        env.Metadata.Should().NotContainKey("creator");
        progress.Reports.Should().Contain(p => p.Completed);
        progress.Reports.Select(p => p.PercentComplete).Where(p => p >= 0).Should().BeInAscendingOrder();
    }

    [Fact]
    public void Create_from_a_linked_worktree_or_a_subfolder_uses_the_main_repository()
    {
        var svc = Service();
        var first = Run(svc.NewEnvironmentAsync(Req("A-1")));
        var fromSub = Run(svc.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = "A-2", RepositoryPath = Path.Combine(_r.Repo, "src") }));
        var fromLinked = Run(svc.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = "A-3", RepositoryPath = first.WorkspacePath }));
        fromSub.RepositoryPath.Should().Be(first.RepositoryPath);
        fromLinked.RepositoryPath.Should().Be(first.RepositoryPath);
    }

    [Fact]
    public void Base_ref_can_be_a_branch_or_a_commit()
    {
        G(_r.Repo, "branch", "release");
        _r.Write("new.txt", "x");
        G(_r.Repo, "add", "-A");
        TempRepo.RunGit(_r.Repo, "-c", "user.name=T", "-c", "user.email=t@e", "commit", "-qm", "second");
        var first = G(_r.Repo, "rev-parse", "HEAD~1").Trim();
        var svc = Service();
        var onBranch = Run(svc.NewEnvironmentAsync(Req("B-1", baseRef: "release")));
        onBranch.Metadata["baseBranch"].Should().Be("release");
        File.Exists(Path.Combine(onBranch.WorkspacePath!, "new.txt")).Should().BeFalse();
        var onCommit = Run(svc.NewEnvironmentAsync(Req("B-2", baseRef: first)));
        onCommit.Metadata["baseBranch"].Should().BeEmpty();
        onCommit.Metadata["baseCommit"].Should().Be(first);
    }

    [Theory]
    [InlineData("no-such-ref")]
    [InlineData("--output=/tmp/pwned")]
    [InlineData("-h")]
    public void A_bad_base_ref_is_rejected_and_creates_nothing(string baseRef)
    {
        var svc = Service();
        var act = () => Run(svc.NewEnvironmentAsync(Req("BAD-1", baseRef: baseRef)));
        act.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.BaseRefNotFound);
        svc.Registry.CountEnvironments().Should().Be(0);
        TempRepo.Branches(_r.Repo).Should().Equal("refs/heads/main");
        File.Exists("/tmp/pwned").Should().BeFalse();
    }

    [Fact]
    public void Outside_a_repository_is_a_clear_error()
    {
        var dir = Path.Combine(_r.Root, "plain");
        Directory.CreateDirectory(dir);
        var act = () => Run(Service().NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = "X-1", RepositoryPath = dir }));
        act.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.NotAGitRepository);
    }

    [Fact]
    public void An_existing_branch_of_the_same_name_is_never_taken_over()
    {
        G(_r.Repo, "branch", "swarm/MINE-1");
        var act = () => Run(Service().NewEnvironmentAsync(Req("MINE-1")));
        act.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.BranchExists);
        TempRepo.Branches(_r.Repo).Should().Contain("refs/heads/swarm/MINE-1");
    }

    [Fact]
    public void Worktreeinclude_files_are_copied_with_gitignore_semantics()
    {
        File.WriteAllText(Path.Combine(_r.Repo, ".gitignore"), ".env\n*.local.json\nnode_modules/\nsecret.txt\n");
        File.WriteAllText(Path.Combine(_r.Repo, ".worktreeinclude"), "# local config\n.env\n*.local.json\n!skip.local.json\n");
        G(_r.Repo, "add", ".gitignore", ".worktreeinclude");
        TempRepo.RunGit(_r.Repo, "-c", "user.name=T", "-c", "user.email=t@e", "commit", "-qm", "include");
        _r.Write(".env", "API=1\n");
        _r.Write("config/app.local.json", "{}");
        _r.Write("config/skip.local.json", "{}");
        _r.Write("secret.txt", "no");
        _r.Write("node_modules/x/index.js", "no");
        var env = Run(Service().NewEnvironmentAsync(Req("INC-1")));
        File.ReadAllText(Path.Combine(env.WorkspacePath!, ".env")).Should().Be("API=1\n");
        File.Exists(Path.Combine(env.WorkspacePath!, "config", "app.local.json")).Should().BeTrue();
        File.Exists(Path.Combine(env.WorkspacePath!, "config", "skip.local.json")).Should().BeFalse();
        File.Exists(Path.Combine(env.WorkspacePath!, "secret.txt")).Should().BeFalse();
        File.Exists(Path.Combine(env.WorkspacePath!, "node_modules", "x", "index.js")).Should().BeFalse();
    }

    [Fact]
    public void The_setup_command_runs_in_the_worktree_with_the_environment_and_logs()
    {
        if (OperatingSystem.IsWindows()) return;
        var cfg = new SwarmConfig { Repositories = { new RepositoryConfig { Path = _r.Repo, Setup = new() { "sh", "-c", "echo \"$SWARM_TICKET $SWARM_PORT_BASE\" > setup-ran.txt; echo hello-from-setup" } } } };
        var progress = new ListProgress();
        var env = Run(Service(cfg).NewEnvironmentAsync(Req("SET-1"), progress));
        File.ReadAllText(Path.Combine(env.WorkspacePath!, "setup-ran.txt")).Trim().Should().Be($"SET-1 {env.Ports.Start}");
        File.ReadAllText(Path.Combine(_r.Home, "logs", "SET-1.setup.log")).Should().Contain("hello-from-setup");
        progress.Reports.Should().Contain(p => p.Status.Contains("running setup"));
    }

    [Fact]
    public void A_failing_setup_removes_worktree_branch_and_row_and_names_the_log()
    {
        var cfg = new SwarmConfig { Repositories = { new RepositoryConfig { Path = _r.Repo, Setup = new() { "git", "no-such-subcommand-swarmps" } } } };
        var svc = Service(cfg);
        var act = () => Run(svc.NewEnvironmentAsync(Req("SET-2")));
        var ex = act.Should().Throw<SwarmException>().Which;
        ex.ErrorId.Should().Be(ErrorIds.SetupFailed);
        ex.Message.Should().Contain("SET-2.setup.log");
        svc.Registry.CountEnvironments().Should().Be(0);
        TempRepo.Branches(_r.Repo).Should().Equal("refs/heads/main");
        Directory.Exists(Path.Combine(_r.Home, "worktrees", WorktreeProvider.RepositoryFolderName(_r.Repo), "SET-2")).Should().BeFalse();
        G(_r.Repo, "worktree", "list").Trim().Split('\n').Should().HaveCount(1);
    }

    [Fact]
    public void The_worktree_root_is_configurable()
    {
        var root = Path.Combine(_r.Root, "fast-disk");
        var env = Run(Service(new SwarmConfig { Worktree = { Root = root } }).NewEnvironmentAsync(Req("ROOT-1")));
        env.WorkspacePath.Should().StartWith(root);
    }

    [Fact]
    public void Remove_refuses_uncommitted_work_lists_it_and_removes_nothing()
    {
        var svc = Service();
        var env = Run(svc.NewEnvironmentAsync(Req("RM-1")));
        TempRepo.WriteIn(env.WorkspacePath!, "src/file0.txt", "changed\n");
        TempRepo.WriteIn(env.WorkspacePath!, "brand-new.txt", "new\n");
        var act = () => Run(svc.RemoveEnvironmentAsync("RM-1"));
        var ex = act.Should().Throw<SwarmException>().Which;
        ex.ErrorId.Should().Be(ErrorIds.UncommittedChanges);
        ex.Details.Should().Contain(d => d.EndsWith("src/file0.txt")).And.Contain(d => d.EndsWith("brand-new.txt"));
        Directory.Exists(env.WorkspacePath).Should().BeTrue();
        svc.Registry.GetEnvironment("RM-1").Should().NotBeNull();

        Run(svc.RemoveEnvironmentAsync("RM-1", new RemoveOptions { Force = true }));
        Directory.Exists(env.WorkspacePath).Should().BeFalse();
        TempRepo.Branches(_r.Repo).Should().Equal("refs/heads/main");
        svc.Registry.GetEnvironment("RM-1").Should().BeNull();
    }

    [Fact]
    public void Remove_refuses_unmerged_commits_unless_the_branch_is_kept()
    {
        var svc = Service();
        var env = Run(svc.NewEnvironmentAsync(Req("RM-2")));
        TempRepo.WriteIn(env.WorkspacePath!, "feature.txt", "f\n");
        G(env.WorkspacePath!, "add", "-A");
        TempRepo.RunGit(env.WorkspacePath!, "-c", "user.name=T", "-c", "user.email=t@e", "commit", "-qm", "feature work");
        var act = () => Run(svc.RemoveEnvironmentAsync("RM-2"));
        var ex = act.Should().Throw<SwarmException>().Which;
        ex.ErrorId.Should().Be(ErrorIds.UnmergedCommits);
        ex.Details.Should().ContainSingle(d => d.EndsWith("feature work"));
        Run(svc.RemoveEnvironmentAsync("RM-2", new RemoveOptions { KeepBranch = true }));
        TempRepo.Branches(_r.Repo).Should().Contain("refs/heads/swarm/RM-2");
        Directory.Exists(env.WorkspacePath).Should().BeFalse();
    }

    [Fact]
    public void Remove_deletes_checkpoint_refs_and_frees_the_ports()
    {
        var svc = Service(new SwarmConfig { Ports = { Start = 40000, End = 40009, BlockSize = 10 } });
        Run(svc.NewEnvironmentAsync(Req("RM-3")));
        Run(svc.CheckpointAsync("RM-3", "one"));
        Run(svc.CheckpointAsync("RM-3", "two"));
        var full = () => Run(svc.NewEnvironmentAsync(Req("RM-4")));
        full.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.PortsExhausted);
        TempRepo.Branches(_r.Repo).Should().NotContain("refs/heads/swarm/RM-4");
        Run(svc.RemoveEnvironmentAsync("RM-3"));
        TempRepo.AllRefs(_r.Repo).Should().NotContain(r => r.StartsWith("refs/swarmps/"));
        Run(svc.NewEnvironmentAsync(Req("RM-4"))).Ports.Start.Should().Be(40000);
    }

    [Fact]
    public void Remove_after_the_worktree_was_deleted_by_hand_still_cleans_up()
    {
        var svc = Service();
        var env = Run(svc.NewEnvironmentAsync(Req("RM-5")));
        Directory.Delete(env.WorkspacePath!, true);
        Run(svc.GetEnvironmentsAsync()).Single().Status.Should().Be(EnvironmentStatus.Missing);
        Run(svc.RemoveEnvironmentAsync("RM-5"));
        TempRepo.Branches(_r.Repo).Should().Equal("refs/heads/main");
        G(_r.Repo, "worktree", "list").Trim().Split('\n').Should().HaveCount(1);
    }

    [Fact]
    public void Checkpoint_does_not_touch_worktree_index_head_or_stash()
    {
        var svc = Service();
        var env = Run(svc.NewEnvironmentAsync(Req("CP-9")));
        var w = env.WorkspacePath!;
        TempRepo.WriteIn(w, "src/file0.txt", "staged\n");
        G(w, "add", "src/file0.txt");
        TempRepo.WriteIn(w, "src/file1.txt", "unstaged\n");
        TempRepo.WriteIn(w, "untracked.txt", "u\n");
        File.Delete(Path.Combine(w, "src", "file2.txt"));
        TempRepo.RunGit(w, "-c", "user.name=T", "-c", "user.email=t@e", "stash", "list");
        var gitDir = G(w, "rev-parse", "--absolute-git-dir").Trim();
        var indexBefore = File.ReadAllBytes(Path.Combine(gitDir, "index"));
        var status = G(w, "status", "--porcelain");
        var head = G(w, "rev-parse", "HEAD");
        var files = TempRepo.Snapshot(w);
        var stash = G(w, "stash", "list");

        Run(svc.CheckpointAsync("CP-9", "snap"));

        File.ReadAllBytes(Path.Combine(gitDir, "index")).Should().Equal(indexBefore);
        G(w, "status", "--porcelain").Should().Be(status);
        G(w, "rev-parse", "HEAD").Should().Be(head);
        TempRepo.Snapshot(w).Should().Equal(files);
        G(w, "stash", "list").Should().Be(stash);
        G(w, "rev-parse", "--verify", "refs/swarmps/checkpoints/CP-9/snap").Should().NotBeEmpty();
        Directory.GetFiles(gitDir, "swarmps-index-*").Should().BeEmpty();
    }

    [Fact]
    public void Restore_brings_back_head_files_and_index_exactly()
    {
        var svc = Service();
        var env = Run(svc.NewEnvironmentAsync(Req("CP-8")));
        var w = env.WorkspacePath!;
        TempRepo.WriteIn(w, "src/file0.txt", "staged\n");
        G(w, "add", "src/file0.txt");
        TempRepo.WriteIn(w, "src/file0.txt", "staged then edited\n");
        TempRepo.WriteIn(w, "untracked.txt", "u\n");
        File.Delete(Path.Combine(w, "src", "file2.txt"));
        var state = Capture(w);
        Run(svc.CheckpointAsync("CP-8", "before"));

        // Commit, delete, create, stage: all of it must be undone.
        G(w, "add", "-A");
        TempRepo.RunGit(w, "-c", "user.name=T", "-c", "user.email=t@e", "commit", "-qm", "after checkpoint");
        File.Delete(Path.Combine(w, "README.md"));
        TempRepo.WriteIn(w, "later/new.txt", "later\n");
        TempRepo.WriteIn(w, "later2.txt", "staged later\n");
        G(w, "add", "later2.txt");

        Run(svc.RestoreAsync("CP-8", "before"));
        Capture(w).Should().BeEquivalentTo(state);
        File.Exists(Path.Combine(w, "later", "new.txt")).Should().BeFalse();
        File.Exists(Path.Combine(w, "README.md")).Should().BeTrue();
        File.Exists(Path.Combine(w, ".swarm", "env")).Should().BeTrue("SwarmPS's own files survive a restore");
    }

    [Fact]
    public void Restore_leaves_ignored_files_alone()
    {
        var svc = Service();
        _r.Write(".gitignore", "*.log\n");
        G(_r.Repo, "add", ".gitignore");
        TempRepo.RunGit(_r.Repo, "-c", "user.name=T", "-c", "user.email=t@e", "commit", "-qm", "ignore logs");
        var env = Run(svc.NewEnvironmentAsync(Req("CP-7")));
        Run(svc.CheckpointAsync("CP-7", "a"));
        TempRepo.WriteIn(env.WorkspacePath!, "build.log", "keep me");
        Run(svc.RestoreAsync("CP-7", "a"));
        File.ReadAllText(Path.Combine(env.WorkspacePath!, "build.log")).Should().Be("keep me");
    }

    /// <summary>Everything that defines the working state: files, HEAD and its branch, the index entries.</summary>
    internal static object Capture(string w) => new
    {
        Files = TempRepo.Snapshot(w),
        Head = TempRepo.RunGit(w, "rev-parse", "HEAD"),
        Branch = TempRepo.TryGit(w, "symbolic-ref", "-q", "HEAD").Out,
        Index = TempRepo.RunGit(w, "ls-files", "-s"),
        Status = TempRepo.RunGit(w, "status", "--porcelain=v1", "--untracked-files=all"),
    };

    [Fact]
    public void Diff_shows_commits_uncommitted_and_untracked_work()
    {
        var svc = Service();
        var env = Run(svc.NewEnvironmentAsync(Req("DIFF-1")));
        var w = env.WorkspacePath!;
        TempRepo.WriteIn(w, "committed.txt", "a\nb\n");
        G(w, "add", "-A");
        TempRepo.RunGit(w, "-c", "user.name=T", "-c", "user.email=t@e", "commit", "-qm", "add committed");
        TempRepo.WriteIn(w, "src/file0.txt", "changed\nmore\n");
        TempRepo.WriteIn(w, "untracked.txt", "u\n");
        File.Delete(Path.Combine(w, "src", "file1.txt"));

        var diff = Run(svc.DiffAsync("DIFF-1"));
        diff.Commits.Should().ContainSingle(c => c.EndsWith("add committed"));
        diff.HasUncommittedChanges.Should().BeTrue();
        diff.Files.Should().Contain(f => f.Path == "committed.txt" && f.Change == "Added" && f.Additions == 2);
        diff.Files.Should().Contain(f => f.Path == "src/file0.txt" && f.Change == "Modified");
        diff.Files.Should().Contain(f => f.Path == "untracked.txt" && f.Change == "Added");
        diff.Files.Should().Contain(f => f.Path == "src/file1.txt" && f.Change == "Deleted" && f.Deletions == 1);
        diff.Patch.Should().Contain("+changed");
        // Diff is read-only.
        G(w, "status", "--porcelain").Should().Contain("?? untracked.txt");
    }

    [Fact]
    public void Merge_brings_the_branch_into_the_base_branch_of_the_main_worktree()
    {
        var svc = Service();
        var env = Run(svc.NewEnvironmentAsync(Req("MRG-1")));
        TempRepo.WriteIn(env.WorkspacePath!, "feature.txt", "feature\n");
        G(env.WorkspacePath!, "add", "-A");
        TempRepo.RunGit(env.WorkspacePath!, "-c", "user.name=T", "-c", "user.email=t@e", "commit", "-qm", "feature");
        var result = Run(svc.MergeAsync("MRG-1", "Merge MRG-1: feature"));
        result.Merged.Should().BeTrue();
        result.TargetBranch.Should().Be("main");
        File.ReadAllText(Path.Combine(_r.Repo, "feature.txt")).Should().Be("feature\n");
        G(_r.Repo, "log", "-1", "--format=%s%n%P").Should().StartWith("Merge MRG-1: feature");
        G(_r.Repo, "status", "--porcelain").Should().BeEmpty();
        Run(svc.MergeAsync("MRG-1")).UpToDate.Should().BeTrue();
        // Merged: removing without --force is now fine.
        Run(svc.RemoveEnvironmentAsync("MRG-1"));
    }

    [Fact]
    public void A_merge_conflict_leaves_the_main_worktree_exactly_as_it_was()
    {
        var svc = Service();
        var env = Run(svc.NewEnvironmentAsync(Req("MRG-2")));
        TempRepo.WriteIn(env.WorkspacePath!, "src/file0.txt", "theirs\n");
        G(env.WorkspacePath!, "add", "-A");
        TempRepo.RunGit(env.WorkspacePath!, "-c", "user.name=T", "-c", "user.email=t@e", "commit", "-qm", "theirs");
        _r.Write("src/file0.txt", "ours\n");
        G(_r.Repo, "add", "-A");
        TempRepo.RunGit(_r.Repo, "-c", "user.name=T", "-c", "user.email=t@e", "commit", "-qm", "ours");
        // Uncommitted work in the main worktree must survive too.
        _r.Write("README.md", "local edit\n");
        _r.Write("scratch.txt", "scratch\n");
        var before = Capture(_r.Repo);

        var result = Run(svc.MergeAsync("MRG-2"));
        result.Merged.Should().BeFalse();
        result.ConflictingFiles.Should().Equal("src/file0.txt");
        Capture(_r.Repo).Should().BeEquivalentTo(before);
        File.Exists(Path.Combine(_r.Repo, ".git", "MERGE_HEAD")).Should().BeFalse();
    }

    [Fact]
    public void Merge_into_a_branch_that_is_not_checked_out_only_moves_the_branch()
    {
        G(_r.Repo, "branch", "release");
        var svc = Service();
        var env = Run(svc.NewEnvironmentAsync(Req("MRG-3", baseRef: "release")));
        TempRepo.WriteIn(env.WorkspacePath!, "rel.txt", "r\n");
        G(env.WorkspacePath!, "add", "-A");
        TempRepo.RunGit(env.WorkspacePath!, "-c", "user.name=T", "-c", "user.email=t@e", "commit", "-qm", "rel");
        var before = Capture(_r.Repo);
        Run(svc.MergeAsync("MRG-3")).Merged.Should().BeTrue();
        Capture(_r.Repo).Should().BeEquivalentTo(before);
        G(_r.Repo, "show", "release:rel.txt").Should().Be("r\n");
    }

    [Fact]
    public void Merge_without_a_base_branch_asks_for_one()
    {
        var sha = G(_r.Repo, "rev-parse", "HEAD").Trim();
        var svc = Service();
        Run(svc.NewEnvironmentAsync(Req("MRG-4", baseRef: sha)));
        var act = () => Run(svc.MergeAsync("MRG-4"));
        act.Should().Throw<SwarmException>().Which.Kind.Should().Be(SwarmErrorKind.InvalidArgument);
        Run(svc.MergeAsync("MRG-4", into: "main")).UpToDate.Should().BeTrue();
    }

    [Fact]
    public void Exec_runs_in_the_worktree_with_swarm_variables()
    {
        var svc = Service();
        var env = Run(svc.NewEnvironmentAsync(Req("EXE-1")));
        var r = Run(svc.ExecAsync("EXE-1", new[] { "git", "rev-parse", "--abbrev-ref", "HEAD" }));
        r.ExitCode.Should().Be(0);
        r.StandardOutput.Trim().Should().Be("swarm/EXE-1");
        if (!OperatingSystem.IsWindows())
        {
            var vars = Run(svc.ExecAsync("EXE-1", new[] { "sh", "-c", "echo $SWARM_TICKET:$SWARM_PORT_BASE:$PWD" }));
            vars.StandardOutput.Trim().Should().Be($"EXE-1:{env.Ports.Start}:{env.WorkspacePath}");
        }
    }

    [Fact]
    public void Provider_specific_options_are_refused_by_the_worktree_provider()
    {
        var svc = Service();
        var act = () => Run(svc.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = "OPT-1", RepositoryPath = _r.Repo, Options = new Dictionary<string, string> { ["noWorktree"] = "true" } }));
        act.Should().Throw<SwarmException>().Which.Kind.Should().Be(SwarmErrorKind.InvalidArgument);
        svc.Registry.CountEnvironments().Should().Be(0);
    }
}
