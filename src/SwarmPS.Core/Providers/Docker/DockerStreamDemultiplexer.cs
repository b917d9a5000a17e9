using System.Buffers.Binary;

namespace SwarmPS.Core.Providers.Docker;

/// <summary>
/// Splits the Engine's multiplexed stream (attach, exec and logs with Tty=false): frames of an 8-byte
/// header <c>[type, 0, 0, 0, size uint32 big-endian]</c> and <c>size</c> bytes of payload. Type 0 (stdin,
/// echoed) and 1 go to stdout, 2 to stderr, 3 (systemerr) is an engine error.
/// </summary>
public static class DockerStreamDemultiplexer
{
    public const int HeaderSize = 8;

    /// <summary>Copies frames until the stream ends. A stream cut inside a frame throws <see cref="InvalidDataException"/>.</summary>
    public static async Task DemultiplexAsync(Stream source, Stream stdout, Stream stderr, CancellationToken ct)
    {
        var header = new byte[HeaderSize];
        var buffer = new byte[81920];
        while (true)
        {
            var got = await ReadAtMostAsync(source, header, ct).ConfigureAwait(false);
            if (got == 0) return;
            if (got < HeaderSize) throw new InvalidDataException($"The engine's output stream ended inside a frame header ({got} of {HeaderSize} bytes).");
            var type = header[0];
            if (type > 3 || header[1] != 0 || header[2] != 0 || header[3] != 0)
                throw new InvalidDataException($"Not a multiplexed engine stream (frame header {Convert.ToHexString(header)}); was the exec created with Tty=true?");
            var size = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
            Stream target = type == 2 ? stderr : stdout;
            MemoryStream? systemError = type == 3 ? new MemoryStream() : null;
            if (systemError is not null) target = systemError;
            var left = (long)size;
            while (left > 0)
            {
                var n = await source.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), ct).ConfigureAwait(false);
                if (n == 0) throw new InvalidDataException($"The engine's output stream ended inside a frame ({size - left} of {size} bytes).");
                await target.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                left -= n;
            }
            if (systemError is not null)
                throw new DockerEngineException(DockerErrorIds.DockerEngineError, SwarmErrorKind.OperationFailed,
                    "Docker Engine reported an error in the output stream: " + System.Text.Encoding.UTF8.GetString(systemError.ToArray()).Trim(), null, null);
        }
    }

    private static async Task<int> ReadAtMostAsync(Stream s, byte[] buf, CancellationToken ct)
    {
        var total = 0;
        while (total < buf.Length)
        {
            var n = await s.ReadAsync(buf.AsMemory(total), ct).ConfigureAwait(false);
            if (n == 0) break;
            total += n;
        }
        return total;
    }

    /// <summary>Builds one frame (tests, fakes).</summary>
    public static byte[] Frame(byte type, ReadOnlySpan<byte> payload)
    {
        var f = new byte[HeaderSize + payload.Length];
        f[0] = type;
        BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(4), (uint)payload.Length);
        payload.CopyTo(f.AsSpan(HeaderSize));
        return f;
    }
}
