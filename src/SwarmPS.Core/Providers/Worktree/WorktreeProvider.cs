using System.Security.Cryptography;
using System.Text;
using SwarmPS.Core.Git;
using SwarmPS.Core.Processes;

namespace SwarmPS.Core.Providers.Worktree;

/// <summary>
/// The embedded default: one git worktree per ticket on branch <c>swarm/&lt;ticket&gt;</c>, outside
/// the repository under <c>&lt;root&gt;/&lt;repo-name&gt;-&lt;hash&gt;/&lt;ticket&gt;</c>. Works on any machine with git.
/// </summary>
public sealed class WorktreeProvider : EnvironmentProviderBase
{
    public const string ProviderName = "worktree";
    public const string BranchPrefix = "swarm/";

    private readonly GitCli _git;
    private readonly GitWorkspace _workspace;
    private readonly ProcessRunner _runner;

    public WorktreeProvider(GitCli? git = null, ProcessRunner? runner = null)
    {
        _runner = runner ?? ProcessRunner.Default;
        _git = git ?? new GitCli(_runner);
        _workspace = new GitWorkspace(_git);
    }

    public override string Name => ProviderName;
    public override string Description => "A git worktree and branch per ticket (embedded default; needs only git).";
    public override ProviderCapabilities Capabilities =>
        ProviderCapabilities.Checkpoint | ProviderCapabilities.CheckpointWhileRunning | ProviderCapabilities.Exec |
        ProviderCapabilities.DiffMerge | ProviderCapabilities.StartStop;

    public GitWorkspace Workspace => _workspace;

    public override async Task<ProviderAvailability> CheckAvailabilityAsync(CancellationToken ct)
    {
        var v = await _git.VersionAsync(ct).ConfigureAwait(false);
        if (v is null) return ProviderAvailability.No("git was not found on PATH. Install git 2.38 or newer.");
        if (v < new Version(2, 25)) return ProviderAvailability.No($"git {v} is too old; SwarmPS needs git 2.25 or newer (2.38+ for merge).");
        return ProviderAvailability.Yes;
    }

    public static string WorktreeRoot(ProviderContext ctx) =>
        Path.GetFullPath(string.IsNullOrWhiteSpace(ctx.Config.Worktree.Root) ? ctx.Home.DefaultWorktreeRoot : ctx.Config.Worktree.Root!);

    /// <summary>The folder for one repository: <c>&lt;repo-name&gt;-&lt;first 8 hex of sha256(path)&gt;</c>.</summary>
    public static string RepositoryFolderName(string repoPath)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(repoPath));
        var key = OperatingSystem.IsLinux() ? full : full.ToLowerInvariant();
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..8].ToLowerInvariant();
        var name = new string(Path.GetFileName(full).Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray()).Trim('.');
        if (name.Length == 0) name = "repo";
        if (name.Length > 40) name = name[..40];
        return $"{name}-{hash}";
    }

    // ------------------------------------------------------------------ create

    public override async Task<SwarmEnvironment> PrepareAsync(NewEnvironmentRequest request, ProviderContext context, CancellationToken ct)
    {
        var ticket = Names.Ticket(request.Ticket);
        if (request.Options is { Count: > 0 } options)
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument,
                $"The worktree provider has no option '{Names.Describe(options.Keys.First())}' (it is a provider-specific option).", ticket) { Hint = Hints.WorktreeHasNoOptions };
        var start = request.RepositoryPath ?? request.WorkingDirectory ?? Environment.CurrentDirectory;
        if (request.WorkingDirectory is not null && !Path.IsPathRooted(start)) start = Path.Combine(request.WorkingDirectory, start);
        start = Path.GetFullPath(start);
        if (!Directory.Exists(start))
            throw new SwarmException(ErrorIds.NotAGitRepository, SwarmErrorKind.InvalidArgument, $"The repository path '{start}' does not exist.", ticket);
        var repo = await MainWorktreeAsync(start, ticket, ct).ConfigureAwait(false);

        var baseRef = string.IsNullOrWhiteSpace(request.BaseRef) ? "HEAD" : request.BaseRef!;
        if (baseRef.StartsWith('-') || baseRef.Any(char.IsControl) || baseRef.Length > 256)
            throw new SwarmException(ErrorIds.BaseRefNotFound, SwarmErrorKind.InvalidArgument, $"Invalid base ref '{Names.Describe(baseRef)}'.", ticket);
        var branch = BranchPrefix + ticket;
        // Three read-only lookups that do not depend on each other, started together (one after the
        // other, their process start-ups add up). Results and errors are taken in the same order as
        // if they had run one by one.
        var commitLookup = _git.RunRawAsync(repo, new[] { "rev-parse", "--verify", "--quiet", baseRef + "^{commit}" }, ct);
        // The branch to merge back into later: the branch HEAD is on, or the named local branch.
        var baseBranchLookup = baseRef == "HEAD"
            ? _git.RunRawAsync(repo, new[] { "symbolic-ref", "-q", "--short", "HEAD" }, ct)
            : _git.RunRawAsync(repo, new[] { "show-ref", "--verify", "--quiet", "refs/heads/" + baseRef }, ct);
        var existsLookup = _git.RunRawAsync(repo, new[] { "show-ref", "--verify", "--quiet", "refs/heads/" + branch }, ct);
        ProcessResult commit, baseBranchResult, exists;
        try
        {
            commit = await commitLookup.ConfigureAwait(false);
            if (!commit.Success)
                throw new SwarmException(ErrorIds.BaseRefNotFound, SwarmErrorKind.InvalidArgument,
                    $"The base ref '{Names.Describe(baseRef)}' does not name a commit in {repo}." + (baseRef == "HEAD" ? " Does the repository have a commit yet?" : ""), ticket);
            baseBranchResult = await baseBranchLookup.ConfigureAwait(false);
            exists = await existsLookup.ConfigureAwait(false);
        }
        catch
        {
            GitWorkspace.Forget(baseBranchLookup);
            GitWorkspace.Forget(existsLookup);
            throw;
        }
        var baseCommit = commit.StandardOutput.Trim();
        string? baseBranch = null;
        if (baseBranchResult.Success) baseBranch = baseRef == "HEAD" ? baseBranchResult.StandardOutput.Trim() : baseRef;

        if (exists.Success)
            throw new SwarmException(ErrorIds.BranchExists, SwarmErrorKind.AlreadyExists,
                $"Branch '{branch}' already exists in {repo}. SwarmPS will not take over a branch it did not create: delete or rename it, or use another ticket.", ticket);

        var path = Path.Combine(WorktreeRoot(context), RepositoryFolderName(repo), ticket);
        if (Directory.Exists(path) || File.Exists(path))
            throw new SwarmException(ErrorIds.EnvironmentExists, SwarmErrorKind.AlreadyExists,
                $"'{path}' already exists but no environment owns it.", ticket) { Hint = Hints.RepairReportsFixRemoves };

        return new SwarmEnvironment
        {
            Ticket = ticket, Provider = Name, RepositoryPath = repo, BaseRef = baseRef, Branch = branch, WorkspacePath = path,
            InstanceId = path, Address = "localhost",
            Metadata = new Dictionary<string, string>
            {
                ["baseCommit"] = baseCommit,
                ["baseBranch"] = baseBranch ?? "",
                ["creator"] = ProcessIdentity.Current(),
            },
        };
    }

    /// <summary>The main worktree of the repository containing <paramref name="path"/>.</summary>
    private async Task<string> MainWorktreeAsync(string path, string ticket, CancellationToken ct)
    {
        // Both read-only; the worktree list is started at once and used only once the first check passed.
        var check = _git.RunRawAsync(path, new[] { "rev-parse", "--is-bare-repository", "--show-toplevel" }, ct);
        var list = _workspace.ListWorktreesAsync(path, ct);
        IReadOnlyList<string> lines;
        try
        {
            var r = await check.ConfigureAwait(false);
            if (!r.Success)
                throw new SwarmException(ErrorIds.NotAGitRepository, SwarmErrorKind.InvalidArgument,
                    $"'{path}' is not inside a git repository.", ticket) { Hint = Hints.PassRepository };
            lines = GitCli.Lines(r.StandardOutput);
            if (lines.Count > 0 && lines[0] == "true")
                throw new SwarmException(ErrorIds.NotAGitRepository, SwarmErrorKind.InvalidArgument, $"'{path}' is a bare repository; SwarmPS needs a repository with a working tree.", ticket);
        }
        catch
        {
            GitWorkspace.Forget(list);
            throw;
        }
        var worktrees = await list.ConfigureAwait(false);
        var main = worktrees.FirstOrDefault()?.Path ?? lines.Last();
        return Path.GetFullPath(main);
    }

    public override async Task<SwarmEnvironment> CreateAsync(SwarmEnvironment env, NewEnvironmentRequest request, ProviderContext context, CancellationToken ct)
    {
        const string activity = "Creating environment";
        var repo = env.RepositoryPath!;
        var path = env.WorkspacePath!;
        var baseCommit = env.Metadata["baseCommit"];
        var created = false;
        Task<string>? commonDirLookup = null;
        try
        {
            context.Report(activity, $"{env.Ticket}: adding worktree {path}", 10);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            // The repository's common git dir (where info/exclude lives) is the same seen from the
            // main worktree as from the new one; looking it up read-only while the worktree is being
            // checked out saves a process start on the critical path.
            commonDirLookup = CommonGitDirAsync(repo, ct);
            await GitLockRetry.AddWorktreeAsync(_git, repo, env.Branch!, path, baseCommit, ct, env.Ticket).ConfigureAwait(false);
            created = true;

            context.Report(activity, $"{env.Ticket}: copying .worktreeinclude files", 40);
            await CopyIncludedFilesAsync(repo, path, ct).ConfigureAwait(false);

            context.Report(activity, $"{env.Ticket}: writing .swarm/env", 50);
            var common = await commonDirLookup.ConfigureAwait(false);
            commonDirLookup = null;
            await ExcludeSwarmFolderAsync(common, ct).ConfigureAwait(false);
            var swarmDir = Path.Combine(path, ".swarm");
            Directory.CreateDirectory(swarmDir);
            await File.WriteAllTextAsync(Path.Combine(swarmDir, "env"), EnvironmentVariables.ToDotEnv(env), ct).ConfigureAwait(false);
            if (request.Spec is not null)
                await File.WriteAllTextAsync(Path.Combine(swarmDir, "spec.md"), request.Spec, new UTF8Encoding(false), ct).ConfigureAwait(false);

            var setup = context.Config.ForRepository(repo)?.Setup;
            if (setup is { Count: > 0 })
                await RunSetupAsync(env, setup, context.Config.ForRepository(repo)!.SetupTimeoutSeconds, context, ct).ConfigureAwait(false);

            context.Report(activity, $"{env.Ticket}: ready", 100);
            var meta = new Dictionary<string, string>(env.Metadata);
            meta.Remove("creator");
            return env.With(status: EnvironmentStatus.Running, metadata: meta);
        }
        catch
        {
            if (commonDirLookup is not null)
            {
                // Let the read-only lookup finish before cleaning up, so nothing outlives the call.
                try { await commonDirLookup.ConfigureAwait(false); }
                catch (Exception) { /* the failure being handled is the one that matters */ }
            }
            if (created || Directory.Exists(path))
                await RollbackAsync(env, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The absolute common git dir of the repository whose worktree is <paramref name="worktree"/>.</summary>
    private async Task<string> CommonGitDirAsync(string worktree, CancellationToken ct)
    {
        var common = await _git.LineAsync(worktree, new[] { "rev-parse", "--git-common-dir" }, ct).ConfigureAwait(false);
        return Path.IsPathRooted(common) ? common : Path.GetFullPath(Path.Combine(worktree, common));
    }

    /// <summary>Removes a half-created worktree and its branch. Never throws.</summary>
    private async Task RollbackAsync(SwarmEnvironment env, CancellationToken ct)
    {
        var repo = env.RepositoryPath!;
        try { await GitLockRetry.RunRawAsync(_git, repo, new[] { "worktree", "remove", "--force", "--force", env.WorkspacePath! }, ct).ConfigureAwait(false); } catch (SwarmException) { }
        DeleteDirectory(env.WorkspacePath!);
        try { await GitLockRetry.RunRawAsync(_git, repo, new[] { "worktree", "prune" }, ct).ConfigureAwait(false); } catch (SwarmException) { }
        try { await GitLockRetry.RunRawAsync(_git, repo, new[] { "branch", "-D", env.Branch! }, ct).ConfigureAwait(false); } catch (SwarmException) { }
        DeleteIfEmpty(Path.GetDirectoryName(env.WorkspacePath!)!);
    }

    /// <summary>Copies untracked files matched by <c>.worktreeinclude</c> (gitignore syntax) from the main worktree.</summary>
    private async Task CopyIncludedFilesAsync(string repo, string worktree, CancellationToken ct)
    {
        var include = Path.Combine(repo, ".worktreeinclude");
        if (!File.Exists(include)) return;
        // git does the gitignore-syntax matching: untracked files that the patterns "ignore".
        var o = await _git.RunAsync(repo, new[] { "ls-files", "-z", "--others", "--ignored", "--exclude-from=" + include }, ct).ConfigureAwait(false);
        var root = Path.GetFullPath(worktree) + Path.DirectorySeparatorChar;
        foreach (var rel in GitCli.SplitZ(o))
        {
            var src = Path.Combine(repo, rel);
            var dst = Path.GetFullPath(Path.Combine(worktree, rel));
            if (!dst.StartsWith(root, StringComparison.Ordinal) || !File.Exists(src) || File.Exists(dst)) continue;
            Directory.CreateDirectory(Path.GetDirectoryName(dst)!);
            File.Copy(src, dst);
        }
    }

    /// <summary>Keeps <c>.swarm/</c> out of git status, diffs and checkpoints (info/exclude is shared by all worktrees).</summary>
    private static async Task ExcludeSwarmFolderAsync(string common, CancellationToken ct)
    {
        var info = Path.Combine(common, "info");
        Directory.CreateDirectory(info);
        var exclude = Path.Combine(info, "exclude");
        var lines = File.Exists(exclude) ? await File.ReadAllLinesAsync(exclude, ct).ConfigureAwait(false) : Array.Empty<string>();
        if (lines.Any(l => l.Trim() == "/.swarm/")) return;
        var prefix = lines.Length > 0 && !(await File.ReadAllTextAsync(exclude, ct).ConfigureAwait(false)).EndsWith('\n') ? "\n" : "";
        await File.AppendAllTextAsync(exclude, prefix + "# SwarmPS per-environment files\n/.swarm/\n", ct).ConfigureAwait(false);
    }

    private async Task RunSetupAsync(SwarmEnvironment env, IReadOnlyList<string> setup, int timeoutSeconds, ProviderContext context, CancellationToken ct)
    {
        SwarmHome.EnsurePrivateDirectory(context.Home.LogsPath);
        var log = Path.Combine(context.Home.LogsPath, $"{env.Ticket}.setup.log");
        context.Report("Creating environment", $"{env.Ticket}: running setup: {string.Join(' ', setup)} (log: {log})", 60);
        var vars = EnvironmentVariables.For(env).ToDictionary(kv => kv.Key, kv => (string?)kv.Value);
        var spec = new ProcessSpec(setup[0], setup.Skip(1))
        {
            WorkingDirectory = env.WorkspacePath, Environment = vars, LogFile = log, Timeout = TimeSpan.FromSeconds(Math.Max(1, timeoutSeconds)),
        };
        ProcessResult r;
        try
        {
            r = await _runner.RunAsync(spec, ct).ConfigureAwait(false);
        }
        catch (SwarmException ex) when (ex.Kind != SwarmErrorKind.Cancelled)
        {
            throw new SwarmException(ErrorIds.SetupFailed, SwarmErrorKind.OperationFailed, $"Setup for '{env.Ticket}' failed: {ex.Message} Log: {log}", env.Ticket, ex);
        }
        if (!r.Success)
        {
            var tail = string.Join(" | ", (r.StandardError + r.StandardOutput).Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(5));
            throw new SwarmException(ErrorIds.SetupFailed, SwarmErrorKind.OperationFailed,
                $"Setup '{spec.Display}' for '{env.Ticket}' exited with {r.ExitCode}; the environment was not created. Last output: {tail} Log: {log}", env.Ticket);
        }
    }

    // ------------------------------------------------------------------ lifecycle

    public override async Task<EnvironmentStatus> GetStatusAsync(SwarmEnvironment env, CancellationToken ct)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        if (env.Status == EnvironmentStatus.Creating) return EnvironmentStatus.Creating;
        if (env.WorkspacePath is null || !Directory.Exists(env.WorkspacePath)) return EnvironmentStatus.Missing;
        return env.Status == EnvironmentStatus.Stopped ? EnvironmentStatus.Stopped : EnvironmentStatus.Running;
    }

    public override Task<SwarmEnvironment> StartAsync(SwarmEnvironment env, ProviderContext context, CancellationToken ct)
    {
        RequireWorktree(env);
        return Task.FromResult(env.With(status: EnvironmentStatus.Running));
    }

    /// <summary>A worktree has nothing running of its own; stopping marks it Stopped (later issues stop its agents).</summary>
    public override Task<SwarmEnvironment> StopAsync(SwarmEnvironment env, ProviderContext context, CancellationToken ct)
    {
        RequireWorktree(env);
        return Task.FromResult(env.With(status: EnvironmentStatus.Stopped));
    }

    private static void RequireWorktree(SwarmEnvironment env)
    {
        if (env.WorkspacePath is null || !Directory.Exists(env.WorkspacePath))
            throw new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidState,
                $"The worktree of '{env.Ticket}' ({env.WorkspacePath}) is missing.", env.Ticket) { Hint = Hints.Repair };
    }

    public override async Task RemoveAsync(SwarmEnvironment env, RemoveOptions options, ProviderContext context, CancellationToken ct)
    {
        var repo = env.RepositoryPath!;
        var path = env.WorkspacePath!;
        var repoExists = Directory.Exists(repo);
        var worktreeExists = Directory.Exists(path);

        if (!options.Force && worktreeExists && env.Status != EnvironmentStatus.Creating)
        {
            var pending = await _workspace.PendingChangesAsync(path, ct).ConfigureAwait(false);
            if (pending.Count > 0)
                throw new SwarmException(ErrorIds.UncommittedChanges, SwarmErrorKind.InvalidState,
                    $"'{env.Ticket}' has {pending.Count} uncommitted change(s) that removing would lose; nothing was removed. Commit or checkpoint them.", env.Ticket)
                { Hint = Hints.RemoveForce, Details = pending.Take(50).Concat(pending.Count > 50 ? new[] { $"... and {pending.Count - 50} more" } : Array.Empty<string>()).ToList() };
        }
        if (!options.Force && !options.KeepBranch && repoExists && env.Status != EnvironmentStatus.Creating)
        {
            var unmerged = await UnmergedCommitsAsync(env, ct).ConfigureAwait(false);
            if (unmerged.Count > 0)
                throw new SwarmException(ErrorIds.UnmergedCommits, SwarmErrorKind.InvalidState,
                    $"Branch '{env.Branch}' has {unmerged.Count} commit(s) not merged into its base; deleting it would lose them and nothing was removed.", env.Ticket)
                { Hint = Hints.KeepBranchOrForce, Details = unmerged.Take(50).ToList() };
        }

        context.Report("Removing environment", $"{env.Ticket}: removing worktree {path}", 20);
        if (repoExists)
        {
            if (worktreeExists)
            {
                var r = await GitLockRetry.RunRawAsync(_git, repo, new[] { "worktree", "remove", "--force", "--force", path }, ct).ConfigureAwait(false);
                if (!r.Success && Directory.Exists(path)) DeleteDirectory(path);
            }
            await GitLockRetry.RunRawAsync(_git, repo, new[] { "worktree", "prune" }, ct).ConfigureAwait(false);
            context.Report("Removing environment", $"{env.Ticket}: deleting checkpoint refs", 60);
            await DeleteRefsAsync(repo, GitWorkspace.CheckpointRefPrefix + env.Ticket + "/", ct).ConfigureAwait(false);
            if (!options.KeepBranch && env.Branch is not null)
            {
                var b = await GitLockRetry.RunRawAsync(_git, repo, new[] { "branch", "-D", env.Branch }, ct).ConfigureAwait(false);
                if (!b.Success && !b.StandardError.Contains("not found", StringComparison.OrdinalIgnoreCase)) throw GitCli.Failed(b, env.Ticket);
            }
        }
        else
        {
            DeleteDirectory(path);
        }
        DeleteIfEmpty(Path.GetDirectoryName(path)!);
        context.Report("Removing environment", $"{env.Ticket}: removed", 100);
    }

    private async Task<IReadOnlyList<string>> UnmergedCommitsAsync(SwarmEnvironment env, CancellationToken ct)
    {
        var repo = env.RepositoryPath!;
        var exists = await _git.RunRawAsync(repo, new[] { "show-ref", "--verify", "--quiet", "refs/heads/" + env.Branch }, ct).ConfigureAwait(false);
        if (!exists.Success) return Array.Empty<string>();
        env.Metadata.TryGetValue("baseBranch", out var baseBranch);
        var excludes = new List<string> { "^" + env.Metadata.GetValueOrDefault("baseCommit", "HEAD") };
        if (!string.IsNullOrEmpty(baseBranch))
        {
            var bb = await _git.RunRawAsync(repo, new[] { "show-ref", "--verify", "--quiet", "refs/heads/" + baseBranch }, ct).ConfigureAwait(false);
            if (bb.Success) excludes.Add("^refs/heads/" + baseBranch);
        }
        var args = new List<string> { "log", "--format=%h %s", "refs/heads/" + env.Branch };
        args.AddRange(excludes);
        args.Add("--");
        var o = await _git.RunAsync(repo, args, ct, target: env.Ticket).ConfigureAwait(false);
        return GitCli.Lines(o);
    }

    private async Task DeleteRefsAsync(string repo, string prefix, CancellationToken ct)
    {
        var refs = await ListRefsAsync(repo, prefix, ct).ConfigureAwait(false);
        if (refs.Count == 0) return;
        var stdin = string.Concat(refs.Select(r => $"delete {r}\n"));
        await _git.RunAsync(repo, new[] { "update-ref", "--stdin" }, ct, stdin: stdin).ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<string>> ListRefsAsync(string repo, string prefix, CancellationToken ct)
    {
        var o = await _git.RunAsync(repo, new[] { "for-each-ref", "--format=%(refname)", prefix }, ct).ConfigureAwait(false);
        return GitCli.Lines(o);
    }

    // ------------------------------------------------------------------ checkpoints

    public override async Task<string> CheckpointAsync(SwarmEnvironment env, string name, ProviderContext context, CancellationToken ct)
    {
        RequireWorktree(env);
        var refName = GitWorkspace.CheckpointRef(env.Ticket, name);
        context.Report("Checkpoint", $"{env.Ticket}: capturing working state", 30);
        var state = await _workspace.CaptureAsync(env.WorkspacePath!, $"SwarmPS checkpoint {env.Ticket}/{name}", ct).ConfigureAwait(false);
        // The empty old value makes git refuse if the ref already exists.
        var r = await _git.RunRawAsync(env.WorkspacePath!, new[] { "update-ref", "-m", "swarmps checkpoint", refName, state.Commit, "" }, ct).ConfigureAwait(false);
        if (!r.Success)
            throw new SwarmException(ErrorIds.CheckpointExists, SwarmErrorKind.AlreadyExists, $"Checkpoint '{name}' of '{env.Ticket}' already exists ({refName}).", env.Ticket);
        context.Report("Checkpoint", $"{env.Ticket}: saved {name}", 100);
        return refName;
    }

    public override async Task RestoreAsync(SwarmEnvironment env, SwarmCheckpoint checkpoint, ProviderContext context, CancellationToken ct)
    {
        RequireWorktree(env);
        var refName = checkpoint.ProviderReference ?? GitWorkspace.CheckpointRef(env.Ticket, checkpoint.Name);
        var ok = await _git.RunRawAsync(env.WorkspacePath!, new[] { "rev-parse", "--verify", "--quiet", refName + "^{commit}" }, ct).ConfigureAwait(false);
        if (!ok.Success)
            throw new SwarmException(ErrorIds.CheckpointNotFound, SwarmErrorKind.NotFound,
                $"The git data of checkpoint '{checkpoint.Name}' ({refName}) is gone.", env.Ticket) { Hint = Hints.Repair };
        context.Report("Restore", $"{env.Ticket}: restoring {checkpoint.Name}", 30);
        var state = await _workspace.ReadStateAsync(env.WorkspacePath!, ok.StandardOutput.Trim(), ct).ConfigureAwait(false);
        await _workspace.RestoreAsync(env.WorkspacePath!, state, ct).ConfigureAwait(false);
        context.Report("Restore", $"{env.Ticket}: restored {checkpoint.Name}", 100);
    }

    public override async Task<IReadOnlyList<string>> ListCheckpointsAsync(SwarmEnvironment env, CancellationToken ct)
    {
        if (env.RepositoryPath is null || !Directory.Exists(env.RepositoryPath)) return Array.Empty<string>();
        var prefix = GitWorkspace.CheckpointRefPrefix + env.Ticket + "/";
        var refs = await ListRefsAsync(env.RepositoryPath, prefix, ct).ConfigureAwait(false);
        return refs.Select(r => r[prefix.Length..]).ToList();
    }

    public override async Task RemoveCheckpointAsync(SwarmEnvironment env, SwarmCheckpoint checkpoint, ProviderContext context, CancellationToken ct)
    {
        var refName = checkpoint.ProviderReference ?? GitWorkspace.CheckpointRef(env.Ticket, checkpoint.Name);
        var r = await _git.RunRawAsync(env.RepositoryPath!, new[] { "update-ref", "-d", refName }, ct).ConfigureAwait(false);
        if (!r.Success && !r.StandardError.Contains("not exist", StringComparison.OrdinalIgnoreCase) && !r.StandardError.Contains("unable to resolve", StringComparison.OrdinalIgnoreCase))
            throw GitCli.Failed(r, env.Ticket);
    }

    // ------------------------------------------------------------------ access

    public override Task<SwarmConnection> GetConnectionAsync(SwarmEnvironment env, CancellationToken ct) =>
        Task.FromResult(new SwarmConnection { Ticket = env.Ticket, Provider = Name, Host = "localhost", WorkingDirectory = env.WorkspacePath });

    public override async Task<SwarmExecResult> ExecAsync(SwarmEnvironment env, IReadOnlyList<string> command, string? standardInput, ProviderContext context, CancellationToken ct)
    {
        RequireWorktree(env);
        if (command.Count == 0 || string.IsNullOrEmpty(command[0]))
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, "No command to run.", env.Ticket);
        var vars = EnvironmentVariables.For(env).ToDictionary(kv => kv.Key, kv => (string?)kv.Value);
        var r = await _runner.RunAsync(new ProcessSpec(command[0], command.Skip(1)) { WorkingDirectory = env.WorkspacePath, Environment = vars, StandardInput = standardInput }, ct)
            .ConfigureAwait(false);
        return new SwarmExecResult { Ticket = env.Ticket, ExitCode = r.ExitCode, StandardOutput = r.StandardOutput, StandardError = r.StandardError };
    }

    /// <summary>Agents on a worktree are local processes with the worktree as working directory.</summary>
    public override AgentLaunchPlan PlanAgentLaunch(SwarmEnvironment env, IReadOnlyList<string> argv, IReadOnlyDictionary<string, string> variables)
    {
        RequireWorktree(env);
        return new AgentLaunchPlan(argv[0], argv.Skip(1).ToList(), env.WorkspacePath, variables);
    }

    // ------------------------------------------------------------------ repair

    public override async Task<IReadOnlyList<SwarmRepairItem>> RepairAsync(IReadOnlyList<SwarmEnvironment> owned, bool fix, ProviderContext context, CancellationToken ct)
    {
        var items = new List<SwarmRepairItem>();
        var ownedPaths = new HashSet<string>(owned.Where(e => e.WorkspacePath is not null).Select(e => Path.GetFullPath(e.WorkspacePath!)),
            OperatingSystem.IsLinux() ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase);

        foreach (var env in owned)
        {
            ct.ThrowIfCancellationRequested();
            if (env.Status == EnvironmentStatus.Creating)
            {
                if (ProcessIdentity.IsAlive(env.Metadata.GetValueOrDefault("creator"))) continue; // still being created
                if (fix)
                {
                    if (env.RepositoryPath is not null && Directory.Exists(env.RepositoryPath)) await RollbackAsync(env, ct).ConfigureAwait(false);
                    else DeleteDirectory(env.WorkspacePath!);
                    context.Registry.DeleteEnvironment(env.Ticket);
                }
                items.Add(Item(RepairIssueKind.IncompleteCreate, env.Ticket, env.WorkspacePath,
                    "The process creating this environment died before it finished.", "remove the partial worktree, branch and row", fix));
                continue;
            }
            if (env.WorkspacePath is null || !Directory.Exists(env.WorkspacePath))
            {
                if (fix)
                {
                    if (env.RepositoryPath is not null && Directory.Exists(env.RepositoryPath))
                    {
                        await GitLockRetry.RunRawAsync(_git, env.RepositoryPath, new[] { "worktree", "prune" }, ct).ConfigureAwait(false);
                        await DeleteRefsAsync(env.RepositoryPath, GitWorkspace.CheckpointRefPrefix + env.Ticket + "/", ct).ConfigureAwait(false);
                    }
                    context.Registry.DeleteEnvironment(env.Ticket);
                }
                items.Add(Item(RepairIssueKind.DanglingRow, env.Ticket, env.WorkspacePath,
                    $"The worktree is gone{(env.RepositoryPath is not null && !Directory.Exists(env.RepositoryPath) ? " and so is the repository" : "")}.",
                    $"delete the row and checkpoint refs; keep branch {env.Branch} (it may hold commits)", fix));
                continue;
            }
            // Checkpoints: rows without refs, refs without rows.
            var rows = context.Registry.ListCheckpoints(env.Ticket);
            var refs = await ListCheckpointsAsync(env, ct).ConfigureAwait(false);
            var refSet = new HashSet<string>(refs, StringComparer.Ordinal);
            foreach (var cp in rows.Where(c => !refSet.Contains(c.Name)))
            {
                if (fix) context.Registry.DeleteCheckpoint(env.Ticket, cp.Name);
                items.Add(Item(RepairIssueKind.DanglingCheckpoint, env.Ticket, cp.ProviderReference, $"Checkpoint '{cp.Name}' has no git ref.", "delete the checkpoint row", fix));
            }
            var rowSet = new HashSet<string>(rows.Select(c => c.Name), StringComparer.OrdinalIgnoreCase);
            foreach (var name in refs.Where(n => !rowSet.Contains(n)))
            {
                var refName = GitWorkspace.CheckpointRef(env.Ticket, name);
                if (fix) await _git.RunRawAsync(env.RepositoryPath!, new[] { "update-ref", "-d", refName }, ct).ConfigureAwait(false);
                items.Add(Item(RepairIssueKind.OrphanCheckpoint, env.Ticket, refName, $"Git ref {refName} has no checkpoint row.", "delete the ref", fix));
            }
        }

        // Orphans: folders under our worktree root that no row owns.
        var root = WorktreeRoot(context);
        if (Directory.Exists(root))
        {
            foreach (var repoDir in Directory.EnumerateDirectories(root))
            {
                foreach (var dir in Directory.EnumerateDirectories(repoDir))
                {
                    ct.ThrowIfCancellationRequested();
                    var full = Path.GetFullPath(dir);
                    if (ownedPaths.Contains(full)) continue;
                    var ticket = Path.GetFileName(full);
                    if (owned.Any(e => e.Status == EnvironmentStatus.Creating && string.Equals(e.Ticket, ticket, StringComparison.OrdinalIgnoreCase))) continue;
                    // A concurrent create in another process reserves its row before making the folder.
                    if (context.Registry.GetEnvironment(Names.IsValid(ticket) ? ticket : "_") is { } row && row.WorkspacePath is not null &&
                        string.Equals(Path.GetFullPath(row.WorkspacePath), full, StringComparison.Ordinal)) continue;
                    if (fix) await RemoveOrphanAsync(full, ct).ConfigureAwait(false);
                    items.Add(Item(RepairIssueKind.Orphan, Names.IsValid(ticket) ? ticket : null, full,
                        "A worktree folder that no registry row owns.", "remove the worktree (its branch is kept)", fix));
                }
                if (fix) DeleteIfEmpty(repoDir);
            }
        }
        return items;
    }

    private async Task RemoveOrphanAsync(string dir, CancellationToken ct)
    {
        var common = await _git.RunRawAsync(dir, new[] { "rev-parse", "--path-format=absolute", "--git-common-dir" }, ct).ConfigureAwait(false);
        if (common.Success)
        {
            var repoGit = common.StandardOutput.Trim();
            var repoTop = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(repoGit));
            if (repoTop is not null && !Path.GetFullPath(repoTop).Equals(Path.GetFullPath(dir), StringComparison.Ordinal))
            {
                await GitLockRetry.RunRawAsync(_git, repoTop, new[] { "worktree", "remove", "--force", "--force", dir }, ct).ConfigureAwait(false);
                DeleteDirectory(dir);
                await GitLockRetry.RunRawAsync(_git, repoTop, new[] { "worktree", "prune" }, ct).ConfigureAwait(false);
                return;
            }
        }
        DeleteDirectory(dir);
    }

    // ------------------------------------------------------------------ fs helpers

    internal static void DeleteDirectory(string path)
    {
        if (!Directory.Exists(path)) return;
        // On Windows git's object files are read-only and Directory.Delete refuses them.
        if (OperatingSystem.IsWindows())
        foreach (var f in Directory.EnumerateFiles(path, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint }))
        {
            try { File.SetAttributes(f, FileAttributes.Normal); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        Directory.Delete(path, recursive: true);
    }

    private static void DeleteIfEmpty(string dir)
    {
        try
        {
            if (Directory.Exists(dir) && !Directory.EnumerateFileSystemEntries(dir).Any()) Directory.Delete(dir);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
