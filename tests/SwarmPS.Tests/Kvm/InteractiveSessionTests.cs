using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Providers;
using Xunit;

namespace SwarmPS.Tests.Kvm;

/// <summary>The interactive session plan (swarmps env ssh, Enter-SwarmEnvironment) for container-like providers.</summary>
public sealed class InteractiveSessionTests : IDisposable
{
    private readonly string _home = Path.Combine(Path.GetTempPath(), "swarmps-isess-" + Guid.NewGuid().ToString("N")[..8]);

    /// <summary>A container provider whose agent plan is `docker exec -i ...` (the shape DockerProvider returns).</summary>
    private sealed class ExecProvider(ProviderCapabilities caps) : EnvironmentProviderBase
    {
        public override string Name => "fakecontainer";
        public override string Description => "test";
        public override ProviderCapabilities Capabilities => caps;
        public override Task<ProviderAvailability> CheckAvailabilityAsync(CancellationToken ct) => Task.FromResult(ProviderAvailability.Yes);
        public override Task<SwarmEnvironment> PrepareAsync(NewEnvironmentRequest request, ProviderContext context, CancellationToken ct) =>
            Task.FromResult(new SwarmEnvironment { Ticket = request.Ticket, Provider = Name, InstanceId = "c-" + request.Ticket });
        public override Task<SwarmEnvironment> CreateAsync(SwarmEnvironment reserved, NewEnvironmentRequest request, ProviderContext context, CancellationToken ct) =>
            Task.FromResult(reserved.With(status: EnvironmentStatus.Running));
        public override Task RemoveAsync(SwarmEnvironment env, RemoveOptions options, ProviderContext context, CancellationToken ct) => Task.CompletedTask;
        public override Task<EnvironmentStatus> GetStatusAsync(SwarmEnvironment env, CancellationToken ct) => Task.FromResult(env.Status);
        public override Task<IReadOnlyList<SwarmRepairItem>> RepairAsync(IReadOnlyList<SwarmEnvironment> owned, bool fix, ProviderContext context, CancellationToken ct) =>
            Task.FromResult<IReadOnlyList<SwarmRepairItem>>(Array.Empty<SwarmRepairItem>());
        public override AgentLaunchPlan PlanAgentLaunch(SwarmEnvironment env, IReadOnlyList<string> argv, IReadOnlyDictionary<string, string> variables) =>
            new("/usr/bin/docker", new[] { "exec", "-i", "-w", "/workspace", "-e", "SWARM_TICKET", env.InstanceId! }.Concat(argv).ToList(), null,
                new Dictionary<string, string>(variables) { ["DOCKER_HOST"] = "unix:///run/docker.sock" });
    }

    private SwarmService Service(ProviderCapabilities caps)
    {
        var p = new ExecProvider(caps);
        return new SwarmService(new SwarmHome(_home), new SwarmConfig(), new ProviderCatalog(new IEnvironmentProvider[] { p }, p.Name));
    }

    [Fact]
    public async Task A_container_session_is_the_providers_exec_plan_with_a_terminal_and_a_login_shell()
    {
        var s = Service(ProviderCapabilities.Exec);
        await s.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = "C-1" });
        var plan = await InteractiveSession.PlanAsync(s, "c-1");
        plan.Kind.Should().Be(InteractiveKind.ContainerExec);
        plan.FileName.Should().Be("/usr/bin/docker");
        plan.Arguments.Take(3).Should().Equal("exec", "-t", "-i");
        plan.Arguments.Should().ContainInOrder("c-C-1", "sh", "-c");
        plan.Arguments[^1].Should().Contain("exec bash -l").And.Contain("exec sh -l");
        plan.Environment["DOCKER_HOST"].Should().Be("unix:///run/docker.sock");
        plan.Environment["SWARM_TICKET"].Should().Be("C-1");
    }

    [Fact]
    public async Task A_provider_without_exec_has_no_session_and_unknown_tickets_are_not_found()
    {
        var s = Service(ProviderCapabilities.None);
        await s.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = "C-2" });
        var none = () => InteractiveSession.PlanAsync(s, "C-2");
        (await none.Should().ThrowAsync<SwarmException>()).Which.ErrorId.Should().Be(ErrorIds.CapabilityNotSupported);
        var missing = () => InteractiveSession.PlanAsync(s, "NOPE-1");
        (await missing.Should().ThrowAsync<SwarmException>()).Which.ErrorId.Should().Be(ErrorIds.EnvironmentNotFound);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_home)) Directory.Delete(_home, true);
    }
}
