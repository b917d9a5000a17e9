using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using SwarmPS.Cli.Output;
using SwarmPS.Core;
using SwarmPS.Core.Swarms;

namespace SwarmPS.Cli;

/// <summary>The --json shapes of <c>swarmps swarm</c> (camelCase, enums as strings).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(Swarm))]
[JsonSerializable(typeof(IReadOnlyList<Swarm>))]
[JsonSerializable(typeof(SwarmInjection))]
[JsonSerializable(typeof(SwarmResponse))]
[JsonSerializable(typeof(IReadOnlyList<SwarmResponse>))]
internal sealed partial class SwarmJsonContext : JsonSerializerContext
{
}

/// <summary>Serializes the swarm shapes (relaxed encoder: stdout is not HTML).</summary>
internal static class SwarmJson
{
    private static readonly JsonSerializerOptions Relaxed = new(SwarmJsonContext.Default.Options) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, (JsonTypeInfo<T>)Relaxed.GetTypeInfo(typeof(T))!);
}

/// <summary>
/// <c>swarmps swarm launch|inject|responses|status|list|terminate</c>: the CLI side of
/// <see cref="SwarmClusterService"/> (the calls Start-Swarm, Send-SwarmPrompt, Receive-SwarmResponse,
/// Get-Swarm and Stop-Swarm make). Parse, call, render; every rule lives in Core.
/// </summary>
internal sealed partial class CliApp
{
    private Command SwarmCommand()
    {
        var swarm = new Command("swarm", "Agent swarms on Slurm: N worker nodes (one job array) answering injected prompts.");
        swarm.Subcommands.Add(SwarmLaunch());
        swarm.Subcommands.Add(SwarmInject());
        swarm.Subcommands.Add(SwarmResponses());
        swarm.Subcommands.Add(SwarmStatusCommand("status", "Poll Slurm (one squeue call for all swarms) and show each swarm with its nodes."));
        swarm.Subcommands.Add(SwarmStatusCommand("list", "List the swarms (one squeue call for all of them) with their status."));
        swarm.Subcommands.Add(SwarmTerminate());
        return swarm;
    }

    private static Argument<string> SwarmIdArgument() => new("ID") { Description = "The swarm id, as 'swarmps swarm list' shows it." };

    private Command SwarmLaunch()
    {
        var nodes = new Option<int>("--nodes") { Description = "Number of worker nodes (array tasks), 1-10000.", HelpName = "N", Required = true };
        var prompt = new Option<string>("--prompt") { Description = "The system prompt every node prepends to each injected prompt (written to a file; never part of the batch script).", HelpName = "SYS", Required = true };
        var profile = new Option<string>("--profile") { Description = "The agent profile: claude, codex, aider, opencode, gemini, cursor-agent, command, or one from config.json.", HelpName = "P", Required = true };
        var workdir = new Option<string?>("--workdir") { Description = "A directory on the shared filesystem; the swarm's directory is made under it (default: slurm.sharedDirectory, else SWARMPS_HOME/swarms).", HelpName = "DIR" };
        var partition = new Option<string?>("--partition") { Description = "Overrides slurm.partition from config.json for this swarm.", HelpName = "P" };
        var time = new Option<string?>("--time-limit") { Description = "Slurm time limit (min, h:m:s, d-h:m:s); overrides slurm.timeLimit.", HelpName = "T" };
        var ttl = new Option<int?>("--node-ttl") { Description = "Seconds without a heartbeat before a node is dead (default slurm.nodeTtlSeconds, 120).", HelpName = "S" };
        var command = new Argument<string[]>("COMMAND")
        {
            Description = "For the command profile: the program and its arguments, after '--'. Run directly on each node, not through a shell; the prompt is on its stdin and in $SWARM_PROMPT_FILE.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var cmd = new Command("launch", "Submit one Slurm job array: N nodes each running the SwarmPS worker with the agent profile.") { nodes, prompt, profile, workdir, partition, time, ttl, command };
        Define(cmd, async inv =>
        {
            var argv = inv.Get(command) ?? Array.Empty<string>();
            var s = await inv.Service.Swarms.StartAsync(new SwarmLaunchRequest
            {
                Nodes = inv.Get(nodes), Prompt = inv.Get(prompt) ?? "", Profile = inv.Get(profile)!, Command = argv.Length > 0 ? argv : null,
                WorkDir = inv.Get(workdir), Partition = inv.Get(partition), TimeLimit = inv.Get(time), NodeTtlSeconds = inv.Get(ttl),
                WorkingDirectory = Environment.CurrentDirectory,
            }, null, inv.Ct).ConfigureAwait(false);
            return inv.Emit(() => SwarmJson.Serialize(s), w => SwarmDetails(w, s));
        });
        return cmd;
    }

    private Command SwarmInject()
    {
        var id = SwarmIdArgument();
        var node = new Option<int?>("--node") { Description = "Only this node (0-based); default every node.", HelpName = "K" };
        var injection = new Option<string?>("--id") { Description = "The injection id (default: generated; 1-64 of [A-Za-z0-9._-], unique in the swarm).", HelpName = "I" };
        var cmd = new Command("inject", "Inject a prompt into every node of a swarm (or one); prints the injection id.") { id, node, injection };
        var (promptText, promptFile) = PromptOptions(cmd);
        Define(cmd, inv =>
        {
            var i = inv.Service.Swarms.Inject(inv.Get(id), ReadPrompt(inv.Get(promptText), inv.Get(promptFile)), inv.Get(node), inv.Get(injection));
            return Task.FromResult(inv.Emit(() => SwarmJson.Serialize(i),
                w => w.WriteLine($"Injected {i.InjectionId} into swarm {i.SwarmId} (node{(i.Nodes.Count == 1 ? "" : "s")} {string.Join(",", i.Nodes)}).")));
        });
        return cmd;
    }

    private Command SwarmResponses()
    {
        var id = SwarmIdArgument();
        var injection = new Option<string?>("--injection") { Description = "Only the responses to this injection.", HelpName = "I" };
        var wait = new Option<bool>("--wait") { Description = "Wait until every targeted node answered (nodes dead by heartbeat are not waited for)." };
        var timeout = new Option<double?>("--timeout") { Description = "With --wait: give up after S seconds (exit code of a timeout, the answers that arrived are printed).", HelpName = "S" };
        var cmd = new Command("responses", "Print the per-node responses (node, injection id, text, exit status, cost), as they arrive with --wait.") { id, injection, wait, timeout };
        Define(cmd, async inv =>
        {
            var t = inv.Get(timeout) is { } s ? TimeSpan.FromSeconds(s) : (TimeSpan?)null;
            var list = new List<SwarmResponse>();
            try
            {
                await foreach (var r in inv.Service.Swarms.ReceiveAsync(inv.Get(id), inv.Get(injection), inv.Get(wait), t, inv.Ct).ConfigureAwait(false))
                {
                    list.Add(r);
                    if (!inv.Json) SwarmResponseText(inv.Out, r); // human output streams as answers arrive
                }
            }
            finally
            {
                if (inv.Json) inv.Out.WriteLine(SwarmJson.Serialize<IReadOnlyList<SwarmResponse>>(list));
            }
            return ExitCodes.Success;
        });
        return cmd;
    }

    private Command SwarmStatusCommand(string name, string description)
    {
        var ids = new Argument<string[]>("ID-PATTERN") { Description = "Only swarms matching these wildcards (*, ?, [abc]).", Arity = ArgumentArity.ZeroOrMore };
        var cmd = new Command(name, description) { ids };
        Define(cmd, async inv =>
        {
            var patterns = inv.Get(ids) is { Length: > 0 } p ? p : null;
            var list = await inv.Service.Swarms.GetAsync(patterns, true, inv.Ct).ConfigureAwait(false);
            return inv.Emit(() => SwarmJson.Serialize(list), w =>
            {
                var t = new TextTable("ID", "STATUS", "JOB", "NODES", "PROFILE", "CREATED", "DIRECTORY");
                foreach (var s in list)
                    t.Add(s.SwarmId, s.Status.ToString(), s.JobId, NodeSummary(s), s.Profile, s.CreatedAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture), s.Directory);
                t.Write(w);
                if (name == "status")
                    foreach (var s in list.Where(s => s.Nodes.Count > 0))
                    {
                        w.WriteLine();
                        var n = new TextTable("SWARM", "NODE", "STATUS", "SLURM", "HOST", "HEARTBEAT", "RESPONSES");
                        foreach (var x in s.Nodes)
                            n.Add(s.SwarmId, x.Node.ToString(CultureInfo.InvariantCulture), x.Status.ToString(), x.JobState ?? "-", x.Host ?? "-",
                                x.LastHeartbeat is { } hb ? $"{(DateTimeOffset.UtcNow - hb).TotalSeconds:0}s ago" : "-", x.Responses.ToString(CultureInfo.InvariantCulture));
                        n.Write(w);
                    }
            });
        });
        return cmd;
    }

    private Command SwarmTerminate()
    {
        var id = SwarmIdArgument();
        var keep = new Option<bool>("--keep-files") { Description = "Keep the swarm's directory (prompts, responses, logs); default: delete it." };
        var cmd = new Command("terminate", "scancel the swarm's job array, wait until squeue no longer runs it, and clean up its directory.") { id, keep };
        Define(cmd, async inv =>
        {
            var s = await inv.Service.Swarms.StopAsync(inv.Get(id), inv.Get(keep), inv.Ct).ConfigureAwait(false);
            return inv.Emit(() => SwarmJson.Serialize(s), w => w.WriteLine($"Terminated swarm {s.SwarmId} (job {s.JobId ?? "-"})."));
        });
        return cmd;
    }

    private static string NodeSummary(Swarm s) => s.Nodes.Count == 0
        ? s.NodeCount.ToString(CultureInfo.InvariantCulture)
        : $"{s.NodeCount} ({string.Join(", ", s.Nodes.GroupBy(n => n.Status).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key.ToString().ToLowerInvariant()}"))})";

    private static void SwarmDetails(TextWriter w, Swarm s)
    {
        w.WriteLine($"Swarm      {s.SwarmId}");
        w.WriteLine($"Status     {s.Status}");
        w.WriteLine($"Job        {s.JobId}");
        w.WriteLine($"Nodes      {s.NodeCount}");
        w.WriteLine($"Profile    {s.Profile}");
        w.WriteLine($"Directory  {s.Directory}");
    }

    private static void SwarmResponseText(TextWriter w, SwarmResponse r)
    {
        var cost = r.CostUsd is { } c ? "$" + c.ToString("0.####", CultureInfo.InvariantCulture) : "-";
        w.WriteLine($"== node {r.Node}  {r.InjectionId}  exit {r.ExitCode}  cost {cost}");
        w.Write(r.Response);
        if (!r.Response.EndsWith('\n')) w.WriteLine();
    }
}
