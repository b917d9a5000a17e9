using System.Globalization;
using System.Text;
using SwarmPS.Core;
using SwarmPS.Core.Agents;
using SwarmPS.Core.Decomposition;
using SwarmPS.Core.Registry;
using SwarmPS.Core.Tasks;

namespace SwarmPS.Cli.Output;

/// <summary>The readable (non --json) rendering of each result. Plain text, no ANSI.</summary>
internal static class HumanOutput
{
    private static string Time(DateTimeOffset t) =>
        t == default ? "" : t.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    private static string Short(string? commit) => commit is { Length: > 12 } ? commit[..12] : commit ?? "";

    public static void Environment(TextWriter w, SwarmEnvironment e)
    {
        var baseCommit = e.Metadata.GetValueOrDefault("baseCommit");
        var baseBranch = e.Metadata.GetValueOrDefault("baseBranch");
        TextTable.WriteDetails(w, new (string, string?)[]
        {
            ("Ticket", e.Ticket),
            ("Status", e.Status.ToString()),
            ("Provider", e.Provider),
            ("Branch", e.Branch),
            ("Base", string.IsNullOrEmpty(baseCommit) ? e.BaseRef : $"{e.BaseRef} ({Short(baseCommit)})"),
            ("Merges into", baseBranch),
            ("Workspace", e.WorkspacePath),
            ("Repository", e.RepositoryPath),
            ("Address", e.Address),
            ("Ports", e.Ports.Count > 0 ? $"{e.Ports} ({e.Ports.Count})" : null),
            ("Instance", e.InstanceId != e.WorkspacePath ? e.InstanceId : null),
            ("Created", Time(e.CreatedAt)),
            ("Updated", Time(e.UpdatedAt)),
        });
    }

    public static void Environments(TextWriter w, IReadOnlyList<SwarmEnvironment> list)
    {
        if (list.Count == 0)
        {
            w.WriteLine("No environments.");
            return;
        }
        var t = new TextTable("TICKET", "STATUS", "PROVIDER", "PORTS", "BRANCH", "CREATED", "WORKSPACE");
        foreach (var e in list)
            t.Add(e.Ticket, e.Status.ToString(), e.Provider, e.Ports.ToString(), e.Branch, Time(e.CreatedAt), e.WorkspacePath);
        t.Write(w);
    }

    public static void Checkpoints(TextWriter w, string ticket, IReadOnlyList<SwarmCheckpoint> list)
    {
        if (list.Count == 0)
        {
            w.WriteLine($"No checkpoints for {ticket}.");
            return;
        }
        var t = new TextTable("NAME", "CREATED", "REFERENCE");
        foreach (var c in list) t.Add(c.Name, Time(c.CreatedAt), c.ProviderReference);
        t.Write(w);
    }

    public static void Providers(TextWriter w, IReadOnlyList<SwarmProviderInfo> list)
    {
        var t = new TextTable("NAME", "AVAILABLE", "DEFAULT", "CAPABILITIES", "NOTES");
        foreach (var p in list)
            t.Add(p.Name, p.Available ? "yes" : "no", p.IsDefault ? "yes" : "", string.Join(",", p.CapabilityNames),
                p.Available ? p.Description : p.Reason);
        t.Write(w);
    }

    public static void BaseImage(TextWriter w, SwarmBaseImage i)
    {
        TextTable.WriteDetails(w, new (string, string?)[]
        {
            ("Name", i.Name),
            ("Provider", i.Provider),
            ("Path", i.Path),
            ("OS", i.OsNote),
            ("SSH user", i.SshUser),
            ("CPUs", i.Cpus.ToString(CultureInfo.InvariantCulture)),
            ("Memory", $"{i.MemoryMb.ToString(CultureInfo.InvariantCulture)} MiB"),
            ("Disk", i.DiskGb == 0 ? "the base's size" : $"{i.DiskGb.ToString(CultureInfo.InvariantCulture)} GiB"),
            ("Kernel", i.KernelPath),
            ("Initrd", i.InitrdPath),
            ("Cmdline", i.KernelCommandLine),
            ("Created", Time(i.CreatedAt)),
        });
    }

    public static void BaseImages(TextWriter w, IReadOnlyList<SwarmBaseImage> list)
    {
        if (list.Count == 0)
        {
            w.WriteLine("No base images.");
            return;
        }
        var t = new TextTable("NAME", "PROVIDER", "CPUS", "MEMORY", "DISK", "OS", "PATH");
        foreach (var i in list)
            t.Add(i.Name, i.Provider, i.Cpus.ToString(CultureInfo.InvariantCulture), $"{i.MemoryMb.ToString(CultureInfo.InvariantCulture)} MiB",
                i.DiskGb == 0 ? "base" : $"{i.DiskGb.ToString(CultureInfo.InvariantCulture)} GiB", i.OsNote, i.Path);
        t.Write(w);
    }

    public static void Diff(TextWriter w, SwarmDiff d)
    {
        if (d.Patch.Length > 0)
        {
            w.Write(d.Patch);
            if (!d.Patch.EndsWith('\n')) w.WriteLine();
        }
        var against = $"{d.BaseRef} ({Short(d.BaseCommit)})";
        if (d.Files.Count == 0)
        {
            w.WriteLine($"{d.Ticket}: no changes against {against}.");
            return;
        }
        var parts = new List<string>
        {
            $"{d.Files.Count} file{(d.Files.Count == 1 ? "" : "s")} changed, +{d.Additions} -{d.Deletions} against {against}",
            $"{d.Commits.Count} commit{(d.Commits.Count == 1 ? "" : "s")}",
        };
        if (d.HasUncommittedChanges) parts.Add("uncommitted changes included");
        w.WriteLine($"{d.Ticket}: {string.Join("; ", parts)}.");
    }

    public static void Merge(TextWriter w, SwarmMergeResult m)
    {
        if (m.Merged) w.WriteLine($"Merged {m.Branch} into {m.TargetBranch}: commit {Short(m.Commit)}.");
        else if (m.UpToDate) w.WriteLine($"Nothing to merge: {m.TargetBranch} already contains {m.Branch}.");
        if (m.UncommittedChangesLeft)
            w.WriteLine($"Note: {m.Ticket} has uncommitted changes; they were not part of the merge. Commit them in the environment and merge again.");
    }

    public static void Connection(TextWriter w, SwarmConnection c)
    {
        TextTable.WriteDetails(w, new (string, string?)[]
        {
            ("Ticket", c.Ticket),
            ("Provider", c.Provider),
            ("Host", c.Host),
            ("Port", c.Port?.ToString(CultureInfo.InvariantCulture)),
            ("User", c.User),
            ("Key", c.KeyPath),
            ("KnownHosts", c.KnownHostsPath),
            ("Directory", c.WorkingDirectory),
        });
    }

    public static void Repair(TextWriter w, IReadOnlyList<SwarmRepairItem> items, bool fix)
    {
        if (items.Count == 0)
        {
            w.WriteLine("No problems found: the registry matches every available provider.");
            return;
        }
        var t = new TextTable("KIND", "PROVIDER", "TICKET", "FIXED", "ACTION", "DESCRIPTION");
        foreach (var i in items) t.Add(i.Kind.ToString(), i.Provider, i.Ticket, i.Fixed ? "yes" : "no", i.Action, i.Path is null ? i.Description : $"{i.Description} ({i.Path})");
        t.Write(w);
        var open = items.Count(i => !i.Fixed);
        if (!fix && open > 0) w.WriteLine($"{items.Count} problem(s) found; 'swarmps repair --fix' fixes them.");
        else w.WriteLine($"{items.Count(i => i.Fixed)} of {items.Count} problem(s) fixed.");
    }

    // ------------------------------------------------------------------ agents

    private static string Time(DateTimeOffset? t) => t is { } v ? Time(v) : "";

    private static string Cost(decimal? usd) => usd is { } c ? "$" + c.ToString("0.####", CultureInfo.InvariantCulture) : "";

    private static string Kb(long? kb) => kb is { } k ? string.Create(CultureInfo.InvariantCulture, $"{k / 1024.0:0.0} MB ({k} KiB)") : "";

    public static void Agent(TextWriter w, SwarmAgent a)
    {
        var tokens = a.InputTokens + a.OutputTokens + a.CacheReadTokens > 0
            ? $"{a.InputTokens} in, {a.OutputTokens} out, {a.CacheReadTokens} cache read"
            : null;
        TextTable.WriteDetails(w, new (string, string?)[]
        {
            ("Id", a.Id),
            ("Ticket", a.Ticket),
            ("Profile", a.Profile),
            ("Status", a.Status.ToString()),
            ("Run", a.Run.ToString(CultureInfo.InvariantCulture)),
            ("Session", a.SessionId),
            ("Pid", a.Pid?.ToString(CultureInfo.InvariantCulture)),
            ("Exit code", a.ExitCode?.ToString(CultureInfo.InvariantCulture)),
            ("Turns", a.Turns > 0 ? a.Turns.ToString(CultureInfo.InvariantCulture) : null),
            ("Tool calls", a.ToolCalls > 0 ? a.ToolCalls.ToString(CultureInfo.InvariantCulture) : null),
            ("Tokens", tokens),
            ("Cost", Cost(a.CostUsd)),
            ("Result", a.Result),
            ("Error", a.Error),
            ("Supervisor", a.Supervisor),
            ("Supervisor memory", Kb(a.SupervisorMemoryKb)),
            ("Working dir", a.WorkingDirectory),
            ("Logs", a.Directory),
            ("Created", Time(a.CreatedAt)),
            ("Started", Time(a.StartedAt)),
            ("Ended", Time(a.EndedAt)),
        });
    }

    public static void Agents(TextWriter w, IReadOnlyList<SwarmAgent> list)
    {
        if (list.Count == 0)
        {
            w.WriteLine("No agents.");
            return;
        }
        var t = new TextTable("ID", "TICKET", "PROFILE", "STATUS", "RUN", "EXIT", "TURNS", "COST", "STARTED", "ENDED");
        foreach (var a in list)
            t.Add(a.Id, a.Ticket, a.Profile, a.Status.ToString(), a.Run.ToString(CultureInfo.InvariantCulture), a.ExitCode?.ToString(CultureInfo.InvariantCulture),
                a.Turns.ToString(CultureInfo.InvariantCulture), Cost(a.CostUsd), Time(a.StartedAt), Time(a.EndedAt));
        t.Write(w);
    }

    public static void AgentProfiles(TextWriter w, IReadOnlyList<AgentProfile> list)
    {
        var t = new TextTable("NAME", "EXECUTABLE", "PROMPT", "OUTPUT", "RESUME", "SOURCE", "DESCRIPTION");
        foreach (var p in list)
            t.Add(p.Name, p.Executable == AgentProfile.CommandExecutable ? "(argv after --)" : p.Executable, p.PromptDelivery.ToString(), p.OutputFormat.ToString(),
                p.ResumeArguments is null ? "no" : "yes", p.BuiltIn ? "built-in" : "config", p.Description);
        t.Write(w);
    }

    // ------------------------------------------------------------------ tasks, queue, events

    private static string Seconds(int? s) => s is { } v ? v.ToString(CultureInfo.InvariantCulture) + "s" : "";

    public static void Task(TextWriter w, SwarmTask t)
    {
        TextTable.WriteDetails(w, new (string, string?)[]
        {
            ("Id", t.Id),
            ("Title", t.Title),
            ("Status", t.Status.ToString()),
            ("Priority", t.Priority.ToString()),
            ("Depends on", t.DependsOn.Count > 0 ? string.Join(", ", t.DependsOn) : null),
            ("Run after failure", t.RunAfterFailure ? "yes" : null),
            ("Profile", t.Profile),
            ("Command", t.Command is { Count: > 0 } c ? string.Join(' ', c.Select(a => a.Contains(' ', StringComparison.Ordinal) || a.Length == 0 ? $"'{a}'" : a)) : null),
            ("Ticket", t.Ticket),
            ("Environment", t.Ticket is null ? t.EnvironmentTicket ?? $"(new: {t.Provider ?? "default provider"}{(t.Base is null ? "" : ", base " + t.Base)})" : null),
            ("Repository", t.Ticket is null ? t.RepositoryPath : null),
            ("Cleanup", t.Ticket is null ? t.Cleanup.ToString() : null),
            ("Attempts", $"{t.Attempts} of {t.MaxAttempts}" + (t.MaxAttempts > 1 ? $" (back-off {t.RetryBackoffSeconds}s, doubling)" : "")),
            ("Timeout", Seconds(t.TimeoutSeconds)),
            ("Agents", t.AgentIds.Count > 0 ? string.Join(", ", t.AgentIds) : null),
            ("Result", t.Result),
            ("Error", t.Error),
            ("Cost", Cost(t.CostUsd)),
            ("Not before", Time(t.NotBefore)),
            ("Created", Time(t.CreatedAt)),
            ("Started", Time(t.StartedAt)),
            ("Ended", Time(t.EndedAt)),
            ("Prompt", t.Prompt.Length > 200 ? t.Prompt[..197] + "..." : t.Prompt),
        });
    }

    public static void Tasks(TextWriter w, IReadOnlyList<SwarmTask> list)
    {
        if (list.Count == 0)
        {
            w.WriteLine("No tasks.");
            return;
        }
        var t = new TextTable("ID", "STATUS", "PRIORITY", "PROFILE", "ATTEMPTS", "DEPENDS ON", "CREATED", "TITLE");
        foreach (var x in list)
            t.Add(x.Id, x.Status.ToString(), x.Priority.ToString(), x.Profile, $"{x.Attempts}/{x.MaxAttempts}", string.Join(",", x.DependsOn), Time(x.CreatedAt), x.Title);
        t.Write(w);
    }

    /// <summary>One line per task as the scheduler reports it finished.</summary>
    public static void FinishedTask(TextWriter w, SwarmTask t)
    {
        var detail = t.Status == SwarmTaskStatus.Succeeded ? t.Result : t.Error;
        if (detail is { Length: > 120 }) detail = detail[..117] + "...";
        var cost = t.CostUsd is null ? "" : "  " + Cost(t.CostUsd);
        w.WriteLine(TextTable.Clean($"{t.Status,-9}  {t.Id}  {t.Title}{cost}{(string.IsNullOrEmpty(detail) ? "" : "  -- " + detail)}"));
    }

    public static void QueueSummary(TextWriter w, QueueRunSummary s)
    {
        var counts = string.Join(", ", s.Counts.Where(kv => kv.Value > 0).Select(kv => $"{kv.Value} {kv.Key.ToString().ToLowerInvariant()}"));
        w.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{(s.Drained ? "Queue drained" : "Scheduler stopped")} after {s.Duration.TotalSeconds:0.0}s: {s.Dispatched} dispatched, {s.Finished} finished. Queue: {(counts.Length == 0 ? "empty" : counts)}."));
    }

    public static void QueueStatus(TextWriter w, SwarmQueueStatus s)
    {
        TextTable.WriteDetails(w, new (string, string?)[]
        {
            ("Scheduler", s.Running ? "running" : "not running"),
            ("Process", s.Running ? s.Holder : null),
            ("Logs", s.LogDirectory),
            ("Tasks", string.Join(", ", s.Counts.Select(kv => $"{kv.Key} {kv.Value}"))),
        });
    }

    public static void Queued(TextWriter w, string source, IReadOnlyList<SwarmTask> added)
    {
        w.WriteLine($"Queued {added.Count} task(s) from {source}:");
        Tasks(w, added);
    }

    public static void TaskSpecs(TextWriter w, DecompositionResult r)
    {
        var t = new TextTable("NAME", "PRIORITY", "PROFILE", "DEPENDS ON", "TITLE");
        foreach (var s in r.Tasks) t.Add(s.Name, s.Priority.ToString(), s.Profile, string.Join(",", s.DependsOn), s.Title);
        t.Write(w);
        var tokens = r.InputTokens is null && r.OutputTokens is null ? "" : $", {r.InputTokens} in / {r.OutputTokens} out tokens";
        w.WriteLine($"{r.Tasks.Count} task(s) planned by {DecompositionBackends.ToName(r.Backend)} ({r.Model}{tokens}{(r.CostUsd is null ? "" : ", " + Cost(r.CostUsd))}). Add them with --add, or with --json into Add-SwarmTask.");
    }

    public static void Events(TextWriter w, IReadOnlyList<SwarmEvent> list)
    {
        if (list.Count == 0)
        {
            w.WriteLine("No events.");
            return;
        }
        var t = new TextTable("ID", "TIME", "KIND", "SUBJECT", "OLD", "NEW", "DETAILS");
        foreach (var e in list) t.Add(e.Id.ToString(CultureInfo.InvariantCulture), Time(e.Time), e.Kind, e.Subject, e.OldStatus, e.NewStatus, e.Details);
        t.Write(w);
    }

    public static void EventLine(TextWriter w, SwarmEvent e) =>
        w.WriteLine(TextTable.Clean($"{e.Id}  {Time(e.Time)}  {e.Kind}  {e.Subject}  {e.OldStatus ?? "-"} -> {e.NewStatus ?? "-"}{(string.IsNullOrEmpty(e.Details) ? "" : "  " + e.Details)}"));

    /// <summary>
    /// Agent output as text: raw lines as they are (stderr lines marked), parsed messages as
    /// "[kind] text"; a "--- run N" line where a follow-up's run begins. Control characters other
    /// than tab are shown as \uXXXX, so an agent's ANSI colours never reach our stdout.
    /// </summary>
    internal sealed class AgentOutputWriter
    {
        private readonly TextWriter _w;
        private readonly bool _raw;
        private int _run;

        public AgentOutputWriter(TextWriter w, bool raw)
        {
            _w = w;
            _raw = raw;
        }

        public void Write(SwarmAgentOutput o)
        {
            if (_run != 0 && o.Run != _run) _w.WriteLine($"--- run {o.Run}");
            _run = o.Run;
            var text = Visible(o.Text ?? "");
            if (_raw || o.Kind == "raw")
            {
                _w.WriteLine(o.Stream == "stderr" ? "[stderr] " + text : text);
                return;
            }
            var body = o.Tool is null ? text : text.Length == 0 ? Visible(o.Tool) : $"{Visible(o.Tool)}: {text}";
            _w.WriteLine($"[{o.Kind}] {body}");
        }

        private static string Visible(string s)
        {
            if (!s.Any(c => char.IsControl(c) && c != '\t')) return s;
            var sb = new StringBuilder(s.Length + 8);
            foreach (var c in s)
            {
                if (char.IsControl(c) && c != '\t') sb.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
                else sb.Append(c);
            }
            return sb.ToString();
        }
    }
}
