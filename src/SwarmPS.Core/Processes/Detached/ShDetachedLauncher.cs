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
/// <para>
/// Every command in the script is a dash builtin: no <c>mv</c> or other external program, so a
/// supervisor costs one exec (sh) plus the command's own fork. <c>child.pid</c> and <c>exit</c> are
/// written with one <c>echo</c> each: a single write(2) of "N\n" into a freshly created (empty)
/// file. The file's size becomes non-zero only when the whole line is in it, so a reader sees
/// either nothing or the complete line; <see cref="DetachedProcess"/> only accepts a value ending in
/// a newline. (A rename made the write atomic before; two <c>mv</c> processes per agent cost more
/// than the supervisor and the agent's own start together.) The supervisor's own stdout and
/// stderr are the command's log files, which the command inherits: its rare messages (a command
/// that cannot be found) land where the user looks, and it creates only the files it must
/// (<c>stdout.log</c>, <c>stderr.log</c>, <c>child.pid</c>, <c>exit</c>; each new file costs an
/// inode allocation, the largest cost per agent on a busy ext4).
/// </para>
/// </remarks>
public sealed class ShDetachedLauncher : IDetachedLauncher
{
    // $1: state directory; $2: stdin file; $3...: the command.
    public const string SupervisorScript = """
        dir=$1; in=$2; shift 2
        exec </dev/null >"$dir/stdout.log" 2>"$dir/stderr.log"
        trap '' HUP INT
        "$@" <"$in" &
        child=$!
        echo "$child" >"$dir/child.pid"
        wait "$child"
        echo "$?" >"$dir/exit"
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
            // zombie while this process lives); after we exit, init adopts it. Its Exited event
            // (the runtime's SIGCHLD handling, no polling) tells this process's waiters that the
            // exit file is written: the supervisor writes it before it ends.
            var exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (Running) Running.Add(supervisor);
            supervisor.Exited += (_, _) =>
            {
                lock (Running) Running.Remove(supervisor);
                supervisor.Dispose();
                exited.TrySetResult();
            };
            supervisor.EnableRaisingEvents = true;
            var pid = supervisor.Id;
            var tmp = Path.Combine(dir, "pid.tmp");
            File.WriteAllText(tmp, pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
            File.Move(tmp, Path.Combine(dir, DetachedProcess.PidFileName), overwrite: true);
            return new DetachedProcess(dir) { Exited = exited.Task, StartedPid = pid };
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new SwarmException(ErrorIds.ProcessFailed, SwarmErrorKind.Unavailable, $"Could not start {Shell}: {ex.Message}", spec.FileName, ex);
        }
    }
}
