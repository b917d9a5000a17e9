using SwarmPS.Core.Processes;

namespace SwarmPS.Core.Git;

/// <summary>
/// Thin wrapper over the <c>git</c> CLI (LibGit2Sharp's native binaries are not available to us,
/// and the CLI is what users have anyway). Every call is an argument list; output is parsed in C.
/// </summary>
public sealed class GitCli
{
    private readonly ProcessRunner _runner;

    public GitCli(ProcessRunner? runner = null, string executable = "git")
    {
        _runner = runner ?? ProcessRunner.Default;
        Executable = executable;
    }

    public string Executable { get; }

    /// <summary>Identity used for SwarmPS's own bookkeeping commits (checkpoints), never for user-visible merges.</summary>
    public static readonly IReadOnlyDictionary<string, string?> InternalIdentity = new Dictionary<string, string?>
    {
        ["GIT_AUTHOR_NAME"] = "SwarmPS",
        ["GIT_AUTHOR_EMAIL"] = "swarmps@localhost",
        ["GIT_COMMITTER_NAME"] = "SwarmPS",
        ["GIT_COMMITTER_EMAIL"] = "swarmps@localhost",
    };

    public Task<ProcessResult> RunRawAsync(string workingDirectory, IEnumerable<string> args, CancellationToken ct = default,
        IReadOnlyDictionary<string, string?>? env = null, string? stdin = null)
    {
        var environment = new Dictionary<string, string?>
        {
            ["LC_ALL"] = "C",
            ["GIT_TERMINAL_PROMPT"] = "0",
            ["GIT_PAGER"] = "cat",
            ["GIT_OPTIONAL_LOCKS"] = "0",
            // Never let an inherited index or dir redirect us to another repository.
            ["GIT_DIR"] = null,
            ["GIT_WORK_TREE"] = null,
            ["GIT_INDEX_FILE"] = null,
        };
        if (env is not null) foreach (var (k, v) in env) environment[k] = v;
        return _runner.RunAsync(new ProcessSpec(Executable, args)
        {
            WorkingDirectory = workingDirectory,
            Environment = environment,
            StandardInput = stdin,
        }, ct);
    }

    /// <summary>Runs git and throws GitFailed (with git's own message) on a non-zero exit.</summary>
    public async Task<string> RunAsync(string workingDirectory, IEnumerable<string> args, CancellationToken ct = default,
        IReadOnlyDictionary<string, string?>? env = null, string? stdin = null, string? target = null)
    {
        var r = await RunRawAsync(workingDirectory, args, ct, env, stdin).ConfigureAwait(false);
        if (!r.Success) throw Failed(r, target);
        return r.StandardOutput;
    }

    /// <summary>Runs git and returns the first line of its output, trimmed.</summary>
    public async Task<string> LineAsync(string workingDirectory, IEnumerable<string> args, CancellationToken ct = default,
        IReadOnlyDictionary<string, string?>? env = null, string? target = null)
    {
        var o = await RunAsync(workingDirectory, args, ct, env, target: target).ConfigureAwait(false);
        var nl = o.IndexOf('\n');
        return (nl < 0 ? o : o[..nl]).Trim();
    }

    public static SwarmException Failed(ProcessResult r, string? target)
    {
        var msg = r.StandardError.Trim();
        if (msg.Length == 0) msg = r.StandardOutput.Trim();
        if (msg.Length > 2000) msg = msg[..2000] + "...";
        return new SwarmException(ErrorIds.GitFailed, SwarmErrorKind.OperationFailed,
            $"git {string.Join(' ', r.Spec.Arguments.Take(3))} failed (exit {r.ExitCode}): {msg}", target);
    }

    /// <summary>Splits NUL-separated output, dropping the empty tail.</summary>
    public static IReadOnlyList<string> SplitZ(string output) => output.Split('\0', StringSplitOptions.RemoveEmptyEntries);

    public static IReadOnlyList<string> Lines(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private Version? _cachedVersion;

    /// <summary>The installed git version, or null when git is not installed.</summary>
    public async Task<Version?> VersionAsync(CancellationToken ct = default)
    {
        if (_cachedVersion is not null) return _cachedVersion;
        try
        {
            var r = await RunRawAsync(AppContext.BaseDirectory, new[] { "--version" }, ct).ConfigureAwait(false);
            if (!r.Success) return null;
            // "git version 2.39.5" or "git version 2.45.1.windows.1"
            var parts = r.StandardOutput.Trim().Split(' ').LastOrDefault()?.Split('.') ?? Array.Empty<string>();
            var nums = parts.TakeWhile(p => int.TryParse(p, out _)).Take(3).Select(int.Parse).ToList();
            while (nums.Count < 3) nums.Add(0);
            return _cachedVersion = new Version(nums[0], nums[1], nums[2]);
        }
        catch (SwarmException)
        {
            return null;
        }
    }
}
