using SwarmPS.Core.Processes;

namespace SwarmPS.Core.Git;

/// <summary>What a checkpoint commit records besides its trees.</summary>
public sealed record WorkingState(string Commit, string HeadCommit, string? HeadRef, string IndexTree, string WorkTree);

/// <summary>
/// Git operations on one worktree that do not depend on which provider made it: capture and
/// restore of the complete working state, diff against the base, merge back, pending changes.
/// The Docker provider reuses these on its bind-mounted worktree.
/// </summary>
public sealed class GitWorkspace
{
    public const string CheckpointRefPrefix = "refs/swarmps/checkpoints/";
    private const string HeadRefTrailer = "SwarmPS-Head-Ref: ";

    private readonly GitCli _git;

    public GitWorkspace(GitCli git) => _git = git;

    public static string CheckpointRef(string ticket, string name) => $"{CheckpointRefPrefix}{ticket}/{name}";

    // ------------------------------------------------------------ capture

    /// <summary>
    /// Writes the complete working state (HEAD, index, tracked and untracked non-ignored files,
    /// deletions) as trees, without touching the worktree, its index, HEAD or the stash. Works on a
    /// private copy of the index, so git's stat cache makes the cost grow with the number of
    /// changed files rather than the size of the repository.
    /// </summary>
    public Task<(string IndexTree, string WorkTree)> WriteTreesAsync(string worktree, CancellationToken ct) =>
        WriteTreesAsync(worktree, _git.LineAsync(worktree, new[] { "rev-parse", "--absolute-git-dir" }, ct), ct);

    /// <summary><see cref="WriteTreesAsync(string, CancellationToken)"/> with the git dir lookup already started.</summary>
    private async Task<(string IndexTree, string WorkTree)> WriteTreesAsync(string worktree, Task<string> gitDirLookup, CancellationToken ct)
    {
        var gitDir = await gitDirLookup.ConfigureAwait(false);
        var index = Path.Combine(gitDir, "index");
        var temp = Path.Combine(gitDir, $"swarmps-index-{Guid.NewGuid():N}");
        try
        {
            if (File.Exists(index)) File.Copy(index, temp);
            var env = new Dictionary<string, string?> { ["GIT_INDEX_FILE"] = temp };
            var indexTree = await _git.LineAsync(worktree, new[] { "write-tree" }, ct, env).ConfigureAwait(false);
            await _git.RunAsync(worktree, new[] { "add", "-A", "--", ":/" }, ct, env).ConfigureAwait(false);
            var workTree = await _git.LineAsync(worktree, new[] { "write-tree" }, ct, env).ConfigureAwait(false);
            return (indexTree, workTree);
        }
        finally
        {
            TryDelete(temp);
            TryDelete(temp + ".lock");
        }
    }

    /// <summary>Captures the working state as a commit (parents: HEAD and a commit of the index tree).</summary>
    public async Task<WorkingState> CaptureAsync(string worktree, string message, CancellationToken ct)
    {
        // Three read-only queries that do not depend on each other, started together: each is a
        // process start, and one after the other their latencies add up. Their results are used
        // (and their errors raised) in the same order as before.
        var headLookup = _git.LineAsync(worktree, new[] { "rev-parse", "--verify", "HEAD" }, ct);
        var headRefLookup = _git.RunRawAsync(worktree, new[] { "symbolic-ref", "-q", "HEAD" }, ct);
        var gitDirLookup = _git.LineAsync(worktree, new[] { "rev-parse", "--absolute-git-dir" }, ct);
        string head;
        ProcessResult headRefResult;
        try
        {
            head = await headLookup.ConfigureAwait(false);
            headRefResult = await headRefLookup.ConfigureAwait(false);
        }
        catch
        {
            Forget(headRefLookup);
            Forget(gitDirLookup);
            throw;
        }
        var headRef = headRefResult.Success ? headRefResult.StandardOutput.Trim() : null;
        var (indexTree, workTree) = await WriteTreesAsync(worktree, gitDirLookup, ct).ConfigureAwait(false);
        var indexCommit = await _git.LineAsync(worktree, new[] { "commit-tree", indexTree, "-p", head, "-m", "SwarmPS index" }, ct, GitCli.InternalIdentity).ConfigureAwait(false);
        var commit = await _git.LineAsync(worktree,
            new[] { "commit-tree", workTree, "-p", head, "-p", indexCommit, "-m", message, "-m", HeadRefTrailer + (headRef ?? "(detached)") }, ct, GitCli.InternalIdentity)
            .ConfigureAwait(false);
        return new WorkingState(commit, head, headRef, indexTree, workTree);
    }

    /// <summary>Reads back what <see cref="CaptureAsync"/> recorded in a checkpoint commit.</summary>
    public async Task<WorkingState> ReadStateAsync(string worktree, string commitish, CancellationToken ct)
    {
        var raw = await _git.RunAsync(worktree, new[] { "cat-file", "commit", commitish }, ct).ConfigureAwait(false);
        string? tree = null;
        var parents = new List<string>();
        var lines = raw.Split('\n');
        var i = 0;
        for (; i < lines.Length && lines[i].Length > 0; i++)
        {
            if (lines[i].StartsWith("tree ", StringComparison.Ordinal)) tree = lines[i][5..];
            else if (lines[i].StartsWith("parent ", StringComparison.Ordinal)) parents.Add(lines[i][7..]);
        }
        var headRefLine = lines.Skip(i).FirstOrDefault(l => l.StartsWith(HeadRefTrailer, StringComparison.Ordinal));
        var headRef = headRefLine?[HeadRefTrailer.Length..].Trim();
        if (headRef == "(detached)") headRef = null;
        if (tree is null || parents.Count != 2)
            throw new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidState, $"{commitish} is not a SwarmPS checkpoint commit.", commitish);
        var indexTree = await _git.LineAsync(worktree, new[] { "rev-parse", parents[1] + "^{tree}" }, ct).ConfigureAwait(false);
        return new WorkingState(commitish, parents[0], headRef, indexTree, tree);
    }

    // ------------------------------------------------------------ restore

    /// <summary>
    /// Brings the worktree back to exactly a captured state: HEAD (and the branch it was on), the
    /// index, every tracked and untracked non-ignored file. Files created since disappear and
    /// deleted files come back. Ignored files are outside checkpoints and are left alone.
    /// </summary>
    public async Task RestoreAsync(string worktree, WorkingState state, CancellationToken ct)
    {
        // 1. HEAD back where it was, on the branch it was on.
        if (state.HeadRef is not null)
        {
            await _git.RunAsync(worktree, new[] { "update-ref", "-m", "swarmps: restore checkpoint", state.HeadRef, state.HeadCommit }, ct).ConfigureAwait(false);
            await _git.RunAsync(worktree, new[] { "symbolic-ref", "HEAD", state.HeadRef }, ct).ConfigureAwait(false);
        }
        else
        {
            await _git.RunAsync(worktree, new[] { "update-ref", "--no-deref", "-m", "swarmps: restore checkpoint", "HEAD", state.HeadCommit }, ct).ConfigureAwait(false);
        }
        // 2. Files: the full working tree (untracked-at-checkpoint files included).
        await _git.RunAsync(worktree, new[] { "read-tree", "-u", "--reset", state.WorkTree }, ct).ConfigureAwait(false);
        // 3. Anything non-ignored that is not in that tree was created after the checkpoint.
        await _git.RunAsync(worktree, new[] { "clean", "-f", "-d", "-q", "--", ":/" }, ct).ConfigureAwait(false);
        // 4. The index as it was (files untracked at the time become untracked again).
        await _git.RunAsync(worktree, new[] { "read-tree", state.IndexTree }, ct).ConfigureAwait(false);
        await _git.RunRawAsync(worktree, new[] { "update-index", "-q", "--refresh" }, ct).ConfigureAwait(false);
    }

    // ------------------------------------------------------------ inspection

    /// <summary>Uncommitted work (staged, unstaged, untracked non-ignored), as porcelain lines "XY path".</summary>
    public async Task<IReadOnlyList<string>> PendingChangesAsync(string worktree, CancellationToken ct)
    {
        var o = await _git.RunAsync(worktree, new[] { "status", "--porcelain=v1", "-z", "--untracked-files=all" }, ct).ConfigureAwait(false);
        var entries = GitCli.SplitZ(o);
        var list = new List<string>();
        for (var i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            list.Add(e);
            // Renames and copies are followed by the source path.
            if (e.Length > 1 && (e[0] is 'R' or 'C')) i++;
        }
        return list;
    }

    /// <summary>The work of the worktree against <paramref name="baseCommit"/>: commits and uncommitted changes, untracked files included.</summary>
    public async Task<SwarmDiff> DiffAsync(string ticket, string worktree, string baseRef, string baseCommit, CancellationToken ct)
    {
        var (_, workTree) = await WriteTreesAsync(worktree, ct).ConfigureAwait(false);
        var headTree = await _git.LineAsync(worktree, new[] { "rev-parse", "HEAD^{tree}" }, ct).ConfigureAwait(false);
        var log = await _git.RunAsync(worktree, new[] { "log", "--format=%h %s", "--no-color", baseCommit + "..HEAD" }, ct).ConfigureAwait(false);
        var nameStatus = await _git.RunAsync(worktree, new[] { "diff", "--name-status", "-z", "-M", baseCommit, workTree }, ct).ConfigureAwait(false);
        var numstat = await _git.RunAsync(worktree, new[] { "diff", "--numstat", "-z", "-M", baseCommit, workTree }, ct).ConfigureAwait(false);
        var patch = await _git.RunAsync(worktree, new[] { "diff", "--no-color", "-M", baseCommit, workTree }, ct).ConfigureAwait(false);

        var counts = ParseNumstat(numstat);
        var files = new List<SwarmDiffFile>();
        var ns = GitCli.SplitZ(nameStatus);
        for (var i = 0; i < ns.Count; i++)
        {
            var status = ns[i];
            string? oldPath = null;
            string path;
            if (status.Length > 0 && status[0] is 'R' or 'C') { oldPath = ns[++i]; path = ns[++i]; }
            else path = ns[++i];
            counts.TryGetValue(path, out var c);
            files.Add(new SwarmDiffFile
            {
                Path = path, OldPath = oldPath,
                Change = status[0] switch { 'A' => "Added", 'M' => "Modified", 'D' => "Deleted", 'R' => "Renamed", 'C' => "Copied", 'T' => "TypeChanged", _ => status },
                Additions = c.Add, Deletions = c.Del,
            });
        }
        return new SwarmDiff
        {
            Ticket = ticket, BaseRef = baseRef, BaseCommit = baseCommit, Commits = GitCli.Lines(log), Files = files,
            HasUncommittedChanges = workTree != headTree, Patch = patch,
        };
    }

    private static Dictionary<string, (int? Add, int? Del)> ParseNumstat(string output)
    {
        // "-z": "<add>\t<del>\t<path>\0" or, for renames, "<add>\t<del>\t\0<old>\0<new>\0".
        var map = new Dictionary<string, (int?, int?)>(StringComparer.Ordinal);
        var parts = output.Split('\0');
        for (var i = 0; i < parts.Length; i++)
        {
            var p = parts[i].TrimStart('\n');
            if (p.Length == 0) continue;
            var fields = p.Split('\t', 3);
            if (fields.Length < 3) continue;
            int? a = int.TryParse(fields[0], out var x) ? x : null;
            int? d = int.TryParse(fields[1], out var y) ? y : null;
            var path = fields[2];
            if (path.Length == 0 && i + 2 < parts.Length) { path = parts[i + 2]; i += 2; }
            map[path] = (a, d);
        }
        return map;
    }

    // ------------------------------------------------------------ merge

    /// <summary>
    /// Merges <paramref name="branch"/> into <paramref name="target"/>. The merge is computed with
    /// <c>git merge-tree --write-tree</c>, which touches no worktree, so a conflict leaves
    /// everything exactly as it was. A clean result becomes a merge commit; the worktree that has
    /// the target checked out (if any) is fast-forwarded to it with <c>git merge --ff-only</c>.
    /// </summary>
    public async Task<SwarmMergeResult> MergeAsync(string ticket, string repo, string worktree, string branch, string target, string message, CancellationToken ct)
    {
        var version = await _git.VersionAsync(ct).ConfigureAwait(false);
        if (version is null || version < new Version(2, 38))
            throw new SwarmException(ErrorIds.GitFailed, SwarmErrorKind.Unavailable, $"Merging needs git 2.38 or newer (git merge-tree --write-tree); this machine has {version?.ToString() ?? "no git"}.", ticket);

        var targetRef = "refs/heads/" + target;
        var targetCommit = await _git.LineAsync(repo, new[] { "rev-parse", "--verify", targetRef + "^{commit}" }, ct, target: ticket).ConfigureAwait(false);
        var branchCommit = await _git.LineAsync(repo, new[] { "rev-parse", "--verify", "refs/heads/" + branch + "^{commit}" }, ct, target: ticket).ConfigureAwait(false);
        var pending = await PendingChangesAsync(worktree, ct).ConfigureAwait(false);

        var isAncestor = await _git.RunRawAsync(repo, new[] { "merge-base", "--is-ancestor", branchCommit, targetCommit }, ct).ConfigureAwait(false);
        if (isAncestor.ExitCode == 0)
            return new SwarmMergeResult { Ticket = ticket, Branch = branch, TargetBranch = target, Merged = false, UpToDate = true, Commit = targetCommit, UncommittedChangesLeft = pending.Count > 0 };

        var mt = await _git.RunRawAsync(repo, new[] { "merge-tree", "--write-tree", "--name-only", "-z", "--no-messages", targetCommit, branchCommit }, ct).ConfigureAwait(false);
        if (mt.ExitCode is not (0 or 1)) throw GitCli.Failed(mt, ticket);
        var parts = mt.StandardOutput.Split('\0');
        var tree = parts[0].Trim();
        if (mt.ExitCode == 1)
        {
            var conflicts = parts.Skip(1).TakeWhile(p => p.Length > 0).Distinct(StringComparer.Ordinal).ToList();
            return new SwarmMergeResult { Ticket = ticket, Branch = branch, TargetBranch = target, Merged = false, ConflictingFiles = conflicts, UncommittedChangesLeft = pending.Count > 0 };
        }

        // The user's identity goes on the merge commit; fall back to SwarmPS's only if git has none.
        var ident = await _git.RunRawAsync(repo, new[] { "var", "GIT_COMMITTER_IDENT" }, ct).ConfigureAwait(false);
        var env = ident.Success ? null : GitCli.InternalIdentity;
        var mergeCommit = await _git.LineAsync(repo, new[] { "commit-tree", tree, "-p", targetCommit, "-p", branchCommit, "-m", message }, ct, env, target: ticket)
            .ConfigureAwait(false);

        var checkedOutIn = await WorktreeWithBranchAsync(repo, targetRef, ct).ConfigureAwait(false);
        if (checkedOutIn is not null)
        {
            var ff = await _git.RunRawAsync(checkedOutIn, new[] { "merge", "--ff-only", "--quiet", mergeCommit }, ct).ConfigureAwait(false);
            if (!ff.Success)
                throw new SwarmException(ErrorIds.UncommittedChanges, SwarmErrorKind.InvalidState,
                    $"The merge of {branch} into {target} is clean, but {checkedOutIn} has local changes that it would overwrite; nothing was changed. Commit or stash them and merge again. git said: {ff.StandardError.Trim()}", ticket);
        }
        else
        {
            await _git.RunAsync(repo, new[] { "update-ref", "-m", "swarmps: merge " + branch, targetRef, mergeCommit, targetCommit }, ct, target: ticket).ConfigureAwait(false);
        }
        return new SwarmMergeResult { Ticket = ticket, Branch = branch, TargetBranch = target, Merged = true, Commit = mergeCommit, UncommittedChangesLeft = pending.Count > 0 };
    }

    /// <summary>The worktree (main or linked) that has <paramref name="branchRef"/> checked out, if any.</summary>
    public async Task<string?> WorktreeWithBranchAsync(string repo, string branchRef, CancellationToken ct)
    {
        foreach (var w in await ListWorktreesAsync(repo, ct).ConfigureAwait(false))
            if (w.Branch == branchRef) return w.Path;
        return null;
    }

    public sealed record WorktreeEntry(string Path, string? Head, string? Branch, bool Bare, bool Prunable);

    public async Task<IReadOnlyList<WorktreeEntry>> ListWorktreesAsync(string repo, CancellationToken ct)
    {
        var o = await GitLockRetry.RunAsync(_git, repo, new[] { "worktree", "list", "--porcelain", "-z" }, ct).ConfigureAwait(false);
        var list = new List<WorktreeEntry>();
        string? path = null, head = null, branch = null;
        bool bare = false, prunable = false;
        void Flush()
        {
            if (path is not null) list.Add(new WorktreeEntry(path, head, branch, bare, prunable));
            path = head = branch = null; bare = prunable = false;
        }
        foreach (var field in o.Split('\0'))
        {
            if (field.Length == 0) { Flush(); continue; }
            if (field.StartsWith("worktree ", StringComparison.Ordinal)) { Flush(); path = field[9..]; }
            else if (field.StartsWith("HEAD ", StringComparison.Ordinal)) head = field[5..];
            else if (field.StartsWith("branch ", StringComparison.Ordinal)) branch = field[7..];
            else if (field == "bare") bare = true;
            else if (field.StartsWith("prunable", StringComparison.Ordinal)) prunable = true;
        }
        Flush();
        return list;
    }

    /// <summary>Observes a task whose result is no longer needed, so a failure of it is not left unobserved.</summary>
    internal static void Forget(Task task) =>
        task.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    private static void TryDelete(string path)
    {
        try { if (File.Exists(path)) File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
