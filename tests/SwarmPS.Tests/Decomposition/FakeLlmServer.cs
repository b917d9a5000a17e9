using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace SwarmPS.Tests.Decomposition;

/// <summary>One request as the fake server saw it.</summary>
public sealed class RecordedRequest
{
    public required string Method { get; init; }
    /// <summary>Path and query, e.g. /v1/messages.</summary>
    public required string Target { get; init; }
    public required Dictionary<string, string> Headers { get; init; }
    public required string Body { get; init; }
    public string RawHead { get; init; } = "";

    public string? Header(string name) => Headers.TryGetValue(name.ToLowerInvariant(), out var v) ? v : null;
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;
}

public sealed class FakeResponse
{
    public int Status { get; init; } = 200;
    public string Body { get; init; } = "";
    public Dictionary<string, string> Headers { get; init; } = new();
    /// <summary>Wait this long before answering (timeout tests).</summary>
    public TimeSpan Delay { get; init; }

    public static FakeResponse Json(string body, int status = 200, params (string, string)[] headers) =>
        new() { Status = status, Body = body, Headers = headers.ToDictionary(h => h.Item1, h => h.Item2) };
}

/// <summary>
/// A minimal HTTP/1.1 server on 127.0.0.1 (ephemeral port, one request per connection, Connection: close)
/// that answers from a script of responses. Only loopback; every wait is bounded.
/// </summary>
public sealed class FakeLlmServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Func<RecordedRequest, int, FakeResponse> _respond;
    private readonly Task _loop;
    private int _count;

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    /// <param name="respond">Answers request number n (0-based).</param>
    public FakeLlmServer(Func<RecordedRequest, int, FakeResponse> respond)
    {
        _respond = respond;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _loop = Task.Run(AcceptLoop);
    }

    /// <summary>Answers with the responses in order; the last one repeats.</summary>
    public FakeLlmServer(params FakeResponse[] script) : this((_, n) => script[Math.Min(n, script.Length - 1)]) { }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
    public Uri BaseUrl => new($"http://127.0.0.1:{Port}");

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception) { return; }
            _ = Task.Run(() => Serve(client));
        }
    }

    private async Task Serve(TcpClient client)
    {
        using var _ = client;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        cts.CancelAfter(TimeSpan.FromSeconds(30));
        try
        {
            var stream = client.GetStream();
            var buffer = new List<byte>();
            var chunk = new byte[8192];
            int headEnd;
            while ((headEnd = IndexOf(buffer, "\r\n\r\n"u8.ToArray())) < 0)
            {
                var n = await stream.ReadAsync(chunk, cts.Token);
                if (n == 0) return;
                buffer.AddRange(chunk.AsSpan(0, n).ToArray());
            }
            var head = Encoding.ASCII.GetString(buffer.GetRange(0, headEnd).ToArray());
            var lines = head.Split("\r\n");
            var requestLine = lines[0].Split(' ');
            var headers = new Dictionary<string, string>();
            foreach (var l in lines.Skip(1))
            {
                var colon = l.IndexOf(':');
                if (colon > 0) headers[l[..colon].Trim().ToLowerInvariant()] = l[(colon + 1)..].Trim();
            }
            var length = headers.TryGetValue("content-length", out var cl) ? int.Parse(cl) : 0;
            var bodyStart = headEnd + 4;
            while (buffer.Count - bodyStart < length)
            {
                var n = await stream.ReadAsync(chunk, cts.Token);
                if (n == 0) return;
                buffer.AddRange(chunk.AsSpan(0, n).ToArray());
            }
            var body = Encoding.UTF8.GetString(buffer.GetRange(bodyStart, length).ToArray());
            var req = new RecordedRequest { Method = requestLine[0], Target = requestLine[1], Headers = headers, Body = body, RawHead = head };
            Requests.Enqueue(req);
            var response = _respond(req, Interlocked.Increment(ref _count) - 1);
            if (response.Delay > TimeSpan.Zero) await Task.Delay(response.Delay, cts.Token);
            var bytes = Encoding.UTF8.GetBytes(response.Body);
            var sb = new StringBuilder();
            sb.Append($"HTTP/1.1 {response.Status} {Reason(response.Status)}\r\n");
            sb.Append("Content-Type: application/json\r\n");
            sb.Append($"Content-Length: {bytes.Length}\r\n");
            sb.Append("Connection: close\r\n");
            foreach (var (k, v) in response.Headers) sb.Append($"{k}: {v}\r\n");
            sb.Append("\r\n");
            await stream.WriteAsync(Encoding.ASCII.GetBytes(sb.ToString()), cts.Token);
            await stream.WriteAsync(bytes, cts.Token);
            await stream.FlushAsync(cts.Token);
        }
        catch (Exception) when (cts.IsCancellationRequested) { }
        catch (IOException) { }
    }

    private static string Reason(int status) => status switch
    {
        200 => "OK", 400 => "Bad Request", 401 => "Unauthorized", 404 => "Not Found", 429 => "Too Many Requests",
        500 => "Internal Server Error", 503 => "Service Unavailable", 529 => "Overloaded", _ => "Status",
    };

    private static int IndexOf(List<byte> haystack, byte[] needle)
    {
        for (var i = 0; i <= haystack.Count - needle.Length; i++)
        {
            var ok = true;
            for (var j = 0; j < needle.Length && ok; j++) ok = haystack[i + j] == needle[j];
            if (ok) return i;
        }
        return -1;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        try { await _loop.WaitAsync(TimeSpan.FromSeconds(5)); } catch (Exception) { }
        _stop.Dispose();
    }
}
