using System.Diagnostics;

namespace SwarmPS.Core.Processes.Detached;

/// <summary>
/// Unix: <c>/bin/sh</c> starts a supervisor shell in the background and exits at once; the
/// supervisor is re-parented to init, so it outlives the caller, and it is started with SIGHUP
/// ignored and stdio on files (like <c>nohup cmd &amp;</c>), so neither a closed terminal nor Ctrl+C
/// aimed at pwsh reaches it (a background job of a non-interactive shell ignores SIGINT). The
/// supervisor runs the command, records its pid, and writes its exit code when it ends.
/// </summary>
/// <remarks>
/// The scripts below are constants. The command and its arguments reach them only as positional
/// parameters ("$@"), never as shell text, so nothing the user typed is ever parsed by sh.
/// To stop the command later, send SIGTERM to <see cref="DetachedProcess.ChildPid"/> (SIGINT is
/// ignored, as for any background job); the supervisor then records 128+signal.
/// </remarks>
public sealed class ShDetachedLauncher : IDetachedLauncher
{
    // $1: state directory; $2: stdin file; $3...: the command. Runs in the background, owns no descriptor of ours.
    public const string SupervisorScript = """
        dir=$1; in=$2; shift 2
        trap '' HUP
        "$@" <"$in" >"$dir/stdout.log" 2>"$dir/stderr.log" &
        child=$!
        echo "$child" >"$dir/child.pid.tmp" && mv -f "$dir/child.pid.tmp" "$dir/child.pid"
        wait "$child"
        code=$?
        echo "$code" >"$dir/exit.tmp" && mv -f "$dir/exit.tmp" "$dir/exit"
        """;

    // $1: the supervisor script; $2: state directory; $3: stdin file; $4...: the command.
    public const string LaunchScript = """
        sup=$1; dir=$2; in=$3; shift 3
        trap '' HUP
        sh -c "$sup" swarmps-supervisor "$dir" "$in" "$@" </dev/null >/dev/null 2>>"$dir/supervisor.log" &
        echo "$!" >"$dir/pid.tmp" && mv -f "$dir/pid.tmp" "$dir/pid"
        """;

    public string Shell { get; init; } = "/bin/sh";

    public DetachedProcess Start(DetachedProcessSpec spec)
    {
        var dir = Path.GetFullPath(spec.StateDirectory);
        DetachedLauncher.PrepareStateDirectory(dir);
        var psi = new ProcessStartInfo(Shell)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
        };
        foreach (var a in new[] { "-c", LaunchScript, "swarmps-launch", SupervisorScript, dir, spec.StandardInputFile ?? "/dev/null", spec.FileName }.Concat(spec.Arguments))
            psi.ArgumentList.Add(a);
        if (spec.WorkingDirectory is not null) psi.WorkingDirectory = spec.WorkingDirectory;
        foreach (var (k, v) in spec.Environment)
        {
            if (v is null) psi.Environment.Remove(k);
            else psi.Environment[k] = v;
        }

        ProcessRunner.Log.Value?.ProcessStarting(new ProcessSpec(spec.FileName, spec.Arguments) { WorkingDirectory = spec.WorkingDirectory });
        using var launcher = new Process { StartInfo = psi };
        try
        {
            launcher.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new SwarmException(ErrorIds.ProcessFailed, SwarmErrorKind.Unavailable, $"Could not start {Shell}: {ex.Message}", spec.FileName, ex);
        }
        launcher.StandardInput.Close();
        var stderr = launcher.StandardError.ReadToEndAsync();
        launcher.StandardOutput.ReadToEnd();
        if (!launcher.WaitForExit(30_000))
        {
            try { launcher.Kill(); } catch (InvalidOperationException) { }
            throw new SwarmException(ErrorIds.ProcessFailed, SwarmErrorKind.OperationFailed, $"{Shell} did not start the detached process within 30s.", spec.FileName);
        }
        var result = new DetachedProcess(dir);
        if (launcher.ExitCode != 0 || result.Pid is null)
            throw new SwarmException(ErrorIds.ProcessFailed, SwarmErrorKind.OperationFailed,
                $"{Shell} could not start the detached process (exit {launcher.ExitCode}): {stderr.Result.Trim()}", spec.FileName);
        return result;
    }
}
