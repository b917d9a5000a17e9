using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace SwarmPS.Core.Processes.Detached;

/// <summary>
/// Windows: <c>cmd.exe</c> runs a constant supervisor batch file that starts the command, waits,
/// and records its exit code. cmd.exe gets its own hidden console (CreateNoWindow), so Ctrl+C in
/// the caller's console does not reach it, and Windows does not end a child when its parent exits.
/// </summary>
/// <remarks>
/// No user text is ever parsed by cmd.exe: the program, its (CommandLineToArgvW-quoted) arguments
/// and the state directory reach the batch file in environment variables, read with delayed
/// expansion (<c>!VAR!</c>), which happens after cmd has parsed operators and redirections, so
/// <c>&amp; | &lt; &gt; ^ %</c> in them are plain characters.
/// Not exercised on the Linux build machines; tests/pester/Detached.Tests.ps1 runs it on Windows in CI.
/// </remarks>
public sealed class CmdDetachedLauncher : IDetachedLauncher
{
    public const string ExeVariable = "SWARMPS_DETACHED_EXE";
    public const string ArgsVariable = "SWARMPS_DETACHED_ARGS";
    public const string DirVariable = "SWARMPS_DETACHED_DIR";
    public const string InVariable = "SWARMPS_DETACHED_IN";

    public const string SupervisorScript =
        "@echo off\r\n" +
        "setlocal EnableDelayedExpansion\r\n" +
        "\"!SWARMPS_DETACHED_EXE!\" !SWARMPS_DETACHED_ARGS! <\"!SWARMPS_DETACHED_IN!\" >\"!SWARMPS_DETACHED_DIR!\\stdout.log\" 2>\"!SWARMPS_DETACHED_DIR!\\stderr.log\"\r\n" +
        "set code=!ERRORLEVEL!\r\n" +
        ">\"!SWARMPS_DETACHED_DIR!\\exit.tmp\" echo !code!\r\n" +
        "move /y \"!SWARMPS_DETACHED_DIR!\\exit.tmp\" \"!SWARMPS_DETACHED_DIR!\\exit\" >nul\r\n";

    public DetachedProcess Start(DetachedProcessSpec spec)
    {
        var dir = Path.GetFullPath(spec.StateDirectory);
        DetachedLauncher.PrepareStateDirectory(dir);
        var script = Path.Combine(dir, "supervise.cmd");
        File.WriteAllText(script, SupervisorScript, Encoding.ASCII);

        var cmd = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.System), "cmd.exe");
        var psi = new ProcessStartInfo(cmd)
        {
            UseShellExecute = false,
            CreateNoWindow = true,
            WorkingDirectory = spec.WorkingDirectory ?? dir,
        };
        foreach (var a in new[] { "/d", "/q", "/c", script }) psi.ArgumentList.Add(a);
        foreach (var (k, v) in spec.Environment)
        {
            if (v is null) psi.Environment.Remove(k);
            else psi.Environment[k] = v;
        }
        psi.Environment[ExeVariable] = spec.FileName;
        psi.Environment[ArgsVariable] = JoinArguments(spec.Arguments);
        psi.Environment[DirVariable] = dir;
        psi.Environment[InVariable] = spec.StandardInputFile ?? "nul";

        ProcessRunner.Log.Value?.ProcessStarting(new ProcessSpec(spec.FileName, spec.Arguments) { WorkingDirectory = spec.WorkingDirectory });
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException("cmd.exe did not start.");
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new SwarmException(ErrorIds.ProcessFailed, SwarmErrorKind.Unavailable, $"Could not start cmd.exe: {ex.Message}", spec.FileName, ex);
        }
        using (process)
        {
            var tmp = Path.Combine(dir, "pid.tmp");
            File.WriteAllText(tmp, process.Id.ToString(CultureInfo.InvariantCulture));
            File.Move(tmp, Path.Combine(dir, DetachedProcess.PidFileName), overwrite: true);
        }
        return new DetachedProcess(dir);
    }

    /// <summary>Quotes arguments the way CommandLineToArgvW (and the C runtime) splits them back.</summary>
    public static string JoinArguments(IEnumerable<string> arguments)
    {
        var sb = new StringBuilder();
        foreach (var arg in arguments)
        {
            if (sb.Length > 0) sb.Append(' ');
            if (arg.Length > 0 && arg.IndexOfAny(new[] { ' ', '\t', '\n', '\v', '"' }) < 0)
            {
                sb.Append(arg);
                continue;
            }
            sb.Append('"');
            var backslashes = 0;
            foreach (var c in arg)
            {
                if (c == '\\')
                {
                    backslashes++;
                    continue;
                }
                if (c == '"') sb.Append('\\', backslashes * 2 + 1);
                else sb.Append('\\', backslashes);
                backslashes = 0;
                sb.Append(c);
            }
            sb.Append('\\', backslashes * 2);
            sb.Append('"');
        }
        return sb.ToString();
    }
}
