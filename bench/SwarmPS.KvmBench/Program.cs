using System.Diagnostics;
using System.Globalization;
using System.Text;
using SwarmPS.Core;
using SwarmPS.Core.Providers;
using SwarmPS.Core.Providers.Kvm;
using static SwarmPS.BenchShared.BenchUtil;

namespace SwarmPS.KvmBench;

/// <summary>
/// Issue 6's figure: KVM create with a 64 MiB base vs a 4 GiB base (both fully allocated qcow2 files), boot excluded.
/// Targets: ratio (4 GiB / 64 MiB, medians) ≤ 1.2, each median ≤ 1 s, and at least 20× faster than a full copy
/// (<c>cp --reflink=never</c>) of the 4 GiB base. Contestants, alternating order within one run, after warm-up:
/// <list type="number">
/// <item><b>overlay + define</b> (the figure): exactly the provider's create steps up to and including define —
/// <c>qemu-img create -f qcow2 -F qcow2 -b BASE OVERLAY</c> through <see cref="Virsh.QemuImgAsync"/>, the domain XML from
/// <see cref="KvmDomainXml.Build"/> written to the pool, <c>virsh define</c>. No seed, no key, no start.</item>
/// <item><b>provider create, --no-wait</b> (context): <see cref="SwarmService.NewEnvironmentAsync"/> on the kvm provider with
/// <see cref="KvmWaitFor.Running"/>: the above plus the SSH key, the seed ISO, <c>virsh start</c> (QEMU launches; the guest's
/// boot is not awaited) and the registry rows.</item>
/// <item><b>cp</b>: a full copy of the 4 GiB base (the baseline the 20× is against), fewer repetitions.</item>
/// </list>
/// Every domain and file a repetition made is removed afterwards, untimed. The bases live in --dir (default /var/tmp).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public static class Program
{
    private sealed class Options
    {
        public int Reps = 21;
        public int CreateReps = 11;
        public int CopyReps = 3;
        public int Warmup = 2;
        public string Dir = "/var/tmp";
        public string? Out;
        public bool SkipProvider;
    }

    public static async Task<int> Main(string[] args)
    {
        var o = new Options();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick": o.Reps = 5; o.CreateReps = 3; o.CopyReps = 1; o.Warmup = 1; break;
                case "--reps": o.Reps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--create-reps": o.CreateReps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--copy-reps": o.CopyReps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--dir": o.Dir = args[++i]; break;
                case "--out": o.Out = args[++i]; break;
                case "--skip-provider": o.SkipProvider = true; break;
                case "-h" or "--help":
                    Console.WriteLine("""
                        SwarmPS.KvmBench: KVM create (overlay + define) on a 64 MiB vs a 4 GiB base, and a full copy (issue 6).
                          --quick            5 / 3 / 1 repetitions
                          --reps N           overlay + define repetitions per base (default 21, after 2 warm-ups)
                          --create-reps N    provider create (--no-wait) repetitions per base (default 11)
                          --copy-reps N      cp of the 4 GiB base (default 3)
                          --skip-provider    only overlay + define and cp
                          --dir DIR          where the bases and the copy go (default /var/tmp; needs ~9 GiB free)
                          --out FILE         also write the markdown results there
                        """);
                    return 0;
                default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
            }
        }
        var root = Path.Combine(Path.GetFullPath(o.Dir), "swarmps-kvmbench-" + Environment.ProcessId);
        try
        {
            return await RunAsync(o, root).ConfigureAwait(false);
        }
        finally
        {
            try { if (Directory.Exists(root)) Directory.Delete(root, true); } catch (IOException) { }
        }
    }

    private static async Task<int> RunAsync(Options o, string root)
    {
        var kvm = new KvmProvider(new KvmOptions
        {
            WaitFor = KvmWaitFor.Running, DomainType = Environment.GetEnvironmentVariable("SWARMPS_KVM_DOMAIN_TYPE") ?? "auto",
            ShutdownTimeout = TimeSpan.FromSeconds(1), CommandTimeout = TimeSpan.FromMinutes(5),
        });
        var available = await kvm.CheckAvailabilityAsync(default).ConfigureAwait(false);
        if (!available.Available) { Console.Error.WriteLine("libvirt is not available: " + available.Reason); return 3; }
        var pool = await kvm.PoolDirectoryAsync(default).ConfigureAwait(false);
        var type = await kvm.DomainTypeAsync(default).ConfigureAwait(false);

        // Space first: two 4 GiB files (the base and its copy) plus the small base, with 1 GiB to spare.
        Directory.CreateDirectory(root);
        File.SetUnixFileMode(root, (UnixFileMode)0x1ED);
        var need = 9L * 1024 * 1024 * 1024 + 64L * 1024 * 1024;
        var free = new DriveInfo(root).AvailableFreeSpace;
        Console.Error.WriteLine($"df: {F(free / 1073741824.0)} GiB free where the bases go ({root}); need {F(need / 1073741824.0)} GiB");
        if (free < need) { Console.Error.WriteLine("not enough free space; pass --dir on a larger file system"); return 3; }

        var small = Path.Combine(root, "base-64m.qcow2");
        var large = Path.Combine(root, "base-4g.qcow2");
        var sw = Stopwatch.StartNew();
        MakeBase(small, 64);
        MakeBase(large, 4096);
        Console.Error.WriteLine($"bases written in {F(sw.Elapsed.TotalSeconds)} s: {Describe(small)}; {Describe(large)}");

        var home = new SwarmHome(Path.Combine(root, "home"));
        home.EnsureCreated();
        var service = new SwarmService(home, new SwarmConfig(), new ProviderCatalog(new IEnvironmentProvider[] { kvm }, KvmProvider.ProviderName));
        var images = new KvmImages(service.Registry);
        await images.RegisterAsync("b64m", small, "64 MiB of data", cpus: 1, memoryMb: 64).ConfigureAwait(false);
        await images.RegisterAsync("b4g", large, "4 GiB of data", cpus: 1, memoryMb: 64).ConfigureAwait(false);

        var results = new Dictionary<string, List<double>>
        {
            ["define-64m"] = new(), ["define-4g"] = new(), ["create-64m"] = new(), ["create-4g"] = new(), ["cp-4g"] = new(),
        };
        var n = 0;

        // 1. overlay + define, alternating order, warm-up first
        for (var rep = 0; rep < o.Warmup + o.Reps; rep++)
        {
            var order = rep % 2 == 0 ? new[] { ("64m", small), ("4g", large) } : new[] { ("4g", large), ("64m", small) };
            foreach (var (label, baseFile) in order)
            {
                var domain = $"swarmbench-{Environment.ProcessId}-{n++}";
                var overlay = Path.Combine(pool, domain + ".qcow2");
                var t = Stopwatch.StartNew();
                var img = await kvm.Virsh.QemuImgAsync(default, "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", baseFile, overlay).ConfigureAwait(false);
                if (!img.Success) throw new InvalidOperationException(img.StandardError);
                var xml = KvmDomainXml.Build(new KvmDomainSpec
                {
                    Name = domain, Ticket = domain, Type = type, Cpus = 1, MemoryMb = 64, DiskPath = overlay, Network = "default",
                    SerialLogPath = Path.Combine(pool, domain + "-serial.log"), HomeId = "bench", HomePath = home.Path,
                });
                var xmlFile = Path.Combine(pool, domain + ".xml.tmp");
                await File.WriteAllTextAsync(xmlFile, xml).ConfigureAwait(false);
                await kvm.Virsh.RunAsync(null, default, "define", xmlFile).ConfigureAwait(false);
                File.Delete(xmlFile);
                t.Stop();
                if (rep >= o.Warmup) results["define-" + label].Add(t.Elapsed.TotalMilliseconds);
                await kvm.Virsh.RunAsync(null, default, "undefine", domain).ConfigureAwait(false);
                File.Delete(overlay);
            }
        }
        Console.Error.WriteLine($"overlay + define: {o.Reps} x 2 done");

        // 2. the provider's whole create without readiness (context)
        if (!o.SkipProvider)
        {
            for (var rep = 0; rep < 1 + o.CreateReps; rep++)
            {
                var order = rep % 2 == 0 ? new[] { ("64m", "b64m"), ("4g", "b4g") } : new[] { ("4g", "b4g"), ("64m", "b64m") };
                foreach (var (label, image) in order)
                {
                    var ticket = $"KB-{n++}";
                    var t = Stopwatch.StartNew();
                    await service.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = ticket, Provider = "kvm", Image = image }).ConfigureAwait(false);
                    t.Stop();
                    if (rep >= 1) results["create-" + label].Add(t.Elapsed.TotalMilliseconds);
                    await service.RemoveEnvironmentAsync(ticket, new RemoveOptions { Force = true }).ConfigureAwait(false);
                }
            }
            Console.Error.WriteLine($"provider create: {o.CreateReps} x 2 done");
        }

        // 3. full copy of the 4 GiB base (same file system), the copy deleted and synced away after each
        for (var rep = 0; rep < o.CopyReps; rep++)
        {
            var copy = Path.Combine(root, "copy.qcow2");
            var t = Stopwatch.StartNew();
            Run("cp", "--reflink=never", large, copy);
            t.Stop();
            results["cp-4g"].Add(t.Elapsed.TotalMilliseconds);
            File.Delete(copy);
            Run("sync");
        }
        foreach (var key in results.Keys.Where(k => results[k].Count == 0).ToList()) results.Remove(key);

        var md = Report(o, results, type, small, large);
        Console.WriteLine(md);
        if (o.Out is not null) await File.WriteAllTextAsync(o.Out, md).ConfigureAwait(false);
        var verdictMet = md.Contains("**Verdict: met**", StringComparison.Ordinal);
        return verdictMet ? 0 : 1;
    }

    /// <summary>A qcow2 of <paramref name="mib"/> MiB, every cluster written with a non-zero pattern (so it really holds that much data).</summary>
    private static void MakeBase(string path, int mib)
    {
        Run("qemu-img", "create", "-q", "-f", "qcow2", path, mib + "M");
        var args = new List<string>();
        for (var off = 0; off < mib; off += 256) { args.Add("-c"); args.Add($"write -q -P 0x5a {off}M {Math.Min(256, mib - off)}M"); }
        args.Add(path);
        Run("qemu-io", args.ToArray());
        File.SetUnixFileMode(path, (UnixFileMode)0x1A4);
    }

    private static string Describe(string path)
    {
        var info = Run("qemu-img", "info", "-U", "--output=json", path);
        using var doc = System.Text.Json.JsonDocument.Parse(info);
        var actual = doc.RootElement.GetProperty("actual-size").GetInt64();
        return $"{Path.GetFileName(path)} {F(new FileInfo(path).Length / 1048576.0, "0")} MiB file, {F(actual / 1048576.0, "0")} MiB allocated";
    }

    private static string Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["LC_ALL"] = "C";
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: {stderr.Result}");
        return stdout.Result;
    }

    private static string Report(Options o, Dictionary<string, List<double>> r, string type, string small, string large)
    {
        double Med(string k) => Percentile(r[k], 50);
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.MachineName}, {Environment.ProcessorCount} CPUs, domain type {type}; " +
            $"{Describe(small)}; {Describe(large)}.");
        sb.AppendLine();
        sb.AppendLine("| contestant | n | median ms | p90 ms | min ms | max ms |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|");
        var names = new Dictionary<string, string>
        {
            ["define-64m"] = "overlay + define, 64 MiB base", ["define-4g"] = "overlay + define, 4 GiB base",
            ["create-64m"] = "provider create --no-wait, 64 MiB base", ["create-4g"] = "provider create --no-wait, 4 GiB base",
            ["cp-4g"] = "cp --reflink=never of the 4 GiB base",
        };
        foreach (var (k, v) in r)
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {names[k]} | {v.Count} | {F(Med(k))} | {F(Percentile(v, 90))} | {F(v.Min())} | {F(v.Max())} |");
        sb.AppendLine();
        var ratio = Med("define-4g") / Med("define-64m");
        var vsCopy = Med("cp-4g") / Med("define-4g");
        var ok1 = ratio <= 1.2;
        var ok2 = Med("define-64m") <= 1000 && Med("define-4g") <= 1000;
        var ok3 = vsCopy >= 20;
        sb.AppendLine(CultureInfo.InvariantCulture, $"- ratio 4 GiB / 64 MiB (overlay + define medians): **{F(ratio, "0.00")}** (target ≤ 1.2: {(ok1 ? "met" : "missed")})");
        sb.AppendLine(CultureInfo.InvariantCulture, $"- each ≤ 1 s: 64 MiB {F(Med("define-64m"))} ms, 4 GiB {F(Med("define-4g"))} ms ({(ok2 ? "met" : "missed")})");
        sb.AppendLine(CultureInfo.InvariantCulture, $"- full copy / create (4 GiB): **{F(vsCopy, "0")}×** (target ≥ 20×: {(ok3 ? "met" : "missed")})");
        if (r.ContainsKey("create-4g"))
            sb.AppendLine(CultureInfo.InvariantCulture, $"- context, provider create --no-wait: ratio {F(Med("create-4g") / Med("create-64m"), "0.00")}, full copy / create {F(Med("cp-4g") / Med("create-4g"), "0")}×");
        sb.AppendLine();
        sb.AppendLine(ok1 && ok2 && ok3 ? "**Verdict: met**" : "**Verdict: missed**");
        return sb.ToString();
    }
}
