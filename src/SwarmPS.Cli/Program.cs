using System.Runtime.InteropServices;
using System.Text;

namespace SwarmPS.Cli;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        try
        {
            // JSON and paths are UTF-8 whatever the console's code page is (Windows).
            Console.OutputEncoding = new UTF8Encoding(false);
        }
        catch (IOException)
        {
        }
        catch (PlatformNotSupportedException)
        {
        }

        using var cts = new CancellationTokenSource();
        var signalExit = 0;
        // The first Ctrl+C cancels the running operation (which cleans up after itself); a second
        // one is left to the default handler and ends the process at once.
        Console.CancelKeyPress += (_, e) =>
        {
            if (Interlocked.CompareExchange(ref signalExit, ExitCodes.Interrupted, 0) != 0) return;
            e.Cancel = true;
            cts.Cancel();
        };
        PosixSignalRegistration? term = null;
        try
        {
            term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
            {
                if (Interlocked.CompareExchange(ref signalExit, ExitCodes.Terminated, 0) != 0) return;
                ctx.Cancel = true;
                cts.Cancel();
            });
        }
        catch (PlatformNotSupportedException)
        {
        }

        try
        {
            var app = new CliApp(Console.Out, Console.Error, () => Volatile.Read(ref signalExit) is var s and not 0 ? s : ExitCodes.Interrupted);
            return await app.RunAsync(args, cts.Token).ConfigureAwait(false);
        }
        finally
        {
            term?.Dispose();
        }
    }
}
