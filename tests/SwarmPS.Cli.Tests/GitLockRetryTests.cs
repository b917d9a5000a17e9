using FluentAssertions;
using SwarmPS.Cli.Tests.Infrastructure;
using SwarmPS.Core;
using SwarmPS.Core.Git;
using Xunit;

namespace SwarmPS.Cli.Tests;

/// <summary>
/// Core's <see cref="GitLockRetry"/> (added with the CLI for its concurrency test). Kept here until
/// the Core test project takes it over.
/// </summary>
public sealed class GitLockRetryTests : IDisposable
{
    private readonly TempWorkspace _ws = new();

    public void Dispose() => _ws.Dispose();

    [Theory]
    [InlineData("fatal: failed to read .git/worktrees/W7-T08/commondir: Success", true)]
    [InlineData("fatal: failed to read /repo/.git/worktrees/x/gitdir: No such file or directory", true)]
    [InlineData("fatal: Unable to create '/repo/.git/index.lock': File exists.\n\nAnother git process seems to be running in this repository", true)]
    [InlineData("fatal: cannot lock ref 'refs/heads/swarm/A': Unable to create '/repo/.git/refs/heads/swarm/A.lock': File exists.", true)]
    [InlineData("error: could not lock config file .git/config: File exists", true)]
    [InlineData("fatal: a branch named 'swarm/A' already exists", false)]
    [InlineData("fatal: cannot lock ref 'refs/heads/swarm/A': reference already exists", false)]
    [InlineData("fatal: '/tmp/x' already exists", false)]
    [InlineData("fatal: not a valid object name: 'nope'", false)]
    [InlineData("", false)]
    public void Recognises_transient_concurrency_failures(string stderr, bool transient) =>
        GitLockRetry.IsTransientMessage(stderr).Should().Be(transient);

    [Fact]
    public void Backoff_grows_and_stays_capped()
    {
        GitLockRetry.Backoff(1).Should().BeLessThanOrEqualTo(TimeSpan.FromMilliseconds(25));
        for (var i = 1; i < 30; i++) GitLockRetry.Backoff(i).Should().BeLessThanOrEqualTo(TimeSpan.FromMilliseconds(800));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Concurrent_worktree_adds_in_one_repository_all_succeed()
    {
        var git = new GitCli();
        var head = Git.Run(_ws.Repo, "rev-parse", "HEAD").Trim();
        var root = Path.Combine(_ws.Root, "wt");
        // Plain 'git worktree add' run like this fails now and then with
        // "failed to read .git/worktrees/<id>/commondir" (a concurrent add's half-written file).
        var tasks = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 15; i++)
            {
                var name = $"W{w}-{i}";
                await GitLockRetry.AddWorktreeAsync(git, _ws.Repo, "swarm/" + name, Path.Combine(root, name), head, target: name);
                await GitLockRetry.RunAsync(git, _ws.Repo, new[] { "worktree", "list", "--porcelain", "-z" });
            }
        })).ToArray();
        await Task.WhenAll(tasks);
        Git.SwarmBranches(_ws.Repo).Should().HaveCount(8 * 15);
        Git.Lines(_ws.Repo, "worktree", "list", "--porcelain").Count(l => l.StartsWith("worktree ", StringComparison.Ordinal)).Should().Be(8 * 15 + 1);
    }

    [Fact]
    public async Task A_failed_add_leaves_no_branch_and_does_not_touch_an_existing_folder()
    {
        var git = new GitCli();
        var path = Path.Combine(_ws.Root, "occupied");
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, "mine.txt"), "not SwarmPS's\n");

        var act = () => GitLockRetry.AddWorktreeAsync(git, _ws.Repo, "swarm/X-1", path, "HEAD", target: "X-1");
        var ex = (await act.Should().ThrowAsync<SwarmException>()).Which;
        ex.ErrorId.Should().Be(ErrorIds.GitFailed);
        ex.Message.Should().Contain("already exists");
        // git itself creates the branch before it notices the folder; the helper removes it again.
        Git.SwarmBranches(_ws.Repo).Should().BeEmpty();
        File.ReadAllText(Path.Combine(path, "mine.txt")).Should().Be("not SwarmPS's\n");
    }

    [Fact]
    public async Task An_existing_branch_is_never_deleted()
    {
        var git = new GitCli();
        Git.Run(_ws.Repo, "branch", "swarm/X-1");
        var act = () => GitLockRetry.AddWorktreeAsync(git, _ws.Repo, "swarm/X-1", Path.Combine(_ws.Root, "wt-x"), "HEAD");
        (await act.Should().ThrowAsync<SwarmException>()).Which.ErrorId.Should().Be(ErrorIds.GitFailed);
        Git.SwarmBranches(_ws.Repo).Should().Equal("swarm/X-1");
    }
}
