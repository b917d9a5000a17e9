using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SwarmPS.Core.Agents;
using SwarmPS.Core.Slurm;

namespace SwarmPS.Core.Swarms;

/// <summary>
/// Swarms on Slurm: launch (one job array), inject prompts, read responses, poll status, terminate.
/// The registry is the truth for which swarms we own; Slurm and the heartbeats for what runs. One
/// <c>squeue</c> call per poll covers every swarm; a node is dead only once its heartbeat is older than
/// its TTL, never because one probe failed.
/// </summary>
public sealed class SwarmClusterService
{
    private readonly SwarmService _swarm;
    private SlurmSettings? _settings;
    private ISlurmClient? _client;

    public SwarmClusterService(SwarmService swarm, ISlurmClient? client = null, SlurmSettings? settings = null)
    {
        _swarm = swarm;
        _settings = settings;
        _client = client;
    }

    /// <summary>The Slurm commands; by default the real tools with config.json's commandTimeoutSeconds and configFile (made on first use).</summary>
    public ISlurmClient Client => _client ??= new SlurmCli(timeout: TimeSpan.FromSeconds(Settings.CommandTimeoutSeconds), configFile: Settings.ConfigFile);

    /// <summary>The <c>slurm</c> section of config.json (read on first use).</summary>
    public SlurmSettings Settings => _settings ??= SlurmSettings.Load(_swarm.Home);

    /// <summary>Where swarm directories go when neither the request nor config names one.</summary>
    public string DefaultRoot => Settings.SharedDirectory is { Length: > 0 } s ? s : Path.Combine(_swarm.Home.Path, "swarms");

    private static SwarmException Invalid(string message, string? target = null) => new(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, message, target);

    // ------------------------------------------------------------------ launch

    public async Task<Swarm> StartAsync(SwarmLaunchRequest request, IProgress<SwarmProgress>? progress = null, CancellationToken ct = default)
    {
        // Everything is validated before anything is created.
        if (request.Nodes < 1 || request.Nodes > 10_000) throw Invalid($"A swarm needs 1-10000 nodes (got {request.Nodes}).");
        if (request.Prompt is null) throw Invalid("A system prompt is required (it may be empty text).");
        var profile = AgentProfiles.Get(_swarm.Config, request.Profile);
        var isCommand = profile.Executable == AgentProfile.CommandExecutable;
        var template = new List<string>();
        if (isCommand)
        {
            if (request.Command is not { Count: > 0 } || string.IsNullOrEmpty(request.Command[0]))
                throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"The '{profile.Name}' profile runs your own command.", profile.Name) { Hint = Hints.SwarmCommandArgv };
            template.AddRange(request.Command);
        }
        else
        {
            if (request.Command is { Count: > 0 })
                throw Invalid($"An argv is only for the command profile; the '{profile.Name}' profile runs '{profile.Executable}'.", profile.Name);
            template.Add(profile.Executable);
        }
        template.AddRange(profile.Arguments);
        if (template.Any(a => a.Contains('\0'))) throw Invalid("An argument contains a NUL character.");
        var partition = SlurmArguments.Partition(request.Partition ?? Settings.Partition);
        var timeLimit = SlurmArguments.TimeLimit(request.TimeLimit ?? Settings.TimeLimit);
        var hb = request.HeartbeatSeconds ?? Settings.HeartbeatSeconds;
        var ttl = request.NodeTtlSeconds ?? Settings.NodeTtlSeconds;
        if (hb < 1) throw Invalid("The heartbeat interval must be at least 1 second.");
        if (ttl < 2 * hb) throw Invalid($"The node TTL ({ttl} s) must be at least twice the heartbeat interval ({hb} s), or a slow heartbeat looks like death.");
        var root = request.WorkDir is { Length: > 0 } w
            ? Path.GetFullPath(w, request.WorkingDirectory ?? Environment.CurrentDirectory)
            : Path.GetFullPath(DefaultRoot);
        if (root.Any(c => char.IsControl(c) || c == '%'))
            throw Invalid($"The swarm directory '{Names.Describe(root)}' contains a control character or '%' (sbatch reads '%' in paths as a pattern).", root);

        var id = NewId("swarm");
        var dir = Path.Combine(root, id);
        var now = DateTimeOffset.UtcNow;
        var metadata = new Dictionary<string, string>
        {
            ["ttlSeconds"] = ttl.ToString(CultureInfo.InvariantCulture),
            ["heartbeatSeconds"] = hb.ToString(CultureInfo.InvariantCulture),
            ["outputFormat"] = profile.OutputFormat.ToString(),
            ["promptDelivery"] = profile.PromptDelivery.ToString(),
        };
        if (partition.Length > 0) metadata["partition"] = partition;
        if (timeLimit.Length > 0) metadata["timeLimit"] = timeLimit;

        progress?.Report(new SwarmProgress("Starting swarm", $"{id}: writing {dir}", 10));
        var script = SwarmFiles.Write(dir, id, request.Nodes, request.Prompt, template, profile, isCommand, hb);
        var options = new List<string>
        {
            "--job-name=swarmps-" + id,
            $"--array=0-{request.Nodes - 1}",
            "--output=" + Path.Combine(dir, "logs", "node-%a.out"),
            "--chdir=" + dir,
            "--nodes=1", "--ntasks=1",
            "--cpus-per-task=" + Settings.CpusPerTask.ToString(CultureInfo.InvariantCulture),
        };
        if (partition.Length > 0) options.Add("--partition=" + partition);
        if (Settings.Account is { Length: > 0 } account) options.Add("--account=" + account);
        if (Settings.Qos is { Length: > 0 } qos) options.Add("--qos=" + qos);
        if (timeLimit.Length > 0) options.Add("--time=" + timeLimit);
        options.AddRange(Settings.SbatchOptions);

        var row = _swarm.Registry.AddSwarm(new Swarm
        {
            SwarmId = id, NodeCount = request.Nodes, Status = SwarmStatus.Submitting, Directory = dir, Profile = profile.Name,
            CreatedAt = now, UpdatedAt = now, Metadata = metadata,
        });
        string jobId;
        try
        {
            progress?.Report(new SwarmProgress("Starting swarm", $"{id}: sbatch --array=0-{request.Nodes - 1}", 50));
            jobId = await Client.SubmitAsync(script, options, ct).ConfigureAwait(false);
        }
        catch
        {
            _swarm.Registry.DeleteSwarm(row.SwarmId);
            SwarmFiles.Delete(dir, id);
            throw;
        }
        progress?.Report(new SwarmProgress("Starting swarm", $"{id}: job {jobId}", 100, Completed: true));
        return _swarm.Registry.UpdateSwarm(id, SwarmStatus.Pending, jobId, $"job {jobId}");
    }

    internal static string NewId(string prefix)
    {
        var stamp = DateTimeOffset.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        return $"{prefix}-{stamp}-{Convert.ToHexString(RandomNumberGenerator.GetBytes(3)).ToLowerInvariant()}";
    }

    // ------------------------------------------------------------------ inject

    public SwarmInjection Inject(string swarmId, string prompt, int? node = null, string? injectionId = null)
    {
        var swarm = _swarm.Registry.RequireSwarm(swarmId);
        if (string.IsNullOrEmpty(prompt)) throw Invalid("The prompt is empty.", swarm.SwarmId);
        if (node is { } k && (k < 0 || k >= swarm.NodeCount))
            throw new SwarmException(SlurmErrorIds.InvalidNode, SwarmErrorKind.InvalidArgument, $"Swarm '{swarm.SwarmId}' has nodes 0-{swarm.NodeCount - 1}; there is no node {k}.", swarm.SwarmId);
        if (injectionId is not null && Names.Problem(injectionId) is { } why)
            throw Invalid($"Invalid injection id '{Names.Describe(injectionId)}': {why}.", injectionId);
        if (swarm.Status is SwarmStatus.Terminated or SwarmStatus.Dead)
            throw new SwarmException(SlurmErrorIds.SwarmNotRunning, SwarmErrorKind.InvalidState, $"Swarm '{swarm.SwarmId}' is {swarm.Status}; nothing would answer. Launch a new swarm.", swarm.SwarmId);
        var nodes = node is { } n ? new[] { n } : Enumerable.Range(0, swarm.NodeCount).ToArray();
        var injection = _swarm.Registry.AddInjection(new SwarmInjection
        {
            SwarmId = swarm.SwarmId, InjectionId = injectionId ?? NewId("inj"), Node = node, Nodes = nodes, CreatedAt = DateTimeOffset.UtcNow,
        });
        var bytes = new UTF8Encoding(false).GetBytes(prompt);
        foreach (var target in nodes)
        {
            var inbox = Path.Combine(swarm.Directory, "nodes", target.ToString(CultureInfo.InvariantCulture), "inbox");
            Directory.CreateDirectory(inbox);
            var final = Path.Combine(inbox, injection.InjectionId + ".prompt");
            var tmp = final + ".tmp";
            File.WriteAllBytes(tmp, bytes);
            File.Move(tmp, final, overwrite: true); // the worker only ever sees complete prompts
        }
        return injection;
    }

    // ------------------------------------------------------------------ responses

    /// <summary>
    /// The responses written so far (all injections, or one). With <paramref name="wait"/> it streams
    /// each one as it arrives until every targeted node answered (nodes dead by heartbeat are not waited
    /// for), or <paramref name="timeout"/> passes: then it throws Timeout naming what is missing.
    /// Reading needs only the shared filesystem, so it works while the Slurm controller is down.
    /// </summary>
    public async IAsyncEnumerable<SwarmResponse> ReceiveAsync(string swarmId, string? injectionId = null, bool wait = false, TimeSpan? timeout = null,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        var swarm = _swarm.Registry.RequireSwarm(swarmId);
        var injections = _swarm.Registry.ListInjections(swarm.SwarmId);
        if (injectionId is not null)
        {
            injections = injections.Where(i => string.Equals(i.InjectionId, injectionId, StringComparison.OrdinalIgnoreCase)).ToList();
            if (injections.Count == 0)
                throw new SwarmException(SlurmErrorIds.InjectionNotFound, SwarmErrorKind.NotFound, $"Swarm '{swarm.SwarmId}' has no injection '{Names.Describe(injectionId)}'.", injectionId);
        }
        var seen = new HashSet<(string, int)>();
        var started = DateTimeOffset.UtcNow;
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            var progress = false;
            foreach (var inj in injections)
                foreach (var k in inj.Nodes)
                {
                    if (seen.Contains((inj.InjectionId, k))) continue;
                    var r = ReadResponse(swarm, k, inj.InjectionId);
                    if (r is null) continue;
                    seen.Add((inj.InjectionId, k));
                    progress = true;
                    yield return r;
                }
            if (!wait) yield break;
            // A swarm terminated (or dead) meanwhile will not answer any more: stop waiting.
            if (_swarm.Registry.GetSwarm(swarm.SwarmId) is { Status: SwarmStatus.Terminated or SwarmStatus.Dead }) yield break;
            var now = DateTimeOffset.UtcNow;
            var missing = injections.SelectMany(i => i.Nodes.Select(k => (i.InjectionId, Node: k)))
                .Where(x => !seen.Contains(x) && !HeartbeatDead(swarm, x.Node, now)).ToList();
            if (missing.Count == 0) yield break;
            if (timeout is { } t && now - started >= t)
                throw new SwarmException(ErrorIds.Timeout, SwarmErrorKind.OperationFailed,
                    $"Timed out after {t.TotalSeconds:0.#} s waiting for {missing.Count} response(s) of swarm '{swarm.SwarmId}'; the answers that arrived were returned.", swarm.SwarmId)
                { Details = missing.Take(20).Select(m => $"{m.InjectionId} node {m.Node}").ToList() };
            delay = progress ? TimeSpan.FromMilliseconds(100) : TimeSpan.FromMilliseconds(Math.Min(2000, delay.TotalMilliseconds * 1.5));
            if (timeout is { } t2) { var left = t2 - (now - started); if (left < delay) delay = left < TimeSpan.Zero ? TimeSpan.Zero : left; }
            await Task.Delay(delay, ct).ConfigureAwait(false);
        }
    }

    private bool HeartbeatDead(Swarm swarm, int node, DateTimeOffset now)
    {
        var hb = Heartbeat(swarm, node);
        return hb is not null && (now - hb.Value).TotalSeconds > swarm.TtlSeconds;
    }

    internal static string NodeDir(Swarm swarm, int node) => Path.Combine(swarm.Directory, "nodes", node.ToString(CultureInfo.InvariantCulture));

    internal static DateTimeOffset? Heartbeat(Swarm swarm, int node)
    {
        var f = Path.Combine(NodeDir(swarm, node), "heartbeat");
        try
        {
            return File.Exists(f) ? new DateTimeOffset(File.GetLastWriteTimeUtc(f), TimeSpan.Zero) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static SwarmResponse? ReadResponse(Swarm swarm, int node, string injectionId)
    {
        var outbox = Path.Combine(NodeDir(swarm, node), "outbox");
        var meta = Path.Combine(outbox, injectionId + ".json");
        if (!File.Exists(meta)) return null;
        JsonElement m;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(meta));
            m = doc.RootElement.Clone();
        }
        catch (Exception ex) when (ex is JsonException or IOException)
        {
            return null; // renamed into place atomically, so this is a foreign or damaged file: skip it
        }
        var outFile = Path.Combine(outbox, injectionId + ".out");
        var raw = File.Exists(outFile) ? File.ReadAllText(outFile) : "";
        var text = raw;
        decimal? cost = m.TryGetProperty("costUsd", out var c) && c.ValueKind == JsonValueKind.Number ? c.GetDecimal() : null;
        if (Enum.TryParse<AgentOutputFormat>(swarm.Metadata.GetValueOrDefault("outputFormat"), out var format) && format != AgentOutputFormat.None)
        {
            var parser = new AgentOutputParser(format);
            parser.FeedAll(raw);
            text = parser.Summary.Result ?? raw;
            cost ??= parser.Summary.CostUsd;
        }
        return new SwarmResponse
        {
            SwarmId = swarm.SwarmId, Node = node, InjectionId = injectionId, Response = text,
            ExitCode = m.TryGetProperty("exitCode", out var e) && e.TryGetInt32(out var code) ? code : -1,
            CostUsd = cost,
            StartedAt = m.TryGetProperty("startedAt", out var s) && DateTimeOffset.TryParse(s.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var st) ? st : null,
            EndedAt = m.TryGetProperty("endedAt", out var en) && DateTimeOffset.TryParse(en.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var et) ? et : null,
            Host = m.TryGetProperty("host", out var h) ? h.GetString() : null,
            OutputPath = outFile,
        };
    }

    // ------------------------------------------------------------------ status

    /// <summary>
    /// Every swarm (or those matching <paramref name="ids"/>, wildcards allowed) with its nodes. With
    /// <paramref name="live"/>: ONE squeue call for all active swarms (retried with backoff), scontrol
    /// then sacct only for a job squeue no longer lists, plus heartbeats. Status changes are recorded
    /// (with events). When the controller does not answer, it throws SlurmUnavailable and changes nothing.
    /// </summary>
    public async Task<IReadOnlyList<Swarm>> GetAsync(IReadOnlyList<string>? ids = null, bool live = true, CancellationToken ct = default)
    {
        var rows = _swarm.Registry.ListSwarms().Where(s => ids is not { Count: > 0 } || ids.Any(p => Glob.IsMatch(p, s.SwarmId))).ToList();
        if (ids is { Count: > 0 } && rows.Count == 0 && ids.All(p => !p.Contains('*') && !p.Contains('?')))
            throw SwarmPS.Core.Registry.SwarmRegistry.SwarmNotFound(ids[0]);
        var active = rows.Where(IsActive).ToList();
        if (!live || active.Count == 0) return rows.Select(s => s.With(nodes: StaticNodes(s))).ToList();

        var queue = await QueueWithBackoffAsync(active.Select(s => s.JobId!).Distinct().ToList(), ct).ConfigureAwait(false);
        var byJob = queue.GroupBy(r => r.ArrayJobId).ToDictionary(g => g.Key, g => g.ToList());
        var now = DateTimeOffset.UtcNow;
        var result = new List<Swarm>(rows.Count);
        foreach (var s in rows)
        {
            if (!IsActive(s)) { result.Add(s.With(nodes: StaticNodes(s))); continue; }
            if (!byJob.TryGetValue(s.JobId!, out var tasks))
            {
                // squeue forgot the job (MinJobAge passed): ask scontrol, then accounting. Only for such jobs.
                tasks = (await Client.ShowJobAsync(s.JobId!, ct).ConfigureAwait(false)).ToList();
                if (tasks.Count == 0) tasks = (await Client.AccountingAsync(s.JobId!, ct).ConfigureAwait(false))?.ToList() ?? new List<SlurmJobRow>();
            }
            var nodes = Enumerable.Range(0, s.NodeCount).Select(k => Node(s, k, tasks, now)).ToList();
            var status = Aggregate(nodes);
            var current = s.Status == status ? s : _swarm.Registry.UpdateSwarm(s.SwarmId, status, details: Summary(nodes));
            result.Add(current.With(nodes: nodes));
        }
        return result;
    }

    private static bool IsActive(Swarm s) => s.JobId is not null && s.Status is SwarmStatus.Pending or SwarmStatus.Running or SwarmStatus.Degraded;

    private static string Summary(IReadOnlyList<SwarmNode> nodes) =>
        string.Join(", ", nodes.GroupBy(n => n.Status).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key.ToString().ToLowerInvariant()}"));

    private IReadOnlyList<SwarmNode> StaticNodes(Swarm s) => s.Status == SwarmStatus.Terminated
        ? Enumerable.Range(0, s.NodeCount).Select(k => new SwarmNode { SwarmId = s.SwarmId, Node = k, Status = SwarmNodeStatus.Stopped, LastHeartbeat = Heartbeat(s, k), Responses = CountResponses(s, k) }).ToList()
        : s.Status == SwarmStatus.Dead
            ? Enumerable.Range(0, s.NodeCount).Select(k => new SwarmNode { SwarmId = s.SwarmId, Node = k, Status = SwarmNodeStatus.Dead, LastHeartbeat = Heartbeat(s, k), Responses = CountResponses(s, k) }).ToList()
            : Array.Empty<SwarmNode>();

    private static int CountResponses(Swarm s, int k)
    {
        var outbox = Path.Combine(NodeDir(s, k), "outbox");
        return Directory.Exists(outbox) ? Directory.EnumerateFiles(outbox, "*.json").Count() : 0;
    }

    private SwarmNode Node(Swarm s, int k, IReadOnlyList<SlurmJobRow> tasks, DateTimeOffset now)
    {
        var row = tasks.FirstOrDefault(t => t.TaskIndex == k)
                  // A pending array may be listed as one line "ID_[0-3]" (no task index yet).
                  ?? tasks.FirstOrDefault(t => t.TaskIndex is null && t.Pending);
        var hb = Heartbeat(s, k);
        return new SwarmNode
        {
            SwarmId = s.SwarmId, Node = k, JobId = $"{s.JobId}_{k}", JobState = row?.State, Host = row?.NodeList, LastHeartbeat = hb,
            Status = NodeStatus(row, hb, now, s.TtlSeconds, s.CreatedAt), Responses = CountResponses(s, k),
        };
    }

    /// <summary>A node is dead only when its last sign of life is older than the TTL, whatever one probe says.</summary>
    internal static SwarmNodeStatus NodeStatus(SlurmJobRow? row, DateTimeOffset? heartbeat, DateTimeOffset now, int ttlSeconds, DateTimeOffset created)
    {
        var fresh = heartbeat is { } hb && (now - hb).TotalSeconds <= ttlSeconds;
        if (row is { Pending: true }) return SwarmNodeStatus.Pending;
        if (row is { Running: true })
            return fresh ? SwarmNodeStatus.Running : heartbeat is null ? SwarmNodeStatus.Starting : SwarmNodeStatus.Dead;
        // Slurm says the task ended, or does not know it.
        if (fresh) return SwarmNodeStatus.Suspect;
        if (heartbeat is null && (now - created).TotalSeconds <= ttlSeconds) return SwarmNodeStatus.Suspect;
        return SwarmNodeStatus.Dead;
    }

    internal static SwarmStatus Aggregate(IReadOnlyList<SwarmNode> nodes)
    {
        var dead = nodes.Count(n => n.Status == SwarmNodeStatus.Dead);
        if (nodes.Count > 0 && dead == nodes.Count) return SwarmStatus.Dead;
        if (dead > 0) return SwarmStatus.Degraded;
        return nodes.All(n => n.Status == SwarmNodeStatus.Pending) ? SwarmStatus.Pending : SwarmStatus.Running;
    }

    private async Task<IReadOnlyList<SlurmJobRow>> QueueWithBackoffAsync(IReadOnlyList<string> jobIds, CancellationToken ct)
    {
        var attempts = Math.Max(1, Settings.PollAttempts);
        var delay = TimeSpan.FromMilliseconds(500);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await Client.QueueAsync(jobIds, ct).ConfigureAwait(false);
            }
            catch (SwarmException ex) when (ex.Kind == SwarmErrorKind.Unavailable)
            {
                if (attempt >= attempts)
                    throw new SwarmException(SlurmErrorIds.SlurmUnavailable, SwarmErrorKind.Unavailable,
                        $"The Slurm controller did not answer squeue ({attempt} attempt(s) over {sw.Elapsed.TotalSeconds:0.0} s): {ex.Message} " +
                        "Nothing was changed: the swarms, their inboxes and their responses are kept, and no node was declared dead. Ask again once slurmctld is back.", "squeue", ex);
                await Task.Delay(delay, ct).ConfigureAwait(false);
                delay *= 2;
            }
        }
    }

    // ------------------------------------------------------------------ terminate

    /// <summary>
    /// scancels the swarm's job, waits until squeue no longer runs any of its tasks, records
    /// Terminated, and deletes the swarm directory unless <paramref name="keepFiles"/>.
    /// </summary>
    public async Task<Swarm> StopAsync(string swarmId, bool keepFiles = false, CancellationToken ct = default)
    {
        var swarm = _swarm.Registry.RequireSwarm(swarmId);
        if (swarm.Status == SwarmStatus.Terminated) return swarm.With(nodes: StaticNodes(swarm));
        if (swarm.JobId is { } job)
        {
            // scancel first: when the controller does not answer, nothing has changed yet.
            await Client.CancelAsync(new[] { job }, ct).ConfigureAwait(false);
            // A task Slurm requeues instead of killing finds the stop file and exits.
            try { if (Directory.Exists(swarm.Directory)) File.WriteAllText(Path.Combine(swarm.Directory, "stop"), ""); } catch (IOException) { }
            var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
            while (DateTimeOffset.UtcNow < deadline)
            {
                var rows = await Client.QueueAsync(new[] { job }, ct).ConfigureAwait(false);
                if (rows.All(r => r.Terminal)) break;
                await Task.Delay(250, ct).ConfigureAwait(false);
            }
        }
        var stopped = _swarm.Registry.UpdateSwarm(swarm.SwarmId, SwarmStatus.Terminated, details: swarm.JobId is null ? null : $"scancel {swarm.JobId}");
        if (!keepFiles) SwarmFiles.Delete(swarm.Directory, swarm.SwarmId);
        return stopped.With(nodes: StaticNodes(stopped));
    }
}
