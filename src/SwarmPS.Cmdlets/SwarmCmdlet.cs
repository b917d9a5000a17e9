using System.Collections.Concurrent;
using System.Management.Automation;
using SwarmPS.Core;
using SwarmPS.Core.Processes;

namespace SwarmPS.Cmdlets;

/// <summary>
/// The shared plumbing of every SwarmPS cmdlet, and nothing else:
/// <list type="bullet">
/// <item>the <see cref="SwarmService"/> (opened lazily, so <c>-WhatIf</c> touches no registry);</item>
/// <item>a <see cref="CancellationTokenSource"/> cancelled in <see cref="StopProcessing"/> (Ctrl+C cancels the Core call);</item>
/// <item>running a Core call on a worker task while the pipeline thread drains its progress and
/// verbose records from a <see cref="BlockingCollection{T}"/> (Write* is only ever called on the pipeline thread);</item>
/// <item>turning <see cref="SwarmException"/> into an <see cref="ErrorRecord"/> with the stable ErrorId, an
/// <see cref="ErrorCategory"/> and the ticket as target: per-item failures are written, bad arguments terminate.</item>
/// </list>
/// </summary>
public abstract class SwarmCmdlet : PSCmdlet, IDisposable
{
    /// <summary>The ErrorId for a failure that is not a <see cref="SwarmException"/> (a bug or an environment problem).</summary>
    public const string UnexpectedErrorId = "UnexpectedError";

    private readonly CancellationTokenSource _cancellation = new();
    private SwarmService? _service;
    private bool _progressOpen;
    private SwarmProgress? _lastProgress;
    private bool _disposed;

    protected CancellationToken CancellationToken => _cancellation.Token;

    /// <summary>The Core service for SWARMPS_HOME (or the platform default), opened on first use.</summary>
    protected SwarmService Service
    {
        get
        {
            if (_service is not null) return _service;
            try
            {
                // The module hands Core its in-process Hyper-V door (the CLI has none: hyperv is unavailable there).
                var home = SwarmHome.Resolve();
                var config = SwarmConfig.Load(home);
                return _service = new SwarmService(home, config, Core.Providers.ProviderCatalog.CreateDefault(config, PowerShellHyperVHost.Shared));
            }
            catch (SwarmException ex)
            {
                ThrowTerminatingError(ToErrorRecord(ex, ex.Target));
                throw; // unreachable: ThrowTerminatingError always throws
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException || ex.GetType().Name == "SqliteException")
            {
                ThrowTerminatingError(new ErrorRecord(ex, ErrorIds.RegistryError, ErrorCategory.ResourceUnavailable, null)
                {
                    ErrorDetails = new ErrorDetails($"Could not open the SwarmPS registry: {ex.Message}. Check SWARMPS_HOME."),
                });
                throw;
            }
        }
    }

    /// <summary>A fixed progress ActivityId per cmdlet (stable across runs: derived from the cmdlet's name).</summary>
    protected virtual int ProgressActivityId => StableId(GetType().Name);

    internal static int StableId(string name)
    {
        unchecked
        {
            var h = (int)2166136261;
            foreach (var c in name) h = (h ^ c) * 16777619;
            return (h & 0x7FFFFFFF) % 1_000_000 + 1;
        }
    }

    protected override void StopProcessing() => _cancellation.Cancel();

    protected override void EndProcessing() => CompleteProgress();

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _cancellation.Dispose();
        GC.SuppressFinalize(this);
    }

    // ------------------------------------------------------------------ running Core calls

    /// <summary>
    /// Runs a Core call on a worker task. While it runs, the pipeline thread (this one) writes its
    /// progress and one verbose line per external process; the call's result or exception is returned
    /// or rethrown here.
    /// </summary>
    protected T Run<T>(Func<IProgress<SwarmProgress>, CancellationToken, Task<T>> work) => Drain((sink, ct) => work(sink, ct));

    /// <summary>
    /// Enumerates a Core stream (an <see cref="IAsyncEnumerable{T}"/>, for example an agent's output
    /// as it is written) on a worker task and writes each item to the pipeline from this thread as it
    /// arrives. Ends when the stream ends; Ctrl+C (<see cref="StopProcessing"/>) cancels the stream,
    /// and a downstream stop (<c>Select-Object -First</c>) cancels and unwinds the worker.
    /// </summary>
    protected void Stream<T>(Func<IProgress<SwarmProgress>, CancellationToken, IAsyncEnumerable<T>> work) =>
        Drain<object?>(async (sink, ct) =>
        {
            await foreach (var item in work(sink, ct).WithCancellation(ct).ConfigureAwait(false))
                sink.Item(item);
            return null;
        });

    /// <summary>
    /// Runs a Core call that hands out results while it runs (for example the scheduler's
    /// <c>OnTaskFinished</c>, called on the scheduler's thread): whatever it passes to
    /// <see cref="IPipelineOutput.Write"/> or <see cref="IPipelineOutput.Verbose"/> from any thread is
    /// written from this (the pipeline) thread as it arrives; the call's result is returned here.
    /// </summary>
    protected T RunWithOutput<T>(Func<IProgress<SwarmProgress>, IPipelineOutput, CancellationToken, Task<T>> work) => Drain((sink, ct) => work(sink, sink, ct));

    private T Drain<T>(Func<MessageSink, CancellationToken, Task<T>> work)
    {
        var queue = new BlockingCollection<PipelineMessage>();
        var sink = new MessageSink(queue);
        var ct = _cancellation.Token;
        var task = Task.Run(async () =>
        {
            ProcessRunner.Log.Value = sink; // AsyncLocal: flows into this call only
            try
            {
                return await work(sink, ct).ConfigureAwait(false);
            }
            finally
            {
                sink.Close();
            }
        }, CancellationToken.None);

        var drained = false;
        var batch = new List<PipelineMessage>();
        try
        {
            // Ctrl+C (StopProcessing cancels the token) wakes this loop at once, whatever is queued.
            foreach (var first in queue.GetConsumingEnumerable(ct))
            {
                // Take everything already queued: a progress record followed by another one is stale
                // (one bar per cmdlet), so a slow host never falls behind Core's reports.
                batch.Clear();
                batch.Add(first);
                while (queue.TryTake(out var more)) batch.Add(more);
                for (var i = 0; i < batch.Count; i++)
                {
                    if (batch[i].Kind == MessageKind.Progress && i + 1 < batch.Count && batch[i + 1].Kind == MessageKind.Progress) continue;
                    Emit(batch[i]);
                }
            }
            drained = true;
        }
        finally
        {
            // The worker closes the queue in its finally, a moment BEFORE its task counts as completed:
            // a drained queue is a normal end, so wait for the task and never cancel (a cancelled token
            // would turn the next Core call of this cmdlet into a silent pipeline stop).
            if (!drained && !task.IsCompleted)
            {
                // We left the loop early (the pipeline is stopping): cancel and let Core unwind cleanly.
                _cancellation.Cancel();
            }
            try { task.Wait(); } catch (AggregateException) { }
            queue.Dispose();
        }
        return task.GetAwaiter().GetResult();
    }

    /// <summary>
    /// Runs <paramref name="work"/> for one item. Every failure, bad input included, becomes one
    /// ErrorRecord (target: <paramref name="target"/>; bad input keeps its ErrorId and the
    /// InvalidArgument category) and the pipeline goes on with the next item. Only a call for the
    /// whole cmdlet (<paramref name="target"/> null) terminates on bad input. Returns false when it failed.
    /// </summary>
    protected bool TryItem<T>(string? target, Func<T> work, out T result)
    {
        try
        {
            result = work();
            return true;
        }
        catch (Exception ex) when (ex is not PipelineStoppedException and not ParameterBindingException)
        {
            HandleFailure(ex, target);
            result = default!;
            return false;
        }
    }

    protected bool TryItem(string? target, Action work) => TryItem<object?>(target, () => { work(); return null; }, out _);

    private void HandleFailure(Exception ex, string? target)
    {
        var inner = ex is AggregateException { InnerExceptions.Count: 1 } agg ? agg.InnerExceptions[0] : ex;
        if (CancellationToken.IsCancellationRequested && inner is OperationCanceledException or SwarmException { Kind: SwarmErrorKind.Cancelled })
            throw new PipelineStoppedException();
        switch (inner)
        {
            case SwarmException { Kind: SwarmErrorKind.InvalidArgument } bad when target is null:
                ThrowTerminatingError(ToErrorRecord(bad, target));
                break;
            case SwarmException se:
                WriteError(ToErrorRecord(se, target));
                break;
            case OperationCanceledException oce:
                WriteError(new ErrorRecord(oce, ErrorIds.OperationCancelled, ErrorCategory.OperationStopped, target));
                break;
            default:
                WriteError(new ErrorRecord(inner, UnexpectedErrorId, ErrorCategory.NotSpecified, target));
                break;
        }
    }

    /// <summary>Terminates the cmdlet for bad input (a hostile ticket, an unknown provider...).</summary>
    protected void Terminate(SwarmException ex, string? target = null) => ThrowTerminatingError(ToErrorRecord(ex, target));

    /// <summary>Validates a ticket through Core's single validator; invalid input terminates with ErrorId InvalidTicket.</summary>
    protected string ValidTicket(string? ticket)
    {
        try
        {
            return Names.Ticket(ticket);
        }
        catch (SwarmException ex)
        {
            Terminate(ex, ticket);
            throw;
        }
    }

    /// <summary>
    /// Validates one ticket among many (an item of an array or of the pipeline): a bad one is written
    /// as one non-terminating error (its stable ErrorId, category InvalidArgument) and the caller goes
    /// on with the next item.
    /// </summary>
    protected bool TryTicket(string? raw, out string ticket)
    {
        try
        {
            ticket = Names.Ticket(raw);
            return true;
        }
        catch (SwarmException ex)
        {
            WriteError(ToErrorRecord(ex, raw));
            ticket = "";
            return false;
        }
    }

    /// <summary>
    /// A path parameter resolved the PowerShell way (<c>GetUnresolvedProviderPathFromPSPath</c>):
    /// <c>~</c>, paths relative to the PowerShell location (not the process directory) and PSDrives
    /// work; the file need not exist yet. A path that is not on the file system (Env:, a missing drive)
    /// throws a <see cref="SwarmException"/> (InvalidPath, InvalidArgument).
    /// </summary>
    protected string ResolvePath(string path, string parameterName)
    {
        try
        {
            var full = SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out var provider, out _);
            if (!string.Equals(provider.Name, "FileSystem", StringComparison.OrdinalIgnoreCase))
                throw new SwarmException(ErrorIds.InvalidPath, SwarmErrorKind.InvalidArgument,
                    $"-{parameterName} '{path}' is on the {provider.Name} provider; give a file-system path.", path);
            return full;
        }
        catch (Exception ex) when (ex is not SwarmException and not PipelineStoppedException)
        {
            throw new SwarmException(ErrorIds.InvalidPath, SwarmErrorKind.InvalidArgument, $"-{parameterName} '{path}' cannot be resolved: {ex.Message}", path, ex);
        }
    }

    /// <summary><see cref="ResolvePath"/> for a parameter of the whole call: a bad path terminates.</summary>
    protected string ResolvePathOrTerminate(string path, string parameterName)
    {
        try
        {
            return ResolvePath(path, parameterName);
        }
        catch (SwarmException ex)
        {
            Terminate(ex, path);
            throw;
        }
    }

    /// <summary>
    /// The agent ids one pipeline record names. A piped task names its agents (its own Id is a task
    /// id, which binds to -Id by name but is no agent id); anything else names the bound ids.
    /// </summary>
    protected static IReadOnlyList<string> AgentIdsOf(string[]? boundIds, object? input) =>
        (input is PSObject pso ? pso.BaseObject : input) is Core.Tasks.SwarmTask task ? task.AgentIds : boundIds ?? Array.Empty<string>();

    /// <summary>
    /// The task ids one pipeline record names; a piped agent is reported (an agent id is no task id)
    /// as one non-terminating error, and no id is returned for it.
    /// </summary>
    protected IReadOnlyList<string> TaskIdsOf(string[]? boundIds, object? input)
    {
        if ((input is PSObject pso ? pso.BaseObject : input) is Core.Agents.SwarmAgent agent)
        {
            WriteError(ToErrorRecord(new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument,
                $"'{agent.Id}' is an agent, not a task. Get-SwarmTask lists the tasks; a task's AgentIds name its agents.", agent.Id), agent.Id));
            return Array.Empty<string>();
        }
        return boundIds ?? Array.Empty<string>();
    }

    /// <summary>Validates one checkpoint name among many: a bad one is one non-terminating error (InvalidCheckpointName).</summary>
    protected bool TryCheckpointName(string? name, string? ticket)
    {
        try
        {
            Names.Checkpoint(name);
            return true;
        }
        catch (SwarmException ex)
        {
            WriteError(ToErrorRecord(ex, ticket));
            return false;
        }
    }

    protected string ValidCheckpointName(string? name, string? ticket)
    {
        try
        {
            return Names.Checkpoint(name);
        }
        catch (SwarmException ex)
        {
            Terminate(ex, ticket);
            throw;
        }
    }

    // ------------------------------------------------------------------ errors

    /// <summary>The PowerShell form of a Core error: stable ErrorId, a category for the kind, the ticket as target.</summary>
    public static ErrorRecord ToErrorRecord(SwarmException ex, string? target)
    {
        var record = new ErrorRecord(ex, ex.ErrorId, Category(ex.Kind), target ?? ex.Target);
        // Core's hint in PowerShell words (cmdlets and -Parameters, never swarmps commands or --options).
        var message = ex.MessageFor(FrontEnd.PowerShell);
        if (ex.Details.Count > 0)
            record.ErrorDetails = new ErrorDetails(message + Environment.NewLine + string.Join(Environment.NewLine, ex.Details.Select(d => "  " + d)));
        else if (ex.Hint is not null)
            record.ErrorDetails = new ErrorDetails(message);
        return record;
    }

    public static ErrorCategory Category(SwarmErrorKind kind) => kind switch
    {
        SwarmErrorKind.InvalidArgument => ErrorCategory.InvalidArgument,
        SwarmErrorKind.NotFound => ErrorCategory.ObjectNotFound,
        SwarmErrorKind.AlreadyExists => ErrorCategory.ResourceExists,
        SwarmErrorKind.NotSupported => ErrorCategory.NotImplemented,
        SwarmErrorKind.InvalidState => ErrorCategory.InvalidOperation,
        SwarmErrorKind.Unavailable => ErrorCategory.ResourceUnavailable,
        SwarmErrorKind.OperationFailed => ErrorCategory.InvalidResult,
        SwarmErrorKind.Conflict => ErrorCategory.WriteError,
        SwarmErrorKind.Cancelled => ErrorCategory.OperationStopped,
        _ => ErrorCategory.NotSpecified,
    };

    // ------------------------------------------------------------------ ShouldProcess with -Force

    /// <summary>
    /// ShouldProcess for one item. With <paramref name="force"/> the confirmation prompt is skipped
    /// (ConfirmImpact High would otherwise always prompt) unless -Confirm was given explicitly;
    /// -WhatIf still only reports.
    /// </summary>
    protected bool ShouldProcessItem(string target, string action, bool force = false)
    {
        if (force && !ConfirmRequested && !WhatIfRequested) return true;
        return ShouldProcess(target, action);
    }

    private bool WhatIfRequested =>
        MyInvocation.BoundParameters.TryGetValue("WhatIf", out var v) ? IsOn(v) : LanguagePrimitives.IsTrue(GetVariableValue("WhatIfPreference"));

    private bool ConfirmRequested => MyInvocation.BoundParameters.TryGetValue("Confirm", out var v) && IsOn(v);

    private static bool IsOn(object? value) => value is SwitchParameter s ? s.IsPresent : LanguagePrimitives.IsTrue(value);

    /// <summary>The caller's current file-system location (not the process's working directory).</summary>
    protected string CurrentDirectory => SessionState.Path.CurrentFileSystemLocation.ProviderPath;

    // ------------------------------------------------------------------ pipeline-thread messages

    private void Emit(PipelineMessage message)
    {
        switch (message.Kind)
        {
            case MessageKind.Item:
                WriteObject(message.Item);
                break;
            case MessageKind.Verbose:
                WriteVerbose(message.Text);
                break;
            case MessageKind.Progress:
                // After Ctrl+C nothing more is drawn; a record equal to the last one drawn is not drawn again
                // (Core re-reports an unchanged state on every poll, and each draw can be slow on a terminal).
                var p = message.Progress;
                if (Stopping || (_progressOpen && _lastProgress == p)) break;
                _lastProgress = p;
                var activity = string.IsNullOrWhiteSpace(p.Activity) ? MyInvocation.MyCommand.Name : p.Activity;
                var status = string.IsNullOrWhiteSpace(p.Status) ? activity : p.Status;
                var record = new ProgressRecord(ProgressActivityId, activity, status)
                {
                    PercentComplete = Math.Clamp(p.PercentComplete, -1, 100),
                    RecordType = p.Completed ? ProgressRecordType.Completed : ProgressRecordType.Processing,
                };
                WriteProgress(record);
                _progressOpen = !p.Completed;
                break;
        }
    }

    /// <summary>Always ends progress with a Completed record, even when Core stopped reporting early.</summary>
    protected void CompleteProgress()
    {
        if (!_progressOpen) return;
        _progressOpen = false;
        WriteProgress(new ProgressRecord(ProgressActivityId, MyInvocation.MyCommand.Name, "Done") { RecordType = ProgressRecordType.Completed });
    }

    internal enum MessageKind { Verbose, Progress, Item }

    internal readonly record struct PipelineMessage(MessageKind Kind, string Text, SwarmProgress Progress, object? Item = null);

    /// <summary>Receives progress and process calls on any thread and queues them for the pipeline thread.</summary>
    internal sealed class MessageSink : IProgress<SwarmProgress>, IProcessLog, IPipelineOutput
    {
        private readonly BlockingCollection<PipelineMessage> _queue;

        public MessageSink(BlockingCollection<PipelineMessage> queue) => _queue = queue;

        public void Report(SwarmProgress value) => Add(new PipelineMessage(MessageKind.Progress, "", value));

        /// <summary>An output object for the pipeline (from <see cref="Stream{T}"/>).</summary>
        public void Item(object? value) => Add(new PipelineMessage(MessageKind.Item, "", default, value));

        public void Write(object? value) => Item(value);

        public void Verbose(string text) => Add(new PipelineMessage(MessageKind.Verbose, text, default));

        public void ProcessStarting(ProcessSpec spec) =>
            Add(new PipelineMessage(MessageKind.Verbose, spec.WorkingDirectory is null ? spec.Display : $"{spec.Display}  (in {spec.WorkingDirectory})", default));

        public void Close()
        {
            try { _queue.CompleteAdding(); } catch (ObjectDisposedException) { }
        }

        private void Add(PipelineMessage message)
        {
            try { _queue.TryAdd(message); }
            catch (InvalidOperationException) { } // completed or disposed: the cmdlet is no longer listening
        }
    }
}

/// <summary>
/// Hands output objects and verbose lines from any thread to the pipeline thread (see
/// <see cref="SwarmCmdlet"/>'s RunWithOutput). Never call WriteObject/WriteVerbose off the pipeline thread.
/// </summary>
public interface IPipelineOutput
{
    /// <summary>An object for the pipeline, written in order of arrival.</summary>
    void Write(object? item);

    /// <summary>A verbose line (never a secret).</summary>
    void Verbose(string text);
}
