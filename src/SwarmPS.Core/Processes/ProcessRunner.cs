using System.Diagnostics;
using System.Text;

namespace SwarmPS.Core.Processes;

/// <summary>A process invocation: always an argument list, never a shell string.</summary>
public sealed class ProcessSpec
{
    public ProcessSpec(string fileName, IEnumerable<string> arguments)
    {
        FileName = fileName;
        Arguments = arguments.ToList();
    }

    public string FileName { get; }
    public IReadOnlyList<string> Arguments { get; }
    public string? WorkingDirectory { get; init; }
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();
    /// <summary>Written to the process's stdin, then stdin is closed. Null: stdin is closed at once.</summary>
    public string? StandardInput { get; init; }
    public TimeSpan? Timeout { get; init; }
    /// <summary>When set, stdout and stderr are appended to this file as they arrive.</summary>
    public string? LogFile { get; init; }

    /// <summary>The command line for display only (never executed as a string).</summary>
    public string Display => string.Join(' ', new[] { FileName }.Concat(Arguments).Select(Quote));

    private static string Quote(string a) =>
        a.Length > 0 && a.All(c => char.IsLetterOrDigit(c) || "-_./=:@%+,^~{}".Contains(c)) ? a : "'" + a.Replace("'", "'\\''") + "'";
}

public sealed class ProcessResult
{
    public required ProcessSpec Spec { get; init; }
    public int ExitCode { get; init; }
    public string StandardOutput { get; init; } = "";
    public string StandardError { get; init; } = "";
    public TimeSpan Elapsed { get; init; }
    public bool Success => ExitCode == 0;
}

/// <summary>Receives a line per external process call; the cmdlets route it to WriteVerbose.</summary>
public interface IProcessLog
{
    void ProcessStarting(ProcessSpec spec);
}

/// <summary>Runs processes with argument lists, captures output, kills the whole tree on cancel or timeout.</summary>
public sealed class ProcessRunner
{
    public static ProcessRunner Default { get; } = new();

    /// <summary>Optional observer of every call (for verbose output). Set per operation context.</summary>
    public static AsyncLocal<IProcessLog?> Log { get; } = new();

    public async Task<ProcessResult> RunAsync(ProcessSpec spec, CancellationToken cancellationToken = default)
    {
        Log.Value?.ProcessStarting(spec);
        var psi = new ProcessStartInfo(spec.FileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            StandardOutputEncoding = new UTF8Encoding(false),
            StandardErrorEncoding = new UTF8Encoding(false),
            CreateNoWindow = true,
        };
        foreach (var a in spec.Arguments) psi.ArgumentList.Add(a);
        if (spec.WorkingDirectory is not null) psi.WorkingDirectory = spec.WorkingDirectory;
        foreach (var (k, v) in spec.Environment)
        {
            if (v is null) psi.Environment.Remove(k);
            else psi.Environment[k] = v;
        }

        var sw = Stopwatch.StartNew();
        using var process = new Process { StartInfo = psi };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        StreamWriter? log = null;
        if (spec.LogFile is not null)
        {
            log = new StreamWriter(new FileStream(spec.LogFile, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
            SwarmHome.MakeFilePrivate(spec.LogFile);
        }
        var logLock = new object();
        Task? readOut = null, readErr = null;

        try
        {
            try
            {
                process.Start();
            }
            catch (System.ComponentModel.Win32Exception ex)
            {
                throw new SwarmException(ErrorIds.ProcessFailed, SwarmErrorKind.Unavailable,
                    $"Could not start '{spec.FileName}': {ex.Message}. Is it installed and on PATH?", spec.FileName, ex);
            }
            // Raw reads (not line events) so output is kept byte-exact, CRLF and NUL included.
            readOut = Pump(process.StandardOutput, stdout, log, logLock);
            readErr = Pump(process.StandardError, stderr, log, logLock);
            try
            {
                if (spec.StandardInput is not null)
                {
                    var bytes = new UTF8Encoding(false).GetBytes(spec.StandardInput);
                    await process.StandardInput.BaseStream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
                }
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // The process exited without reading its input; its exit code tells the story.
            }

            using var timeoutCts = spec.Timeout is { } t ? new CancellationTokenSource(t) : new CancellationTokenSource();
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutCts.Token);
            try
            {
                await process.WaitForExitAsync(linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                if (cancellationToken.IsCancellationRequested)
                    throw new SwarmException(ErrorIds.OperationCancelled, SwarmErrorKind.Cancelled, $"Cancelled: {spec.Display}", spec.FileName);
                throw new SwarmException(ErrorIds.ProcessFailed, SwarmErrorKind.OperationFailed,
                    $"Timed out after {spec.Timeout!.Value.TotalSeconds:0}s: {spec.Display}", spec.FileName);
            }
            await Task.WhenAll(readOut, readErr).ConfigureAwait(false);
        }
        finally
        {
            log?.Dispose();
        }

        return new ProcessResult { Spec = spec, ExitCode = process.ExitCode, StandardOutput = stdout.ToString(), StandardError = stderr.ToString(), Elapsed = sw.Elapsed };
    }

    private static async Task Pump(StreamReader reader, StringBuilder sink, StreamWriter? log, object logLock)
    {
        var buffer = new char[8192];
        int n;
        while ((n = await reader.ReadAsync(buffer, 0, buffer.Length).ConfigureAwait(false)) > 0)
        {
            sink.Append(buffer, 0, n);
            if (log is not null) lock (logLock) log.Write(buffer, 0, n);
        }
    }
}
