using System.CommandLine;
using System.Globalization;
using SwarmPS.Cli.Output;
using SwarmPS.Core;
using SwarmPS.Core.Agents;
using SwarmPS.Core.Decomposition;
using SwarmPS.Core.Tasks;
using SwarmPS.Core.Workflows;

namespace SwarmPS.Cli;

/// <summary>
/// <c>swarmps task|queue|workflow|decompose|events</c>: the CLI side of the durable task queue
/// (issue 5). The same Core calls the queue cmdlets make; parse, call, render.
/// </summary>
internal sealed partial class CliApp
{
    // ------------------------------------------------------------------ task

    private Command TaskCommand()
    {
        var task = new Command("task", "Add tasks to the durable queue, list, show, cancel and remove them.");
        task.Subcommands.Add(TaskAdd());
        task.Subcommands.Add(TaskList());
        task.Subcommands.Add(TaskGet());
        task.Subcommands.Add(TaskCancel());
        task.Subcommands.Add(TaskRemove());
        return task;
    }

    private static Argument<string> TaskIdArgument() => new("ID") { Description = "The task id (t-xxxxxxxx[-name]), as 'swarmps task list' shows it." };

    private static Option<int?> PositiveInt(string name, string description, int min)
    {
        var o = new Option<int?>(name) { Description = description, HelpName = "N" };
        o.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is { } v && v < min) r.AddError($"{name} must be at least {min}.");
        });
        return o;
    }

    private Command TaskAdd()
    {
        var title = new Option<string>("--title") { Description = "A short title.", HelpName = "T", Required = true };
        var name = new Option<string?>("--name") { Description = "A handle that becomes the id's suffix (t-xxxxxxxx-NAME); ticket naming rules.", HelpName = "NAME" };
        var priority = new Option<TaskPriority?>("--priority")
        {
            Description = "Low, Normal (default), High or Critical: higher is dispatched first, oldest first within a priority.",
            HelpName = "P",
            CustomParser = r => ParseEnumNames<TaskPriority>(r, "priority") is [var p] ? p : null,
        };
        priority.CompletionSources.Add(Enum.GetNames<TaskPriority>());
        var dependsOn = new Option<string[]>("--depends-on") { Description = "A task id this one waits for (repeatable or comma-separated).", HelpName = "ID", AllowMultipleArgumentsPerToken = false };
        var profile = new Option<string?>("--profile") { Description = "The agent profile (default: claude). 'swarmps agent profiles' lists them.", HelpName = "P" };
        var ticket = new Option<string?>("--ticket") { Description = "Run in this existing environment. Without it, a new environment is created for the task.", HelpName = "T" };
        var provider = new Option<string?>("--provider") { Description = "Provider of the per-task environment (default: the default provider).", HelpName = "P" };
        var baseRef = new Option<string?>("--base") { Description = "Base ref of the per-task environment (default: HEAD).", HelpName = "REF" };
        var repo = new Option<string?>("--repo") { Description = "Repository of the per-task environment (default: the current directory, recorded now).", HelpName = "PATH" };
        var maxAttempts = PositiveInt("--max-attempts", "Attempts before the task fails for good (default 1).", 1);
        var backoff = PositiveInt("--retry-backoff", "Seconds before the first retry; each later one waits twice as long (default 30).", 0);
        var timeout = PositiveInt("--timeout", "Stop the agent and count a failed attempt after this many seconds.", 1);
        var runAfterFailure = new Option<bool>("--run-after-failure") { Description = "Run once the dependencies have ended, even when one failed." };
        var cleanup = new Option<EnvironmentCleanup?>("--cleanup")
        {
            Description = "What happens to a per-task environment: KeepOnFailure (default: removed on success), Remove, Keep.",
            HelpName = "C",
            CustomParser = r => ParseEnumNames<EnvironmentCleanup>(r, "cleanup policy") is [var c] ? c : null,
        };
        cleanup.CompletionSources.Add(Enum.GetNames<EnvironmentCleanup>());
        var command = new Argument<string[]>("COMMAND")
        {
            Description = "For the command profile: the program and its arguments, after '--'. Run directly, not through a shell.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var cmd = new Command("add", "Add one task to the queue; prints it (Blocked until its dependencies succeed, otherwise Queued).")
        {
            title, name, priority, dependsOn, profile, ticket, provider, baseRef, repo, maxAttempts, backoff, timeout, runAfterFailure, cleanup, command,
        };
        var (promptText, promptFile) = PromptOptions(cmd);
        cmd.Validators.Add(r =>
        {
            if (r.GetResult(ticket) is not null && (r.GetResult(provider) is not null || r.GetResult(baseRef) is not null || r.GetResult(repo) is not null))
                r.AddError("--ticket runs in an existing environment; --provider, --base and --repo describe a new one. Give one or the other.");
        });
        Define(cmd, inv =>
        {
            var argv = inv.Get(command) ?? Array.Empty<string>();
            var profileName = inv.Get(profile) ?? "claude";
            var p = AgentProfiles.Get(inv.Service.Config, profileName);
            if (argv.Length > 0 && p.Executable != AgentProfile.CommandExecutable)
                throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument,
                    $"The '{p.Name}' profile runs '{p.Executable}' itself; only the command profile takes a program after '--'.");
            var t = inv.Get(ticket);
            var spec = new TaskSpec
            {
                Name = inv.Get(name),
                Title = inv.Get(title)!,
                Prompt = ReadPrompt(inv.Get(promptText), inv.Get(promptFile)),
                Priority = inv.Get(priority) ?? TaskPriority.Normal,
                DependsOn = (inv.Get(dependsOn) ?? Array.Empty<string>()).SelectMany(d => d.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).ToList(),
                RunAfterFailure = inv.Get(runAfterFailure),
                Ticket = t is null ? null : Names.Ticket(t),
                Provider = inv.Get(provider),
                Base = inv.Get(baseRef),
                // The scheduler may run elsewhere (queue start): the repository is fixed now.
                RepositoryPath = t is null ? Path.GetFullPath(inv.Get(repo) ?? System.Environment.CurrentDirectory) : null,
                Profile = p.Name,
                Command = argv.Length > 0 ? argv.ToList() : null,
                TimeoutSeconds = inv.Get(timeout),
                MaxAttempts = inv.Get(maxAttempts) ?? 1,
                RetryBackoffSeconds = inv.Get(backoff) ?? 30,
                Cleanup = inv.Get(cleanup) ?? EnvironmentCleanup.KeepOnFailure,
            };
            var added = inv.Service.Tasks.Add(new[] { spec })[0];
            return Task.FromResult(inv.Emit(() => CliJson.Task(added), w => HumanOutput.Task(w, added)));
        });
        return cmd;
    }

    private Command TaskList()
    {
        var patterns = new Argument<string[]>("ID-PATTERN") { Description = "Only ids matching these wildcards (*, ?, [abc]).", Arity = ArgumentArity.ZeroOrMore };
        var status = new Option<SwarmTaskStatus[]>("--status")
        {
            Description = $"Only tasks in this status (repeatable or comma-separated): {string.Join(", ", Enum.GetNames<SwarmTaskStatus>())}.",
            HelpName = "S",
            CustomParser = r => ParseEnumNames<SwarmTaskStatus>(r, "status"),
        };
        status.CompletionSources.Add(Enum.GetNames<SwarmTaskStatus>());
        var cmd = new Command("list", "List tasks in queue order (oldest first).") { patterns, status };
        Define(cmd, inv =>
        {
            var list = inv.Service.Tasks.List(new TaskFilter
            {
                Ids = inv.Get(patterns) is { Length: > 0 } ids ? ids : null,
                Statuses = inv.Get(status) is { Length: > 0 } ss ? ss : null,
            });
            return Task.FromResult(inv.Emit(() => CliJson.Tasks(list), w => HumanOutput.Tasks(w, list)));
        });
        return cmd;
    }

    private Command TaskGet()
    {
        var id = TaskIdArgument();
        var cmd = new Command("get", "Show one task.") { id };
        Define(cmd, inv =>
        {
            var t = inv.Service.Tasks.Get(inv.Get(id));
            return Task.FromResult(inv.Emit(() => CliJson.Task(t), w => HumanOutput.Task(w, t)));
        });
        return cmd;
    }

    private Command TaskCancel()
    {
        var id = TaskIdArgument();
        var cmd = new Command("cancel", "Cancel a task: a waiting one never starts, a running one has its agent stopped; dependents are skipped. A finished task is shown as it is.") { id };
        Define(cmd, async inv =>
        {
            var t = await inv.Service.Tasks.CancelAsync(inv.Get(id), inv.Ct).ConfigureAwait(false);
            return inv.Emit(() => CliJson.Task(t), w => HumanOutput.Task(w, t));
        });
        return cmd;
    }

    private Command TaskRemove()
    {
        var id = TaskIdArgument();
        var force = new Option<bool>("--force", "-f") { Description = "Remove even a running task or one with waiting dependents (they lose the dependency)." };
        var cmd = new Command("rm", "Remove a task from the registry (cancel a running one first).") { id, force };
        Define(cmd, inv =>
        {
            var t = inv.Service.Tasks.Remove(inv.Get(id), inv.Get(force));
            return Task.FromResult(inv.Emit(() => CliJson.Task(t), w => w.WriteLine($"Removed task {t.Id} ({t.Status}).")));
        });
        return cmd;
    }

    // ------------------------------------------------------------------ queue

    private Command QueueCommand()
    {
        var queue = new Command("queue", "Run the scheduler: in the foreground (run) or detached (start, stop, status).");
        queue.Subcommands.Add(QueueRun());
        queue.Subcommands.Add(QueueStart());
        queue.Subcommands.Add(QueueStop());
        queue.Subcommands.Add(QueueStatusCommand());
        return queue;
    }

    private static Option<int> MaxParallelOption() => new("--max-parallel", "-p")
    {
        Description = "Tasks running at once (default 4).",
        HelpName = "N",
        DefaultValueFactory = _ => 4,
        Validators = { r => { if (r.GetValueOrDefault<int>() < 1) r.AddError("--max-parallel must be at least 1."); } },
    };

    private Command QueueRun()
    {
        var maxParallel = MaxParallelOption();
        var keepRunning = new Option<bool>("--keep-running") { Description = "Keep serving after the queue drains, until 'swarmps queue stop' or Ctrl+C." };
        var cmd = new Command("run", "Dispatch ready tasks (priority order, oldest first) until the queue drains; prints each task as it finishes. Exit 1 when a task failed.") { maxParallel, keepRunning };
        Define(cmd, inv => RunQueueAsync(inv, inv.Get(maxParallel), exitWhenDrained: !inv.Get(keepRunning)));
        return cmd;
    }

    /// <summary>
    /// Runs the scheduler in this process. Finished tasks go to stdout as they end (NDJSON with
    /// --json, nothing else); exit 0 when no task failed during this run, 1 (TasksFailed) otherwise,
    /// 130/143 on Ctrl+C/SIGTERM (running agents keep running; the next scheduler adopts them).
    /// </summary>
    private async Task<int> RunQueueAsync(Invocation inv, int maxParallel, bool exitWhenDrained)
    {
        var failed = new List<string>();
        var writer = inv.Out;
        var summary = await inv.WithProgress("Running the task queue", p => inv.Service.RunQueueAsync(new SchedulerOptions
        {
            MaxParallel = maxParallel,
            ExitWhenDrained = exitWhenDrained,
            Progress = p,
            OnTaskFinished = t =>
            {
                if (t.Status == SwarmTaskStatus.Failed) failed.Add(t.Id);
                if (inv.Json) writer.WriteLine(CliJson.TaskLine(t));
                else HumanOutput.FinishedTask(writer, t);
                writer.Flush();
            },
        }, inv.Ct)).ConfigureAwait(false);
        if (inv.Ct.IsCancellationRequested)
        {
            WriteError(ErrorIds.OperationCancelled, "Stopped dispatching; running agents keep running and the next scheduler adopts them.");
            return _cancelExitCode();
        }
        if (!inv.Json) HumanOutput.QueueSummary(writer, summary);
        if (failed.Count > 0)
        {
            WriteError(ExitCodes.TasksFailedErrorId, $"{failed.Count} task(s) failed in this run: {string.Join(", ", failed)}.");
            return ExitCodes.Failure;
        }
        return ExitCodes.Success;
    }

    private Command QueueStart()
    {
        var maxParallel = MaxParallelOption();
        var exitWhenDrained = new Option<bool>("--exit-when-drained") { Description = "Let the detached scheduler end once the queue drains (default: it keeps serving until 'queue stop')." };
        var cmd = new Command("start", "Start the scheduler detached (it outlives this shell); returns once it serves the registry.") { maxParallel, exitWhenDrained };
        Define(cmd, async inv =>
        {
            var (fileName, args) = SchedulerCommandLine(inv.Service.Home.Path, inv.Get(maxParallel), !inv.Get(exitWhenDrained));
            var s = await inv.WithProgress("Starting the scheduler", _ => inv.Service.Queue.StartDetachedAsync(fileName, args, ct: inv.Ct)).ConfigureAwait(false);
            return inv.Emit(() => CliJson.QueueStatus(s), w => HumanOutput.QueueStatus(w, s));
        });
        return cmd;
    }

    /// <summary>
    /// This same CLI as a scheduler command line: the running executable (the apphost), or the dotnet
    /// host plus swarmps.dll when run as <c>dotnet swarmps.dll</c>.
    /// </summary>
    internal static (string FileName, IReadOnlyList<string> Arguments) SchedulerCommandLine(string home, int maxParallel, bool keepRunning)
    {
        var exe = System.Environment.ProcessPath ?? throw new SwarmException(ErrorIds.ProcessFailed, SwarmErrorKind.OperationFailed, "Cannot tell which program this is (no process path).");
        var args = new List<string>();
        var host = Path.GetFileNameWithoutExtension(exe);
        if (string.Equals(host, "dotnet", StringComparison.OrdinalIgnoreCase))
        {
            var dll = typeof(CliApp).Assembly.Location;
            if (string.IsNullOrEmpty(dll)) throw new SwarmException(ErrorIds.ProcessFailed, SwarmErrorKind.OperationFailed, "Cannot find swarmps.dll to start the scheduler with.");
            args.Add(dll);
        }
        args.AddRange(new[] { "queue", "run", "--max-parallel", maxParallel.ToString(CultureInfo.InvariantCulture), "--home", home });
        if (keepRunning) args.Add("--keep-running");
        return (exe, args);
    }

    private Command QueueStop()
    {
        var cmd = new Command("stop", "Ask the running scheduler to stop (between dispatches; running agents keep running) and wait until it has.");
        Define(cmd, async inv =>
        {
            var was = await inv.WithProgress("Stopping the scheduler", _ => inv.Service.Queue.StopAsync(ct: inv.Ct)).ConfigureAwait(false);
            var s = inv.Service.Queue.Status();
            return inv.Emit(() => CliJson.QueueStatus(s), w =>
            {
                w.WriteLine(was ? "Scheduler stopped." : "No scheduler was running.");
            });
        });
        return cmd;
    }

    private Command QueueStatusCommand()
    {
        var cmd = new Command("status", "Whether a scheduler serves this registry (and which process), with task counts per status.");
        Define(cmd, inv =>
        {
            var s = inv.Service.Queue.Status();
            return Task.FromResult(inv.Emit(() => CliJson.QueueStatus(s), w => HumanOutput.QueueStatus(w, s)));
        });
        return cmd;
    }

    // ------------------------------------------------------------------ workflow

    private Command WorkflowCommand()
    {
        var workflow = new Command("workflow", "Queue and run YAML workflows (schema: docs/workflows.md).");
        var file = new Argument<string>("FILE") { Description = "The workflow file (YAML)." };
        var queueOnly = new Option<bool>("--queue-only") { Description = "Only queue the tasks; run them later with 'swarmps queue run' or 'queue start'." };
        var maxParallel = MaxParallelOption();
        var run = new Command("run", "Queue a workflow's tasks atomically (all or none), then run the queue until it drains.") { file, queueOnly, maxParallel };
        Define(run, async inv =>
        {
            var wf = WorkflowParser.ParseFile(inv.Get(file));
            var only = inv.Get(queueOnly);
            if (!only && inv.Service.Queue.Status() is { Running: true } s)
                throw new SwarmException(ErrorIds.SchedulerRunning, SwarmErrorKind.InvalidState,
                    $"A scheduler (process {s.Holder}) already serves this registry; nothing was queued. Use --queue-only to hand the tasks to it.");
            var added = inv.Service.Tasks.Add(wf.Tasks);
            if (only) return inv.Emit(() => CliJson.Tasks(added), w => HumanOutput.Queued(w, inv.Get(file), added));
            if (!inv.Json)
            {
                HumanOutput.Queued(inv.Out, inv.Get(file), added);
                inv.Out.Flush();
            }
            return await RunQueueAsync(inv, inv.Get(maxParallel), exitWhenDrained: true).ConfigureAwait(false);
        });
        workflow.Subcommands.Add(run);
        return workflow;
    }

    // ------------------------------------------------------------------ decompose

    private Command DecomposeCommand()
    {
        var query = new Option<string>("--query", "-q") { Description = "The request to split into tasks.", HelpName = "TEXT", Required = true };
        var context = new Option<string?>("--context") { Description = "Background for the model (code layout, constraints).", HelpName = "TEXT" };
        var backend = new Option<string>("--backend")
        {
            Description = $"The model service: {string.Join(", ", DecompositionBackends.Names)}. Keys: ANTHROPIC_API_KEY, OPENAI_API_KEY, GEMINI_API_KEY (or GOOGLE_API_KEY); claude-cli uses the CLI's own login.",
            HelpName = "B",
            Required = true,
        };
        backend.CompletionSources.Add(DecompositionBackends.Names.ToArray());
        var model = new Option<string?>("--model") { Description = "Model id (default per backend).", HelpName = "M" };
        var timeout = PositiveInt("--timeout", "Seconds per request (default 180).", 1);
        var baseUrl = new Option<string?>("--base-url") { Description = "API root replacing the backend's public one (proxies, local servers).", HelpName = "URL" };
        var add = new Option<bool>("--add") { Description = "Add the planned tasks to the queue (atomically) and print the added tasks instead of the specs." };
        var cmd = new Command("decompose", "Ask an LLM to split a request into task specs with dependencies; print them, or add them with --add.")
        {
            query, context, backend, model, timeout, baseUrl, add,
        };
        Define(cmd, async inv =>
        {
            Uri? root = null;
            if (inv.Get(baseUrl) is { } u && (!Uri.TryCreate(u, UriKind.Absolute, out root) || root.Scheme is not ("http" or "https")))
                throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"--base-url must be an absolute http(s) URL, not '{Names.Describe(u)}'.");
            var request = new DecompositionRequest
            {
                Query = inv.Get(query)!,
                Context = inv.Get(context),
                Backend = DecompositionBackends.Parse(inv.Get(backend)),
                Model = inv.Get(model),
                Timeout = inv.Get(timeout) is { } t ? TimeSpan.FromSeconds(t) : null,
                BaseUrl = root,
                WorkingDirectory = System.Environment.CurrentDirectory,
            };
            var service = new DecompositionService(new DecompositionServiceOptions());
            var result = await inv.WithProgress("Decomposing", _ => service.DecomposeAsync(request, inv.Ct)).ConfigureAwait(false);
            if (!inv.Get(add))
                return inv.Emit(() => CliJson.TaskSpecs(result.Tasks), w => HumanOutput.TaskSpecs(w, result));
            // Per-task environments are created from this directory's repository, whichever shell runs the scheduler.
            foreach (var s in result.Tasks)
                if (s.Ticket is null && s.RepositoryPath is null) s.RepositoryPath = System.Environment.CurrentDirectory;
            var added = inv.Service.Tasks.Add(result.Tasks);
            return inv.Emit(() => CliJson.Tasks(added), w => HumanOutput.Queued(w, $"{DecompositionBackends.ToName(result.Backend)} ({result.Model})", added));
        });
        return cmd;
    }

    // ------------------------------------------------------------------ events

    private Command EventsCommand()
    {
        var since = new Option<DateTimeOffset?>("--since")
        {
            Description = "Only events at or after this time (ISO 8601, for example 2025-03-04T05:06:07Z).",
            HelpName = "TIME",
            CustomParser = r =>
            {
                var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
                if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var v)) return v;
                r.AddError($"--since needs an ISO 8601 time, not '{Names.Describe(text)}'.");
                return null;
            },
        };
        var kind = new Option<string[]>("--kind") { Description = "Only events of this kind: environment, agent, task, swarm (repeatable or comma-separated).", HelpName = "K" };
        kind.CompletionSources.Add(new[] { EventKinds.Environment, EventKinds.Agent, EventKinds.Task, EventKinds.Swarm });
        var after = new Option<long?>("--after-id") { Description = "Only events after this id (resume a stream).", HelpName = "ID" };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing new events as they are appended, until Ctrl+C." };
        var cmd = new Command("events", "The event log: every state change of environments, agents, tasks and swarms, oldest first.") { since, kind, after, follow };
        Define(cmd, async inv =>
        {
            var kinds = inv.Get(kind) is { Length: > 0 } ks
                ? ks.SelectMany(k => k.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).Select(k => k.ToLowerInvariant()).ToList()
                : null;
            var s = inv.Get(since);
            var afterId = inv.Get(after) ?? 0;
            if (!inv.Get(follow))
            {
                var list = inv.Service.Events.Get(s, kinds, afterId);
                return inv.Emit(() => CliJson.Events(list), w => HumanOutput.Events(w, list));
            }
            inv.Service.Events.Get(s, kinds, long.MaxValue); // validates the kinds before streaming
            try
            {
                await foreach (var e in inv.Service.Events.FollowAsync(s, kinds, afterId, ct: inv.Ct).ConfigureAwait(false))
                {
                    if (inv.Json) inv.Out.WriteLine(CliJson.EventLine(e));
                    else HumanOutput.EventLine(inv.Out, e);
                    inv.Out.Flush();
                }
            }
            catch (OperationCanceledException) when (inv.Ct.IsCancellationRequested)
            {
            }
            // Like 'agent logs --follow': Ctrl+C ends following, no error line.
            return _cancelExitCode();
        });
        return cmd;
    }
}
