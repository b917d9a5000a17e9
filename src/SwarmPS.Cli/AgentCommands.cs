using System.CommandLine;
using System.Text;
using SwarmPS.Cli.Output;
using SwarmPS.Core;
using SwarmPS.Core.Agents;

namespace SwarmPS.Cli;

/// <summary>
/// <c>swarmps agent ...</c>: the CLI side of <see cref="AgentService"/> (the same calls the agent
/// cmdlets make). Parse, call, render; every rule lives in Core.
/// </summary>
internal sealed partial class CliApp
{
    private Command AgentCommand()
    {
        var agent = new Command("agent", "Start coding agents in environments, follow them, stop them, and send follow-ups.");
        agent.Subcommands.Add(AgentStart());
        agent.Subcommands.Add(AgentList());
        agent.Subcommands.Add(AgentGet());
        agent.Subcommands.Add(AgentWait());
        agent.Subcommands.Add(AgentStop());
        agent.Subcommands.Add(AgentSend());
        agent.Subcommands.Add(AgentLogs());
        agent.Subcommands.Add(AgentProfilesCommand());
        return agent;
    }

    private static Argument<string> AgentIdArgument() => new("ID") { Description = "The agent id (ag-xxxxxxxxxx), as 'swarmps agent list' shows it." };

    private static (Option<string?> Text, Option<string?> File) PromptOptions(Command cmd)
    {
        var text = new Option<string?>("--prompt") { Description = "The prompt text (passed to the agent byte-exact, never through a shell).", HelpName = "TEXT" };
        var file = new Option<string?>("--prompt-file") { Description = "A file whose bytes (UTF-8) are the prompt, exactly ('-' reads stdin).", HelpName = "F" };
        cmd.Options.Add(text);
        cmd.Options.Add(file);
        cmd.Validators.Add(r =>
        {
            if ((r.GetResult(text) is null) == (r.GetResult(file) is null))
                r.AddError("Give exactly one of --prompt TEXT or --prompt-file F.");
        });
        return (text, file);
    }

    /// <summary>
    /// The prompt: the --prompt text as given, or the --prompt-file bytes decoded as strict UTF-8
    /// (a byte order mark is kept as U+FEFF, so the agent receives exactly the file's bytes).
    /// </summary>
    internal static string ReadPrompt(string? text, string? file)
    {
        if (text is not null) return text;
        byte[] bytes;
        if (file == "-")
        {
            using var stdin = Console.OpenStandardInput();
            using var buffer = new MemoryStream();
            stdin.CopyTo(buffer);
            bytes = buffer.ToArray();
        }
        else
        {
            var full = Path.GetFullPath(file!);
            if (!File.Exists(full))
                throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"The prompt file '{Names.Describe(file!)}' does not exist.", file);
            bytes = File.ReadAllBytes(full);
        }
        try
        {
            return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException ex)
        {
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument,
                $"The prompt {(file == "-" ? "on stdin" : $"file '{Names.Describe(file!)}'")} is not valid UTF-8 (byte {ex.Index}).", file, ex);
        }
    }

    private Command AgentStart()
    {
        var ticket = TicketArgument();
        var profile = new Option<string>("--profile") { Description = "The agent profile: claude, codex, aider, opencode, gemini, cursor-agent, command, or one from config.json.", HelpName = "P", Required = true };
        var command = new Argument<string[]>("COMMAND")
        {
            Description = "For the command profile: the program and its arguments, after '--'. Run directly, not through a shell; the prompt is on its stdin and in $SWARM_PROMPT_FILE.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var cmd = new Command("start", "Start a coding agent in a ticket's environment; returns at once with the agent's id and status.") { ticket, profile, command };
        var (promptText, promptFile) = PromptOptions(cmd);
        Define(cmd, async inv =>
        {
            var argv = inv.Get(command) ?? Array.Empty<string>();
            var p = AgentProfiles.Get(inv.Service.Config, inv.Get(profile));
            if (argv.Length > 0 && p.Executable != AgentProfile.CommandExecutable)
                throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument,
                    $"The '{p.Name}' profile runs '{p.Executable}' itself; only the command profile takes a program after '--'.", inv.Get(ticket));
            var request = new AgentStartRequest
            {
                Ticket = Names.Ticket(inv.Get(ticket)),
                Profile = p.Name,
                Prompt = ReadPrompt(inv.Get(promptText), inv.Get(promptFile)),
                Command = argv.Length > 0 ? argv : null,
            };
            var a = await inv.Service.Agents.StartAsync(request, inv.Ct).ConfigureAwait(false);
            return inv.Emit(() => CliJson.Agent(a), w => HumanOutput.Agent(w, a));
        });
        return cmd;
    }

    private Command AgentList()
    {
        var ticket = new Option<string[]>("--ticket") { Description = "Only agents of tickets matching these wildcards (*, ?, [abc]; repeatable).", HelpName = "T" };
        var status = new Option<AgentStatus[]>("--status")
        {
            Description = $"Only agents in this status (repeatable or comma-separated): {string.Join(", ", Enum.GetNames<AgentStatus>())}.",
            HelpName = "S",
            CustomParser = r => ParseEnumNames<AgentStatus>(r, "status"),
        };
        status.CompletionSources.Add(Enum.GetNames<AgentStatus>());
        var cmd = new Command("list", "List agents (oldest first), each with its status reconciled against its supervisor.") { ticket, status };
        Define(cmd, inv =>
        {
            var list = inv.Service.Agents.List(
                inv.Get(ticket) is { Length: > 0 } ts ? ts : null,
                inv.Get(status) is { Length: > 0 } ss ? ss : null);
            return Task.FromResult(inv.Emit(() => CliJson.Agents(list), w => HumanOutput.Agents(w, list)));
        });
        return cmd;
    }

    private Command AgentGet()
    {
        var id = AgentIdArgument();
        var cmd = new Command("get", "Show one agent with its status reconciled against its supervisor.") { id };
        Define(cmd, inv =>
        {
            var a = inv.Service.Agents.Get(inv.Get(id));
            return Task.FromResult(inv.Emit(() => CliJson.Agent(a), w => HumanOutput.Agent(w, a)));
        });
        return cmd;
    }

    private Command AgentWait()
    {
        var ids = new Argument<string[]>("ID") { Description = "The agents to wait for.", Arity = ArgumentArity.OneOrMore };
        var timeout = new Option<double?>("--timeout") { Description = "Give up after this many seconds (exit 1, error id Timeout); the agents keep running.", HelpName = "S" };
        timeout.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<double?>() is { } t && (t < 0 || double.IsNaN(t) || double.IsInfinity(t)))
                r.AddError("--timeout must be a number of seconds, 0 or more.");
        });
        var any = new Option<bool>("--any") { Description = "Return as soon as one of them has finished (only the finished ones are printed)." };
        var cmd = new Command("wait", "Wait until the agents have finished (Succeeded, Failed, Stopped or Lost).") { ids, timeout, any };
        Define(cmd, async inv =>
        {
            var list = inv.Get(ids).Distinct(StringComparer.Ordinal).ToList();
            var t = inv.Get(timeout) is { } s ? TimeSpan.FromSeconds(s) : (TimeSpan?)null;
            try
            {
                var done = await inv.WithProgress("Waiting for agents", p => inv.Service.Agents.WaitAsync(list, t, inv.Get(any), p, inv.Ct)).ConfigureAwait(false);
                return inv.Emit(() => CliJson.Agents(done), w => HumanOutput.Agents(w, done));
            }
            catch (SwarmException ex) when (ex.ErrorId == ErrorIds.Timeout)
            {
                // Like a merge conflict: a result as well as an error. With --json, stdout still holds
                // the agents as they are now; the exit code and error line say the wait timed out.
                if (inv.Json) inv.Out.WriteLine(CliJson.Agents(list.Select(inv.Service.Agents.Get).ToList()));
                WriteError(ex.ErrorId, ex.MessageFor(FrontEnd.Cli), ex.Details);
                return ExitCodes.Failure;
            }
        });
        return cmd;
    }

    private Command AgentStop()
    {
        var id = AgentIdArgument();
        var cmd = new Command("stop", "Stop an agent: kill its whole process tree and record Stopped. A finished agent is shown as it is.") { id };
        Define(cmd, async inv =>
        {
            var a = await inv.WithProgress("Stopping agent", _ => inv.Service.Agents.StopAsync(inv.Get(id), inv.Ct)).ConfigureAwait(false);
            return inv.Emit(() => CliJson.Agent(a), w => HumanOutput.Agent(w, a));
        });
        return cmd;
    }

    private Command AgentSend()
    {
        var id = AgentIdArgument();
        var cmd = new Command("send", "Give a finished agent a follow-up prompt: the next run resumes its session in the same working directory.") { id };
        var (promptText, promptFile) = PromptOptions(cmd);
        Define(cmd, async inv =>
        {
            var prompt = ReadPrompt(inv.Get(promptText), inv.Get(promptFile));
            var a = await inv.Service.Agents.SendAsync(inv.Get(id), prompt, inv.Ct).ConfigureAwait(false);
            return inv.Emit(() => CliJson.Agent(a), w => HumanOutput.Agent(w, a));
        });
        return cmd;
    }

    private Command AgentLogs()
    {
        var id = AgentIdArgument();
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing new output until the agent finishes (Ctrl+C stops following; the agent keeps running)." };
        var tail = new Option<int?>("--tail") { Description = "Only the last N lines or messages (with --follow: to start with).", HelpName = "N" };
        tail.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is < 0) r.AddError("--tail must be 0 or more.");
        });
        var raw = new Option<bool>("--raw") { Description = "The raw log lines (stdout, then stderr) instead of the parsed messages." };
        var cmd = new Command("logs", "Show an agent's output over all its runs: parsed messages (init, text, tool, result, error, usage) or raw lines.") { id, follow, tail, raw };
        Define(cmd, async inv =>
        {
            var agentId = inv.Get(id);
            var isRaw = inv.Get(raw);
            var n = inv.Get(tail);
            var renderer = new HumanOutput.AgentOutputWriter(inv.Out, isRaw);
            if (!inv.Get(follow))
            {
                var list = inv.Service.Agents.ReadOutput(agentId, n, isRaw);
                return inv.Emit(() => CliJson.AgentOutput(list), _ => { foreach (var o in list) renderer.Write(o); });
            }
            inv.Service.Agents.RequireAgent(agentId);
            try
            {
                // One JSON object per line (NDJSON) with --json, flushed as it comes.
                await foreach (var o in inv.Service.Agents.FollowAsync(agentId, isRaw, n, inv.Ct).ConfigureAwait(false))
                {
                    if (inv.Json) inv.Out.WriteLine(CliJson.AgentOutputLine(o));
                    else renderer.Write(o);
                    inv.Out.Flush();
                }
            }
            catch (OperationCanceledException) when (inv.Ct.IsCancellationRequested)
            {
                // Ctrl+C ends following, like tail -f: nothing to roll back, no error line.
                return _cancelExitCode();
            }
            return ExitCodes.Success;
        });
        return cmd;
    }

    private Command AgentProfilesCommand()
    {
        var cmd = new Command("profiles", "List the agent profiles: built-in ones merged with those from config.json.");
        Define(cmd, inv =>
        {
            var list = inv.Service.Agents.GetProfiles();
            return Task.FromResult(inv.Emit(() => CliJson.AgentProfiles(list), w => HumanOutput.AgentProfiles(w, list)));
        });
        return cmd;
    }
}
