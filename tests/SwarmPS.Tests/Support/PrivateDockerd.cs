using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using SwarmPS.Core.Processes;
using SwarmPS.Core.Providers.Docker;

namespace SwarmPS.Tests.Support;

/// <summary>
/// A Docker Engine that belongs to one test, for tests that stop, kill or restart the engine: its own
/// containerd and dockerd, everything under one temp directory (<see cref="Dir"/>: the API socket, data-root,
/// exec-root, pidfile, an empty daemon.json, containerd's root, state and socket, both logs). It never meets
/// another engine on the machine, whether or not one runs: dockerd runs in a network namespace of its own
/// (<c>unshare --net</c>; the API is a unix socket, reachable from any namespace) with <c>--bridge=none</c>
/// (containers have loopback only; published ports are ignored, so no host port is bound), no iptables and no
/// ip_forward; and its containerd is started here (dockerd 20.10 would otherwise share a system containerd on
/// /run/containerd/containerd.sock, and namespace "moby", with any other engine). The namespace is not optional:
/// dockerd 20.10 started with <c>--bridge=none</c> DELETES the interface docker0 of its network namespace,
/// which in the host's namespace is the shared engine's bridge (its containers then fail to start). <see cref="Launch"/> starts it, waits until it
/// answers <c>/_ping</c> and imports the offline test image (<c>.ci/backends/busybox-rootfs.sh</c>, as
/// docker.sh does); <see cref="Stop"/> and <see cref="Start"/> stop and restart it (start waits for the ping,
/// never a fixed sleep); <see cref="Dispose"/> stops it and removes every process, mount and file of it.
/// A later launch also cleans up after a test process that died with its engine running (the directory
/// records its owner's identity). Needs Linux, root, dockerd, containerd, busybox and bash (<see cref="Unavailable"/>).
/// Left alone on purpose: /run/containerd/s (the shims of every containerd 1.6 put their sockets there and
/// remove them) and /run/docker/plugins, both shared with any other engine.
/// </summary>
public sealed class PrivateDockerd : IDisposable
{
    /// <summary>The offline test image every engine test uses (imported by <see cref="Launch"/>).</summary>
    public const string TestImage = SwarmPS.Tests.Contract.DockerFixture.TestImage;
    private const string DirPrefix = "swarmps-pd-";
    /// <summary>How long a start may take to answer, and a stop to exit, on a loaded 2-core CI machine (~2 s idle).</summary>
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);

    private readonly string _dockerd;
    private readonly string _containerd;
    private Process? _dockerdProcess;
    private Process? _containerdProcess;
    private bool _disposed;

    private PrivateDockerd(string dir, string dockerd, string containerd)
    {
        Dir = dir;
        _dockerd = dockerd;
        _containerd = containerd;
    }

    /// <summary>The engine's own directory (under the temp directory); nothing of the engine lives elsewhere.</summary>
    public string Dir { get; }
    public string Socket => Path.Combine(Dir, "docker.sock");
    public string DockerdLog => Path.Combine(Dir, "dockerd.log");
    public string ContainerdLog => Path.Combine(Dir, "containerd.log");
    private string ContainerdSocket => Path.Combine(Dir, "ctd", "containerd.sock");

    /// <summary>What SwarmPS is pointed at (as DOCKER_HOST or docker.host would be): <c>unix://</c><see cref="Socket"/>.</summary>
    public DockerEndpoint Endpoint => DockerEndpoint.Parse("unix://" + Socket, source: "the test's private engine");

    /// <summary>True while dockerd runs.</summary>
    public bool Running => _dockerdProcess is { HasExited: false };

    /// <summary>Why a private engine cannot be started here (null when it can): for <c>Backends.Missing</c>.</summary>
    public static string? Unavailable()
    {
        if (!OperatingSystem.IsLinux()) return "a private Docker Engine needs Linux";
        if (!Environment.IsPrivilegedProcess) return "a private Docker Engine needs root (dockerd and containerd)";
        foreach (var tool in new[] { "dockerd", "containerd", "bash", "unshare" })
            if (Which(tool) is null) return $"{tool} is not installed (package docker.io; '.ci/backends/docker.sh start' installs it)";
        if (Which("busybox") is null && !File.Exists("/bin/busybox")) return "busybox is not installed (package busybox-static), the test image is made from it";
        if (!File.Exists("/proc/self/ns/net")) return "no network namespaces (/proc/self/ns/net), which a private Docker Engine needs";
        if (RootfsScript() is null) return ".ci/backends/busybox-rootfs.sh not found above the test binaries";
        return null;
    }

    /// <summary>Starts a private engine with the test image in it; call <see cref="Unavailable"/> first.</summary>
    public static PrivateDockerd Launch()
    {
        if (Unavailable() is { } why) throw new InvalidOperationException(why);
        CleanUpAfterDeadOwners();
        // Short: unix socket paths are limited to 107 bytes, and containerd's socket lies two levels down.
        var dir = Path.Combine(Path.GetTempPath(), DirPrefix + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "owner"), ProcessIdentity.Current());
        var engine = new PrivateDockerd(dir, Which("dockerd")!, Which("containerd")!);
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "ctd"));
            File.WriteAllText(Path.Combine(dir, "daemon.json"), "{}\n");
            File.WriteAllText(Path.Combine(dir, "ctd", "config.toml"), string.Join('\n',
                "version = 2",
                $"root = \"{dir}/ctd/root\"",
                $"state = \"{dir}/ctd/state\"",
                "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]",
                "[grpc]",
                $"  address = \"{dir}/ctd/containerd.sock\"",
                "[debug]",
                "  address = \"\"",
                "[metrics]",
                "  address = \"\"",
                "[plugins.\"io.containerd.internal.v1.opt\"]",
                $"  path = \"{dir}/ctd/opt\"",
                ""));
            engine.Start();
            engine.ImportTestImage();
            return engine;
        }
        catch
        {
            engine.Dispose();
            throw;
        }
    }

    /// <summary>Starts containerd, waits until its socket accepts, starts dockerd, waits until <c>/_ping</c> answers OK.</summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Running) throw new InvalidOperationException("the private engine already runs");
        _containerdProcess = Spawn(ContainerdLog, _containerd, "--config", Path.Combine(Dir, "ctd", "config.toml"));
        WaitUntil("containerd accepts connections on " + ContainerdSocket, _containerdProcess, ContainerdLog, () => Accepts(ContainerdSocket));
        // A network namespace of its own (see the class comment: --bridge=none deletes its namespace's docker0).
        _dockerdProcess = Spawn(DockerdLog, Which("unshare")!, "--net", "--", _dockerd,
            "--config-file", Path.Combine(Dir, "daemon.json"),
            "--containerd", ContainerdSocket,
            "--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-forward=false",
            "--data-root", Path.Combine(Dir, "data"),
            "--exec-root", Path.Combine(Dir, "exec"),
            "--pidfile", Path.Combine(Dir, "dockerd.pid"),
            "-H", "unix://" + Socket);
        WaitUntil("dockerd answers /_ping on " + Socket, _dockerdProcess, DockerdLog, () => Ping());
        var ns = NetworkNamespace(_dockerdProcess.Id);
        if (ns is null || ns == NetworkNamespace(Environment.ProcessId))
            throw new InvalidOperationException($"the private dockerd {_dockerdProcess.Id} is not in a network namespace of its own ({ns ?? "unknown"})");
    }

    /// <summary>The network namespace of dockerd while it runs (<c>net:[inode]</c>), never the test process's.</summary>
    public string? DockerdNetworkNamespace => _dockerdProcess is { HasExited: false } p ? NetworkNamespace(p.Id) : null;

    /// <summary>The network namespace of a process (<c>net:[inode]</c>), null when it is gone.</summary>
    public static string? NetworkNamespace(int pid)
    {
        try { return new FileInfo($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/ns/net").LinkTarget; }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>
    /// Stops the engine like a host shutdown would: SIGTERM to dockerd (which stops its containers; restart
    /// policy "no" keeps them stopped), wait for it to exit, then the same for containerd; then unmounts
    /// whatever either left under <see cref="Dir"/>.
    /// </summary>
    public void Stop()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        StopProcess(ref _dockerdProcess, "dockerd", DockerdLog);
        StopProcess(ref _containerdProcess, "containerd", ContainerdLog);
        Unmount(Dir);
    }

    /// <summary>Stops the engine and starts it again (waiting for the ping).</summary>
    public void Restart()
    {
        Stop();
        Start();
    }

    /// <summary>Stops the engine and removes everything of it; never throws (see <see cref="Leftovers"/>).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        try
        {
            try { Stop(); }
            catch (Exception ex) when (ex is InvalidOperationException or IOException or System.ComponentModel.Win32Exception)
            {
                Console.Error.WriteLine($"private dockerd {Dir}: stop failed, killing what is left: {ex.Message}");
            }
            CleanUp(Dir);
        }
        finally
        {
            _disposed = true;
            _dockerdProcess?.Dispose();
            _containerdProcess?.Dispose();
        }
        if (Leftovers(Dir) is { Count: > 0 } left) Console.Error.WriteLine($"private dockerd {Dir}: left behind: {string.Join("; ", left)}");
    }

    /// <summary>What of the engine in <paramref name="dir"/> still exists: processes naming the directory, mounts under it, the directory.</summary>
    public static IReadOnlyList<string> Leftovers(string dir)
    {
        var left = new List<string>();
        left.AddRange(ProcessesUsing(dir).Select(p => $"process {p.Pid}: {p.CommandLine}"));
        left.AddRange(MountsUnder(dir).Select(m => "mount " + m));
        if (Directory.Exists(dir)) left.Add("directory " + dir);
        return left;
    }

    /// <summary>The last lines of both logs, for failure messages.</summary>
    public string LogTail(int lines = 30) => Tail(DockerdLog, lines) + Tail(ContainerdLog, lines);

    // ------------------------------------------------------------------ engine API (over the private socket)

    private HttpClient Http(TimeSpan timeout)
    {
        var socket = Socket;
        return new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var s = new System.Net.Sockets.Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), ct).ConfigureAwait(false);
                    return new NetworkStream(s, ownsSocket: true);
                }
                catch
                {
                    s.Dispose();
                    throw;
                }
            },
        })
        { BaseAddress = new Uri("http://localhost/"), Timeout = timeout };
    }

    /// <summary>True when dockerd answers <c>GET /_ping</c> with OK.</summary>
    public bool Ping()
    {
        if (!File.Exists(Socket)) return false;
        try
        {
            using var http = Http(TimeSpan.FromSeconds(5));
            using var r = http.GetAsync(new Uri("_ping", UriKind.Relative)).GetAwaiter().GetResult();
            return r.IsSuccessStatusCode && r.Content.ReadAsStringAsync().GetAwaiter().GetResult() == "OK";
        }
        catch (HttpRequestException) { return false; }
        catch (TaskCanceledException) { return false; }
        catch (IOException) { return false; }
    }

    /// <summary>
    /// <c>bash .ci/backends/busybox-rootfs.sh | docker import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' -c 'LABEL org.swarmps.test-image=1' - swarmps-tiny:latest</c>,
    /// through the Engine API (<c>POST /images/create?fromSrc=-</c>), so no docker CLI is needed.
    /// </summary>
    private void ImportTestImage()
    {
        var psi = new ProcessStartInfo("bash") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        psi.ArgumentList.Add(RootfsScript()!);
        using var tar = Process.Start(psi)!;
        tar.StandardInput.Close();
        var stderr = tar.StandardError.ReadToEndAsync();
        var (repo, tag) = (TestImage[..TestImage.IndexOf(':', StringComparison.Ordinal)], TestImage[(TestImage.IndexOf(':', StringComparison.Ordinal) + 1)..]);
        var query = $"images/create?fromSrc=-&repo={repo}&tag={tag}" + string.Concat(
            new[] { "ENV PATH=/bin", "CMD [\"/bin/sh\"]", "LABEL org.swarmps.test-image=1" }.Select(c => "&changes=" + Uri.EscapeDataString(c)));
        using var http = Http(Deadline);
        var body = new StreamContent(tar.StandardOutput.BaseStream);
        body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-tar");
        HttpResponseMessage r;
        string answer;
        using (body)
        {
            r = http.PostAsync(new Uri(query, UriKind.Relative), body).GetAwaiter().GetResult();
            answer = r.Content.ReadAsStringAsync().GetAwaiter().GetResult();
        }
        using var response = r;
        // Our end of the pipe is closed now: a script the engine stopped reading from ends (SIGPIPE) instead of blocking.
        if (!tar.WaitForExit(Deadline))
        {
            tar.Kill();
            throw new InvalidOperationException("busybox-rootfs.sh did not finish within " + Deadline);
        }
        if (tar.ExitCode != 0) throw new InvalidOperationException($"busybox-rootfs.sh failed ({tar.ExitCode}): {stderr.GetAwaiter().GetResult()}");
        if (!r.IsSuccessStatusCode || answer.Contains("\"errorDetail\"", StringComparison.Ordinal))
            throw new InvalidOperationException($"importing {TestImage} into the private engine failed ({(int)r.StatusCode}): {answer}");
        using var check = http.GetAsync(new Uri("images/" + TestImage + "/json", UriKind.Relative)).GetAwaiter().GetResult();
        if (!check.IsSuccessStatusCode) throw new InvalidOperationException($"{TestImage} is not in the private engine after the import ({(int)check.StatusCode})");
    }

    // ------------------------------------------------------------------ processes

    /// <summary>Starts <paramref name="file"/> with its stdout and stderr appended to <paramref name="log"/> and stdin from /dev/null (a fixed sh line; the arguments stay a list).</summary>
    private static Process Spawn(string log, string file, params string[] args)
    {
        var psi = new ProcessStartInfo("sh") { UseShellExecute = false };
        foreach (var a in new[] { "-c", "log=$1; shift; exec \"$@\" >>\"$log\" 2>&1 </dev/null", "sh", log, file }.Concat(args)) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    private void WaitUntil(string what, Process process, string log, Func<bool> ready)
    {
        var sw = Stopwatch.StartNew();
        while (!ready())
        {
            if (process.HasExited)
                throw new InvalidOperationException($"private engine: waiting until {what}, the process exited with {process.ExitCode}; last log lines:\n{Tail(log, 30)}");
            if (sw.Elapsed > Deadline)
                throw new InvalidOperationException($"private engine: not ready within {Deadline.TotalSeconds} s (waited until {what}); last log lines:\n{Tail(log, 30)}");
            Thread.Sleep(100);
        }
    }

    private static bool Accepts(string socketPath)
    {
        if (!File.Exists(socketPath)) return false;
        using var s = new System.Net.Sockets.Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            s.Connect(new UnixDomainSocketEndPoint(socketPath));
            return true;
        }
        catch (SocketException) { return false; }
    }

    private static void StopProcess(ref Process? process, string name, string log)
    {
        if (process is null) return;
        var p = process;
        process = null;
        using (p)
        {
            if (!p.HasExited)
            {
                Signal(p.Id, "TERM");
                if (!p.WaitForExit(Deadline))
                {
                    p.Kill();
                    p.WaitForExit(Deadline);
                    throw new InvalidOperationException($"{name} {p.Id} did not exit within {Deadline.TotalSeconds} s of SIGTERM and was killed; last log lines:\n{Tail(log, 30)}");
                }
            }
        }
    }

    private static void Signal(int pid, string signal) =>
        Sync.Run(ProcessRunner.Default.RunAsync(new ProcessSpec("kill", new[] { "-" + signal, pid.ToString(CultureInfo.InvariantCulture) }) { Timeout = TimeSpan.FromSeconds(30) }));

    /// <summary>Live processes whose command line names <paramref name="dir"/> (dockerd, containerd, its shims), never this process.</summary>
    private static List<(int Pid, string CommandLine)> ProcessesUsing(string dir)
    {
        var found = new List<(int, string)>();
        if (!OperatingSystem.IsLinux()) return found;
        foreach (var proc in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(proc), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId) continue;
            string[] args;
            try { args = File.ReadAllText(Path.Combine(proc, "cmdline")).Split('\0', StringSplitOptions.RemoveEmptyEntries); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            if (args.Any(a => a.Contains(dir + "/", StringComparison.Ordinal) || a.EndsWith(dir, StringComparison.Ordinal)) && ProcessIdentity.Of(pid) is not null)
                found.Add((pid, string.Join(' ', args)));
        }
        return found;
    }

    // ------------------------------------------------------------------ clean-up

    /// <summary>Kills what still names <paramref name="dir"/> (SIGTERM, then SIGKILL), unmounts everything under it, deletes it.</summary>
    private static void CleanUp(string dir)
    {
        foreach (var signal in new[] { "TERM", "KILL" })
        {
            var procs = ProcessesUsing(dir);
            if (procs.Count == 0) break;
            // dockerd first: it stops its containers while containerd still runs.
            foreach (var (pid, _) in procs.OrderBy(p => p.CommandLine.Contains("dockerd", StringComparison.Ordinal) ? 0 : 1))
            {
                try { Signal(pid, signal); }
                catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception) { }
            }
            var sw = Stopwatch.StartNew();
            while (ProcessesUsing(dir).Count > 0 && sw.Elapsed < Deadline) Thread.Sleep(100);
        }
        Unmount(dir);
        try
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"private dockerd {dir}: cannot delete: {ex.Message}");
        }
    }

    /// <summary>
    /// Private engine directories whose owner process is gone (a test process that died with its engine
    /// running) are cleaned up; directories of live owners (other test processes, other checkouts) are never touched.
    /// </summary>
    private static void CleanUpAfterDeadOwners()
    {
        foreach (var dir in Directory.EnumerateDirectories(Path.GetTempPath(), DirPrefix + "*"))
        {
            string? owner = null;
            try { owner = File.ReadAllText(Path.Combine(dir, "owner")).Trim(); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            // No owner file yet: another process is creating it right now, unless it is old.
            if (owner is null && DateTime.UtcNow - Directory.GetCreationTimeUtc(dir) < TimeSpan.FromMinutes(10)) continue;
            if (owner is not null && ProcessIdentity.IsAlive(owner)) continue;
            Console.Error.WriteLine($"private dockerd: cleaning up {dir} (its test process {owner ?? "?"} is gone)");
            CleanUp(dir);
        }
    }

    /// <summary>Unmounts every mount point at or under <paramref name="dir"/>, deepest first (stacked mounts too); lazily when busy.</summary>
    private static void Unmount(string dir)
    {
        for (var pass = 0; pass < 10; pass++)
        {
            var mounts = MountsUnder(dir);
            if (mounts.Count == 0) return;
            foreach (var m in mounts.OrderByDescending(m => m.Length))
            {
                var args = pass < 5 ? new[] { m } : new[] { "-l", m };
                Sync.Run(ProcessRunner.Default.RunAsync(new ProcessSpec("umount", args) { Timeout = TimeSpan.FromSeconds(30) }));
            }
        }
    }

    private static List<string> MountsUnder(string dir)
    {
        if (!OperatingSystem.IsLinux()) return new List<string>();
        return File.ReadAllLines("/proc/mounts")
            .Select(l => l.Split(' '))
            .Where(f => f.Length > 2)
            .Select(f => Unescape(f[1]))
            .Where(m => m == dir || m.StartsWith(dir + "/", StringComparison.Ordinal))
            .ToList();
    }

    /// <summary>/proc/mounts writes space, tab, newline and backslash as octal escapes (\040).</summary>
    private static string Unescape(string s)
    {
        if (!s.Contains('\\', StringComparison.Ordinal)) return s;
        var b = new StringBuilder();
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 3 < s.Length && s.Substring(i + 1, 3).All(c => c is >= '0' and <= '7'))
            {
                b.Append((char)Convert.ToInt32(s.Substring(i + 1, 3), 8));
                i += 3;
            }
            else b.Append(s[i]);
        }
        return b.ToString();
    }

    // ------------------------------------------------------------------ helpers

    private static string? Which(string name)
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        // dockerd lives in /usr/sbin, which a non-login PATH may lack.
        foreach (var dir in path.Concat(new[] { "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin" }))
        {
            var p = Path.Combine(dir, name);
            if (File.Exists(p)) return p;
        }
        return null;
    }

    private static string? RootfsScript()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var p = Path.Combine(dir.FullName, ".ci", "backends", "busybox-rootfs.sh");
            if (File.Exists(p)) return p;
        }
        return null;
    }

    private static string Tail(string path, int lines)
    {
        try
        {
            return File.Exists(path) ? $"--- {path}\n" + string.Join('\n', File.ReadLines(path).TakeLast(lines)) + "\n" : "";
        }
        catch (IOException ex) { return $"--- {path}: {ex.Message}\n"; }
    }
}
