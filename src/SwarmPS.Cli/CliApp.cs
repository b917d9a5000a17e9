using System.CommandLine;
using System.Reflection;
using SwarmPS.Cli.Output;
using SwarmPS.Core;
using SwarmPS.Core.Providers;

namespace SwarmPS.Cli;

/// <summary>
/// The <c>swarmps</c> command tree. Deliberately thin: parse, call <see cref="SwarmService"/>,
/// render. Every rule (validation, routing, cleanup) lives in Core.
/// </summary>
internal sealed partial class CliApp
{
    private readonly TextWriter _out;
    private readonly TextWriter _err;
    private readonly Func<int> _cancelExitCode;

    private readonly Option<string?> _home = new("--home")
    {
        Description = "The SwarmPS home (registry, worktrees, logs). Overrides SWARMPS_HOME.",
        HelpName = "DIR",
        Recursive = true,
    };

    private readonly Option<bool> _json = new("--json")
    {
        Description = "Write only JSON to stdout (an object, or an array for lists).",
        Recursive = true,
    };

    public CliApp(TextWriter stdout, TextWriter stderr, Func<int>? cancelExitCode = null)
    {
        _out = stdout;
        _err = stderr;
        _cancelExitCode = cancelExitCode ?? (() => ExitCodes.Interrupted);
    }

    public static string Version =>
        typeof(CliApp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(CliApp).Assembly.GetName().Version?.ToString() ?? "0.0.0";

    public async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var root = BuildRoot();
        args = ExplicitEmptyValues(args);
        // No response files: "@name" is an ordinary (and then invalid) ticket, never a file to read.
        var parse = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parse.Errors.Count > 0)
        {
            var command = string.Join(' ', CommandPath(parse.CommandResult.Command));
            var messages = string.Join(' ', parse.Errors.Select(e => e.Message.Trim()).Distinct());
            WriteError(ExitCodes.UsageErrorId, $"{messages} See '{command} --help'.");
            return ExitCodes.Usage;
        }
        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration
            {
                Output = _out,
                Error = _err,
                // We handle Ctrl+C and exceptions ourselves (exit 130 / one error line).
                ProcessTerminationTimeout = null,
                EnableDefaultExceptionHandler = false,
            }, ct).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Only reachable from System.CommandLine's own actions (help, version).
            WriteError(ExitCodes.InternalErrorId, ex.Message);
            return ExitCodes.Failure;
        }
    }

    /// <summary>
    /// <c>--option=</c> (or <c>--option:</c>) is an explicit empty value. System.CommandLine would drop
    /// the empty text and take the next token as the value instead (<c>--prompt= --json</c> would
    /// start an agent with the prompt "--json"), so it becomes the two tokens <c>--option ""</c>.
    /// Tokens after <c>--</c> are passed through untouched.
    /// </summary>
    internal static string[] ExplicitEmptyValues(string[] args)
    {
        var result = new List<string>(args.Length + 1);
        var passThrough = false;
        foreach (var a in args)
        {
            if (!passThrough && a == "--") passThrough = true;
            if (!passThrough && a.Length > 3 && a.StartsWith("--", StringComparison.Ordinal) && a[^1] is '=' or ':'
                && a.AsSpan(2, a.Length - 3).IndexOfAny('=', ':') < 0)
            {
                result.Add(a[..^1]);
                result.Add("");
            }
            else
            {
                result.Add(a);
            }
        }
        return result.ToArray();
    }

    private static IEnumerable<string> CommandPath(Command command)
    {
        var names = new List<string>();
        for (Symbol? s = command; s is Command c; s = c.Parents.FirstOrDefault())
            names.Insert(0, c is RootCommand ? "swarmps" : c.Name);
        return names;
    }

    // ------------------------------------------------------------------ errors

    /// <summary>One line: "&lt;ErrorId&gt;: &lt;message&gt;", then optional detail lines indented by two spaces.</summary>
    internal void WriteError(string errorId, string message, IEnumerable<string>? details = null)
    {
        _err.WriteLine($"{errorId}: {OneLine(message)}");
        if (details is not null)
            foreach (var d in details)
                _err.WriteLine("  " + OneLine(d));
    }

    private static string OneLine(string s)
    {
        var lines = s.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return TextTable.Clean(string.Join(' ', lines));
    }

    private void Define(Command command, Func<Invocation, Task<int>> body) =>
        command.SetAction((parse, ct) => ExecuteAsync(parse, ct, body));

    private async Task<int> ExecuteAsync(ParseResult parse, CancellationToken ct, Func<Invocation, Task<int>> body)
    {
        try
        {
            var home = parse.GetValue(_home);
            if (parse.GetResult(_home) is not null && string.IsNullOrWhiteSpace(home))
                throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, "--home needs a directory.");
            return await body(new Invocation(this, parse, parse.GetValue(_json), home, ct)).ConfigureAwait(false);
        }
        catch (SwarmException ex) when (ex.Kind == SwarmErrorKind.Cancelled || ct.IsCancellationRequested)
        {
            WriteError(ErrorIds.OperationCancelled, "Cancelled; the operation was rolled back where it could be.");
            return _cancelExitCode();
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            WriteError(ErrorIds.OperationCancelled, "Cancelled; the operation was rolled back where it could be.");
            return _cancelExitCode();
        }
        catch (SwarmException ex)
        {
            WriteError(ex.ErrorId, ex.MessageFor(FrontEnd.Cli), ex.Details);
            return ExitCodes.For(ex);
        }
        catch (Exception ex)
        {
            WriteError(ExitCodes.InternalErrorId, $"{ex.GetType().Name}: {ex.Message}",
                string.IsNullOrEmpty(System.Environment.GetEnvironmentVariable("SWARMPS_DEBUG")) ? null : ex.ToString().Split('\n'));
            return ExitCodes.Failure;
        }
    }

    /// <summary>One command invocation: its parsed values, output mode and the service.</summary>
    private sealed class Invocation
    {
        private readonly CliApp _app;
        private SwarmService? _service;

        public Invocation(CliApp app, ParseResult parse, bool json, string? home, CancellationToken ct)
        {
            _app = app;
            Parse = parse;
            Json = json;
            Home = home;
            Ct = ct;
        }

        public ParseResult Parse { get; }
        public bool Json { get; }
        public string? Home { get; }
        public CancellationToken Ct { get; }
        public TextWriter Out => _app._out;
        public SwarmService Service => _service ??= SwarmService.Open(Home);
        public bool ShowProgress => !Json && ProgressDisplay.Available;

        public T Get<T>(Argument<T> a) => Parse.GetValue(a)!;
        public T? Get<T>(Option<T> o) => Parse.GetValue(o);

        /// <summary>Writes JSON (with --json) or the readable form, then returns 0.</summary>
        public int Emit(Func<string> json, Action<TextWriter> human)
        {
            if (Json) Out.WriteLine(json());
            else human(Out);
            return ExitCodes.Success;
        }

        public Task<T> WithProgress<T>(string activity, Func<IProgress<SwarmProgress>?, Task<T>> work) =>
            ProgressDisplay.RunAsync(ShowProgress, activity, work);
    }

    // ------------------------------------------------------------------ command tree

    private static Argument<string> TicketArgument() => new("TICKET") { Description = "The ticket (1-64 of [A-Za-z0-9._-], starting with a letter or digit)." };

    private RootCommand BuildRoot()
    {
        var root = new RootCommand("swarmps: run coding agents in isolated environments, one per ticket.");
        root.Options.Add(_home);
        root.Options.Add(_json);

        var env = new Command("env", "Create, inspect, checkpoint, diff, merge and remove environments.");
        env.Subcommands.Add(EnvNew());
        env.Subcommands.Add(EnvList());
        env.Subcommands.Add(EnvGet());
        env.Subcommands.Add(EnvStartStop(start: true));
        env.Subcommands.Add(EnvStartStop(start: false));
        env.Subcommands.Add(EnvRemove());
        env.Subcommands.Add(EnvCheckpoint());
        env.Subcommands.Add(EnvRestore());
        env.Subcommands.Add(EnvCheckpoints());
        env.Subcommands.Add(EnvRemoveCheckpoint());
        env.Subcommands.Add(EnvDiff());
        env.Subcommands.Add(EnvMerge());
        env.Subcommands.Add(EnvExec());
        env.Subcommands.Add(EnvConnection());
        env.Subcommands.Add(EnvSsh());
        root.Subcommands.Add(env);
        root.Subcommands.Add(AgentCommand());
        root.Subcommands.Add(TaskCommand());
        root.Subcommands.Add(QueueCommand());
        root.Subcommands.Add(WorkflowCommand());
        root.Subcommands.Add(DecomposeCommand());
        root.Subcommands.Add(EventsCommand());
        root.Subcommands.Add(ImageCommand());
        root.Subcommands.Add(SwarmCommand());
        root.Subcommands.Add(ProvidersCommand());
        root.Subcommands.Add(RepairCommand());
        root.Subcommands.Add(HostCommand());

        // --version, and --version --json.
        var version = root.Options.OfType<VersionOption>().FirstOrDefault();
        if (version is not null)
        {
            // Allow "--version --json" (the default validator rejects any other token).
            version.Validators.Clear();
            version.Action = new VersionAction(this);
        }
        return root;
    }

    private sealed class VersionAction : System.CommandLine.Invocation.SynchronousCommandLineAction
    {
        private readonly CliApp _app;
        public VersionAction(CliApp app) => _app = app;

        public override int Invoke(ParseResult parseResult)
        {
            _app._out.WriteLine(parseResult.GetValue(_app._json) ? CliJson.Version(Version) : Version);
            return ExitCodes.Success;
        }
    }

    private Command EnvNew()
    {
        var ticket = TicketArgument();
        var provider = new Option<string?>("--provider") { Description = "Provider to create it on (default: auto, which picks worktree).", HelpName = "P" };
        var repo = new Option<string?>("--repo") { Description = "Repository (any path inside it). Default: the current directory.", HelpName = "PATH" };
        var baseRef = new Option<string?>("--base") { Description = "Base ref to branch from. Default: HEAD.", HelpName = "REF" };
        var specFile = new Option<string?>("--spec-file") { Description = "File whose text becomes .swarm/spec.md ('-' reads stdin).", HelpName = "F" };
        var image = new Option<string?>("--image") { Description = "Image (docker) or registered base image (kvm, hyperv, tart).", HelpName = "IMG" };
        var cpus = new Option<int?>("--cpus") { Description = "CPUs for a container or VM.", HelpName = "N" };
        var memory = new Option<int?>("--memory-mb") { Description = "Memory in MiB for a container or VM.", HelpName = "M" };
        var noWorktree = new Option<bool>("--no-worktree") { Description = "docker: an image-only environment without a host worktree." };
        var noWait = new Option<bool>("--no-wait") { Description = "kvm: return once the VM runs, without waiting for its IP address and SSH." };
        var cmd = new Command("new", "Create an environment for a ticket.") { ticket, provider, repo, baseRef, specFile, image, cpus, memory, noWorktree, noWait };
        var forceCreate = new Option<bool>("--force") { Description = "Create even if the host would be oversubscribed beyond the ratios in config.json (\"host\"); see 'swarmps host'." };
        cmd.Options.Add(forceCreate);
        Define(cmd, async inv =>
        {
            var t = Names.Ticket(inv.Get(ticket));
            var request = new NewEnvironmentRequest
            {
                Ticket = t,
                Provider = inv.Get(provider),
                RepositoryPath = inv.Get(repo),
                BaseRef = inv.Get(baseRef),
                Spec = ReadSpec(inv.Get(specFile)),
                WorkingDirectory = System.Environment.CurrentDirectory,
                Image = inv.Get(image),
                Cpus = inv.Get(cpus),
                MemoryMb = inv.Get(memory),
                Options = inv.Get(noWorktree) ? new Dictionary<string, string> { ["noWorktree"] = "true" } : null,
                Force = inv.Get(forceCreate),
            };
            if (inv.Get(noWait)) request = request.WithOption(SwarmPS.Core.Providers.Kvm.KvmProvider.OptionNoWait, "true");
            var e = await inv.WithProgress("Creating environment", p => inv.Service.NewEnvironmentAsync(request, p, inv.Ct)).ConfigureAwait(false);
            return inv.Emit(() => CliJson.Environment(e), w => HumanOutput.Environment(w, e));
        });
        return cmd;
    }

    private static string? ReadSpec(string? file)
    {
        if (file is null) return null;
        if (file == "-") return Console.In.ReadToEnd();
        var full = Path.GetFullPath(file);
        if (!File.Exists(full))
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"The spec file '{Names.Describe(file)}' does not exist.", file);
        return File.ReadAllText(full);
    }

    private Command EnvList()
    {
        var patterns = new Argument<string[]>("TICKET-PATTERN") { Description = "Only tickets matching these wildcards (*, ?, [abc]); case-insensitive.", Arity = ArgumentArity.ZeroOrMore };
        var provider = new Option<string[]>("--provider") { Description = "Only environments on this provider (repeatable).", HelpName = "P" };
        var status = new Option<EnvironmentStatus[]>("--status")
        {
            Description = $"Only environments in this status (repeatable or comma-separated): {string.Join(", ", Enum.GetNames<EnvironmentStatus>())}.",
            HelpName = "S",
            CustomParser = ParseStatuses,
        };
        status.CompletionSources.Add(Enum.GetNames<EnvironmentStatus>());
        var cmd = new Command("list", "List environments (oldest first) with their live status.") { patterns, provider, status };
        Define(cmd, async inv =>
        {
            var filter = new EnvironmentFilter
            {
                Tickets = inv.Get(patterns) is { Length: > 0 } ts ? ts : null,
                Providers = inv.Get(provider) is { Length: > 0 } ps ? ps : null,
                Statuses = inv.Get(status) is { Length: > 0 } ss ? ss : null,
            };
            var list = await inv.Service.GetEnvironmentsAsync(filter, live: true, inv.Ct).ConfigureAwait(false);
            return inv.Emit(() => CliJson.Environments(list), w => HumanOutput.Environments(w, list));
        });
        return cmd;
    }

    /// <summary>Status names, case-insensitive, repeatable or comma-separated; numbers are not names.</summary>
    private static EnvironmentStatus[] ParseStatuses(System.CommandLine.Parsing.ArgumentResult result) => ParseEnumNames<EnvironmentStatus>(result, "status");

    /// <summary>Enum names, case-insensitive, repeatable or comma-separated; numbers are not names.</summary>
    internal static T[] ParseEnumNames<T>(System.CommandLine.Parsing.ArgumentResult result, string what) where T : struct, Enum
    {
        var list = new List<T>();
        foreach (var part in result.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.TrimEntries)))
        {
            var name = Enum.GetNames<T>().FirstOrDefault(n => string.Equals(n, part, StringComparison.OrdinalIgnoreCase));
            if (name is null)
            {
                result.AddError($"Unknown {what} '{Names.Describe(part)}'; expected one of {string.Join(", ", Enum.GetNames<T>())}.");
                return Array.Empty<T>();
            }
            list.Add(Enum.Parse<T>(name));
        }
        return list.ToArray();
    }

    private Command EnvGet()
    {
        var ticket = TicketArgument();
        var cmd = new Command("get", "Show one environment with its live status.") { ticket };
        Define(cmd, async inv =>
        {
            var row = inv.Service.GetEnvironment(inv.Get(ticket));
            // A valid ticket has no wildcard characters, so this matches exactly that row, with live status.
            var live = await inv.Service.GetEnvironmentsAsync(new EnvironmentFilter { Tickets = new[] { row.Ticket } }, live: true, inv.Ct).ConfigureAwait(false);
            var e = live.FirstOrDefault(x => string.Equals(x.Ticket, row.Ticket, StringComparison.OrdinalIgnoreCase)) ?? row;
            return inv.Emit(() => CliJson.Environment(e), w => HumanOutput.Environment(w, e));
        });
        return cmd;
    }

    private Command EnvStartStop(bool start)
    {
        var ticket = TicketArgument();
        var cmd = new Command(start ? "start" : "stop", start ? "Start a stopped environment." : "Stop an environment.") { ticket };
        var force = new Option<bool>("--force", "-f") { Description = "Stop at once, without a graceful shutdown (kvm: destroy instead of ACPI shutdown)." };
        if (!start) cmd.Options.Add(force);
        Define(cmd, async inv =>
        {
            var t = inv.Get(ticket);
            var e = await inv.WithProgress(start ? "Starting environment" : "Stopping environment", p => start
                ? inv.Service.StartEnvironmentAsync(t, p, inv.Ct)
                : inv.Service.StopEnvironmentAsync(t, inv.Get(force), p, inv.Ct)).ConfigureAwait(false);
            return inv.Emit(() => CliJson.Environment(e), w => HumanOutput.Environment(w, e));
        });
        return cmd;
    }

    private Command EnvRemove()
    {
        var ticket = TicketArgument();
        var force = new Option<bool>("--force", "-f") { Description = "Remove even with uncommitted or unmerged work (it is lost)." };
        var keepBranch = new Option<bool>("--keep-branch") { Description = "Keep the swarm/<ticket> branch." };
        var cmd = new Command("rm", "Remove an environment: worktree, branch, checkpoints, ports and row.") { ticket, force, keepBranch };
        Define(cmd, async inv =>
        {
            var options = new RemoveOptions { Force = inv.Get(force), KeepBranch = inv.Get(keepBranch) };
            var e = await inv.WithProgress("Removing environment", p => inv.Service.RemoveEnvironmentAsync(inv.Get(ticket), options, p, inv.Ct)).ConfigureAwait(false);
            return inv.Emit(() => CliJson.Environment(e), w =>
            {
                var branch = e.Branch is null ? "" : options.KeepBranch ? $"; branch {e.Branch} kept" : $"; branch {e.Branch} deleted";
                w.WriteLine($"Removed {e.Ticket} ({e.Provider}): {e.WorkspacePath}{branch}; ports {e.Ports} freed.");
            });
        });
        return cmd;
    }

    private Command EnvCheckpoint()
    {
        var ticket = TicketArgument();
        var name = new Argument<string?>("NAME") { Description = "Checkpoint name. Default: a UTC timestamp.", Arity = ArgumentArity.ZeroOrOne };
        var cmd = new Command("checkpoint", "Save the complete working state of an environment.") { ticket, name };
        Define(cmd, async inv =>
        {
            var c = await inv.WithProgress("Checkpoint", p => inv.Service.CheckpointAsync(inv.Get(ticket), inv.Get(name), p, inv.Ct)).ConfigureAwait(false);
            return inv.Emit(() => CliJson.Checkpoint(c), w => w.WriteLine($"Saved checkpoint '{c.Name}' of {c.Ticket} ({c.ProviderReference})."));
        });
        return cmd;
    }

    private Command EnvRestore()
    {
        var ticket = TicketArgument();
        var name = new Argument<string?>("NAME") { Description = "Checkpoint to restore. Default: the latest.", Arity = ArgumentArity.ZeroOrOne };
        var cmd = new Command("restore", "Bring an environment back to exactly a checkpoint's state.") { ticket, name };
        Define(cmd, async inv =>
        {
            var c = await inv.WithProgress("Restore", p => inv.Service.RestoreAsync(inv.Get(ticket), inv.Get(name), p, inv.Ct)).ConfigureAwait(false);
            return inv.Emit(() => CliJson.Checkpoint(c), w => w.WriteLine($"Restored {c.Ticket} to checkpoint '{c.Name}'."));
        });
        return cmd;
    }

    private Command EnvCheckpoints()
    {
        var ticket = TicketArgument();
        var cmd = new Command("checkpoints", "List the checkpoints of an environment (oldest first).") { ticket };
        Define(cmd, inv =>
        {
            var t = inv.Get(ticket);
            var list = inv.Service.GetCheckpoints(t);
            return Task.FromResult(inv.Emit(() => CliJson.Checkpoints(list), w => HumanOutput.Checkpoints(w, t, list)));
        });
        return cmd;
    }

    private Command EnvRemoveCheckpoint()
    {
        var ticket = TicketArgument();
        var name = new Argument<string>("NAME") { Description = "The checkpoint to delete." };
        var cmd = new Command("rm-checkpoint", "Delete a checkpoint.") { ticket, name };
        Define(cmd, async inv =>
        {
            var c = await inv.Service.RemoveCheckpointAsync(inv.Get(ticket), inv.Get(name), inv.Ct).ConfigureAwait(false);
            return inv.Emit(() => CliJson.Checkpoint(c), w => w.WriteLine($"Removed checkpoint '{c.Name}' of {c.Ticket}."));
        });
        return cmd;
    }

    private Command EnvDiff()
    {
        var ticket = TicketArgument();
        var cmd = new Command("diff", "Show the environment's work against its base: commits plus uncommitted changes.") { ticket };
        Define(cmd, async inv =>
        {
            var d = await inv.WithProgress("Computing diff", _ => inv.Service.DiffAsync(inv.Get(ticket), inv.Ct)).ConfigureAwait(false);
            return inv.Emit(() => CliJson.Diff(d), w => HumanOutput.Diff(w, d));
        });
        return cmd;
    }

    private Command EnvMerge()
    {
        var ticket = TicketArgument();
        var message = new Option<string?>("--message", "-m") { Description = "Merge commit message.", HelpName = "M" };
        var into = new Option<string?>("--into") { Description = "Branch to merge into. Default: the branch the environment was created from.", HelpName = "BRANCH" };
        var cmd = new Command("merge", "Merge the environment's branch back into its base branch.") { ticket, message, into };
        Define(cmd, async inv =>
        {
            var m = await inv.WithProgress("Merging", _ => inv.Service.MergeAsync(inv.Get(ticket), inv.Get(message), inv.Get(into), inv.Ct)).ConfigureAwait(false);
            if (m.Merged || m.UpToDate)
                return inv.Emit(() => CliJson.Merge(m), w => HumanOutput.Merge(w, m));
            // A conflict is a result, not an exception, in Core: the JSON still reports it, and
            // the exit code and error line say the merge did not happen.
            if (inv.Json) inv.Out.WriteLine(CliJson.Merge(m));
            var files = m.ConflictingFiles.Count == 0 ? "(git named no files)" : string.Join(", ", m.ConflictingFiles);
            WriteError(ErrorIds.MergeConflict,
                $"Merging {m.Branch} into {m.TargetBranch} conflicts in {m.ConflictingFiles.Count} file(s): {files}. Nothing was changed; resolve it in the environment (for example merge {m.TargetBranch} into {m.Branch}) and merge again.");
            return ExitCodes.Failure;
        });
        return cmd;
    }

    private Command EnvExec()
    {
        var ticket = TicketArgument();
        var command = new Argument<string[]>("COMMAND") { Description = "The program and its arguments, after '--'. Run directly, not through a shell.", Arity = ArgumentArity.OneOrMore };
        var cmd = new Command("exec", "Run a command inside an environment; exit with its exit code.") { ticket, command };
        Define(cmd, async inv =>
        {
            var r = await inv.Service.ExecAsync(inv.Get(ticket), inv.Get(command), standardInput: null, inv.Ct).ConfigureAwait(false);
            if (inv.Json)
            {
                inv.Out.WriteLine(CliJson.Exec(r));
            }
            else
            {
                inv.Out.Write(r.StandardOutput);
                inv.Out.Flush();
                _err.Write(r.StandardError);
                _err.Flush();
            }
            return r.ExitCode;
        });
        return cmd;
    }

    private Command EnvConnection()
    {
        var ticket = TicketArgument();
        var cmd = new Command("connection", "Show how to reach an environment.") { ticket };
        Define(cmd, async inv =>
        {
            var c = await inv.Service.GetConnectionAsync(inv.Get(ticket), inv.Ct).ConfigureAwait(false);
            return inv.Emit(() => CliJson.Connection(c), w => HumanOutput.Connection(w, c));
        });
        return cmd;
    }

    private Command ProvidersCommand()
    {
        var cmd = new Command("providers", "List the providers, whether each is available here, and what it can do.");
        Define(cmd, async inv =>
        {
            var list = await inv.Service.GetProvidersAsync(inv.Ct).ConfigureAwait(false);
            return inv.Emit(() => CliJson.Providers(list), w => HumanOutput.Providers(w, list));
        });
        return cmd;
    }

    private Command RepairCommand()
    {
        var fix = new Option<bool>("--fix") { Description = "Fix what is found (default: only report)." };
        var cmd = new Command("repair", "Reconcile the registry with reality after a crash or a hand deletion.") { fix };
        Define(cmd, async inv =>
        {
            var f = inv.Get(fix);
            var items = await inv.WithProgress("Repair", p => inv.Service.RepairAsync(f, p, inv.Ct)).ConfigureAwait(false);
            return inv.Emit(() => CliJson.Repair(items), w => HumanOutput.Repair(w, items, f));
        });
        return cmd;
    }
}
