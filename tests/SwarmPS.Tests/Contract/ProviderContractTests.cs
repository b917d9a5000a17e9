using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Providers;
using SwarmPS.Core.Registry;
using Xunit;

namespace SwarmPS.Tests.Contract;

/// <summary>
/// What the contract suite needs from a provider under test. Each provider (worktree, and later
/// KVM, Docker, Hyper-V, Tart) supplies one fixture and inherits <see cref="ProviderContractTests{TFixture}"/>.
/// </summary>
public interface IProviderFixture : IDisposable
{
    /// <summary>The provider under test; its name is used to route requests.</summary>
    IEnvironmentProvider Provider { get; }
    /// <summary>Null when the backend is present; otherwise the loud reason the suite is skipped.</summary>
    string? SkipReason { get; }
    SwarmHome Home { get; }
    /// <summary>A service with this provider registered and the given config.</summary>
    SwarmService CreateService(SwarmConfig? config = null);
    NewEnvironmentRequest Request(string ticket);
    /// <summary>A config that makes create fail after the backend has started doing work (for example a failing setup step).</summary>
    SwarmConfig FailingCreateConfig();
    /// <summary>Writes a marker into the environment's state.</summary>
    Task WriteMarkerAsync(SwarmEnvironment env, string content);
    /// <summary>Reads the marker back, null when absent.</summary>
    Task<string?> ReadMarkerAsync(SwarmEnvironment env);
    /// <summary>Everything the backend still has for the ticket (folders, branches, refs, containers, disks...). Empty means nothing left.</summary>
    Task<IReadOnlyList<string>> LeftoversAsync(string ticket);
}

public abstract class ProviderContractTests<TFixture> : IDisposable where TFixture : IProviderFixture, new()
{
    protected ProviderContractTests() => Fixture = new TFixture();

    protected TFixture Fixture { get; }
    public void Dispose() => Fixture.Dispose();

    private static T Run<T>(Task<T> t) => t.GetAwaiter().GetResult();
    private static void Run(Task t) => t.GetAwaiter().GetResult();

    /// <summary>Skips loudly (or fails under SWARMPS_REQUIRE_BACKENDS=1) when the backend is missing.</summary>
    protected bool BackendMissing() => Backends.Missing(Fixture.SkipReason);

    private ProviderCapabilities Caps => Fixture.Provider.Capabilities;

    [Fact]
    public void Lifecycle_create_get_stop_start_remove()
    {
        if (BackendMissing()) return;
        var svc = Fixture.CreateService();
        var env = Run(svc.NewEnvironmentAsync(Fixture.Request("LIFE-1")));
        env.Status.Should().Be(EnvironmentStatus.Running);
        env.Provider.Should().Be(Fixture.Provider.Name);
        env.Ports.Count.Should().BeGreaterThan(0);
        svc.GetEnvironment("life-1").Ticket.Should().Be("LIFE-1");
        Run(svc.GetEnvironmentsAsync()).Should().ContainSingle(e => e.Ticket == "LIFE-1" && e.Status == EnvironmentStatus.Running);

        if (Caps.HasFlag(ProviderCapabilities.StartStop))
        {
            Run(svc.StopEnvironmentAsync("LIFE-1")).Status.Should().Be(EnvironmentStatus.Stopped);
            svc.GetEnvironment("LIFE-1").Status.Should().Be(EnvironmentStatus.Stopped);
            Run(svc.StartEnvironmentAsync("LIFE-1")).Status.Should().Be(EnvironmentStatus.Running);
        }
        Run(svc.RemoveEnvironmentAsync("LIFE-1", new RemoveOptions { Force = true }));
        svc.Registry.GetEnvironment("LIFE-1").Should().BeNull();
        Run(Fixture.LeftoversAsync("LIFE-1")).Should().BeEmpty();
    }

    [Fact]
    public void Checkpoint_round_trip_when_capable()
    {
        if (BackendMissing() || !Caps.HasFlag(ProviderCapabilities.Checkpoint)) return;
        var svc = Fixture.CreateService();
        var env = Run(svc.NewEnvironmentAsync(Fixture.Request("CP-1")));
        if (!Caps.HasFlag(ProviderCapabilities.CheckpointWhileRunning)) env = Run(svc.StopEnvironmentAsync(env.Ticket));
        Run(Fixture.WriteMarkerAsync(env, "one"));
        var cp = Run(svc.CheckpointAsync("CP-1", "first"));
        cp.Name.Should().Be("first");
        Run(Fixture.WriteMarkerAsync(env, "two"));
        var cp2 = Run(svc.CheckpointAsync("CP-1"));
        svc.GetCheckpoints("CP-1").Select(c => c.Name).Should().Equal("first", cp2.Name);
        Run(Fixture.Provider.ListCheckpointsAsync(env, default)).Should().BeEquivalentTo(new[] { "first", cp2.Name });

        Run(Fixture.WriteMarkerAsync(env, "three"));
        Run(svc.RestoreAsync("CP-1", "first"));
        Run(Fixture.ReadMarkerAsync(env)).Should().Be("one");
        Run(svc.RestoreAsync("CP-1")); // default: the latest
        Run(Fixture.ReadMarkerAsync(env)).Should().Be("two");

        Run(svc.RemoveCheckpointAsync("CP-1", "first"));
        svc.GetCheckpoints("CP-1").Select(c => c.Name).Should().Equal(cp2.Name);
        Run(Fixture.Provider.ListCheckpointsAsync(env, default)).Should().Equal(cp2.Name);

        var missing = () => Run(svc.RestoreAsync("CP-1", "first"));
        missing.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.CheckpointNotFound);
        var dup = () => Run(svc.CheckpointAsync("CP-1", cp2.Name.ToUpperInvariant()));
        dup.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.CheckpointExists);

        Run(svc.RemoveEnvironmentAsync("CP-1", new RemoveOptions { Force = true }));
        Run(Fixture.LeftoversAsync("CP-1")).Should().BeEmpty();
    }

    [Fact]
    public void A_missing_capability_gives_a_clear_error_that_names_it()
    {
        if (BackendMissing()) return;
        // The same provider with its checkpoint, exec and start/stop capabilities masked off.
        var masked = new MaskedProvider(Fixture.Provider, ProviderCapabilities.Checkpoint | ProviderCapabilities.Exec | ProviderCapabilities.StartStop | ProviderCapabilities.DiffMerge);
        var svc = new SwarmService(Fixture.Home, null, new ProviderCatalog(new IEnvironmentProvider[] { masked }, masked.Name));
        var env = Run(svc.NewEnvironmentAsync(Fixture.Request("CAP-1")));

        void Expect(Action a, string capability)
        {
            var ex = a.Should().Throw<SwarmException>().Which;
            ex.ErrorId.Should().Be(ErrorIds.CapabilityNotSupported);
            ex.Kind.Should().Be(SwarmErrorKind.NotSupported);
            ex.Message.Should().Contain(capability).And.Contain(masked.Name);
            ex.Target.Should().Be("CAP-1");
        }
        Expect(() => Run(svc.CheckpointAsync("CAP-1", "x")), nameof(ProviderCapabilities.Checkpoint));
        Expect(() => Run(svc.ExecAsync("CAP-1", new[] { "git", "--version" })), nameof(ProviderCapabilities.Exec));
        Expect(() => Run(svc.StopEnvironmentAsync("CAP-1")), nameof(ProviderCapabilities.StartStop));
        Expect(() => Run(svc.DiffAsync("CAP-1")), nameof(ProviderCapabilities.DiffMerge));
        svc.GetCheckpoints("CAP-1").Should().BeEmpty();
        Run(Fixture.Provider.ListCheckpointsAsync(env, default)).Should().BeEmpty();
        Run(svc.RemoveEnvironmentAsync("CAP-1", new RemoveOptions { Force = true }));
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("a;touch pwned")]
    [InlineData("$(id)")]
    [InlineData("DEMО-1")]
    [InlineData("")]
    [InlineData("CON")]
    public void Hostile_tickets_are_rejected_and_create_nothing(string ticket)
    {
        if (BackendMissing()) return;
        var svc = Fixture.CreateService();
        var act = () => Run(svc.NewEnvironmentAsync(Fixture.Request(ticket)));
        act.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.InvalidTicket);
        svc.Registry.CountEnvironments().Should().Be(0);
        if (ticket.Length > 0) Run(Fixture.LeftoversAsync(ticket)).Should().BeEmpty();
        Directory.Exists(Path.Combine(Fixture.Home.Path, "..", "escape")).Should().BeFalse();
    }

    [Fact]
    public void Hostile_checkpoint_names_are_rejected_and_create_nothing()
    {
        if (BackendMissing() || !Caps.HasFlag(ProviderCapabilities.Checkpoint)) return;
        var svc = Fixture.CreateService();
        var env = Run(svc.NewEnvironmentAsync(Fixture.Request("HCP-1")));
        foreach (var name in new[] { "../x", "a b", "$(id)", "-f", "x.lock" })
        {
            var act = () => Run(svc.CheckpointAsync("HCP-1", name));
            act.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.InvalidCheckpointName);
        }
        svc.GetCheckpoints("HCP-1").Should().BeEmpty();
        Run(Fixture.Provider.ListCheckpointsAsync(env, default)).Should().BeEmpty();
        Run(svc.RemoveEnvironmentAsync("HCP-1", new RemoveOptions { Force = true }));
    }

    [Fact]
    public void A_second_environment_for_the_same_ticket_in_any_case_is_refused()
    {
        if (BackendMissing()) return;
        var svc = Fixture.CreateService();
        Run(svc.NewEnvironmentAsync(Fixture.Request("DUP-1")));
        var act = () => Run(svc.NewEnvironmentAsync(Fixture.Request("dup-1")));
        act.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.EnvironmentExists);
        svc.GetEnvironment("DUP-1").Status.Should().Be(EnvironmentStatus.Running);
        Run(svc.RemoveEnvironmentAsync("DUP-1", new RemoveOptions { Force = true }));
        Run(Fixture.LeftoversAsync("DUP-1")).Should().BeEmpty();
    }

    [Fact]
    public void A_failed_create_leaves_nothing_behind()
    {
        if (BackendMissing()) return;
        var svc = Fixture.CreateService(Fixture.FailingCreateConfig());
        var act = () => Run(svc.NewEnvironmentAsync(Fixture.Request("FAIL-1")));
        act.Should().Throw<SwarmException>();
        svc.Registry.GetEnvironment("FAIL-1").Should().BeNull();
        Run(Fixture.LeftoversAsync("FAIL-1")).Should().BeEmpty();
        // The ticket and its ports are free again.
        var ok = Run(Fixture.CreateService().NewEnvironmentAsync(Fixture.Request("FAIL-1")));
        ok.Status.Should().Be(EnvironmentStatus.Running);
        Run(Fixture.CreateService().RemoveEnvironmentAsync("FAIL-1", new RemoveOptions { Force = true }));
    }

    [Fact]
    public void Environments_get_disjoint_port_blocks()
    {
        if (BackendMissing()) return;
        var svc = Fixture.CreateService();
        var a = Run(svc.NewEnvironmentAsync(Fixture.Request("PORT-A")));
        var b = Run(svc.NewEnvironmentAsync(Fixture.Request("PORT-B")));
        (a.Ports.End < b.Ports.Start || b.Ports.End < a.Ports.Start).Should().BeTrue();
        Run(svc.RemoveEnvironmentAsync("PORT-A", new RemoveOptions { Force = true }));
        Run(svc.RemoveEnvironmentAsync("PORT-B", new RemoveOptions { Force = true }));
    }

    [Fact]
    public void Operations_on_an_unknown_ticket_say_not_found()
    {
        if (BackendMissing()) return;
        var svc = Fixture.CreateService();
        var act = () => Run(svc.RemoveEnvironmentAsync("NOPE-1"));
        act.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.EnvironmentNotFound);
    }

    /// <summary>Wraps a provider and hides some capabilities, to exercise the capability checks.</summary>
    private sealed class MaskedProvider : EnvironmentProviderBase
    {
        private readonly IEnvironmentProvider _inner;
        private readonly ProviderCapabilities _hidden;
        public MaskedProvider(IEnvironmentProvider inner, ProviderCapabilities hidden) { _inner = inner; _hidden = hidden; }
        public override string Name => _inner.Name;
        public override string Description => _inner.Description;
        public override ProviderCapabilities Capabilities => _inner.Capabilities & ~_hidden;
        public override Task<ProviderAvailability> CheckAvailabilityAsync(CancellationToken ct) => _inner.CheckAvailabilityAsync(ct);
        public override Task<SwarmEnvironment> PrepareAsync(NewEnvironmentRequest r, ProviderContext c, CancellationToken ct) => _inner.PrepareAsync(r, c, ct);
        public override Task<SwarmEnvironment> CreateAsync(SwarmEnvironment e, NewEnvironmentRequest r, ProviderContext c, CancellationToken ct) => _inner.CreateAsync(e, r, c, ct);
        public override Task RemoveAsync(SwarmEnvironment e, RemoveOptions o, ProviderContext c, CancellationToken ct) => _inner.RemoveAsync(e, o, c, ct);
        public override Task<EnvironmentStatus> GetStatusAsync(SwarmEnvironment e, CancellationToken ct) => _inner.GetStatusAsync(e, ct);
        public override Task<IReadOnlyList<string>> ListCheckpointsAsync(SwarmEnvironment e, CancellationToken ct) => _inner.ListCheckpointsAsync(e, ct);
        public override Task<IReadOnlyList<SwarmRepairItem>> RepairAsync(IReadOnlyList<SwarmEnvironment> o, bool f, ProviderContext c, CancellationToken ct) => _inner.RepairAsync(o, f, c, ct);
    }
}

/// <summary>Backend presence policy: skip loudly locally, fail in CI (SWARMPS_REQUIRE_BACKENDS=1).</summary>
public static class Backends
{
    public static bool Required => Environment.GetEnvironmentVariable("SWARMPS_REQUIRE_BACKENDS") == "1";

    /// <summary>True when the test should stop here because the backend is missing.</summary>
    public static bool Missing(string? reason)
    {
        if (reason is null) return false;
        if (Required) throw new InvalidOperationException($"SWARMPS_REQUIRE_BACKENDS=1 but the backend is missing: {reason}");
        Console.Error.WriteLine($"SKIPPED (backend missing): {reason}");
        return true;
    }
}
