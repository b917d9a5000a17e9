using SwarmPS.Core.Processes;

namespace SwarmPS.Core.Git;

/// <summary>
/// Retries git commands that failed only because another git process was half-way through
/// changing the same repository, which happens when many SwarmPS processes work in one repo.
/// <para>
/// The main case, reproduced with plain git 2.39 (8 shells each running
/// <c>git worktree add -b</c> in one repository): every command that enumerates the worktrees
/// (<c>worktree add/list/remove/prune</c>, <c>branch -D</c>, ...) reads
/// <c>.git/worktrees/&lt;id&gt;/commondir</c> of every linked worktree. A concurrent
/// <c>worktree add</c> creates that file empty and writes it a moment later, and a reader that
/// lands in between dies with <c>fatal: failed to read .git/worktrees/&lt;id&gt;/commondir: Success</c>
/// (exit 128). The same class of failure comes from git's lock files (<c>index.lock</c>,
/// <c>config.lock</c>, <c>packed-refs.lock</c>, ref locks): <c>Unable to create '...lock': File exists</c>.
/// Both are transient; waiting a few milliseconds and running the command again succeeds.
/// </para>
/// <para>
/// A failed <c>git worktree add -b</c> is not atomic: git creates the branch first and does not
/// delete it when the worktree step dies, so <see cref="AddWorktreeAsync"/> continues with the
/// branch it made, and deletes it if it finally gives up.
/// </para>
/// </summary>
public static class GitLockRetry
{
    /// <summary>Attempts in total (the first run included).</summary>
    public const int MaxAttempts = 10;

    private static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(25);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromMilliseconds(800);

    /// <summary>Whether a failed git run is one of the transient concurrency failures above.</summary>
    public static bool IsTransient(ProcessResult result) => !result.Success && IsTransientMessage(result.StandardError);

    /// <summary>Whether git's stderr names a transient concurrency failure (see the class remarks).</summary>
    public static bool IsTransientMessage(string? stderr)
    {
        if (string.IsNullOrEmpty(stderr)) return false;
        // A half-written admin file of a worktree another process is adding (commondir, gitdir, HEAD).
        if (stderr.Contains("failed to read ", StringComparison.Ordinal) &&
            stderr.Contains("worktrees", StringComparison.Ordinal))
            return true;
        // Lock files: "Unable to create '/repo/.git/index.lock': File exists." (also inside
        // "cannot lock ref '...': Unable to create '....lock': File exists").
        if (stderr.Contains("Unable to create '", StringComparison.Ordinal) &&
            stderr.Contains(".lock': File exists", StringComparison.Ordinal))
            return true;
        // "error: could not lock config file .git/config: File exists"
        if (stderr.Contains("could not lock config file", StringComparison.Ordinal) &&
            stderr.Contains("File exists", StringComparison.Ordinal))
            return true;
        return false;
    }

    /// <summary>The wait before attempt <paramref name="attempt"/> + 1: exponential with jitter, capped.</summary>
    public static TimeSpan Backoff(int attempt)
    {
        var ms = Math.Min(MaxDelay.TotalMilliseconds, FirstDelay.TotalMilliseconds * Math.Pow(2, Math.Max(0, attempt - 1)));
        return TimeSpan.FromMilliseconds(ms / 2 + Random.Shared.NextDouble() * ms / 2);
    }

    /// <summary>
    /// <see cref="GitCli.RunRawAsync"/>, run again (up to <see cref="MaxAttempts"/> times in all)
    /// while it fails with a transient concurrency error. Only for commands that are safe to
    /// repeat after such a failure: reads, and writes that git aborts before changing anything.
    /// </summary>
    public static async Task<ProcessResult> RunRawAsync(GitCli git, string workingDirectory, IEnumerable<string> args, CancellationToken ct = default,
        IReadOnlyDictionary<string, string?>? env = null, string? stdin = null)
    {
        var list = args.ToList();
        for (var attempt = 1; ; attempt++)
        {
            var r = await git.RunRawAsync(workingDirectory, list, ct, env, stdin).ConfigureAwait(false);
            if (r.Success || attempt >= MaxAttempts || !IsTransient(r)) return r;
            await Task.Delay(Backoff(attempt), ct).ConfigureAwait(false);
        }
    }

    /// <summary><see cref="RunRawAsync"/> that throws GitFailed (git's own message) when it finally fails.</summary>
    public static async Task<string> RunAsync(GitCli git, string workingDirectory, IEnumerable<string> args, CancellationToken ct = default,
        IReadOnlyDictionary<string, string?>? env = null, string? stdin = null, string? target = null)
    {
        var r = await RunRawAsync(git, workingDirectory, args, ct, env, stdin).ConfigureAwait(false);
        if (!r.Success) throw GitCli.Failed(r, target);
        return r.StandardOutput;
    }

    /// <summary>
    /// <c>git worktree add --quiet --no-track -b &lt;branch&gt; &lt;path&gt; &lt;startPoint&gt;</c>,
    /// retried on transient failures. When a failed attempt already created the branch (at
    /// <paramref name="startPoint"/>), the next attempt adds the worktree for that branch instead
    /// of creating it again. If it finally fails (or is cancelled), a branch this call created and
    /// no worktree has checked out is deleted again; the error is GitFailed with git's message.
    /// </summary>
    public static async Task AddWorktreeAsync(GitCli git, string repo, string branch, string path, string startPoint, CancellationToken ct = default,
        string? target = null)
    {
        var branchRef = "refs/heads/" + branch;
        string? startCommit = null;
        var existedBefore = await CommitOfAsync(git, repo, branchRef, ct).ConfigureAwait(false) is not null;
        var createArgs = new[] { "worktree", "add", "--quiet", "--no-track", "-b", branch, path, startPoint };
        var args = createArgs;
        ProcessResult? r = null;
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                r = await git.RunRawAsync(repo, args, ct).ConfigureAwait(false);
                if (r.Success) return;
                if (attempt >= MaxAttempts || !IsTransient(r)) break;
                await Task.Delay(Backoff(attempt), ct).ConfigureAwait(false);
                if (existedBefore) continue;
                startCommit ??= await CommitOfAsync(git, repo, startPoint + "^{commit}", ct).ConfigureAwait(false);
                // Did the failed attempt get as far as creating the branch? Then continue with it.
                var now = await CommitOfAsync(git, repo, branchRef, ct).ConfigureAwait(false);
                if (now is null) args = createArgs;
                else if (now == startCommit) args = new[] { "worktree", "add", "--quiet", path, branch };
                else break; // a branch we did not make appeared under our name: report git's error
            }
        }
        catch (Exception ex) when (ex is SwarmException or OperationCanceledException)
        {
            await DeleteBranchLeftBehindAsync().ConfigureAwait(false);
            throw;
        }
        await DeleteBranchLeftBehindAsync().ConfigureAwait(false);
        throw GitCli.Failed(r!, target);

        // git creates the branch before the worktree and keeps it when the worktree step fails.
        // 'branch -D' refuses a branch that a worktree has checked out, so a worktree that did get
        // made keeps its branch for the caller's own rollback.
        async Task DeleteBranchLeftBehindAsync()
        {
            if (existedBefore) return;
            try
            {
                startCommit ??= await CommitOfAsync(git, repo, startPoint + "^{commit}", CancellationToken.None).ConfigureAwait(false);
                var left = await CommitOfAsync(git, repo, branchRef, CancellationToken.None).ConfigureAwait(false);
                if (left is not null && left == startCommit)
                    await RunRawAsync(git, repo, new[] { "branch", "-D", branch }, CancellationToken.None).ConfigureAwait(false);
            }
            catch (SwarmException)
            {
                // Best effort: 'swarmps repair' reports what is left.
            }
        }
    }

    private static async Task<string?> CommitOfAsync(GitCli git, string repo, string rev, CancellationToken ct)
    {
        var r = await git.RunRawAsync(repo, new[] { "rev-parse", "--verify", "--quiet", rev }, ct).ConfigureAwait(false);
        return r.Success ? r.StandardOutput.Trim() : null;
    }
}
