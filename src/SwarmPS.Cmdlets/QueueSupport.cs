using System.Management.Automation;
using SwarmPS.Core;
using SwarmPS.Core.Tasks;

namespace SwarmPS.Cmdlets;

/// <summary>
/// The cmdlet-layer pieces shared by the queue cmdlets (Add-SwarmTask, Invoke-SwarmQueue,
/// Invoke-SwarmWorkflow, Start-SwarmQueue): resolving a task's repository against the caller's
/// PowerShell location, running the scheduler with its finished tasks written from the pipeline
/// thread, and the detached scheduler's command line.
/// </summary>
internal static class QueueSupport
{
    /// <summary>
    /// A copy of <paramref name="spec"/> (piped objects are never changed) whose repository is a full
    /// path (resolved by <paramref name="resolvePath"/>, the cmdlet's PowerShell path resolution), and a task that gets a new
    /// environment (no ticket) without a repository gets the PowerShell location, because the
    /// scheduler that creates the environment may run in another process and folder.
    /// </summary>
    public static TaskSpec WithRepository(TaskSpec spec, Func<string, string> resolvePath, string currentDirectory)
    {
        var copy = Copy(spec);
        if (copy.RepositoryPath is { Length: > 0 } repo)
            copy.RepositoryPath = resolvePath(repo);
        else if (copy.Ticket is null)
            copy.RepositoryPath = currentDirectory;
        return copy;
    }

    public static TaskSpec Copy(TaskSpec s) => new()
    {
        Name = s.Name, Title = s.Title, Prompt = s.Prompt, Priority = s.Priority, DependsOn = s.DependsOn.ToList(),
        RunAfterFailure = s.RunAfterFailure, Ticket = s.Ticket, Provider = s.Provider, Base = s.Base, RepositoryPath = s.RepositoryPath,
        Profile = s.Profile, Command = s.Command?.ToList(), TimeoutSeconds = s.TimeoutSeconds, MaxAttempts = s.MaxAttempts,
        RetryBackoffSeconds = s.RetryBackoffSeconds, Cleanup = s.Cleanup,
    };

    /// <summary>
    /// Runs the scheduler. Each task that finishes (and passes <paramref name="include"/>) is handed to
    /// <paramref name="output"/> on the scheduler's thread, which queues it for the pipeline thread.
    /// </summary>
    public static Task<QueueRunSummary> RunAsync(SwarmService service, int maxParallel, bool continuous, IProgress<SwarmProgress> progress,
        IPipelineOutput output, bool writeTasks, Func<SwarmTask, bool>? include, CancellationToken ct) =>
        service.RunQueueAsync(new SchedulerOptions
        {
            MaxParallel = maxParallel,
            ExitWhenDrained = !continuous,
            Progress = progress,
            OnTaskFinished = t =>
            {
                output.Verbose($"Task {t.Id} '{t.Title}': {t.Status}{(t.Error is { Length: > 0 } e && t.Status != SwarmTaskStatus.Succeeded ? " (" + e + ")" : "")}");
                if (writeTasks && (include is null || include(t))) output.Write(t);
            },
        }, ct);

    public static string Describe(QueueRunSummary s) =>
        $"{(s.Drained ? "Queue drained" : "Scheduler stopped")} after {s.Duration.TotalSeconds:0.#}s: dispatched {s.Dispatched}, finished {s.Finished}; " +
        string.Join(", ", s.Counts.Where(kv => kv.Value > 0).Select(kv => $"{kv.Key} {kv.Value}"));

    /// <summary>
    /// The arguments for the detached scheduler: <c>pwsh -NoProfile -NonInteractive -Command "..."</c>.
    /// The module path becomes a PowerShell single-quoted literal (every ' doubled, so no character
    /// in it can end the literal); -MaxParallel is an int, formatted invariantly. Nothing else is
    /// interpolated.
    /// </summary>
    public static IReadOnlyList<string> DetachedArguments(string modulePath, int maxParallel, bool continuous)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxParallel, 1);
        var command = $"Import-Module {SingleQuoted(modulePath)} -ErrorAction Stop; Invoke-SwarmQueue -MaxParallel {maxParallel.ToString(System.Globalization.CultureInfo.InvariantCulture)}{(continuous ? " -Continuous" : "")}";
        return new[] { "-NoProfile", "-NonInteractive", "-Command", command };
    }

    /// <summary>A PowerShell single-quoted string literal. PowerShell also treats the typographic quotes ‘ ’ ‚ ‛ as single quotes, so they are doubled too.</summary>
    public static string SingleQuoted(string value)
    {
        var sb = new System.Text.StringBuilder("'");
        foreach (var c in value)
        {
            if (c is '\'' or '\u2018' or '\u2019' or '\u201A' or '\u201B') sb.Append(c);
            sb.Append(c);
        }
        return sb.Append('\'').ToString();
    }

    /// <summary>The module manifest next to SwarmPS.dll (the loader must run, so never the dll itself).</summary>
    public static string? ModuleManifestPath()
    {
        var dir = Path.GetDirectoryName(typeof(SwarmCmdlet).Assembly.Location);
        if (string.IsNullOrEmpty(dir)) return null;
        var psd1 = Path.Combine(dir, "SwarmPS.psd1");
        return File.Exists(psd1) ? psd1 : null;
    }

    /// <summary>
    /// The pwsh executable: this process when it is pwsh, otherwise the one in $PSHOME, otherwise pwsh
    /// from PATH. Never another host's executable (a runspace hosted by dotnet or an IDE would get
    /// pwsh's command line).
    /// </summary>
    public static string PwshPath(string? processPath, string? psHome)
    {
        var exe = OperatingSystem.IsWindows() ? "pwsh.exe" : "pwsh";
        if (processPath is not null && string.Equals(Path.GetFileName(processPath), exe, StringComparison.OrdinalIgnoreCase)) return processPath;
        if (psHome is not null && File.Exists(Path.Combine(psHome, exe))) return Path.Combine(psHome, exe);
        return exe;
    }
}
