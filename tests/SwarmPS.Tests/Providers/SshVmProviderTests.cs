using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Providers;
using SwarmPS.Core.Providers.HyperV;
using SwarmPS.Core.Providers.Kvm;
using SwarmPS.Core.Providers.Tart;
using SwarmPS.Tests.HyperV;
using Xunit;

namespace SwarmPS.Tests.Providers;

/// <summary>
/// The behaviour the SSH VM providers (kvm, hyperv, tart) share through <see cref="SshVmProvider"/>: agents get the
/// prompt copied into the guest over stdin and their pid recorded there, connections carry a per-environment
/// known_hosts, the readiness probe uses it, and the interactive login is the same ssh argv. No VM needed.
/// </summary>
public sealed class SshVmProviderTests
{
    private static SwarmEnvironment Env(string provider, Dictionary<string, string> meta) => new()
    {
        Ticket = "T-1", Provider = provider, InstanceId = "swarm-0123abcd-t-1", Address = "10.0.0.9", Metadata = meta,
    };

    public static TheoryData<string> Providers => new() { KvmProvider.ProviderName, HyperVProvider.ProviderName, TartProvider.ProviderName };

    private static (SshVmProvider Provider, SwarmEnvironment Env, string KnownHosts) Make(string name, FakeSshProbe? probe = null) => name switch
    {
        KvmProvider.ProviderName => (new KvmProvider(new KvmOptions(), null, probe),
            Env(name, new() { ["user"] = "dev", ["key"] = "/h/kvm/keys/swarm-0123abcd-t-1" }), "/h/kvm/keys/swarm-0123abcd-t-1.known_hosts"),
        HyperVProvider.ProviderName => (new HyperVProvider(null, new HyperVOptions(), probe),
            Env(name, new() { ["user"] = "dev", ["key"] = "/h/hyperv/keys/swarm-0123abcd-t-1", ["switch"] = "SwarmPS" }), "/h/hyperv/keys/swarm-0123abcd-t-1.known_hosts"),
        // The fake tart (an empty TART_HOME: `tart ip` answers "not found"), so no test depends on a real tart on PATH.
        _ => (new TartProvider(new TartOptions { RequireMacOS = false, Executable = SwarmPS.Tests.Contract.TartFixture.FakeTart,
                Environment = new Dictionary<string, string?> { ["TART_HOME"] = Path.Combine(Path.GetTempPath(), "swarmps-no-tart-home") } }, probe),
            Env(name, new() { ["user"] = "dev", ["key"] = "/h/tart/keys/id_ed25519", ["runDir"] = "/h/tart/run/swarm-0123abcd-t-1" }), Path.Combine("/h/tart/run/swarm-0123abcd-t-1", "known_hosts")),
    };

    [Theory]
    [MemberData(nameof(Providers))]
    public void Every_ssh_vm_provider_copies_the_prompt_into_the_guest_and_records_the_agent_pid(string name)
    {
        var (p, env, knownHosts) = Make(name);
        var vars = new Dictionary<string, string> { ["SWARM_PROMPT_FILE"] = "/h/agents/a1/1/prompt.txt", ["SWARM_AGENT_ID"] = "a1", ["SWARM_AGENT_RUN"] = "2", [SshVmProvider.PromptDeliveryVariable] = "file" };
        var plan = p.PlanAgentLaunch(env, new[] { "agent", "--prompt-file", "/h/agents/a1/1/prompt.txt" }, vars);
        plan.FileName.Should().Be("ssh");
        plan.PromptOnStandardInput.Should().BeTrue();
        plan.Arguments.Should().Contain("dev@10.0.0.9").And.Contain("HostKeyAlias=swarm-0123abcd-t-1").And.Contain("StrictHostKeyChecking=accept-new")
            .And.Contain("UserKnownHostsFile=" + knownHosts);
        var guest = SshVmProvider.GuestPromptPath("dev", "a1", "2");
        var remote = plan.Arguments[^1];
        remote.Should().StartWith("umask 077 && mkdir -p '/tmp/swarmps-dev/prompts' && cat > '" + guest + "' && echo $$ > '/tmp/swarmps-dev/prompts/a1-2.pid'");
        remote.Should().Contain("'agent' '--prompt-file' '" + guest + "'").And.EndWith(" < /dev/null; rc=$?; rm -f '" + guest + "' '/tmp/swarmps-dev/prompts/a1-2.pid'; exit $rc; }");
        remote.Should().NotContain("/h/agents");
        var noAddress = () => p.PlanAgentLaunch(env.With(address: ""), new[] { "x" }, vars);
        noAddress.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.InvalidState);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Interactive_login_and_connection_use_the_environments_known_hosts(string name)
    {
        var (p, env, knownHosts) = Make(name);
        var args = name == KvmProvider.ProviderName ? null : await p.InteractiveSshArgumentsAsync(env, default);
        if (args is not null)
        {
            args.TakeLast(2).Should().Equal("-t", "dev@10.0.0.9");
            args.Should().Contain("UserKnownHostsFile=" + knownHosts).And.NotContain("BatchMode=yes");
            var c = await p.GetConnectionAsync(env, default);
            c.KnownHostsPath.Should().Be(knownHosts);
            c.HostKeyAlias.Should().Be(env.InstanceId);
        }
        var planned = p.SshArguments(env, "10.0.0.9", new[] { "true" });
        planned.Should().Contain("UserKnownHostsFile=" + knownHosts);
    }

    /// <summary>
    /// The in-guest stop script, run here against a real process tree: a parent sh with two children. The
    /// /proc path is what Linux guests take; the ps path (no /proc, as on macOS Tart guests) is forced by
    /// pointing the probe at a file that does not exist.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_in_guest_stop_script_ends_the_agents_whole_process_tree_and_removes_its_files(bool withoutProc)
    {
        if (OperatingSystem.IsWindows()) return;
        var dir = Directory.CreateTempSubdirectory("swarmps-stopscript-").FullName;
        try
        {
            var script = withoutProc ? SshVmProvider.StopAgentScript.Replace("/proc/1/status", "/nonexistent/status", StringComparison.Ordinal) : SshVmProvider.StopAgentScript;
            var (pidFile, promptFile, childrenFile) = (Path.Combine(dir, "a.pid"), Path.Combine(dir, "a.txt"), Path.Combine(dir, "children"));
            var agent = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("sh")
            {
                ArgumentList = { "-c", "sleep 300 & a=$!; sleep 301 & echo \"$a $!\" > \"$1\"; wait", "sh", childrenFile },
            })!;
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!(File.Exists(childrenFile) && File.ReadAllText(childrenFile).EndsWith('\n')) && DateTime.UtcNow < deadline) Thread.Sleep(20);
            var children = File.ReadAllText(childrenFile).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();
            children.Should().HaveCount(2);
            File.WriteAllText(pidFile, agent.Id + "\n");
            File.WriteAllText(promptFile, "prompt");

            var stop = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("sh") { ArgumentList = { "-c", script, "sh", pidFile, promptFile } })!;
            stop.WaitForExit(30_000).Should().BeTrue();
            stop.ExitCode.Should().Be(0);

            agent.WaitForExit(10_000).Should().BeTrue("the agent itself got TERM");
            foreach (var c in children)
                Alive(c).Should().BeFalse($"child {c} of the agent is part of its tree");
            File.Exists(pidFile).Should().BeFalse();
            File.Exists(promptFile).Should().BeFalse();
        }
        finally { Directory.Delete(dir, recursive: true); }

        static bool Alive(int pid)
        {
            for (var i = 0; i < 300; i++) // up to 30 s on a loaded machine
            {
                try { using var p = System.Diagnostics.Process.GetProcessById(pid); if (p.HasExited) return false; }
                catch (ArgumentException) { return false; }
                // The child may be a zombie of the killed parent for a moment before init reaps it.
                var status = $"/proc/{pid}/status";
                if (File.Exists(status) && File.ReadAllText(status).Contains("State:\tZ", StringComparison.Ordinal)) return false;
                Thread.Sleep(100);
            }
            return true;
        }
    }
}
