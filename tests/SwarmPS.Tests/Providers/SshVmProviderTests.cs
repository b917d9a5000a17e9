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
        _ => (new TartProvider(new TartOptions { RequireMacOS = false }, probe),
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
}
