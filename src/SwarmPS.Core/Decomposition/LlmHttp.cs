using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace SwarmPS.Core.Decomposition;

/// <summary>The outcome of one logical HTTP call after retries.</summary>
internal sealed class HttpOutcome
{
    public int Status { get; init; }
    public string Body { get; init; } = "";
    public int Attempts { get; init; }
    public bool Success => Status is >= 200 and < 300;
    public ApiError? Error { get; init; }
    /// <summary>Set when a retryable failure was not retried because the server asked for a longer wait than the cap.</summary>
    public TimeSpan? RetryAfterTooLong { get; init; }
}

/// <summary>The error object of any of the three APIs: Anthropic {type,message}, OpenAI {message,type,code}, Gemini {code,status,message,details}.</summary>
internal sealed class ApiError
{
    public string? Type { get; init; }
    public string? Code { get; init; }
    public string? Message { get; init; }
    public TimeSpan? RetryDelay { get; init; }
    public bool QuotaExhausted { get; init; }

    public static ApiError? Parse(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Array && root.GetArrayLength() > 0) root = root[0]; // Gemini sometimes wraps in [ ]
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("error", out var e)) return null;
            if (e.ValueKind == JsonValueKind.String) return new ApiError { Message = e.GetString() };
            if (e.ValueKind != JsonValueKind.Object) return null;
            string? S(string n) => e.TryGetProperty(n, out var v) ? v.ValueKind switch
            {
                JsonValueKind.String => v.GetString(),
                JsonValueKind.Number => v.GetRawText(),
                _ => null,
            } : null;
            var type = S("type") ?? S("status");
            var code = S("code");
            TimeSpan? delay = null;
            var quota = false;
            if (e.TryGetProperty("details", out var details) && details.ValueKind == JsonValueKind.Array)
                foreach (var d in details.EnumerateArray())
                {
                    if (d.ValueKind != JsonValueKind.Object || !d.TryGetProperty("@type", out var t) || t.ValueKind != JsonValueKind.String) continue;
                    var at = t.GetString()!;
                    if (at.EndsWith("google.rpc.RetryInfo", StringComparison.Ordinal) && d.TryGetProperty("retryDelay", out var rd) && rd.ValueKind == JsonValueKind.String)
                        delay = ParseDuration(rd.GetString()!);
                    if (at.EndsWith("google.rpc.QuotaFailure", StringComparison.Ordinal) && d.TryGetProperty("violations", out var vs) && vs.ValueKind == JsonValueKind.Array)
                        foreach (var v in vs.EnumerateArray())
                            if (v.ValueKind == JsonValueKind.Object && v.TryGetProperty("quotaId", out var q) && q.ValueKind == JsonValueKind.String
                                && q.GetString()!.Contains("PerDay", StringComparison.OrdinalIgnoreCase))
                                quota = true;
                }
            var billing = code is not null && (code == "insufficient_quota" || code.Contains("billing", StringComparison.OrdinalIgnoreCase))
                          || type is not null && (type == "insufficient_quota" || type.Contains("billing", StringComparison.OrdinalIgnoreCase));
            return new ApiError { Type = type, Code = code, Message = S("message"), RetryDelay = delay, QuotaExhausted = quota || billing };
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Google Duration JSON: "37s", "1.5s".</summary>
    internal static TimeSpan? ParseDuration(string s)
    {
        s = s.Trim();
        if (!s.EndsWith('s')) return null;
        return double.TryParse(s[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var sec) && sec >= 0 && sec < 1e7
            ? TimeSpan.FromSeconds(sec) : null;
    }
}

/// <summary>Sends one JSON request with the retry policy of cli-facts.md section 8.</summary>
internal sealed class LlmHttp
{
    private static readonly int[] RetryableStatuses = { 408, 429, 500, 502, 503, 504, 529 };

    private readonly HttpClient _client;
    private readonly DecompositionServiceOptions _options;
    private readonly Func<TimeSpan, CancellationToken, Task> _delay;
    private readonly Action<string> _log;

    public LlmHttp(HttpClient client, DecompositionServiceOptions options, Func<TimeSpan, CancellationToken, Task> delay, Action<string> log)
    {
        _client = client;
        _options = options;
        _delay = delay;
        _log = log;
    }

    public static bool IsRetryable(int status) => RetryableStatuses.Contains(status);

    public async Task<HttpOutcome> PostJsonAsync(string backend, Uri url, IReadOnlyDictionary<string, string> headers, string json,
        int maxAttempts, TimeSpan timeout, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            _log($"{backend}: POST {url.GetLeftPart(UriPartial.Path)} (attempt {attempt}/{maxAttempts})");
            using var message = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(json, new UTF8Encoding(false), "application/json") };
            foreach (var (k, v) in headers) message.Headers.TryAddWithoutValidation(k, v);
            message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));

            using var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attemptCts.CancelAfter(timeout);
            int status;
            string body;
            HttpResponseHeaders responseHeaders;
            try
            {
                using var response = await _client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, attemptCts.Token).ConfigureAwait(false);
                status = (int)response.StatusCode;
                responseHeaders = response.Headers;
                body = await ReadBodyAsync(response, attemptCts.Token).ConfigureAwait(false);
                if (status is >= 200 and < 300)
                    return new HttpOutcome { Status = status, Body = body, Attempts = attempt };
                var error = ApiError.Parse(body);
                var retryAfter = RetryAfter(response) ?? error?.RetryDelay;
                var retryable = IsRetryable(status) && !(status == 429 && error?.QuotaExhausted == true);
                if (!retryable || attempt >= maxAttempts)
                    return new HttpOutcome { Status = status, Body = body, Attempts = attempt, Error = error };
                if (retryAfter is { } ra && ra > _options.MaxRetryDelay)
                    return new HttpOutcome { Status = status, Body = body, Attempts = attempt, Error = error, RetryAfterTooLong = ra };
                var wait = Backoff(attempt, retryAfter);
                _log($"{backend}: HTTP {status}{(error?.Type is { } t ? " " + t : "")}; retrying in {wait.TotalSeconds:0.0}s"
                     + (retryAfter is { } r ? $" (server asked for {r.TotalSeconds:0.#}s)" : ""));
                await Wait(wait, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw Cancelled(backend);
            }
            catch (OperationCanceledException)
            {
                throw new SwarmException(ErrorIds.Timeout, SwarmErrorKind.OperationFailed,
                    $"{backend}: no answer from {url.GetLeftPart(UriPartial.Authority)} within {timeout.TotalSeconds:0.#}s (attempt {attempt}/{maxAttempts}). Raise the timeout for large requests.", backend);
            }
            catch (HttpRequestException ex)
            {
                if (attempt >= maxAttempts)
                    throw new SwarmException(DecompositionErrorIds.LlmRequestFailed, SwarmErrorKind.Unavailable,
                        $"{backend}: could not reach {url.GetLeftPart(UriPartial.Authority)} after {attempt} attempt(s): {ex.Message}", backend, ex);
                var wait = Backoff(attempt, null);
                _log($"{backend}: request failed ({ex.Message}); retrying in {wait.TotalSeconds:0.0}s");
                await Wait(wait, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task Wait(TimeSpan wait, CancellationToken cancellationToken)
    {
        try
        {
            await _delay(wait, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw Cancelled("decomposition");
        }
    }

    internal static SwarmException Cancelled(string backend) =>
        new(ErrorIds.OperationCancelled, SwarmErrorKind.Cancelled, $"{backend}: decomposition cancelled.", backend);

    /// <summary>max(server's wait, base·2^(n-1) + jitter), capped.</summary>
    internal TimeSpan Backoff(int attempt, TimeSpan? retryAfter)
    {
        var exp = _options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 16));
        var jitter = Random.Shared.NextDouble() * _options.RetryBaseDelay.TotalMilliseconds;
        var ms = Math.Max(retryAfter?.TotalMilliseconds ?? 0, exp + jitter);
        return TimeSpan.FromMilliseconds(Math.Min(ms, _options.MaxRetryDelay.TotalMilliseconds));
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        if (response.Headers.TryGetValues("retry-after-ms", out var ms)
            && double.TryParse(ms.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out var msv) && msv >= 0)
            return TimeSpan.FromMilliseconds(msv);
        var ra = response.Headers.RetryAfter;
        if (ra?.Delta is { } delta) return delta;
        if (ra?.Date is { } date) { var d = date - DateTimeOffset.UtcNow; return d > TimeSpan.Zero ? d : TimeSpan.Zero; }
        // Fractional seconds ("1.5") do not parse as RetryConditionHeaderValue.
        if (response.Headers.TryGetValues("retry-after", out var raw)
            && double.TryParse(raw.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out var sec) && sec >= 0)
            return TimeSpan.FromSeconds(sec);
        return null;
    }

    private const int MaxBodyBytes = 16 * 1024 * 1024;

    private static async Task<string> ReadBodyAsync(HttpResponseMessage response, CancellationToken ct)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int n;
        while ((n = await stream.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + n > MaxBodyBytes) throw new HttpRequestException($"response larger than {MaxBodyBytes / (1024 * 1024)} MiB");
            buffer.Write(chunk, 0, n);
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
