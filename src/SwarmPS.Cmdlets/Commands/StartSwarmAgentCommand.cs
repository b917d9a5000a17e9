using System.Management.Automation;
using System.Text;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core;
using SwarmPS.Core.Agents;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>
/// Starts a coding agent in each ticket's environment and returns it at once (status Starting or
/// Running); a detached supervisor owns the agent from then on.
/// </summary>
/// <remarks>
/// Only <c>-Ticket</c> binds from the pipeline, so <c>Get-SwarmEnvironment | Start-SwarmAgent</c>
/// takes the environment's Ticket and nothing else (a SwarmEnvironment's Status or Provider must never
/// bind to a parameter here).
/// </remarks>
[Cmdlet(VerbsLifecycle.Start, "SwarmAgent", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = PromptSet)]
[OutputType(typeof(SwarmAgent))]
public sealed class StartSwarmAgentCommand : SwarmCmdlet
{
    public const string PromptSet = "Prompt";
    public const string PromptPathSet = "PromptPath";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(TicketCompleter))]
    public string[] Ticket { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true, Position = 1)]
    [ArgumentCompleter(typeof(AgentProfileCompleter))]
    public string Profile { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = PromptSet)]
    public string Prompt { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = PromptPathSet)]
    public string PromptPath { get; set; } = "";

    [Parameter]
    public string[]? Command { get; set; }

    private string? _prompt;

    protected override void ProcessRecord()
    {
        var prompt = _prompt ??= ParameterSetName == PromptPathSet ? ReadPromptFile(PromptPath) : Prompt;
        foreach (var raw in Ticket)
        {
            if (!TryTicket(raw, out var ticket)) continue;
            var what = Command is { Length: > 0 } ? $"Start agent (profile {Profile}: {string.Join(' ', Command)})" : $"Start agent (profile {Profile})";
            if (!ShouldProcessItem(ticket, what)) continue;
            var request = new AgentStartRequest { Ticket = ticket, Profile = Profile, Prompt = prompt, Command = Command };
            if (TryItem(ticket, () => Run((_, ct) => Service.Agents.StartAsync(request, ct)), out var agent))
                WriteObject(agent);
        }
    }

    /// <summary>
    /// Reads the prompt file (relative to the current PowerShell location) as UTF-8, byte-exact apart
    /// from a leading BOM. A missing file or bytes that are not UTF-8 terminate with InvalidArgument.
    /// </summary>
    private string ReadPromptFile(string path)
    {
        var full = ResolvePathOrTerminate(path, nameof(PromptPath));
        try
        {
            var bytes = File.ReadAllBytes(full);
            var start = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0;
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes, start, bytes.Length - start);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or DecoderFallbackException)
        {
            var reason = ex is DecoderFallbackException ? "it is not UTF-8 text" : ex.Message;
            Terminate(new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"Cannot read the prompt file '{full}': {reason}", full, ex), full);
            throw;
        }
    }
}
