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
        try
        {
            foreach (var message in queue.GetConsumingEnumerable())
                Emit(message);
            drained = true;
        }
        finally
        {
            if (!task.IsCompleted)
            {
                // Left the loop early (the pipeline is stopping): cancel and let Core unwind cleanly.
                // Drained: the worker closed the sink in its finally and is completing; cancelling
                // now would turn the cmdlet's next Core call into a PipelineStoppedException.
                if (!drained) _cancellation.Cancel();
                try { task.Wait(); } catch (AggregateException) { }
            }
            queue.Dispose();
        }
        return task.GetAwaiter().GetResult();
    }

    /// <summary>
    /// Runs <paramref name="work"/> for one item. A <see cref="SwarmException"/> for bad input is
    /// terminating; any other failure becomes one ErrorRecord (target: <paramref name="target"/>) and
    /// the pipeline goes on. Returns false when it failed.
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
            case SwarmException { Kind: SwarmErrorKind.InvalidArgument } bad:
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
        if (ex.Details.Count > 0)
            record.ErrorDetails = new ErrorDetails(ex.Message + Environment.NewLine + string.Join(Environment.NewLine, ex.Details.Select(d => "  " + d)));
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
                var p = message.Progress;
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
