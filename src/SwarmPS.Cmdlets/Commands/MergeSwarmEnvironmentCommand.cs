using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>
/// Merges each environment's branch back into its base branch (or -Into) and writes the result. A
/// conflict changes nothing and is an error only (ErrorId MergeConflict, category WriteError), as a
/// failed operation is in the Hyper-V and PSResourceGet cmdlets: no result object is written, and the
/// error's TargetObject is the <see cref="SwarmMergeResult"/> with the conflicting files.
/// </summary>
[Cmdlet(VerbsData.Merge, "SwarmEnvironment", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(SwarmMergeResult))]
public sealed class MergeSwarmEnvironmentCommand : SwarmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(TicketCompleter))]
    public string[] Ticket { get; set; } = Array.Empty<string>();

    [Parameter]
    public string? Message { get; set; }

    /// <summary>The branch to merge into; default: the branch the environment was created from.</summary>
    [Parameter]
    public string? Into { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var raw in Ticket)
        {
            if (!TryTicket(raw, out var ticket)) continue;
            if (!ShouldProcessItem(ticket, string.IsNullOrWhiteSpace(Into) ? "Merge into its base branch" : $"Merge into '{Into}'")) continue;
            if (!TryItem(ticket, () => Run((_, ct) => Service.MergeAsync(ticket, Message, Into, ct)), out var result)) continue;
            if (result.ConflictingFiles.Count == 0)
            {
                WriteObject(result);
                continue;
            }
            var ex = new SwarmException(ErrorIds.MergeConflict, SwarmErrorKind.Conflict,
                $"Merging '{result.Branch}' into '{result.TargetBranch}' conflicts in {result.ConflictingFiles.Count} file(s); nothing was changed.", ticket)
            { Details = result.ConflictingFiles };
            WriteError(new ErrorRecord(ex, ex.ErrorId, Category(ex.Kind), result) { ErrorDetails = ToErrorRecord(ex, ticket).ErrorDetails });
        }
    }
}
