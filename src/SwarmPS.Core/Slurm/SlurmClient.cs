using System.Globalization;
using SwarmPS.Core.Processes;

namespace SwarmPS.Core.Slurm;

/// <summary>One line of <c>squeue</c> (or <c>scontrol show job</c>): a job, or one task of a job array.</summary>
public sealed record SlurmJobRow(string JobId, string ArrayJobId, int? TaskIndex, string State, string? Reason, string? NodeList, string? ExitCode = null)
{
    /// <summary>Terminal states (the job will not run again).</summary>
    public static bool IsTerminal(string state) => state.Split(' ')[0] is "COMPLETED" or "FAILED" or "CANCELLED" or "TIMEOUT" or "NODE_FAIL" or "PREEMPTED"
        or "OUT_OF_MEMORY" or "BOOT_FAIL" or "DEADLINE" or "REVOKED" or "SPECIAL_EXIT";

    public bool Terminal => IsTerminal(State);
    public bool Running => State is "RUNNING" or "COMPLETING" or "CONFIGURING" or "SIGNALING" or "STAGE_OUT";
    public bool Pending => State is "PENDING" or "REQUEUED" or "REQUEUE_HOLD" or "REQUEUE_FED" or "SUSPENDED" or "STOPPED" or "RESIZING";
}

/// <summary>
/// The Slurm commands SwarmPS uses, as argument lists. A test substitutes a fake (or a recording
/// runner under <see cref="SlurmCli"/>) to count calls.
/// </summary>
public interface ISlurmClient
{
    /// <summary><c>sbatch --parsable OPTIONS SCRIPT</c>; returns the job id.</summary>
    Task<string> SubmitAsync(string scriptPath, IReadOnlyList<string> options, CancellationToken ct);

    /// <summary>
    /// ONE <c>squeue</c> call for all <paramref name="jobIds"/> (array tasks expanded, all states the
    /// controller still holds). Ids Slurm forgot are simply absent. Throws SlurmUnavailable when the
    /// controller does not answer.
    /// </summary>
    Task<IReadOnlyList<SlurmJobRow>> QueueAsync(IReadOnlyCollection<string> jobIds, CancellationToken ct);

    /// <summary><c>scontrol show job -o ID</c> (finished jobs until MinJobAge); empty when Slurm forgot the job.</summary>
    Task<IReadOnlyList<SlurmJobRow>> ShowJobAsync(string jobId, CancellationToken ct);

    /// <summary><c>sacct</c> (needs slurmdbd); null when accounting is not available.</summary>
    Task<IReadOnlyList<SlurmJobRow>?> AccountingAsync(string jobId, CancellationToken ct);

    /// <summary><c>scancel IDS</c> (a job, or one array task as <c>ID_k</c>).</summary>
    Task CancelAsync(IReadOnlyList<string> jobIds, CancellationToken ct);
}

/// <summary>
/// The real client: sbatch/squeue/scancel/scontrol/sacct with LC_ALL=C and parsable formats. With a
/// <paramref name="configFile"/> (config.json's <c>slurm.configFile</c>) every call gets
/// <c>SLURM_CONF</c> set to it, so SwarmPS talks to that cluster whatever the environment says.
/// </summary>
public sealed class SlurmCli : ISlurmClient
{
    public delegate Task<ProcessResult> Runner(ProcessSpec spec, CancellationToken ct);

    private readonly Runner _run;

    public SlurmCli(Runner? runner = null, TimeSpan? timeout = null, string? configFile = null)
    {
        _run = runner ?? ((s, ct) => ProcessRunner.Default.RunAsync(s, ct));
        Timeout = timeout ?? TimeSpan.FromSeconds(30);
        ConfigFile = configFile;
    }

    /// <summary>How long one command may take.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>The slurm.conf passed as SLURM_CONF; null: the Slurm tools' own default (SLURM_CONF of the environment, /etc/slurm/slurm.conf).</summary>
    public string? ConfigFile { get; }

    /// <summary>The squeue format: base array id, task index, job id, long state, reason, nodes.</summary>
    public const string QueueFormat = "%F|%K|%i|%T|%r|%N";

    private ProcessSpec Spec(string tool, IEnumerable<string> args, string? cwd = null) => new(tool, args)
    {
        Environment = CommandEnvironment(ConfigFile),
        Timeout = Timeout,
        WorkingDirectory = cwd,
    };

    /// <summary>The environment of every Slurm command: C locale, standard times, and SLURM_CONF when a config file is set.</summary>
    public static IReadOnlyDictionary<string, string?> CommandEnvironment(string? configFile)
    {
        var env = new Dictionary<string, string?>(StringComparer.Ordinal) { ["LC_ALL"] = "C", ["SLURM_TIME_FORMAT"] = "standard" };
        if (configFile is { Length: > 0 }) env["SLURM_CONF"] = configFile;
        return env;
    }

    private async Task<ProcessResult> Call(ProcessSpec spec, CancellationToken ct)
    {
        try
        {
            return await _run(spec, ct).ConfigureAwait(false);
        }
        catch (SwarmException ex) when (ex.Kind == SwarmErrorKind.Unavailable)
        {
            throw new SwarmException(SlurmErrorIds.SlurmUnavailable, SwarmErrorKind.Unavailable,
                $"'{spec.FileName}' could not be started: is the Slurm client installed and on PATH? ({ex.Message})", spec.FileName, ex);
        }
        catch (SwarmException ex) when (ex.Kind == SwarmErrorKind.OperationFailed && ex.ErrorId == ErrorIds.ProcessFailed)
        {
            throw new SwarmException(SlurmErrorIds.SlurmUnavailable, SwarmErrorKind.Unavailable,
                $"The Slurm controller did not answer in time: {ex.Message}", spec.FileName, ex);
        }
    }

    /// <summary>Classifies a failed call: a controller that does not answer is Unavailable, anything else a failed command.</summary>
    internal static SwarmException Failure(ProcessResult r, string what)
    {
        var err = (r.StandardError + " " + r.StandardOutput).Trim();
        var down = err.Contains("Unable to contact slurm controller", StringComparison.OrdinalIgnoreCase)
                   || err.Contains("Connection refused", StringComparison.OrdinalIgnoreCase)
                   || err.Contains("Socket timed out", StringComparison.OrdinalIgnoreCase)
                   || err.Contains("Zero Bytes were transmitted", StringComparison.OrdinalIgnoreCase)
                   || err.Contains("Communication connection failure", StringComparison.OrdinalIgnoreCase)
                   || err.Contains("munge", StringComparison.OrdinalIgnoreCase);
        return down
            ? new SwarmException(SlurmErrorIds.SlurmUnavailable, SwarmErrorKind.Unavailable, $"The Slurm controller is not reachable ({what}): {Names.Describe(err)}", r.Spec.FileName)
            : new SwarmException(SlurmErrorIds.SlurmCommandFailed, SwarmErrorKind.OperationFailed, $"{what} failed (exit {r.ExitCode}): {Names.Describe(err)}", r.Spec.FileName);
    }

    public async Task<string> SubmitAsync(string scriptPath, IReadOnlyList<string> options, CancellationToken ct)
    {
        var args = new List<string> { "--parsable" };
        args.AddRange(options);
        args.Add(scriptPath);
        var r = await Call(Spec("sbatch", args, Path.GetDirectoryName(scriptPath)), ct).ConfigureAwait(false);
        if (!r.Success) throw Failure(r, "sbatch");
        var id = r.StandardOutput.Trim().Split('\n')[^1].Split(';')[0].Trim();
        if (id.Length == 0 || !id.All(char.IsAsciiDigit))
            throw new SwarmException(SlurmErrorIds.SlurmCommandFailed, SwarmErrorKind.OperationFailed, $"sbatch printed no job id: {Names.Describe(r.StandardOutput)}", "sbatch");
        return id;
    }

    public async Task<IReadOnlyList<SlurmJobRow>> QueueAsync(IReadOnlyCollection<string> jobIds, CancellationToken ct)
    {
        if (jobIds.Count == 0) return Array.Empty<SlurmJobRow>();
        var r = await Call(Spec("squeue", new[] { "--noheader", "--array", "--states=all", "--format=" + QueueFormat, "--jobs=" + string.Join(',', jobIds) }), ct).ConfigureAwait(false);
        if (!r.Success)
        {
            // One id that Slurm forgot: "slurm_load_jobs error: Invalid job id specified", exit 1.
            if (r.StandardError.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase)) return Array.Empty<SlurmJobRow>();
            throw Failure(r, "squeue");
        }
        return ParseQueue(r.StandardOutput);
    }

    internal static IReadOnlyList<SlurmJobRow> ParseQueue(string text)
    {
        var rows = new List<SlurmJobRow>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0) continue;
            var f = line.Split('|');
            if (f.Length < 6) continue;
            int? task = int.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out var k) ? k : null;
            var arrayId = f[0] is "" or "N/A" ? f[2] : f[0];
            rows.Add(new SlurmJobRow(f[2], arrayId, task, f[3], f[4] is "" or "None" ? null : f[4], f[5] is "" or "(null)" ? null : f[5]));
        }
        return rows;
    }

    public async Task<IReadOnlyList<SlurmJobRow>> ShowJobAsync(string jobId, CancellationToken ct)
    {
        var r = await Call(Spec("scontrol", new[] { "show", "job", "-o", jobId }), ct).ConfigureAwait(false);
        if (!r.Success)
        {
            if ((r.StandardError + r.StandardOutput).Contains("Invalid job id", StringComparison.OrdinalIgnoreCase)) return Array.Empty<SlurmJobRow>();
            throw Failure(r, "scontrol show job");
        }
        return ParseShowJob(r.StandardOutput);
    }

    internal static IReadOnlyList<SlurmJobRow> ParseShowJob(string text)
    {
        var rows = new List<SlurmJobRow>();
        foreach (var line in text.Split('\n'))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            var kv = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var token in line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = token.IndexOf('=');
                if (eq > 0 && !kv.ContainsKey(token[..eq])) kv[token[..eq]] = token[(eq + 1)..];
            }
            if (!kv.TryGetValue("JobId", out var id)) continue;
            var arrayId = kv.GetValueOrDefault("ArrayJobId") ?? id;
            int? task = kv.TryGetValue("ArrayTaskId", out var t) && int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var k) ? k : null;
            var jobId = task is null ? id : $"{arrayId}_{task}";
            rows.Add(new SlurmJobRow(jobId, arrayId, task, kv.GetValueOrDefault("JobState") ?? "UNKNOWN", kv.GetValueOrDefault("Reason"), kv.GetValueOrDefault("NodeList"), kv.GetValueOrDefault("ExitCode")));
        }
        return rows;
    }

    public async Task<IReadOnlyList<SlurmJobRow>?> AccountingAsync(string jobId, CancellationToken ct)
    {
        ProcessResult r;
        try
        {
            r = await Call(Spec("sacct", new[] { "-j", jobId, "--format=JobID,State,ExitCode,NodeList", "-P", "-n", "-X" }), ct).ConfigureAwait(false);
        }
        catch (SwarmException ex) when (ex.ErrorId == SlurmErrorIds.SlurmUnavailable)
        {
            return null; // no sacct here, or no slurmdbd answering: accounting is simply not available
        }
        if (!r.Success || (r.StandardError + r.StandardOutput).Contains("accounting storage is disabled", StringComparison.OrdinalIgnoreCase)) return null;
        var rows = new List<SlurmJobRow>();
        foreach (var line in r.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var f = line.Split('|');
            if (f.Length < 3) continue;
            var us = f[0].IndexOf('_');
            int? task = us > 0 && int.TryParse(f[0][(us + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var k) ? k : null;
            // "CANCELLED by 0": keep the first word.
            rows.Add(new SlurmJobRow(f[0], us > 0 ? f[0][..us] : f[0], task, f[1].Split(' ')[0], null, f.Length > 3 ? f[3] : null, f[2]));
        }
        return rows;
    }

    public async Task CancelAsync(IReadOnlyList<string> jobIds, CancellationToken ct)
    {
        if (jobIds.Count == 0) return;
        var r = await Call(Spec("scancel", jobIds), ct).ConfigureAwait(false);
        if (!r.Success && !(r.StandardError.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase) || r.StandardError.Contains("already completed", StringComparison.OrdinalIgnoreCase)))
            throw Failure(r, "scancel");
    }
}
