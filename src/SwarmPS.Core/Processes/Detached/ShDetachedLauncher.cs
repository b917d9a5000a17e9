using System.Diagnostics;

namespace SwarmPS.Core.Processes.Detached;

/// <summary>
/// Unix: <c>/bin/sh</c> runs a constant supervisor script as a direct child. The script first
/// moves its own stdio to files and ignores SIGHUP and SIGINT, so neither a closed terminal nor
/// Ctrl+C aimed at pwsh reaches it; when the caller exits, it is re-parented to init and keeps
/// going. It runs the command in the background (a background job of a non-interactive shell
/// ignores SIGINT), records the command's pid, and records its exit code when it ends.
/// One process start per supervisor (no launcher shell in between), about 1-2 MB resident.
/// </summary>
/// <remarks>
/// The script is a constant. The command and its arguments reach it only as positional
/// parameters ("$@"), never as shell text, so nothing the user typed is ever parsed by sh.
/// To stop the command later, send SIGTERM to <see cref="DetachedProcess.ChildPid"/>; the
/// supervisor then records 128+signal.
/// <para>
/// Every command in the script is a dash builtin: no <c>mv</c> or other external program, so a
/// supervisor costs one exec (sh) plus the command's own fork. It keeps ONE status file: once the
/// command is started, one <c>echo</c> writes "<c>childpid supervisorpid</c>\n" into the fresh
/// (empty) file, a single write(2); when the command ends, one <c>echo</c> appends its exit code
/// line (O_APPEND, a single write(2)). A reader sees nothing, the first line, or both lines, and
/// <see cref="DetachedProcess"/> only accepts a line ending in a newline. (A rename made the writes
/// atomic before; two <c>mv</c> processes per agent cost more than the supervisor and the agent's
/// own start together.) The launcher writes no pid file: the caller records the supervisor in the
/// registry, and crash recovery reads the status line. The supervisor's own stdout and stderr are
/// the command's log files, which the command inherits: its rare messages (a command that cannot
/// be found) land where the user looks. So a run creates exactly three files (<c>stdout.log</c>,
/// <c>stderr.log</c>, <c>status</c>): each new file costs an inode allocation, the largest cost per
/// agent on a busy ext4.
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
        echo "$child $$" >"$dir/status"
        wait "$child"
        echo "$?" >>"$dir/status"
        """;

    public string Shell { get; init; } = "/bin/sh";

    private static readonly HashSet<Process> Held = new();

    /// <summary>
    /// Keeps the object of a started child process until the child ends, then disposes it: the
    /// runtime reaps only children whose Process object is alive (a disposed one would stay a zombie
    /// while this process lives); after this process exits, init adopts the child. The task
    /// completes when the child has ended.
    /// </summary>
    internal static Task HoldUntilExit(Process child)
    {
        var exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (Held) Held.Add(child);
        child.Exited += (_, _) =>
        {
            lock (Held) Held.Remove(child);
            child.Dispose();
            exited.TrySetResult();
        };
        // Raised also for a child that has already ended.
        child.EnableRaisingEvents = true;
        return exited.Task;
    }

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
            // Its end (the runtime's SIGCHLD handling, no polling) tells this process's waiters that
            // the exit code is written: the supervisor writes it before it ends.
            var exited = HoldUntilExit(supervisor);
            // No pid file: the caller records the supervisor (registry), and the supervisor itself
            // writes its pid into the status file's first line, which is what a later process that
            // finds the state directory alone (crash recovery) reads.
            return new DetachedProcess(dir) { Exited = exited, StartedPid = supervisor.Id };
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new SwarmException(ErrorIds.ProcessFailed, SwarmErrorKind.Unavailable, $"Could not start {Shell}: {ex.Message}", spec.FileName, ex);
        }
    }
}
