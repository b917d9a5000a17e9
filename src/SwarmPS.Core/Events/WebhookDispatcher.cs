using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace SwarmPS.Core.Events;

/// <summary>
/// POSTs events as JSON to the webhooks in config, with a timeout and retries, on a background
/// task. Enqueueing never blocks: a slow or failing webhook delays nothing but itself, and when its
/// backlog is full the oldest undelivered events are dropped (they remain in the event log, which
/// is the durable record; webhooks are a convenience).
/// </summary>
public sealed class WebhookDispatcher : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
    private readonly IReadOnlyList<WebhookConfig> _hooks;
    private readonly HttpClient _http;
    private readonly Channel<SwarmEvent> _channel = Channel.CreateBounded<SwarmEvent>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest });
    private readonly Task _pump;
    private readonly CancellationTokenSource _cts = new();

    public WebhookDispatcher(IReadOnlyList<WebhookConfig> hooks, HttpMessageHandler? handler = null)
    {
        _hooks = hooks;
        _http = handler is null ? new HttpClient() : new HttpClient(handler);
        _http.Timeout = Timeout.InfiniteTimeSpan; // per request, below
        _pump = Task.Run(PumpAsync);
    }

    public int Delivered { get; private set; }
    public int Failed { get; private set; }
    /// <summary>The last delivery error (for diagnostics), never containing headers or secrets.</summary>
    public string? LastError { get; private set; }

    public void Enqueue(SwarmEvent e) => _channel.Writer.TryWrite(e);

    private async Task PumpAsync()
    {
        try
        {
            await foreach (var e in _channel.Reader.ReadAllAsync(_cts.Token).ConfigureAwait(false))
                foreach (var hook in _hooks)
                    if (hook.Kinds.Count == 0 || hook.Kinds.Contains(e.Kind, StringComparer.OrdinalIgnoreCase))
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
                if ((int)response.StatusCode < 300) { Delivered++; return; }
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
        Failed++;
    }

    /// <summary>Waits (up to <paramref name="grace"/>) for queued events to go out, then stops.</summary>
    public async Task FlushAsync(TimeSpan grace)
    {
        _channel.Writer.TryComplete();
        await Task.WhenAny(_pump, Task.Delay(grace)).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Writer.TryComplete();
        _cts.Cancel();
        try { await _pump.ConfigureAwait(false); } catch (OperationCanceledException) { }
        _http.Dispose();
        _cts.Dispose();
    }
}
