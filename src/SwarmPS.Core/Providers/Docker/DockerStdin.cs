using System.IO.Pipes;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace SwarmPS.Core.Providers.Docker;

/// <summary>
/// Standard input of an exec over the hijacked connection, and its end. The engine closes the
/// process's stdin when the client closes its write side:
/// <list type="bullet">
/// <item>unix socket / TCP: <c>shutdown(SHUT_WR)</c> (a TCP/unix half-close);</item>
/// <item>Windows named pipe: pipes have no half-close. Docker's pipe (<c>\\.\pipe\docker_engine</c>) is a
/// message-mode pipe, and the engine (go-winio) reads a zero-byte message as EOF, so the client writes
/// exactly one zero-byte message. That also means a data write must never be empty: an empty message
/// would end stdin early. (.NET's PipeStream drops zero-byte writes, so the marker is written with
/// WriteFile directly.)</item>
/// </list>
/// </summary>
internal static class DockerStdin
{
    /// <summary>Largest single write: stays well inside the default pipe/socket buffers.</summary>
    internal const int ChunkSize = 32 * 1024;

    /// <summary>
    /// Writes <paramref name="input"/> in non-empty chunks, flushes, then ends the stream with
    /// <paramref name="closeWrite"/> exactly once. If the process exits without reading its input the
    /// engine closes the connection; that write error is not the exec's failure and is swallowed.
    /// </summary>
    internal static async Task PumpAsync(Stream connection, ReadOnlyMemory<byte> input, Func<Stream, CancellationToken, ValueTask> closeWrite, CancellationToken ct)
    {
        try
        {
            for (var offset = 0; offset < input.Length; offset += ChunkSize)
                await connection.WriteAsync(input.Slice(offset, Math.Min(ChunkSize, input.Length - offset)), ct).ConfigureAwait(false);
            await connection.FlushAsync(ct).ConfigureAwait(false);
            await closeWrite(connection, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            // The process did not read all of its stdin (it exited); its output and exit code still count.
        }
    }

    /// <summary>How the write side of a connection of <paramref name="kind"/> is closed.</summary>
    internal static Func<Stream, CancellationToken, ValueTask> CloseWriteFor(DockerEndpointKind kind) => kind switch
    {
        DockerEndpointKind.NamedPipe => WriteEndOfStreamMessage,
        _ => ShutdownSend,
    };

    private static ValueTask ShutdownSend(Stream connection, CancellationToken ct)
    {
        if (connection is NetworkStream ns) ns.Socket.Shutdown(SocketShutdown.Send);
        return ValueTask.CompletedTask;
    }

    private static ValueTask WriteEndOfStreamMessage(Stream connection, CancellationToken ct)
    {
        if (connection is NamedPipeClientStream pipe && OperatingSystem.IsWindows())
        {
            NamedPipeEndOfStream.Write(pipe);
            return ValueTask.CompletedTask;
        }
        throw new NotSupportedException("A zero-byte end-of-stream message needs a Windows named pipe.");
    }
}

/// <summary>The zero-byte message that ends a message-mode named pipe's stream for go-winio readers (Windows only; untested here).</summary>
[SupportedOSPlatform("windows")]
internal static class NamedPipeEndOfStream
{
    private const int ErrorIoPending = 997;

    [DllImport("kernel32.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static extern bool WriteFile(SafeHandle file, IntPtr buffer, int bytesToWrite, IntPtr bytesWritten, ref NativeOverlapped overlapped);

    [DllImport("kernel32.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static extern bool GetOverlappedResult(SafeHandle file, ref NativeOverlapped overlapped, out int bytesTransferred, [MarshalAs(UnmanagedType.Bool)] bool wait);

    internal static void Write(NamedPipeClientStream pipe)
    {
        pipe.Flush();
        var dummy = new byte[1];
        var pin = GCHandle.Alloc(dummy, GCHandleType.Pinned);
        using var done = new ManualResetEvent(false);
        try
        {
            // The pipe was opened for overlapped I/O and is bound to the thread pool's completion port.
            // Setting the low bit of hEvent keeps this completion out of that port; we wait on the event.
            var overlapped = new NativeOverlapped { EventHandle = (IntPtr)((long)done.SafeWaitHandle.DangerousGetHandle() | 1) };
            if (!WriteFile(pipe.SafePipeHandle, pin.AddrOfPinnedObject(), 0, IntPtr.Zero, ref overlapped))
            {
                var error = Marshal.GetLastPInvokeError();
                if (error != ErrorIoPending) throw new IOException($"Ending stdin on the named pipe failed (WriteFile error {error}).");
                if (!GetOverlappedResult(pipe.SafePipeHandle, ref overlapped, out _, wait: true))
                    throw new IOException($"Ending stdin on the named pipe failed (error {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            pin.Free();
        }
    }
}
