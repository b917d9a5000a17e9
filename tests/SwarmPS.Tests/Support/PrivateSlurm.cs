using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SwarmPS.Tests.Support;

/// <summary>
/// A Slurm cluster of its own for a test that stops, kills or restarts the controller or the node
/// daemon: its own slurm.conf (own ClusterName, SlurmctldPort/SlurmdPort on free ports in
/// 21000-31999, state, spool, pid and log files in a temp dir), its own slurmctld and slurmd. It
/// coexists with the shared Slurm of .ci/backends/slurm.sh (same node name, other ports; two slurmd
/// on one host only need different ports, spool dirs and pid files) and works whether or not that
/// one runs: it even has its own munged (own key and socket, slurm.conf's AuthInfo=socket=...), so
/// `.ci/backends/slurm.sh stop` (which stops the system munged it started) cannot break it. Every
/// process of this instance (daemons, slurmstepd, jobs submitted with its SLURM_CONF) carries
/// <c>SLURM_CONF=ConfigFile</c> in its environment; <see cref="Leftovers"/> finds them by that, and
/// Dispose leaves none.
/// </summary>
public sealed class PrivateSlurm : IDisposable
{
    public const string SlurmctldBinary = "/usr/sbin/slurmctld";
    public const string SlurmdBinary = "/usr/sbin/slurmd";
    public const string MungedBinary = "/usr/sbin/munged";

    /// <summary>Deadline for daemons to start, answer and stop on a loaded 2-core machine.</summary>
    public static readonly TimeSpan DaemonDeadline = TimeSpan.FromSeconds(120);

    private readonly Action<string> _log;
    private bool _disposing;

    private PrivateSlurm(string dir, int ctldPort, int slurmdPort, Action<string> log)
    {
        Directory = dir;
        ControllerPort = ctldPort;
        NodePort = slurmdPort;
        _log = log;
        ClusterName = "swpriv" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3)).ToLowerInvariant();
    }

    public string Directory { get; }
    /// <summary>Disposed: daemons stopped, directory (and its slurm.conf) deleted.</summary>
    public bool Disposed { get; private set; }
    public string ConfigFile => Path.Combine(Directory, "slurm.conf");
    public string ClusterName { get; }
    public int ControllerPort { get; }
    public int NodePort { get; }
    public static string NodeName => Environment.MachineName.Split('.')[0];
    private string CtldPidFile => Path.Combine(Directory, "slurmctld.pid");
    private string SlurmdPidFile => Path.Combine(Directory, "slurmd.pid");
    private string MungeDir => Path.Combine(Directory, "munge");
    private string MungeSocket => Path.Combine(MungeDir, "munge.socket");
    private string MungedPidFile => Path.Combine(MungeDir, "munged.pid");

    /// <summary>Null when a private instance can start here; otherwise why not.</summary>
    public static string? SkipReason()
    {
        if (!OperatingSystem.IsLinux()) return "a private Slurm needs Linux";
        if (!File.Exists(SlurmctldBinary) || !File.Exists(SlurmdBinary)) return $"{SlurmctldBinary} or {SlurmdBinary} is missing; run .ci/backends/slurm.sh start";
        if (!File.Exists(MungedBinary)) return $"{MungedBinary} is missing; run .ci/backends/slurm.sh start (it installs munge)";
        if (Environment.UserName != "root") return "a private Slurm runs slurmd, which needs root";
        if (Exec("id", new[] { "-u", "munge" }, null, TimeSpan.FromSeconds(30)).Code != 0) return "there is no 'munge' user to run munged as; run .ci/backends/slurm.sh start";
        var client = Exec("sbatch", new[] { "--version" }, null, TimeSpan.FromSeconds(30));
        return client.Code == 0 ? null : $"the Slurm client is missing (sbatch --version: {client.Err.Trim()}); run .ci/backends/slurm.sh start";
    }

    /// <summary>Writes the config, starts slurmctld (clean state) and slurmd, and waits until the node takes jobs.</summary>
    public static PrivateSlurm Start(Action<string>? log = null)
    {
        log ??= _ => { };
        Exception? last = null;
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            var dir = System.IO.Directory.CreateTempSubdirectory("swarmps-private-slurm-").FullName;
            var (ctld, slurmd) = FreePorts();
            var s = new PrivateSlurm(dir, ctld, slurmd, log);
            try
            {
                s.WriteConfig();
                s.StartMunged();
                s.StartDaemon(SlurmctldBinary, "-c");
                s.StartDaemon(SlurmdBinary);
                s.WaitReady("the private Slurm to take jobs after its first start");
                log($"private Slurm {s.ClusterName}: {s.ConfigFile}, slurmctld port {ctld}, slurmd port {slurmd}");
                return s;
            }
            catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
            {
                // Most likely a port taken between the check and the bind: clean up, try other ports.
                last = ex;
                log($"private Slurm attempt {attempt} failed: {ex.Message}");
                s.Dispose();
            }
        }
        throw new InvalidOperationException("The private Slurm did not start in 3 attempts: " + last!.Message, last);
    }

    /// <summary>Two distinct ports in 21000-31999 that nothing listens on (TCP, any address).</summary>
    private static (int, int) FreePorts()
    {
        var ports = new List<int>();
        while (ports.Count < 2)
        {
            var p = Random.Shared.Next(21000, 32000);
            if (ports.Contains(p) || !Free(p)) continue;
            ports.Add(p);
        }
        return (ports[0], ports[1]);

        static bool Free(int port)
        {
            try
            {
                var l = new TcpListener(IPAddress.Any, port);
                l.Start();
                l.Stop();
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }
    }

    private void WriteConfig()
    {
        foreach (var sub in new[] { "state", "spool", "log" }) System.IO.Directory.CreateDirectory(Path.Combine(Directory, sub));
        var memMb = 1024;
        foreach (var line in File.ReadLines("/proc/meminfo"))
            if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                memMb = Math.Max(1024, (int)(long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024) - 512);
        var d = Directory;
        var conf = $"""
            ClusterName={ClusterName}
            SlurmctldHost={NodeName}(127.0.0.1)
            SlurmUser=root
            SlurmdUser=root
            AuthType=auth/munge
            AuthInfo=socket={MungeSocket}
            CredType=cred/munge
            SlurmctldPort={ControllerPort}
            SlurmdPort={NodePort}
            StateSaveLocation={d}/state
            SlurmdSpoolDir={d}/spool
            SlurmctldPidFile={d}/slurmctld.pid
            SlurmdPidFile={d}/slurmd.pid
            SlurmctldLogFile={d}/log/slurmctld.log
            SlurmdLogFile={d}/log/slurmd.log
            SlurmctldDebug=info
            SlurmdDebug=info
            ProctrackType=proctrack/linuxproc
            TaskPlugin=task/none
            JobAcctGatherType=jobacct_gather/none
            AccountingStorageType=accounting_storage/none
            SchedulerType=sched/backfill
            SchedulerParameters=sched_interval=2
            SelectType=select/cons_tres
            SelectTypeParameters=CR_Core
            SlurmdParameters=config_overrides
            ReturnToService=2
            MpiDefault=none
            SwitchType=switch/none
            MailProg=/bin/true
            MinJobAge=300
            KillWait=2
            InactiveLimit=0
            NodeName={NodeName} NodeAddr=127.0.0.1 CPUs=8 RealMemory={memMb} State=UNKNOWN
            PartitionName=debug Nodes={NodeName} Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES

            """;
        File.WriteAllText(ConfigFile, conf.Replace("\r\n", "\n", StringComparison.Ordinal), new UTF8Encoding(false));
    }

    /// <summary>
    /// munged as the munge user with its own random key and socket in this directory (munged wants the
    /// socket's directory traversable by all and the key owned by its user, mode 0400).
    /// </summary>
    private void StartMunged()
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("a private Slurm needs Linux");
        File.SetUnixFileMode(Directory, (UnixFileMode)0x1ED); // 0755
        System.IO.Directory.CreateDirectory(MungeDir);
        File.SetUnixFileMode(MungeDir, (UnixFileMode)0x1ED);
        var key = Path.Combine(MungeDir, "munge.key");
        File.WriteAllBytes(key, System.Security.Cryptography.RandomNumberGenerator.GetBytes(1024));
        File.SetUnixFileMode(key, UnixFileMode.UserRead);
        var chown = Exec("chown", new[] { "-R", "munge:munge", MungeDir }, null, TimeSpan.FromSeconds(30));
        if (chown.Code != 0) throw new InvalidOperationException($"chown munge {MungeDir}: {chown.Err.Trim()}");
        var r = Exec("runuser", new[]
        {
            "-u", "munge", "--", MungedBinary, "--key-file=" + key, "--socket=" + MungeSocket, "--pid-file=" + MungedPidFile,
            "--log-file=" + Path.Combine(MungeDir, "munged.log"), "--seed-file=" + Path.Combine(MungeDir, "munged.seed"),
        }, ConfigFile, DaemonDeadline);
        if (r.Code != 0) throw new InvalidOperationException($"munged did not start (exit {r.Code}): {r.Err.Trim()}");
        Until(() => PidFromFile(MungedPidFile) is { } pid && IsAlive(pid) && File.Exists(MungeSocket), $"the private munged to run and create {MungeSocket}");
    }

    /// <summary>Runs a Slurm tool against this instance (SLURM_CONF set, C locale).</summary>
    public (int Code, string Out, string Err) Run(string tool, params string[] args) =>
        Disposed ? throw new ObjectDisposedException(nameof(PrivateSlurm), $"this private Slurm is gone; '{tool}' would retry reading {ConfigFile} for 60 s")
                 : Exec(tool, args, ConfigFile, TimeSpan.FromSeconds(60));

    private static (int Code, string Out, string Err) Exec(string file, IEnumerable<string> args, string? conf, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["LC_ALL"] = "C";
        if (conf is null) psi.Environment.Remove("SLURM_CONF");
        else psi.Environment["SLURM_CONF"] = conf;
        try
        {
            using var p = Process.Start(psi)!;
            var o = p.StandardOutput.ReadToEndAsync();
            var e = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit((int)timeout.TotalMilliseconds)) { p.Kill(true); return (-1, "", $"{file} did not finish in {timeout.TotalSeconds} s"); }
            p.WaitForExit();
            return (p.ExitCode, o.Result, e.Result);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (-1, "", ex.Message);
        }
    }

    /// <summary>Starts a daemon (it forks into the background and writes its pid file) and waits for its pid file.</summary>
    private void StartDaemon(string binary, params string[] args)
    {
        var pidFile = binary == SlurmctldBinary ? CtldPidFile : SlurmdPidFile;
        var r = Exec(binary, args, ConfigFile, DaemonDeadline);
        if (r.Code != 0) throw new InvalidOperationException($"{binary} {string.Join(' ', args)} exited {r.Code}: {r.Err.Trim()} {LogTail()}");
        Until(() => PidFromFile(pidFile) is { } pid && IsAlive(pid), $"{Path.GetFileName(binary)} to write {pidFile} and run");
    }

    private static int? PidFromFile(string file)
    {
        try
        {
            return int.TryParse(File.ReadAllText(file).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 0 ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>A process that exists and is not a zombie (a daemon's parent is init, which may reap it late).</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
            return state != "Z" && state != "X";
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Polls <paramref name="done"/> every 200 ms until it holds or <see cref="DaemonDeadline"/> passes.</summary>
    private void Until(Func<bool> done, string what, Func<string>? lastSeen = null)
    {
        var sw = Stopwatch.StartNew();
        while (!done())
        {
            if (sw.Elapsed > DaemonDeadline)
                throw new TimeoutException($"Timed out after {DaemonDeadline.TotalSeconds} s waiting for {what} (last seen: {lastSeen?.Invoke() ?? "not yet"}). {LogTail()}");
            Thread.Sleep(200);
        }
    }

    /// <summary>
    /// The readiness signal: <c>scontrol ping</c> says the controller is UP and <c>sinfo</c> shows the node
    /// idle, mixed or allocated (it takes jobs). Polled until <see cref="DaemonDeadline"/>.
    /// </summary>
    public void WaitReady(string what)
    {
        string last = "nothing yet";
        Until(() =>
        {
            var ping = Run("scontrol", "ping");
            var sinfo = Run("sinfo", "-h", "-N", "-o", "%T");
            last = $"scontrol ping: {(ping.Out + ping.Err).Trim()}; sinfo node state: {(sinfo.Code == 0 ? sinfo.Out.Trim() : sinfo.Err.Trim())}";
            var state = sinfo.Out.Trim();
            return ping.Code == 0 && ping.Out.Contains("is UP", StringComparison.Ordinal) && sinfo.Code == 0
                   && (state.StartsWith("idle", StringComparison.Ordinal) || state.StartsWith("mixed", StringComparison.Ordinal) || state.StartsWith("allocated", StringComparison.Ordinal));
        }, what, () => last);
    }

    public int? ControllerPid => PidFromFile(CtldPidFile) is { } p && IsAlive(p) ? p : null;

    /// <summary>SIGTERM to slurmctld (it saves its job state first), then waits until it is gone.</summary>
    public void StopController()
    {
        var pid = ControllerPid ?? throw new InvalidOperationException("The private slurmctld is not running. " + LogTail());
        Terminate(pid, "slurmctld");
    }

    /// <summary>Starts slurmctld WITHOUT -c (it recovers its jobs from its state directory) and waits for readiness.</summary>
    public void RestartController()
    {
        if (ControllerPid is not null) throw new InvalidOperationException("The private slurmctld is still running.");
        StartDaemon(SlurmctldBinary);
        WaitReady("the private slurmctld to answer and its node to take jobs after the restart");
    }

    private void Terminate(int pid, string what)
    {
        if (!IsAlive(pid)) return;
        Exec("kill", new[] { "-TERM", pid.ToString(CultureInfo.InvariantCulture) }, null, TimeSpan.FromSeconds(30));
        Until(() => !IsAlive(pid), $"{what} (pid {pid}) to exit after SIGTERM");
    }

    /// <summary>Every process whose environment holds this instance's SLURM_CONF: its daemons, slurmstepd, jobs.</summary>
    public IReadOnlyList<string> Leftovers() => ProcessesWithEnv("SLURM_CONF=" + ConfigFile);

    private static IReadOnlyList<string> ProcessesWithEnv(string entry)
    {
        var found = new List<string>();
        var needle = Encoding.UTF8.GetBytes("\0" + entry + "\0");
        foreach (var d in System.IO.Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId) continue;
            try
            {
                // environ is NUL-separated; a leading NUL makes the first entry match like the others.
                var env = new byte[] { 0 }.Concat(File.ReadAllBytes(Path.Combine(d, "environ"))).ToArray();
                if (!IsAlive(pid) || env.AsSpan().IndexOf(needle) < 0) continue;
                var cmd = File.ReadAllText(Path.Combine(d, "cmdline")).Replace('\0', ' ').Trim();
                found.Add($"{pid} {cmd}");
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return found;
    }

    public string LogTail()
    {
        var sb = new StringBuilder();
        foreach (var f in new[] { "slurmctld.log", "slurmd.log" })
        {
            var path = Path.Combine(Directory, "log", f);
            if (!File.Exists(path)) continue;
            try
            {
                sb.Append(CultureInfo.InvariantCulture, $"[last lines of {f}: ").AppendJoin(" | ", File.ReadAllLines(path).TakeLast(8)).Append("] ");
            }
            catch (IOException) { }
        }
        return sb.ToString();
    }

    /// <summary>
    /// Cancels every job, stops slurmd and slurmctld (SIGTERM, waiting until each is gone), kills any
    /// process still carrying this SLURM_CONF, deletes the directory. The shared Slurm is not touched.
    /// </summary>
    public void Dispose()
    {
        if (_disposing) return;
        _disposing = true;
        var problems = new List<string>();
        try
        {
            if (ControllerPid is null && File.Exists(ConfigFile) && PidFromFile(SlurmdPidFile) is { } sd && IsAlive(sd))
                try { StartDaemon(SlurmctldBinary); } catch (Exception ex) when (ex is TimeoutException or InvalidOperationException) { problems.Add(ex.Message); }
            if (ControllerPid is not null)
            {
                var ids = Run("squeue", "-h", "-o", "%A").Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (ids.Length > 0)
                {
                    Run("scancel", ids);
                    try { Until(() => Run("squeue", "-h", "-t", "pending,running,completing,suspended", "-o", "%A") is { Code: 0, Out: var o } && o.Trim().Length == 0, "the private Slurm's jobs to end after scancel"); }
                    catch (TimeoutException ex) { problems.Add(ex.Message); }
                }
            }
            foreach (var (file, what) in new[] { (SlurmdPidFile, "slurmd"), (CtldPidFile, "slurmctld"), (MungedPidFile, "munged") })
                if (PidFromFile(file) is { } pid)
                    try { Terminate(pid, what); } catch (TimeoutException ex) { problems.Add(ex.Message); }
            // Anything else of this instance (a slurmstepd or job that outlived its slurmd): SIGKILL, then wait.
            var left = Leftovers();
            if (left.Count > 0)
            {
                problems.Add("killed leftovers: " + string.Join("; ", left));
                foreach (var l in left) Exec("kill", new[] { "-KILL", l.Split(' ')[0] }, null, TimeSpan.FromSeconds(30));
                try { Until(() => Leftovers().Count == 0, "leftover processes of the private Slurm to die after SIGKILL", () => string.Join("; ", Leftovers())); }
                catch (TimeoutException ex) { problems.Add(ex.Message); }
            }
        }
        finally
        {
            try { System.IO.Directory.Delete(Directory, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            Disposed = true;
            foreach (var p in problems) _log("private Slurm cleanup: " + p);
        }
    }
}
