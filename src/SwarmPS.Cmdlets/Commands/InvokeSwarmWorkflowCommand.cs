using System.Collections.ObjectModel;
using System.Management.Automation;
using SwarmPS.Core;
using SwarmPS.Core.Tasks;
using SwarmPS.Core.Workflows;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>
/// Queues the tasks of workflow files (YAML, see about_SwarmPS_Workflows) and runs the queue as
/// Invoke-SwarmQueue does, writing the workflows' tasks as they finish. With -QueueOnly the tasks are
/// only queued, and written as added.
/// </summary>
/// <remarks>
/// Every file of the pipeline is read and checked in ProcessRecord (a malformed file terminates with
/// WorkflowInvalid and file:line:column before anything is queued); EndProcessing adds each file's
/// tasks as one atomic batch and then runs the queue once.
/// </remarks>
[Cmdlet(VerbsLifecycle.Invoke, "SwarmWorkflow", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = PathSet)]
[OutputType(typeof(SwarmTask), typeof(QueueRunSummary))]
public sealed class InvokeSwarmWorkflowCommand : SwarmCmdlet
{
    public const string PathSet = "Path";
    public const string LiteralPathSet = "LiteralPath";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipeline = true)]
    [SupportsWildcards]
    public string[] Path { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath")]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>Only queue the tasks; do not run the queue.</summary>
    [Parameter]
    public SwitchParameter QueueOnly { get; set; }

    [Parameter]
    [ValidateRange(1, 256)]
    public int MaxParallel { get; set; } = 4;

    /// <summary>Write one QueueRunSummary at the end instead of the finished tasks.</summary>
    [Parameter]
    public SwitchParameter Summary { get; set; }

    private readonly List<Workflow> _workflows = new();

    protected override void ProcessRecord()
    {
        foreach (var file in ResolveFiles())
        {
            try
            {
                _workflows.Add(WorkflowParser.ParseFile(file));
            }
            catch (SwarmException ex)
            {
                // A malformed or missing file is bad input: nothing of this pipeline is queued.
                Terminate(new SwarmException(ex.ErrorId, SwarmErrorKind.InvalidArgument, ex.Message, file, ex) { Details = ex.Details }, file);
            }
        }
    }

    private IEnumerable<string> ResolveFiles()
    {
        if (ParameterSetName == LiteralPathSet)
        {
            foreach (var p in LiteralPath) yield return ResolvePathOrTerminate(p, nameof(LiteralPath));
            yield break;
        }
        foreach (var p in Path)
        {
            Collection<string> resolved;
            try
            {
                resolved = GetResolvedProviderPathFromPSPath(p, out _);
            }
            catch (ItemNotFoundException ex)
            {
                Terminate(new SwarmException(WorkflowErrorIds.WorkflowNotFound, SwarmErrorKind.InvalidArgument, $"Cannot find the workflow file '{p}': {ex.Message}", p, ex), p);
                throw;
            }
            foreach (var r in resolved) yield return r;
        }
    }

    protected override void EndProcessing()
    {
        var ours = new HashSet<string>(StringComparer.Ordinal);
        foreach (var wf in _workflows)
        {
            var label = wf.Name is null ? wf.SourcePath : $"{wf.Name} ({wf.SourcePath})";
            if (!ShouldProcessItem(label, $"Queue {wf.Tasks.Count} task(s)")) continue;
            var specs = wf.Tasks.Select(t => QueueSupport.WithRepository(t, p => ResolvePathOrTerminate(p, "repository"), CurrentDirectory)).ToList();
            if (!TryItem(wf.SourcePath, () => Service.Tasks.Add(specs), out var added)) continue;
            WriteVerbose($"Queued {added.Count} task(s) from {wf.SourcePath}.");
            foreach (var t in added)
            {
                ours.Add(t.Id);
                if (QueueOnly) WriteObject(t);
            }
        }

        if (!QueueOnly && ours.Count > 0 && ShouldProcessItem("task queue", $"Run the task queue with up to {MaxParallel} agents in parallel"))
        {
            if (TryItem(null, () => RunWithOutput((progress, output, ct) =>
                    QueueSupport.RunAsync(Service, MaxParallel, false, progress, output, !Summary, t => ours.Contains(t.Id), ct)), out var summary))
            {
                CompleteProgress();
                WriteVerbose(QueueSupport.Describe(summary));
                if (Summary) WriteObject(summary);
            }
        }
        base.EndProcessing();
    }
}
