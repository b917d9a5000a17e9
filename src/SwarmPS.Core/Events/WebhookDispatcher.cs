using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace SwarmPS.Core.Events;

/// <summary>
/// POSTs events as JSON to the webhooks in config, with a timeout and retries, on a background
/// task. Enqueueing never blocks: a slow or failing webhook delays nothing but itself, and when its
/// backlog is full the oldest undelivered events are dropped. Each webhook has its own queue and
/// worker, so one hanging endpoint does not hold back the others (they remain in the event log, which
/// is the durable record; webhooks are a convenience).
/// </summary>
public sealed class WebhookDispatcher : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
    private readonly HttpClient _http;
    private readonly List<(WebhookConfig Hook, Channel<SwarmEvent> Queue, Task Pump)> _workers = new();
    private readonly CancellationTokenSource _cts = new();

    public WebhookDispatcher(IReadOnlyList<WebhookConfig> hooks, HttpMessageHandler? handler = null)
    {
        _http = handler is null ? new HttpClient() : new HttpClient(handler);
        _http.Timeout = Timeout.InfiniteTimeSpan; // per request, below
        foreach (var hook in hooks)
        {
            var queue = Channel.CreateBounded<SwarmEvent>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest });
            _workers.Add((hook, queue, Task.Run(() => PumpAsync(hook, queue))));
        }
    }

    private int _delivered, _failed;
    public int Delivered => _delivered;
    public int Failed => _failed;
    /// <summary>The last delivery error (for diagnostics), never containing headers or secrets.</summary>
    public string? LastError { get; private set; }

    public void Enqueue(SwarmEvent e)
    {
        foreach (var (hook, queue, _) in _workers)
            if (hook.Kinds.Count == 0 || hook.Kinds.Contains(e.Kind, StringComparer.OrdinalIgnoreCase))
                queue.Writer.TryWrite(e);
    }

    private async Task PumpAsync(WebhookConfig hook, Channel<SwarmEvent> queue)
    {
        try
        {
            await foreach (var e in queue.Reader.ReadAllAsync(_cts.Token).ConfigureAwait(false))
                await DeliverAsync(hook, e).ConfigureAwait(false);
        }
        catch (OperationCanceledException) { }
    }

    private async Task DeliverAsync(WebhookConfig hook, SwarmEvent e)
    {
        var body = JsonSerializer.Serialize(e, Json);
        for (var attempt = 1; attempt <= hook.MaxAttempts; attempt++)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_cts.Token);
                timeout.CancelAfter(TimeSpan.FromSeconds(hook.TimeoutSeconds));
                using var content = new StringContent(body, Encoding.UTF8);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                using var response = await _http.PostAsync(hook.Url, content, timeout.Token).ConfigureAwait(false);
                if ((int)response.StatusCode < 300) { Interlocked.Increment(ref _delivered); return; }
                LastError = $"{hook.Url}: HTTP {(int)response.StatusCode}";
                if ((int)response.StatusCode is >= 400 and < 500 and not (408 or 429)) break;
            }
            catch (OperationCanceledException) when (_cts.IsCancellationRequested) { return; }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
            {
                LastError = $"{hook.Url}: {(ex is OperationCanceledException ? $"timed out after {hook.TimeoutSeconds}s" : ex.Message)}";
            }
            if (attempt < hook.MaxAttempts)
            {
                try { await Task.Delay(TimeSpan.FromMilliseconds(200 * Math.Pow(2, attempt - 1)), _cts.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
            }
        }
        Interlocked.Increment(ref _failed);
    }

    /// <summary>Waits (up to <paramref name="grace"/>) for queued events to go out, then stops.</summary>
    public async Task FlushAsync(TimeSpan grace)
    {
        foreach (var w in _workers) w.Queue.Writer.TryComplete();
        await Task.WhenAny(Task.WhenAll(_workers.Select(w => w.Pump)), Task.Delay(grace)).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var w in _workers) w.Queue.Writer.TryComplete();
        _cts.Cancel();
        try { await Task.WhenAll(_workers.Select(w => w.Pump)).ConfigureAwait(false); } catch (OperationCanceledException) { }
        _http.Dispose();
        _cts.Dispose();
    }
}
