using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace SwarmPS.Cli.Tests.Infrastructure;

/// <summary>What one run of the CLI produced.</summary>
public sealed record CliResult(int ExitCode, string StdOut, string StdErr, string[] Args)
{
    public JsonElement Json
    {
        get
        {
            try
            {
                using var doc = JsonDocument.Parse(StdOut);
                return doc.RootElement.Clone();
            }
            catch (JsonException ex)
            {
                throw new InvalidOperationException($"stdout is not JSON ({ex.Message}):\n{this}", ex);
            }
        }
    }

    public string[] StdErrLines => StdErr.Replace("\r\n", "\n").Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public override string ToString() =>
        $"swarmps {string.Join(' ', Args.Select(a => $"'{a}'"))}\nexit {ExitCode}\n--- stdout\n{StdOut}\n--- stderr\n{StdErr}";
}

/// <summary>
/// Runs the real <c>swarmps</c> as an OS process: <c>dotnet swarmps.dll ...</c>. The CLI project is a
/// ProjectReference, so swarmps.dll, its runtimeconfig and deps files sit next to this test assembly
/// in the default layout and under an --artifacts-path alike.
/// </summary>
public static class CliProcess
{
    public static string DllPath { get; } = FindDll();

    public static string DotnetHost { get; } = FindHost();

    private static string FindDll()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "swarmps.dll");
        if (!File.Exists(path))
            throw new FileNotFoundException($"swarmps.dll was not found next to the test assembly ({AppContext.BaseDirectory}); the CLI ProjectReference should copy it.", path);
        return path;
    }

    private static string FindHost()
    {
        var exe = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        // Under 'dotnet test' the test host usually runs inside the dotnet muxer itself.
        var self = Environment.ProcessPath;
        if (self is not null && string.Equals(Path.GetFileName(self), exe, StringComparison.OrdinalIgnoreCase)) return self;
        var hostPath = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(hostPath) && File.Exists(hostPath)) return hostPath;
        var root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        if (!string.IsNullOrEmpty(root) && File.Exists(Path.Combine(root, exe))) return Path.Combine(root, exe);
        return exe;
    }

    /// <summary>The process start info for <c>dotnet swarmps.dll args</c>, with a hermetic environment.</summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> args, string workingDirectory, IReadOnlyDictionary<string, string?>? env = null)
    {
        var psi = new ProcessStartInfo(DotnetHost)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            StandardOutputEncoding = new UTF8Encoding(false),
            StandardErrorEncoding = new UTF8Encoding(false),
            WorkingDirectory = workingDirectory,
            CreateNoWindow = true,
        };
        psi.ArgumentList.Add(DllPath);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove("SWARMPS_HOME");
        foreach (var (k, v) in Git.HermeticEnvironment) psi.Environment[k] = v;
        if (env is not null)
            foreach (var (k, v) in env)
            {
                if (v is null) psi.Environment.Remove(k);
                else psi.Environment[k] = v;
            }
        return psi;
    }

    public static async Task<CliResult> RunAsync(IReadOnlyList<string> args, string workingDirectory, IReadOnlyDictionary<string, string?>? env = null,
        TimeSpan? timeout = null)
    {
        using var p = new Process { StartInfo = StartInfo(args, workingDirectory, env) };
        p.Start();
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(3));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            throw new TimeoutException($"swarmps {string.Join(' ', args)} did not finish in time.");
        }
        return new CliResult(p.ExitCode, await stdout, await stderr, args.ToArray());
    }
}
