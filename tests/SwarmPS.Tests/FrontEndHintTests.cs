using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Agents;
using SwarmPS.Core.Providers;
using SwarmPS.Core.Providers.HyperV;
using SwarmPS.Core.Providers.Kvm;
using SwarmPS.Core.Providers.Tart;
using SwarmPS.Core.Providers.Worktree;
using SwarmPS.Core.Registry;
using SwarmPS.Tests.Support;
using Xunit;

namespace SwarmPS.Tests;

/// <summary>
/// Issue 14 defect 10: Core's errors word their hint per front end. PowerShell sees cmdlets and -Parameters, never
/// 'swarmps ...' or --options; the CLI sees 'swarmps ...' commands and --options. Plus a static guard over Core's
/// string literals so new CLI wording in a Core message fails here.
/// </summary>
public sealed class FrontEndHintTests : IDisposable
{
    private readonly string _home = Path.Combine(Path.GetTempPath(), "swarmps-hints-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        try { Directory.Delete(_home, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>The PowerShell text names <paramref name="psWords"/> and no CLI wording; the CLI text names <paramref name="cliWords"/>.</summary>
    private static void AssertWorded(SwarmException ex, string[] psWords, string[] cliWords)
    {
        ex.Hint.Should().NotBeNull($"'{ex.Message}' should carry a front-end hint");
        ex.Message.Should().NotContain("swarmps ").And.NotMatchRegex("--[a-z]", "the message itself is shared by both front ends");
        var ps = ex.MessageFor(FrontEnd.PowerShell);
        ps.Should().NotContain("swarmps ").And.NotContain("--");
        foreach (var w in psWords) ps.Should().Contain(w);
        var cli = ex.MessageFor(FrontEnd.Cli);
        foreach (var w in cliWords) cli.Should().Contain(w);
        cli.Should().NotMatchRegex(@"\b(Get|New|Start|Stop|Register|Remove|Repair)-Swarm", "the CLI names swarmps commands, not cmdlets");
    }

    private static SwarmException Throws(Action act) => act.Should().Throw<SwarmException>().Which;

    private ProviderContext Context(SwarmRegistry? registry = null)
    {
        var home = new SwarmHome(_home);
        return new ProviderContext { Home = home, Config = new SwarmConfig(), Registry = registry ?? SwarmRegistry.Open(home) };
    }

    [Fact]
    public void Unknown_base_image_names_Register_SwarmBaseImage_or_swarmps_image_register()
    {
        var reg = SwarmRegistry.Open(new SwarmHome(_home));
        var ex = Throws(() => reg.RequireBaseImage("nope"));
        ex.ErrorId.Should().Be(SwarmRegistry.ImageNotFound);
        ex.Message.Should().NotContain("RegisterAsync", "a C# API means nothing to a user");
        AssertWorded(ex, new[] { "Register-SwarmBaseImage" }, new[] { "'swarmps image register'" });
    }

    [Theory]
    [InlineData(KvmProvider.ProviderName, "base.qcow2")]
    [InlineData(HyperVProvider.ProviderName, "base.vhdx")]
    public void A_vm_create_without_image_names_the_register_command_or_the_image_parameter(string provider, string example)
    {
        var p = Provider(provider);
        var ctx = Context();
        var none = Throws(() => p.PrepareAsync(new NewEnvironmentRequest { Ticket = "H-1", Provider = provider }, ctx, default).GetAwaiter().GetResult());
        none.ErrorId.Should().Be(ErrorIds.InvalidArgument);
        AssertWorded(none, new[] { $"Register-SwarmBaseImage -Name NAME -Provider {provider} -Path {example}" }, new[] { $"'swarmps image register NAME --provider {provider} --path {example}'" });

        ctx.Registry.AddBaseImage(new SwarmBaseImage { Name = "img1", Provider = provider, Path = Path.Combine(_home, "missing") });
        var some = Throws(() => p.PrepareAsync(new NewEnvironmentRequest { Ticket = "H-1", Provider = provider }, ctx, default).GetAwaiter().GetResult());
        some.Message.Should().Contain("img1");
        AssertWorded(some, new[] { "-Image NAME", "Get-SwarmBaseImage" }, new[] { "--image NAME", "'swarmps image list'" });
    }

    [Fact]
    public void Kvm_cpu_and_memory_limits_name_Cpus_and_MemoryMb_or_the_cli_options()
    {
        var disk = Path.Combine(_home, "base.qcow2");
        Directory.CreateDirectory(_home);
        File.WriteAllText(disk, "not really qcow2; PrepareAsync only checks that it exists");
        var ctx = Context();
        ctx.Registry.AddBaseImage(new SwarmBaseImage { Name = "img1", Provider = KvmProvider.ProviderName, Path = disk });
        var p = new KvmProvider(new KvmOptions());
        var cpus = Throws(() => p.PrepareAsync(new NewEnvironmentRequest { Ticket = "K-1", Image = "img1", Cpus = 999 }, ctx, default).GetAwaiter().GetResult());
        cpus.ErrorId.Should().Be(ErrorIds.InvalidArgument);
        cpus.Message.Should().Contain("1-256").And.Contain("999");
        AssertWorded(cpus, new[] { "-Cpus" }, new[] { "--cpus" });
        var mem = Throws(() => p.PrepareAsync(new NewEnvironmentRequest { Ticket = "K-1", Image = "img1", MemoryMb = 1 }, ctx, default).GetAwaiter().GetResult());
        AssertWorded(mem, new[] { "-MemoryMb" }, new[] { "--memory-mb" });
    }

    [Fact]
    public void Tart_cpu_limit_names_Cpus_or_the_cli_option()
    {
        var ctx = Context();
        ctx.Registry.AddBaseImage(new SwarmBaseImage { Name = "mac1", Provider = TartProvider.ProviderName, Path = "base-vm" });
        var p = new TartProvider(new TartOptions { RequireMacOS = false, Executable = SwarmPS.Tests.Contract.TartFixture.FakeTart,
            Environment = new Dictionary<string, string?> { ["TART_HOME"] = Path.Combine(_home, "tart") } });
        var ex = Throws(() => p.PrepareAsync(new NewEnvironmentRequest { Ticket = "T-1", Image = "mac1", Cpus = 999 }, ctx, default).GetAwaiter().GetResult());
        ex.ErrorId.Should().Be(ErrorIds.InvalidArgument);
        AssertWorded(ex, new[] { "-Cpus" }, new[] { "--cpus" });
    }

    [Theory]
    [InlineData(KvmProvider.ProviderName, true)]
    [InlineData(HyperVProvider.ProviderName, false)]
    [InlineData(TartProvider.ProviderName, false)]
    public void No_recorded_address_names_Start_SwarmEnvironment_or_swarmps_env_start(string provider, bool mentionsNoWait)
    {
        var p = (SshVmProvider)Provider(provider);
        var env = new SwarmEnvironment { Ticket = "T-1", Provider = provider, InstanceId = "swarm-0123abcd-t-1", Address = "", Metadata = new Dictionary<string, string> { ["user"] = "dev", ["key"] = "/h/k" } };
        var ex = Throws(() => p.PlanAgentLaunch(env, new[] { "x" }, new Dictionary<string, string>()));
        ex.ErrorId.Should().Be(ErrorIds.InvalidState);
        AssertWorded(ex, mentionsNoWait ? new[] { "Start-SwarmEnvironment -Ticket T-1", "-NoWait" } : new[] { "Start-SwarmEnvironment -Ticket T-1" },
            mentionsNoWait ? new[] { "'swarmps env start T-1'", "--no-wait" } : new[] { "'swarmps env start T-1'" });
    }

    [Fact]
    public void Initrd_without_kernel_names_the_Kernel_parameter_or_option()
    {
        var ex = Throws(() => KvmImages.ValidateKernel("img", null, "/boot/initrd", null));
        AssertWorded(ex, new[] { "-Kernel", "-Initrd" }, new[] { "--kernel", "--initrd" });
    }

    [Fact]
    public void Not_a_git_repository_names_RepositoryPath_or_repo()
    {
        var dir = Path.Combine(_home, "plain");
        Directory.CreateDirectory(dir);
        using var r = new TempRepo();
        var svc = new SwarmService(new SwarmHome(r.Home), new SwarmConfig(), new ProviderCatalog(new IEnvironmentProvider[] { new WorktreeProvider() }, WorktreeProvider.ProviderName));
        var ex = Throws(() => svc.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = "G-1", RepositoryPath = dir }).GetAwaiter().GetResult());
        ex.ErrorId.Should().Be(ErrorIds.NotAGitRepository);
        AssertWorded(ex, new[] { "-RepositoryPath" }, new[] { "--repo" });
    }

    [Fact]
    public void The_command_profile_without_argv_names_Command_or_the_double_dash()
    {
        var profile = AgentProfiles.Get(new SwarmConfig(), "command");
        var ex = Throws(() => profile.BuildArgv(new AgentInvocation { Ticket = "T-1", Prompt = "p" }));
        ex.ErrorId.Should().Be(ErrorIds.InvalidArgument);
        AssertWorded(ex, new[] { "-Command", "Start-SwarmAgent" }, new[] { "after '--'", "'swarmps agent start" });
    }

    [Fact]
    public void Every_hint_in_the_catalog_keeps_the_front_ends_apart()
    {
        var hints = typeof(Hints).GetFields().Where(f => f.FieldType == typeof(FrontEndHint)).Select(f => (f.Name, (FrontEndHint)f.GetValue(null)!))
            .Concat(new[]
            {
                ("ListCheckpoints", Hints.ListCheckpoints("T-1")), ("StartEnvironment", Hints.StartEnvironment("T-1")), ("RegisterImageFile", Hints.RegisterImageFile("n", "kvm", "/p")), ("RegisterFirstImage", Hints.RegisterFirstImage("kvm", "base.qcow2")),
                ("StopEnvironment", Hints.StopEnvironment("T-1")), ("StartWithReadiness", Hints.StartWithReadiness("T-1", true)), ("IsVmUp", Hints.IsVmUp("T-1")),
            }).ToList();
        hints.Should().HaveCountGreaterThan(25);
        foreach (var (name, h) in hints)
        {
            h.PowerShell.Should().NotContain("swarmps ", name).And.NotContain("--", name);
            h.Cli.Should().NotMatchRegex(@"\b(Get|New|Start|Stop|Register|Remove|Repair|Wait|Add)-Swarm", name);
            (h.Cli.Contains("swarmps ", StringComparison.Ordinal) || Regex.IsMatch(h.Cli, "--[a-z]")).Should().BeTrue($"{name} should name a swarmps command or --option in the CLI: {h.Cli}");
            Regex.IsMatch(h.PowerShell, @"-Swarm|\s-[A-Z][A-Za-z]+").Should().BeTrue($"{name} should name a cmdlet or -Parameter in PowerShell: {h.PowerShell}");
        }
    }

    private static IEnvironmentProvider Provider(string name) => name switch
    {
        KvmProvider.ProviderName => new KvmProvider(new KvmOptions()),
        HyperVProvider.ProviderName => new HyperVProvider(new SwarmPS.Tests.HyperV.FakeHyperVHost(), new HyperVOptions()),
        _ => new TartProvider(new TartOptions { RequireMacOS = false, Executable = SwarmPS.Tests.Contract.TartFixture.FakeTart,
            Environment = new Dictionary<string, string?> { ["TART_HOME"] = Path.Combine(Path.GetTempPath(), "swarmps-no-tart-home") } }),
    };

    // ------------------------------------------------------------------ static guard

    /// <summary>
    /// Core string literals that may contain "swarmps " or a --option: they are not CLI wording in a user-facing
    /// message (file name, a text the literal contains, why). Each entry must still match, so the list stays honest.
    /// </summary>
    private static readonly (string File, string Text, string Reason)[] Allowed =
    {
        ("IHyperVHost.cs", "not from the swarmps CLI", "availability reason saying Hyper-V works only inside pwsh; it names the cmdlets already"),
        ("DockerEndpoint.cs", "systemctl --user start podman.socket", "an external command (systemd), not a swarmps option"),
        ("TartProvider.cs", "--resolver arp", "an external tart command to diagnose"),
        ("TartProvider.cs", "--no-graphics", "the external 'tart run' command (progress text and its failure)"),
        ("TartProvider.cs", "--wait", "progress text of the external 'tart ip' call"),
        ("KvmProvider.cs", "--source lease", "an external virsh command to diagnose"),
        ("GitWorkspace.cs", "git merge-tree --write-tree", "names the git feature that is missing"),
        ("DecompositionService.cs", "--output-format json", "log line and error about the external claude CLI"),
        ("DecompositionService.cs", " --json-schema ...", "log line of the external claude CLI's argv"),
        ("SwarmClusterService.cs", "sbatch --array=0-", "progress text of the external sbatch call"),
        ("SlurmProvider.cs", "srun --version failed", "availability reason naming the external srun call"),
        ("AgentOutputParser.cs", "use --skip-trust", "an option of the gemini CLI, which printed the exit code"),
        ("AgentProfile.cs", "(codex exec --json;", "profile description naming the external tool's flags"),
        ("AgentProfile.cs", "Aider (--message, --yes-always;", "profile description naming the external tool's flags"),
        ("AgentProfile.cs", "OpenCode (run --format json;", "profile description naming the external tool's flags"),
        ("AgentProfile.cs", "(-p, --output-format stream-json;", "profile descriptions (gemini, cursor-agent) naming the external tool's flags"),
        ("WorktreeProvider.cs", "swarmps checkpoint", "git reflog message passed to update-ref -m"),
    };

    private static string RepoRoot([CallerFilePath] string thisFile = "")
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "SwarmPS.slnx"))) return dir.FullName;
        return Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, "..", ".."));
    }

    // A regular or interpolated C# string literal on one line (escapes skipped).
    private static readonly Regex Literal = new(@"\$?@?""(?:[^""\\]|\\.)*""", RegexOptions.Compiled);
    // A literal that is one process argument ("--format", "--job-name=..."): argv for git, virsh, sbatch, ...
    private static readonly Regex ArgumentToken = new(@"^--[a-z][a-z0-9-]*(=.*)?$", RegexOptions.Compiled);
    private static readonly Regex CliWording = new(@"swarmps |--[a-z]", RegexOptions.Compiled);

    [Fact]
    public void Core_messages_carry_no_cli_wording_outside_the_hint_catalog()
    {
        var core = Path.Combine(RepoRoot(), "src", "SwarmPS.Core");
        Directory.Exists(core).Should().BeTrue(core);
        var found = new List<string>();
        var used = new HashSet<(string, string)>();
        foreach (var file in Directory.EnumerateFiles(core, "*.cs", SearchOption.AllDirectories).Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
        {
            var name = Path.GetFileName(file);
            var inHints = false;
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                var line = lines[i];
                var trimmed = line.TrimStart();
                // The Hints catalog is where CLI and PowerShell words live, side by side.
                if (name == "SwarmErrors.cs" && trimmed.StartsWith("public static class Hints", StringComparison.Ordinal)) inHints = true;
                else if (inHints && line.StartsWith('}')) inHints = false;
                if (inHints || trimmed.StartsWith("//", StringComparison.Ordinal) || trimmed.StartsWith('*')) continue;
                foreach (Match m in Literal.Matches(line))
                {
                    var text = m.Value[(m.Value.IndexOf('"') + 1)..^1];
                    if (!CliWording.IsMatch(text) || ArgumentToken.IsMatch(text)) continue;
                    var allowed = Allowed.Where(a => a.File == name && text.Contains(a.Text, StringComparison.Ordinal)).ToList();
                    if (allowed.Count > 0) { foreach (var a in allowed) used.Add((a.File, a.Text)); continue; }
                    found.Add($"{Path.GetRelativePath(core, file)}:{i + 1}: \"{text}\"");
                }
            }
        }
        found.Should().BeEmpty("Core messages must not name 'swarmps ...' commands or --options: put that in a FrontEndHint (Hints) so PowerShell " +
                               "shows cmdlets and -Parameters; or, for an external tool's argv, add an entry with its reason to Allowed");
        Allowed.Where(a => !used.Contains((a.File, a.Text))).Select(a => $"{a.File}: {a.Text}").Should().BeEmpty("every allow-list entry must still be needed");
    }
}
