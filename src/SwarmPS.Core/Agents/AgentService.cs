using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SwarmPS.Core.Processes;
using SwarmPS.Core.Processes.Detached;

namespace SwarmPS.Core.Agents;

/// <summary>What to start.</summary>
public sealed class AgentStartRequest
{
    public required string Ticket { get; init; }
    public required string Profile { get; init; }
    public required string Prompt { get; init; }
    /// <summary>The argv for the <c>command</c> profile.</summary>
    public IReadOnlyList<string>? Command { get; init; }
    /// <summary>Wait up to 2 s for the agent process to be running before returning (interactive use); the scheduler does not.</summary>
    public bool WaitForRunning { get; init; } = true;
    /// <summary>
    /// The command is kept by the caller (a task's row): no <c>command.json</c> next to the agent.
    /// A follow-up finds it through the task; removing the task writes the file (<see cref="AgentService.KeepCommandFiles"/>).
    /// </summary>
    internal bool CommandKeptByTask { get; init; }
    /// <summary>The environment as the caller just read it (the scheduler): not read again.</summary>
    internal SwarmEnvironment? KnownEnvironment { get; init; }
}

/// <summary>
/// Starts coding agents in environments and tells the truth about them afterwards, from any
/// process and after a reboot.
/// <para>
/// Design (the 10 MB supervision budget): each run is owned by a tiny supervisor from the
/// detached-process seam — <c>/bin/sh</c> on Unix (dash: about 1 MB resident), <c>cmd.exe</c> on
/// Windows — that survives the shell that started it, writes the agent's stdout/stderr to files,
/// records the agent's pid, and writes its exit code atomically when it ends. No .NET process stays
/// behind per agent. Parsing the structured output (session id, turns, tools, tokens, cost, the
/// final verdict) is done by whoever reads: <see cref="Reconcile"/> turns the files into registry
/// state, with compare-and-set updates so concurrent readers agree. A run whose supervisor is gone
/// without an exit code is Lost — which is exactly what a reboot or a killed supervisor looks like.
/// </para>
/// </summary>
public sealed class AgentService
{
    public const string PromptFileName = "prompt.txt";
    public const string StopMarkerFileName = "stop-requested";
    public const string CommandFileName = "command.json";

    private readonly SwarmService _swarm;
    private readonly IDetachedLauncher _launcher;

    public AgentService(SwarmService swarm, IDetachedLauncher? launcher = null)
    {
        _swarm = swarm;
        _launcher = launcher ?? DetachedLauncher.ForCurrentPlatform();
    }

    public string AgentsRoot => Path.Combine(_swarm.Home.Path, "agents");

    public IReadOnlyList<AgentProfile> GetProfiles() => AgentProfiles.From(_swarm.Config);

    private static string NewId() => "ag-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(5)).ToLowerInvariant();

    // ------------------------------------------------------------------ start

    public async Task<SwarmAgent> StartAsync(AgentStartRequest request, CancellationToken ct = default)
    {
        var (env, profile) = ValidateStart(request);
        var id = NewId();
        var dir = Path.Combine(AgentsRoot, id);
        SwarmHome.EnsurePrivateDirectory(AgentsRoot);
        SwarmHome.EnsurePrivateDirectory(dir);
        if (request.Command is { Count: > 0 })
            await File.WriteAllTextAsync(Path.Combine(dir, CommandFileName), JsonSerializer.Serialize(request.Command), ct).ConfigureAwait(false);
        var now = DateTimeOffset.UtcNow;
        var agent = new SwarmAgent
        {
            Id = id, Ticket = env.Ticket, Profile = profile.Name, Status = AgentStatus.Starting, Run = 1, Directory = dir,
            WorkingDirectory = env.WorkspacePath, CreatedAt = now, UpdatedAt = now,
        };
        _swarm.Registry.InsertAgent(agent);
        return await LaunchRunAsync(agent, env, profile, request.Prompt, request.Command, followUp: false, ct, request.WaitForRunning).ConfigureAwait(false);
    }

    private (SwarmEnvironment Env, AgentProfile Profile) ValidateStart(AgentStartRequest request)
    {
        var env = request.KnownEnvironment is { } known && string.Equals(known.Ticket, request.Ticket, StringComparison.OrdinalIgnoreCase) ? known : _swarm.GetEnvironment(request.Ticket);
        var profile = AgentProfiles.Get(_swarm.Config, request.Profile);
        if (request.Prompt is null)
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, "A prompt is required.", env.Ticket);
        if (profile.Executable == AgentProfile.CommandExecutable && request.Command is not { Count: > 0 })
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument,
                "The 'command' profile runs your own argv.", env.Ticket) { Hint = Hints.CommandArgv };
        if (env.Status is not (EnvironmentStatus.Running))
            throw new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidState, $"'{env.Ticket}' is {env.Status}; start it first.", env.Ticket);
        return (env, profile);
    }

    /// <summary>Starts run <see cref="SwarmAgent.Run"/> of an agent whose row is in status Starting.</summary>
    private async Task<SwarmAgent> LaunchRunAsync(SwarmAgent agent, SwarmEnvironment env, AgentProfile profile, string prompt,
        IReadOnlyList<string>? command, bool followUp, CancellationToken ct, bool waitForRunning = true)
    {
        var started = DateTimeOffset.UtcNow;
        try
        {
            var spec = BuildLaunch(agent, env, profile, prompt, command, followUp);
            _swarm.Registry.UpsertAgentRun(new SwarmAgentRun { AgentId = agent.Id, Run = agent.Run, Status = AgentStatus.Starting, StartedAt = started, SessionId = agent.SessionId });
            var handle = _launcher.Start(spec);
            var supervisor = SupervisorIdentity(handle);
            var running = Copy(agent, status: AgentStatus.Starting, supervisor: supervisor, startedAt: agent.StartedAt ?? started);
            _swarm.Registry.UpdateAgent(running, AgentStatus.Starting, agent.Run);
            // Wait briefly for the supervisor to report the agent's pid, so the caller usually sees Running.
            var deadline = DateTime.UtcNow.AddSeconds(waitForRunning ? 2 : 0);
            while (handle.ChildPid is null && !handle.HasExited && DateTime.UtcNow < deadline)
                await Task.Delay(10, ct).ConfigureAwait(false);
            return waitForRunning ? Reconcile(agent.Id) : _swarm.Registry.GetAgent(agent.Id)!;
        }
        catch (Exception ex) when (ex is SwarmException or IOException or UnauthorizedAccessException)
        {
            var failed = Copy(agent, status: AgentStatus.Failed, error: ex.Message, endedAt: DateTimeOffset.UtcNow);
            _swarm.Registry.UpdateAgent(failed, AgentStatus.Starting, agent.Run);
            _swarm.Registry.UpsertAgentRun(new SwarmAgentRun { AgentId = agent.Id, Run = agent.Run, Status = AgentStatus.Failed, StartedAt = started, EndedAt = DateTimeOffset.UtcNow, Result = ex.Message });
            if (ex is SwarmException { Kind: SwarmErrorKind.InvalidArgument or SwarmErrorKind.InvalidState }) throw;
            throw new SwarmException(ErrorIds.AgentStartFailed, SwarmErrorKind.OperationFailed, $"Agent {agent.Id} on '{env.Ticket}' could not start: {ex.Message}", agent.Id, ex);
        }
    }

    /// <summary>
    /// The supervisor's identity (pid + start time) right after its start; null for a shared
    /// supervisor's subshell, which names itself in the status line a moment later (readers take it from there).
    /// </summary>
    private static string? SupervisorIdentity(DetachedProcess handle) =>
        !handle.NamedByStatus && (handle.StartedPid ?? handle.Pid) is { } pid ? ProcessIdentity.Of(pid) : null;

    /// <summary>
    /// Writes the run's files (prompt, byte-exact UTF-8 without BOM) and plans the process: everything
    /// before the start that touches no registry row.
    /// </summary>
    private DetachedProcessSpec BuildLaunch(SwarmAgent agent, SwarmEnvironment env, AgentProfile profile, string prompt, IReadOnlyList<string>? command, bool followUp, bool freshDirectory = false)
    {
        var runDir = agent.RunDirectory(agent.Run);
        if (runDir != agent.Directory)
        {
            // A follow-up run: runs/<n> (the first run's files are in the agent's directory, made with it).
            SwarmHome.EnsurePrivateDirectory(Path.GetDirectoryName(runDir)!);
            SwarmHome.EnsurePrivateDirectory(runDir);
        }
        // The prompt reaches the agent byte-exact: written as UTF-8 without BOM, passed as one
        // argv element or as stdin, never through a shell.
        var promptFile = Path.Combine(runDir, PromptFileName);
        WritePrivateFile(promptFile, new UTF8Encoding(false).GetBytes(prompt));
        var argv = profile.BuildArgv(new AgentInvocation
        {
            Ticket = env.Ticket, Prompt = prompt, PromptFile = promptFile, SessionId = agent.SessionId, FollowUp = followUp,
            WorkingDirectory = env.WorkspacePath, Command = command,
        });
        var variables = new Dictionary<string, string>(EnvironmentVariables.For(env), StringComparer.Ordinal)
        {
            ["SWARM_AGENT_ID"] = agent.Id,
            ["SWARM_AGENT_RUN"] = agent.Run.ToString(CultureInfo.InvariantCulture),
            ["SWARM_PROMPT_FILE"] = promptFile,
            // Providers that copy the prompt elsewhere (kvm, hyperv, tart: into the guest) need to know how it is delivered.
            [Providers.SshVmProvider.PromptDeliveryVariable] = profile.PromptDelivery.ToString().ToLowerInvariant(),
        };
        var plan = _swarm.Providers.Get(env.Provider).PlanAgentLaunch(env, argv, variables);
        return new DetachedProcessSpec(plan.FileName, plan.Arguments, runDir)
        {
            WorkingDirectory = plan.WorkingDirectory,
            Environment = plan.Environment.ToDictionary(kv => kv.Key, kv => (string?)kv.Value),
            StandardInputFile = profile.PromptDelivery == PromptDelivery.Stdin || plan.PromptOnStandardInput ? promptFile : null,
            FreshDirectory = freshDirectory,
        };
    }

    /// <summary>
    /// Writes a file only the user can read: created 0600 on Unix (no chmod afterwards, which would
    /// be one more inode update per agent); an existing file is tightened like before.
    /// </summary>
    private static void WritePrivateFile(string path, byte[] bytes)
    {
        if (OperatingSystem.IsWindows() || File.Exists(path))
        {
            File.WriteAllBytes(path, bytes);
            SwarmHome.MakeFilePrivate(path);
            return;
        }
        using var fs = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        fs.Write(bytes);
    }

    // ------------------------------------------------------------------ batched start (the scheduler)

    /// <summary>
    /// An agent start prepared without touching the registry: its id, directory, files and process
    /// plan. The scheduler records many of them (with the tasks' claims) in one transaction, then
    /// launches them: each row is committed before its process starts.
    /// </summary>
    internal sealed class PreparedStart
    {
        public required SwarmAgent Agent { get; init; }
        public required SwarmAgentRun Run { get; init; }
        public required DetachedProcessSpec Spec { get; init; }
        public DetachedProcess? Handle { get; set; }
        public string? Supervisor { get; set; }
        public Exception? LaunchError { get; set; }
    }

    /// <summary>
    /// Validates the request and writes the agent's files; no registry row yet. Throws like
    /// <see cref="StartAsync"/> for bad input or an environment that is not running.
    /// </summary>
    internal PreparedStart PrepareStart(AgentStartRequest request)
    {
        var (env, profile) = ValidateStart(request);
        var id = NewId();
        var dir = Path.Combine(AgentsRoot, id);
        try
        {
            SwarmHome.EnsurePrivateDirectory(AgentsRoot);
            SwarmHome.EnsurePrivateDirectory(dir);
            if (request.Command is { Count: > 0 } && !request.CommandKeptByTask)
                WritePrivateFile(Path.Combine(dir, CommandFileName), Encoding.UTF8.GetBytes(JsonSerializer.Serialize(request.Command)));
            var now = DateTimeOffset.UtcNow;
            var agent = new SwarmAgent
            {
                Id = id, Ticket = env.Ticket, Profile = profile.Name, Status = AgentStatus.Starting, Run = 1, Directory = dir,
                WorkingDirectory = env.WorkspacePath, CreatedAt = now, UpdatedAt = now, StartedAt = now,
            };
            var spec = BuildLaunch(agent, env, profile, request.Prompt, request.Command, followUp: false, freshDirectory: true);
            return new PreparedStart { Agent = agent, Run = new SwarmAgentRun { AgentId = id, Run = 1, Status = AgentStatus.Starting, StartedAt = now }, Spec = spec };
        }
        catch
        {
            DiscardPrepared(dir);
            throw;
        }
    }

    /// <summary>
    /// Before a task's row goes: writes its command next to those of its agents that rely on the row
    /// for it (<see cref="AgentStartRequest.CommandKeptByTask"/>), so their follow-ups still work.
    /// </summary>
    internal static void KeepCommandFiles(Registry.SwarmRegistry registry, Tasks.SwarmTask task)
    {
        if (task.Command is not { Count: > 0 } command) return;
        var bytes = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(command));
        foreach (var id in task.AgentIds)
        {
            if (registry.GetAgent(id) is not { } agent || !Directory.Exists(agent.Directory)) continue;
            var file = Path.Combine(agent.Directory, CommandFileName);
            if (!File.Exists(file)) WritePrivateFile(file, bytes);
        }
    }

    /// <summary>Removes the files of a prepared start that was never recorded (its task's claim was lost).</summary>
    internal static void DiscardPrepared(PreparedStart p) => DiscardPrepared(p.Agent.Directory);

    private static void DiscardPrepared(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>The agent row (Starting, with its event) and its first run, inside the caller's transaction.</summary>
    internal static void RecordPrepared(Microsoft.Data.Sqlite.SqliteConnection c, PreparedStart p)
    {
        Registry.SwarmRegistry.InsertAgent(c, p.Agent);
        Registry.SwarmRegistry.UpsertAgentRun(c, p.Run);
    }

    /// <summary>The launcher every agent start uses unless a caller brings its own (the scheduler's shared supervisor falls back to it).</summary>
    internal IDetachedLauncher Launcher => _launcher;

    /// <summary>
    /// Starts the recorded agent's supervisor (no registry access) through <paramref name="via"/>
    /// (default: this service's launcher). Failures are kept in <see cref="PreparedStart.LaunchError"/>.
    /// </summary>
    internal void Launch(PreparedStart p, IDetachedLauncher? via = null)
    {
        try
        {
            p.Handle = (via ?? _launcher).Start(p.Spec);
            p.Supervisor = SupervisorIdentity(p.Handle);
        }
        catch (Exception ex) when (ex is SwarmException or IOException or UnauthorizedAccessException)
        {
            p.LaunchError = ex;
        }
    }

    /// <summary>
    /// After <see cref="Launch"/>, inside the caller's transaction: records the supervisor (or the
    /// failure to start). False when the agent is no longer Starting (it was stopped meanwhile).
    /// </summary>
    internal static bool RecordLaunched(Microsoft.Data.Sqlite.SqliteConnection c, PreparedStart p)
    {
        if (p.LaunchError is { } ex)
        {
            var now = DateTimeOffset.UtcNow;
            var failed = Copy(p.Agent, status: AgentStatus.Failed, error: ex.Message, endedAt: now);
            var ok = Registry.SwarmRegistry.UpdateAgent(c, failed, AgentStatus.Starting, p.Agent.Run);
            Registry.SwarmRegistry.UpsertAgentRun(c, new SwarmAgentRun { AgentId = p.Agent.Id, Run = p.Agent.Run, Status = AgentStatus.Failed, StartedAt = p.Run.StartedAt, EndedAt = now, Result = ex.Message });
            return ok;
        }
        return Registry.SwarmRegistry.UpdateAgent(c, Copy(p.Agent, supervisor: p.Supervisor), AgentStatus.Starting, p.Agent.Run);
    }

    /// <summary>
    /// Stops a just-launched agent whose row was changed by someone else before its supervisor was
    /// recorded (a cancel raced the launch): kills its command; the supervisor then records the exit.
    /// </summary>
    internal async Task KillLaunchedAsync(PreparedStart p)
    {
        if (p.Handle is not { } dp) return;
        var deadline = DateTime.UtcNow.AddSeconds(2);
        while (dp.ChildPid is null && !dp.HasExited && DateTime.UtcNow < deadline) await Task.Delay(10).ConfigureAwait(false);
        // An agent inside a container or VM: stop it there too (as StopAsync does).
        if (_swarm.Registry.GetEnvironment(p.Agent.Ticket) is { } env)
        {
            try { await _swarm.Providers.Get(env.Provider).StopAgentAsync(env, p.Agent.Id, p.Agent.Run, CancellationToken.None).ConfigureAwait(false); }
            catch (SwarmException) { /* unreachable backend: the local process is still stopped below */ }
        }
        if (dp.ChildPid is { } child && !dp.HasExited) KillTree(child);
    }

    // ------------------------------------------------------------------ read

    public SwarmAgent RequireAgent(string id)
    {
        if (string.IsNullOrWhiteSpace(id) || id.Length > 64 || !id.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"Invalid agent id '{Names.Describe(id)}'.", id);
        return _swarm.Registry.GetAgent(id) ?? throw new SwarmException(ErrorIds.AgentNotFound, SwarmErrorKind.NotFound,
            $"No agent '{id}'.", id) { Hint = Hints.ListAgents };
    }

    /// <summary>The agent with its status reconciled against its supervisor's files.</summary>
    public SwarmAgent Get(string id)
    {
        RequireAgent(id);
        return Reconcile(id);
    }

    /// <summary>Every agent (optionally of some tickets / statuses), each reconciled.</summary>
    public IReadOnlyList<SwarmAgent> List(IReadOnlyList<string>? tickets = null, IReadOnlyList<AgentStatus>? statuses = null)
    {
        var result = new List<SwarmAgent>();
        foreach (var a in _swarm.Registry.ListAgents())
        {
            if (tickets is { Count: > 0 } && !tickets.Any(t => Glob.IsMatch(t, a.Ticket))) continue;
            var r = a.IsTerminal ? a : Reconcile(a.Id);
            if (statuses is { Count: > 0 } && !statuses.Contains(r.Status)) continue;
            result.Add(r);
        }
        return result;
    }

    public IReadOnlyList<SwarmAgentRun> GetRuns(string id) => _swarm.Registry.ListAgentRuns(RequireAgent(id).Id);

    /// <summary>
    /// Turns what the supervisor of the current run left on disk into registry state. Safe to call
    /// from any number of processes at once.
    /// </summary>
    public SwarmAgent Reconcile(string id)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var a = _swarm.Registry.GetAgent(id) ?? throw new SwarmException(ErrorIds.AgentNotFound, SwarmErrorKind.NotFound, $"No agent '{id}'.", id);
            if (a.IsTerminal) return a;
            var next = Observe(a);
            if (next is null) return a;
            if (_swarm.Registry.UpdateAgent(next, a.Status, a.Run))
            {
                if (next.IsTerminal) RecordRun(next);
                return _swarm.Registry.GetAgent(id)!;
            }
        }
        return _swarm.Registry.GetAgent(id)!;
    }

    /// <summary>
    /// For batched reconciling (the scheduler): the agent's next state according to its files, or
    /// null when nothing changed. Record it with <see cref="RecordObserved"/> inside a transaction.
    /// </summary>
    internal SwarmAgent? ObserveChange(SwarmAgent a) => a.IsTerminal ? null : Observe(a);

    /// <summary>
    /// Inside the caller's transaction: the compare-and-set update of an observed change (with its
    /// event) and, when the run ended, its run record. False when another process recorded first.
    /// </summary>
    internal bool RecordObserved(Microsoft.Data.Sqlite.SqliteConnection c, SwarmAgent before, SwarmAgent next)
    {
        if (!Registry.SwarmRegistry.UpdateAgent(c, next, before.Status, before.Run)) return false;
        if (next.IsTerminal) RecordRun(c, next);
        return true;
    }

    /// <summary>The agent's next state according to the files, or null when nothing changed.</summary>
    private SwarmAgent? Observe(SwarmAgent a)
    {
        var runDir = a.RunDirectory(a.Run);
        var dp = new DetachedProcess(runDir);
        var profile = ProfileOrCommand(a.Profile);
        // The exit code first, then the output: the supervisor writes the exit file only after the
        // agent's output is complete, so reading in this order never judges a half-read log.
        var exitCode = dp.ExitCode;
        var parser = Parse(profile.OutputFormat, dp.StdoutFile);
        var s = parser.Summary;
        var totals = PreviousRunTotals(a);
        if (exitCode is { } code)
        {
            var stopped = File.Exists(Path.Combine(runDir, StopMarkerFileName));
            var ok = parser.Succeeded(code);
            var status = stopped ? AgentStatus.Stopped : ok ? AgentStatus.Succeeded : AgentStatus.Failed;
            var error = stopped ? "stopped on request" : ok ? null : parser.FailureReason(code) + StderrTail(dp.StderrFile);
            var ended = Copy(a, status: status, exitCode: code, endedAt: dp.ExitedAtUtc ?? DateTime.UtcNow, sessionId: s.SessionId ?? a.SessionId,
                pid: dp.ChildPid, summary: s, totals: totals, error: error, result: s.Result, supervisorRss: a.SupervisorMemoryKb);
            EndParses.AddOrUpdate(ended, parser);
            return ended;
        }
        // A supervisor started but not recorded (its launcher died in between): the status line the
        // supervisor writes right after starting the command names it (the pid file on Windows);
        // accept it only for a process that started after this run was recorded, never a recycled pid.
        var supervisor = a.Supervisor ?? SupervisorFromFiles(dp, a);
        var alive = ProcessIdentity.IsAlive(supervisor);
        if (!alive)
        {
            // The supervisor may have written the exit file between the two checks.
            if (dp.ExitCode is not null) return Observe(a);
            if (a.Status == AgentStatus.Starting && a.Supervisor is null && DateTimeOffset.UtcNow - a.UpdatedAt < LaunchGrace)
                return null; // being launched right now by another process
            return Copy(a, status: AgentStatus.Lost, endedAt: DateTimeOffset.UtcNow, sessionId: s.SessionId ?? a.SessionId, summary: s, totals: totals,
                error: "The supervisor is gone without recording an exit code (it was killed, or the machine restarted). The agent's output so far is kept in its log.");
        }
        var childPid = dp.ChildPid;
        var newStatus = childPid is not null ? AgentStatus.Running : a.Status;
        var rss = a.SupervisorMemoryKb ?? (childPid is not null ? MeasureRss(dp.Pid) : null);
        var sessionId = s.SessionId ?? a.SessionId;
        if (newStatus == a.Status && childPid == a.Pid && sessionId == a.SessionId && rss == a.SupervisorMemoryKb && s.Turns + totals.Turns == a.Turns && s.ToolCalls + totals.ToolCalls == a.ToolCalls
            && supervisor == a.Supervisor)
            return null;
        return Copy(a, status: newStatus, supervisor: supervisor, pid: childPid, sessionId: sessionId, summary: s, totals: totals, supervisorRss: rss);
    }

    private static string? SupervisorFromFiles(DetachedProcess dp, SwarmAgent a)
    {
        if (dp.Pid is not { } pid || ProcessIdentity.Of(pid) is not { } identity) return null;
        var at = identity.IndexOf('@', StringComparison.Ordinal);
        if (at < 0 || !long.TryParse(identity.AsSpan(at + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var startSeconds)) return null;
        // Start times have a resolution of a second (and clock ticks); allow that much.
        var recordedSeconds = a.UpdatedAt.UtcTicks / TimeSpan.TicksPerSecond;
        return startSeconds >= recordedSeconds - 2 ? identity : null;
    }

    private void RecordRun(SwarmAgent a) => _swarm.Registry.Write(c => { RecordRun(c, a); return 0; });

    private void RecordRun(Microsoft.Data.Sqlite.SqliteConnection c, SwarmAgent a)
    {
        // The first run started when the agent did (both are written from the same value); a
        // follow-up run's start is in its run record.
        var started = a.Run == 1 && a.StartedAt is { } first ? first
            : Registry.SwarmRegistry.ListAgentRuns(c, a.Id).FirstOrDefault(r => r.Run == a.Run)?.StartedAt ?? a.StartedAt ?? a.CreatedAt;
        // The output was parsed a moment ago by the observation that found the end (the log is complete by then).
        var parser = EndParses.TryGetValue(a, out var parsed) ? parsed : Parse(ProfileOrCommand(a.Profile).OutputFormat, new DetachedProcess(a.RunDirectory(a.Run)).StdoutFile);
        Registry.SwarmRegistry.UpsertAgentRun(c, new SwarmAgentRun
        {
            AgentId = a.Id, Run = a.Run, Status = a.Status, SessionId = parser.Summary.SessionId ?? a.SessionId, ExitCode = a.ExitCode,
            CostUsd = parser.Summary.CostUsd, InputTokens = parser.Summary.InputTokens, OutputTokens = parser.Summary.OutputTokens,
            Result = a.Status == AgentStatus.Succeeded ? parser.Summary.Result : a.Error, StartedAt = started, EndedAt = a.EndedAt,
        });
    }

    private sealed record Totals(int Turns, int ToolCalls, long Input, long Output, long Cache, decimal? Cost);

    /// <summary>The parse of a finished run's output, attached to the agent object an observation returned.</summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SwarmAgent, AgentOutputParser> EndParses = new();

    /// <summary>Sums of the runs before the current one (a follow-up adds to them).</summary>
    private Totals PreviousRunTotals(SwarmAgent a)
    {
        if (a.Run <= 1) return new Totals(0, 0, 0, 0, 0, null);
        int turns = 0, tools = 0;
        long input = 0, output = 0, cache = 0;
        decimal? cost = null;
        var format = ProfileOrCommand(a.Profile).OutputFormat;
        for (var run = 1; run < a.Run; run++)
        {
            var s = Parse(format, new DetachedProcess(a.RunDirectory(run)).StdoutFile).Summary;
            turns += s.Turns; tools += s.ToolCalls; input += s.InputTokens; output += s.OutputTokens; cache += s.CacheReadTokens;
            if (s.CostUsd is { } c) cost = (cost ?? 0) + c;
        }
        return new Totals(turns, tools, input, output, cache, cost);
    }

    private AgentProfile ProfileOrCommand(string name)
    {
        try { return AgentProfiles.Get(_swarm.Config, name); }
        catch (SwarmException) { return BuiltInProfiles.All.Single(p => p.Name == "command"); }
    }

    private static AgentOutputParser Parse(AgentOutputFormat format, string stdoutFile)
    {
        var parser = new AgentOutputParser(format);
        // One stat: an absent or empty log (a quiet command) needs no reader.
        if (new FileInfo(stdoutFile) is { Exists: true, Length: > 0 })
        {
            using var stream = new FileStream(stdoutFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream, new UTF8Encoding(false));
            string? line;
            while ((line = reader.ReadLine()) is not null) parser.Feed(line);
        }
        return parser;
    }

    private static string StderrTail(string file)
    {
        try
        {
            if (!File.Exists(file)) return "";
            var lines = File.ReadLines(file).Where(l => l.Trim().Length > 0).TakeLast(3).ToList();
            return lines.Count == 0 ? "" : " (stderr: " + string.Join(" | ", lines) + ")";
        }
        catch (IOException) { return ""; }
    }

    /// <summary>Resident memory of a process in KiB, or null when it cannot be read.</summary>
    public static long? MeasureRss(int? pid)
    {
        if (pid is null) return null;
        // A process that is gone (the usual case once the exit file is there) costs a stat, not an exception.
        if (OperatingSystem.IsLinux() && !Directory.Exists("/proc/" + pid.Value.ToString(CultureInfo.InvariantCulture))) return null;
        try
        {
            using var p = Process.GetProcessById(pid.Value);
            p.Refresh();
            var kb = p.WorkingSet64 / 1024;
            return kb > 0 ? kb : null; // an exited (zombie) process reports 0
        }
        catch (ArgumentException) { return null; }
        catch (InvalidOperationException) { return null; }
    }

    private static SwarmAgent Copy(SwarmAgent a, AgentStatus? status = null, string? supervisor = null, int? pid = null, int? exitCode = null,
        string? sessionId = null, AgentRunSummary? summary = null, Totals? totals = null, string? error = null,
        string? result = null, long? supervisorRss = null, DateTimeOffset? startedAt = null, DateTimeOffset? endedAt = null)
    {
        var t = totals ?? new Totals(0, 0, 0, 0, 0, null);
        return new SwarmAgent
        {
            Id = a.Id, Ticket = a.Ticket, Profile = a.Profile, Status = status ?? a.Status, Run = a.Run, SessionId = sessionId ?? a.SessionId,
            WorkingDirectory = a.WorkingDirectory, Directory = a.Directory, Supervisor = supervisor ?? a.Supervisor, Pid = pid ?? a.Pid,
            ExitCode = exitCode ?? a.ExitCode,
            Turns = summary is null ? a.Turns : t.Turns + summary.Turns,
            ToolCalls = summary is null ? a.ToolCalls : t.ToolCalls + summary.ToolCalls,
            InputTokens = summary is null ? a.InputTokens : t.Input + summary.InputTokens,
            OutputTokens = summary is null ? a.OutputTokens : t.Output + summary.OutputTokens,
            CacheReadTokens = summary is null ? a.CacheReadTokens : t.Cache + summary.CacheReadTokens,
            CostUsd = summary is null ? a.CostUsd : (t.Cost is null && summary.CostUsd is null ? null : (t.Cost ?? 0) + (summary.CostUsd ?? 0)),
            Result = result ?? a.Result, Error = error ?? a.Error,
            SupervisorMemoryKb = supervisorRss ?? a.SupervisorMemoryKb, CreatedAt = a.CreatedAt, UpdatedAt = a.UpdatedAt,
            StartedAt = startedAt ?? a.StartedAt, EndedAt = endedAt ?? a.EndedAt,
        };
    }

    // ------------------------------------------------------------------ wait, stop, follow-up

    /// <summary>
    /// Waits until all (or, with <paramref name="any"/>, the first) of the agents reach a terminal
    /// state. Throws Timeout when the timeout passes first; the agents keep running.
    /// </summary>
    public async Task<IReadOnlyList<SwarmAgent>> WaitAsync(IReadOnlyList<string> ids, TimeSpan? timeout, bool any, IProgress<SwarmProgress>? progress = null, CancellationToken ct = default)
    {
        if (ids.Count == 0) throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, "No agents to wait for.");
        foreach (var id in ids) RequireAgent(id);
        var sw = Stopwatch.StartNew();
        var delay = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            var agents = ids.Select(Reconcile).ToList();
            var done = agents.Count(a => a.IsTerminal);
            progress?.Report(new SwarmProgress("Waiting for agents", $"{done} of {agents.Count} finished", agents.Count == 0 ? 100 : done * 100 / agents.Count));
            if (any ? done > 0 : done == agents.Count)
            {
                progress?.Report(new SwarmProgress("Waiting for agents", "done", 100, Completed: true));
                return any ? agents.Where(a => a.IsTerminal).ToList() : agents;
            }
            if (timeout is { } t && sw.Elapsed >= t)
            {
                progress?.Report(new SwarmProgress("Waiting for agents", "timed out", 100, Completed: true));
                throw new SwarmException(ErrorIds.Timeout, SwarmErrorKind.OperationFailed,
                    $"Timed out after {t.TotalSeconds:0.#}s: {agents.Count - done} agent(s) still running ({string.Join(", ", agents.Where(a => !a.IsTerminal).Select(a => a.Id))}). They keep running.",
                    string.Join(",", ids));
            }
            await Task.Delay(delay, ct).ConfigureAwait(false);
            if (delay < TimeSpan.FromMilliseconds(500)) delay += TimeSpan.FromMilliseconds(50);
        }
    }

    /// <summary>Waits until the agent reaches <paramref name="status"/> (or a terminal state).</summary>
    public async Task<SwarmAgent> WaitForStatusAsync(string id, AgentStatus status, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var a = Get(id);
            if (a.Status == status || a.IsTerminal) return a;
            if (DateTime.UtcNow >= deadline)
                throw new SwarmException(ErrorIds.Timeout, SwarmErrorKind.OperationFailed, $"Agent {id} did not become {status} in time (it is {a.Status}).", id);
            await Task.Delay(20, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Stops the agent's whole process tree and records Stopped. A finished agent is returned as it is.</summary>
    public async Task<SwarmAgent> StopAsync(string id, CancellationToken ct = default)
    {
        var a = Reconcile(RequireAgent(id).Id);
        if (a.IsTerminal) return a;
        var runDir = a.RunDirectory(a.Run);
        await File.WriteAllTextAsync(Path.Combine(runDir, StopMarkerFileName), DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture), ct).ConfigureAwait(false);
        var dp = new DetachedProcess(runDir);
        // Only signal pids while the supervisor (pid + start time) is alive: after a reboot a
        // recorded pid may belong to someone else.
        if (ProcessIdentity.IsAlive(a.Supervisor))
        {
            var deadline = DateTime.UtcNow.AddSeconds(2);
            while (dp.ChildPid is null && !dp.HasExited && DateTime.UtcNow < deadline) await Task.Delay(20, ct).ConfigureAwait(false);
            // An agent inside a container or VM: stop it there first (killing the local client alone would leave it running).
            if (_swarm.Registry.GetEnvironment(a.Ticket) is { } env)
            {
                try { await _swarm.Providers.Get(env.Provider).StopAgentAsync(env, a.Id, a.Run, ct).ConfigureAwait(false); }
                catch (SwarmException) { /* the backend is unreachable: the local process is still stopped below */ }
            }
            if (dp.ChildPid is { } child) KillTree(child);
            deadline = DateTime.UtcNow.AddSeconds(10);
            while (!dp.HasExited && ProcessIdentity.IsAlive(a.Supervisor) && DateTime.UtcNow < deadline) await Task.Delay(20, ct).ConfigureAwait(false);
        }
        var after = Reconcile(a.Id);
        if (!after.IsTerminal || after.Status == AgentStatus.Lost)
        {
            // The supervisor could not record an exit code; the stop request is the truth.
            var stopped = Copy(after, status: AgentStatus.Stopped, endedAt: DateTimeOffset.UtcNow, error: "stopped on request");
            if (_swarm.Registry.UpdateAgent(stopped, after.Status, after.Run)) RecordRun(stopped);
            after = _swarm.Registry.GetAgent(a.Id)!;
        }
        return after;
    }

    private static void KillTree(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            p.Kill(entireProcessTree: true);
        }
        catch (ArgumentException) { }
        catch (InvalidOperationException) { }
        catch (System.ComponentModel.Win32Exception) { }
    }

    /// <summary>
    /// Gives a finished agent a follow-up prompt: a new run that resumes its session in the same
    /// working directory, recorded as the next run of the same agent.
    /// </summary>
    public async Task<SwarmAgent> SendAsync(string id, string prompt, CancellationToken ct = default)
    {
        var a = Reconcile(RequireAgent(id).Id);
        if (!a.IsTerminal)
            throw new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidState,
                $"Agent {a.Id} is still {a.Status}.", a.Id) { Hint = Hints.WaitForAgent };
        var env = _swarm.GetEnvironment(a.Ticket);
        var profile = AgentProfiles.Get(_swarm.Config, a.Profile);
        IReadOnlyList<string>? command = null;
        var commandFile = Path.Combine(a.Directory, CommandFileName);
        if (File.Exists(commandFile)) command = JsonSerializer.Deserialize<List<string>>(await File.ReadAllTextAsync(commandFile, ct).ConfigureAwait(false));
        else command = _swarm.Registry.Read(c => Registry.SwarmRegistry.TaskCommandOfAgent(c, a.Id)); // started by the queue: the task keeps it
        // Validate the resume template before changing anything.
        profile.BuildArgv(new AgentInvocation { Ticket = a.Ticket, Prompt = prompt, SessionId = a.SessionId, FollowUp = true, Command = command });
        // The next run: totals carry over; per-run fields (supervisor, pid, exit, result, error, end) start empty.
        var next = new SwarmAgent
        {
            Id = a.Id, Ticket = a.Ticket, Profile = a.Profile, Status = AgentStatus.Starting, Run = a.Run + 1, SessionId = a.SessionId,
            WorkingDirectory = a.WorkingDirectory, Directory = a.Directory, Supervisor = null, Pid = null, ExitCode = null, Turns = a.Turns,
            ToolCalls = a.ToolCalls, InputTokens = a.InputTokens, OutputTokens = a.OutputTokens, CacheReadTokens = a.CacheReadTokens, CostUsd = a.CostUsd,
            SupervisorMemoryKb = a.SupervisorMemoryKb, CreatedAt = a.CreatedAt, UpdatedAt = a.UpdatedAt, StartedAt = a.StartedAt,
        };
        if (!_swarm.Registry.UpdateAgent(next, a.Status, a.Run))
            throw new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidState, $"Agent {a.Id} changed while sending; try again.", a.Id);
        return await LaunchRunAsync(next, env, profile, prompt, command, followUp: true, ct).ConfigureAwait(false);
    }

    // ------------------------------------------------------------------ output

    /// <summary>
    /// The agent's output: parsed messages of every run (or the raw log lines with <paramref name="raw"/>),
    /// the last <paramref name="tail"/> of them when given.
    /// </summary>
    public IReadOnlyList<SwarmAgentOutput> ReadOutput(string id, int? tail = null, bool raw = false, int? run = null)
    {
        var a = RequireAgent(id);
        if (run is { } wanted && (wanted < 1 || wanted > a.Run))
            throw new SwarmException(ErrorIds.RunNotFound, SwarmErrorKind.NotFound,
                $"Agent {a.Id} has {a.Run} run(s); there is no run {wanted}.", a.Id);
        var format = ProfileOrCommand(a.Profile).OutputFormat;
        var list = new List<SwarmAgentOutput>();
        for (var r = run ?? 1; r <= (run ?? a.Run); r++)
        {
            var dp = new DetachedProcess(a.RunDirectory(r));
            if (raw)
            {
                foreach (var line in ReadLines(dp.StdoutFile)) list.Add(new SwarmAgentOutput { AgentId = a.Id, Run = r, Stream = "stdout", Kind = "raw", Text = line });
                foreach (var line in ReadLines(dp.StderrFile)) list.Add(new SwarmAgentOutput { AgentId = a.Id, Run = r, Stream = "stderr", Kind = "raw", Text = line });
            }
            else
            {
                var p = Parse(format, dp.StdoutFile);
                list.AddRange(p.Messages.Select(m => new SwarmAgentOutput { AgentId = a.Id, Run = r, Stream = "stdout", Kind = m.Kind, Text = m.Text, Tool = m.Tool }));
                list.AddRange(ReadLines(dp.StderrFile).Select(l => new SwarmAgentOutput { AgentId = a.Id, Run = r, Stream = "stderr", Kind = "raw", Text = l }));
            }
        }
        return tail is { } t && t >= 0 && list.Count > t ? list.Skip(list.Count - t).ToList() : list;
    }

    /// <summary>
    /// Streams stdout as it is written (parsed, or raw lines), until the agent finishes or
    /// <paramref name="ct"/> is cancelled. Starts with what is already there (the last
    /// <paramref name="tail"/> items of it). No line is lost or split between the two phases:
    /// the existing part is read up to an offset taken once, and following continues from it.
    /// </summary>
    public async IAsyncEnumerable<SwarmAgentOutput> FollowAsync(string id, bool raw = false, int? tail = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        var a = RequireAgent(id);
        var format = ProfileOrCommand(a.Profile).OutputFormat;
        var run = a.Run;
        var pending = new StringBuilder();
        long offset = 0;

        IEnumerable<SwarmAgentOutput> Emit(string text, int r)
        {
            foreach (var line in text.Split('\n'))
            {
                var l = line.TrimEnd('\r');
                if (raw) { yield return new SwarmAgentOutput { AgentId = id, Run = r, Stream = "stdout", Kind = "raw", Text = l }; continue; }
                var p = new AgentOutputParser(format);
                p.Feed(l);
                foreach (var m in p.Messages) yield return new SwarmAgentOutput { AgentId = id, Run = r, Stream = "stdout", Kind = m.Kind, Text = m.Text, Tool = m.Tool };
            }
        }

        string ReadNew(string file)
        {
            if (!File.Exists(file)) return "";
            using var fs = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (fs.Length <= offset) return "";
            fs.Seek(offset, SeekOrigin.Begin);
            var buffer = new byte[fs.Length - offset];
            var n = fs.Read(buffer, 0, buffer.Length);
            offset += n;
            pending.Append(new UTF8Encoding(false).GetString(buffer, 0, n));
            var text = pending.ToString();
            var lastNl = text.LastIndexOf('\n');
            if (lastNl < 0) return "";
            pending.Clear().Append(text[(lastNl + 1)..]);
            return text[..lastNl];
        }

        // What is there already: earlier runs whole, the current run up to one offset.
        var initial = new List<SwarmAgentOutput>();
        for (var r = 1; r < run; r++) initial.AddRange(ReadOutput(id, raw: raw, run: r).Where(o => o.Stream == "stdout"));
        var first = ReadNew(new DetachedProcess(a.RunDirectory(run)).StdoutFile);
        if (first.Length > 0) initial.AddRange(Emit(first, run));
        foreach (var o in tail is { } t && t >= 0 && initial.Count > t ? initial.Skip(initial.Count - t) : initial) yield return o;

        while (!ct.IsCancellationRequested)
        {
            var current = Reconcile(id);
            var chunk = ReadNew(new DetachedProcess(current.RunDirectory(run)).StdoutFile);
            if (chunk.Length > 0)
            {
                foreach (var o in Emit(chunk, run)) yield return o;
                continue;
            }
            if (current.IsTerminal && current.Run == run)
            {
                // The exit code is written after the output is complete: one last read, then the tail.
                var last = ReadNew(new DetachedProcess(current.RunDirectory(run)).StdoutFile);
                if (last.Length > 0) foreach (var o in Emit(last, run)) yield return o;
                if (pending.Length > 0) foreach (var o in Emit(pending.ToString(), run)) yield return o;
                yield break;
            }
            if (current.Run != run)
            {
                if (pending.Length > 0) foreach (var o in Emit(pending.ToString(), run)) yield return o;
                run = current.Run;
                offset = 0;
                pending.Clear();
                continue;
            }
            try { await Task.Delay(100, ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { yield break; }
        }
    }

    private static IEnumerable<string> ReadLines(string file)
    {
        if (!File.Exists(file)) yield break;
        using var fs = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(fs, new UTF8Encoding(false));
        string? line;
        while ((line = reader.ReadLine()) is not null) yield return line;
    }

    // ------------------------------------------------------------------ environments and repair

    /// <summary>
    /// Cheap check for pollers: true when the current run has written its exit code or its
    /// supervisor is gone (then <see cref="Reconcile"/> has something to record).
    /// </summary>
    public static bool MayHaveEnded(SwarmAgent a)
    {
        if (a.IsTerminal) return true;
        if (DetachedProcess.ExitRecorded(a.RunDirectory(a.Run))) return true;
        // Starting without a recorded supervisor for longer than a launch takes: whoever launched it
        // died between recording the agent and recording its supervisor (Reconcile decides: the
        // exit file if the supervisor ran, otherwise Lost).
        if (a.Supervisor is null)
        {
            if (a.Status != AgentStatus.Starting) return false;
            // A shared supervisor's subshell names itself in the status line: Reconcile records it (Running).
            if (new DetachedProcess(a.RunDirectory(a.Run)).Pid is not null) return true;
            return DateTimeOffset.UtcNow - a.UpdatedAt >= LaunchGrace;
        }
        return !ProcessIdentity.IsAlive(a.Supervisor);
    }

    /// <summary>How long an agent may be Starting without a recorded supervisor before it counts as Lost.</summary>
    internal static readonly TimeSpan LaunchGrace = TimeSpan.FromSeconds(30);

    /// <summary>Agents of a ticket that are still Starting or Running (after reconciling).</summary>
    public IReadOnlyList<SwarmAgent> ActiveAgents(string ticket) =>
        _swarm.Registry.ListAgents(ticket).Where(a => !a.IsTerminal).Select(a => Reconcile(a.Id)).Where(a => !a.IsTerminal).ToList();

    /// <summary>Reconciles every unfinished agent; reports those found Lost.</summary>
    public IReadOnlyList<SwarmRepairItem> Repair()
    {
        var items = new List<SwarmRepairItem>();
        foreach (var a in _swarm.Registry.ListAgents().Where(a => !a.IsTerminal))
        {
            var r = Reconcile(a.Id);
            if (r.Status != a.Status && r.Status == AgentStatus.Lost)
                items.Add(new SwarmRepairItem
                {
                    Kind = RepairIssueKind.StatusDrift, Provider = "agents", Ticket = a.Ticket, Path = a.Directory,
                    Description = $"Agent {a.Id} was {a.Status}, but its supervisor is gone without an exit code.", Action = "mark it Lost", Fixed = true,
                });
        }
        return items;
    }
}
