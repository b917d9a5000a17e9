using System.Diagnostics;

namespace SwarmPS.Core.Processes.Detached;

/// <summary>
/// Unix: <c>/bin/sh</c> runs a constant supervisor script as a direct child. The script first
/// moves its own stdio to files and ignores SIGHUP and SIGINT, so neither a closed terminal nor
/// Ctrl+C aimed at pwsh reaches it; when the caller exits, it is re-parented to init and keeps
/// going. It runs the command in the background (a background job of a non-interactive shell
/// ignores SIGINT), records the command's pid, and writes its exit code atomically when it ends.
/// One process start per supervisor (no launcher shell in between), about 1-2 MB resident.
/// </summary>
/// <remarks>
/// The script is a constant. The command and its arguments reach it only as positional
/// parameters ("$@"), never as shell text, so nothing the user typed is ever parsed by sh.
/// To stop the command later, send SIGTERM to <see cref="DetachedProcess.ChildPid"/>; the
/// supervisor then records 128+signal.
/// </remarks>
public sealed class ShDetachedLauncher : IDetachedLauncher
{
    // $1: state directory; $2: stdin file; $3...: the command.
    public const string SupervisorScript = """
        dir=$1; in=$2; shift 2
        exec </dev/null >/dev/null 2>>"$dir/supervisor.log"
        trap '' HUP INT
        "$@" <"$in" >"$dir/stdout.log" 2>"$dir/stderr.log" &
        child=$!
        echo "$child" >"$dir/child.pid.tmp" && mv -f "$dir/child.pid.tmp" "$dir/child.pid"
        wait "$child"
        code=$?
        echo "$code" >"$dir/exit.tmp" && mv -f "$dir/exit.tmp" "$dir/exit"
        """;

    public string Shell { get; init; } = "/bin/sh";

    private static readonly HashSet<Process> Running = new();

    public DetachedProcess Start(DetachedProcessSpec spec)
    {
        var dir = Path.GetFullPath(spec.StateDirectory);
        DetachedLauncher.PrepareStateDirectory(dir);
        var psi = new ProcessStartInfo(Shell) { UseShellExecute = false, CreateNoWindow = true };
        foreach (var a in new[] { "-c", SupervisorScript, "swarmps-supervisor", dir, spec.StandardInputFile ?? "/dev/null", spec.FileName }.Concat(spec.Arguments))
            psi.ArgumentList.Add(a);
        if (spec.WorkingDirectory is not null) psi.WorkingDirectory = spec.WorkingDirectory;
        foreach (var (k, v) in spec.Environment)
        {
            if (v is null) psi.Environment.Remove(k);
            else psi.Environment[k] = v;
        }

        ProcessRunner.Log.Value?.ProcessStarting(new ProcessSpec(spec.FileName, spec.Arguments) { WorkingDirectory = spec.WorkingDirectory });
        try
        {
            var supervisor = Process.Start(psi) ?? throw new InvalidOperationException($"{Shell} did not start.");
            // Keep the Process object until the supervisor exits, so the runtime reaps it (no
            // zombie while this process lives); after we exit, init adopts it.
            lock (Running) Running.Add(supervisor);
            supervisor.EnableRaisingEvents = true;
            supervisor.Exited += (_, _) => { lock (Running) Running.Remove(supervisor); supervisor.Dispose(); };
            var tmp = Path.Combine(dir, "pid.tmp");
            File.WriteAllText(tmp, supervisor.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            File.Move(tmp, Path.Combine(dir, DetachedProcess.PidFileName), overwrite: true);
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new SwarmException(ErrorIds.ProcessFailed, SwarmErrorKind.Unavailable, $"Could not start {Shell}: {ex.Message}", spec.FileName, ex);
        }
        return new DetachedProcess(dir);
    }
}
