using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Providers;
using SwarmPS.Tests.Support;
using Xunit;

namespace SwarmPS.Tests;

public class ServiceTests : IDisposable
{
    private readonly TempRepo _r = new();
    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _r.Dispose();
    }

    private SwarmService Service(SwarmConfig? c = null) => new(new SwarmHome(_r.Home), c ?? new SwarmConfig());
    private static T Run<T>(Task<T> t) => Sync.Run(t);

    [Fact]
    public void Auto_detect_picks_the_worktree_provider()
    {
        var svc = Service();
        svc.Providers.Get(null).Name.Should().Be("worktree");
        svc.Providers.Get("auto").Name.Should().Be("worktree");
        var env = Run(svc.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = "AUTO-1", RepositoryPath = _r.Repo }));
        env.Provider.Should().Be("worktree");
    }

    [Fact]
    public void An_unknown_provider_is_invalid_input_and_creates_nothing()
    {
        var svc = Service();
        var act = () => Run(svc.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = "P-1", Provider = "nope", RepositoryPath = _r.Repo }));
        var ex = act.Should().Throw<SwarmException>().Which;
        ex.ErrorId.Should().Be(ErrorIds.ProviderNotFound);
        ex.Kind.Should().Be(SwarmErrorKind.InvalidArgument);
        svc.Registry.CountEnvironments().Should().Be(0);
    }

    [Fact]
    public void Providers_report_availability_and_capabilities()
    {
        var list = Run(Service().GetProvidersAsync());
        var wt = list.Should().ContainSingle(p => p.Name == "worktree").Which;
        wt.Available.Should().BeTrue();
        wt.IsDefault.Should().BeTrue();
        wt.CapabilityNames.Should().Contain(new[] { "Checkpoint", "CheckpointWhileRunning", "Exec" });
        wt.CapabilityNames.Should().NotContain("MemoryState").And.NotContain("CopyOnWriteClone");
    }

    [Fact]
    public void Listing_filters_by_wildcard_ticket_provider_and_live_status()
    {
        var svc = Service();
        foreach (var t in new[] { "WEB-1", "WEB-2", "API-1" })
            Run(svc.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = t, RepositoryPath = _r.Repo }));
        Run(svc.StopEnvironmentAsync("WEB-2"));
        Directory.Delete(svc.GetEnvironment("API-1").WorkspacePath!, true);

        Run(svc.GetEnvironmentsAsync(new EnvironmentFilter { Tickets = new[] { "web-*" } })).Select(e => e.Ticket).Should().Equal("WEB-1", "WEB-2");
        Run(svc.GetEnvironmentsAsync(new EnvironmentFilter { Statuses = new[] { EnvironmentStatus.Stopped } })).Select(e => e.Ticket).Should().Equal("WEB-2");
        Run(svc.GetEnvironmentsAsync(new EnvironmentFilter { Statuses = new[] { EnvironmentStatus.Missing } })).Select(e => e.Ticket).Should().Equal("API-1");
        Run(svc.GetEnvironmentsAsync(new EnvironmentFilter { Providers = new[] { "docker" } })).Should().BeEmpty();
        // The live view does not rewrite the registry.
        svc.Registry.GetEnvironment("API-1")!.Status.Should().Be(EnvironmentStatus.Running);
    }

    [Fact]
    public void Default_checkpoint_names_are_timestamps_made_unique()
    {
        var svc = Service();
        Run(svc.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = "TS-1", RepositoryPath = _r.Repo }));
        var a = Run(svc.CheckpointAsync("TS-1"));
        var b = Run(svc.CheckpointAsync("TS-1"));
        a.Name.Should().MatchRegex(@"^\d{8}-\d{6}(-\d+)?$");
        b.Name.Should().NotBe(a.Name);
        Names.IsValid(b.Name).Should().BeTrue();
    }

    [Fact]
    public void Restore_without_checkpoints_is_a_clear_not_found()
    {
        var svc = Service();
        Run(svc.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = "NC-1", RepositoryPath = _r.Repo }));
        var act = () => Run(svc.RestoreAsync("NC-1"));
        act.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.CheckpointNotFound);
    }

    [Fact]
    public void Cancellation_during_create_leaves_nothing_behind()
    {
        if (OperatingSystem.IsWindows()) return;
        var cfg = new SwarmConfig { Repositories = { new RepositoryConfig { Path = _r.Repo, Setup = new() { "sleep", "30" } } } };
        var svc = Service(cfg);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(700));
        var act = () => Run(svc.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = "CAN-1", RepositoryPath = _r.Repo }, null, cts.Token));
        act.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.OperationCancelled);
        svc.Registry.CountEnvironments().Should().Be(0);
        TempRepo.Branches(_r.Repo).Should().Equal("refs/heads/main");
    }

    [Fact]
    public void Config_is_read_from_the_home_and_bad_config_is_a_clear_error()
    {
        Directory.CreateDirectory(_r.Home);
        File.WriteAllText(Path.Combine(_r.Home, "config.json"), "{ \"ports\": { \"start\": 31000, \"end\": 31099, \"blockSize\": 5 } }");
        var svc = SwarmService.Open(_r.Home);
        Run(svc.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = "CFG-1", RepositoryPath = _r.Repo })).Ports.Should().BeEquivalentTo(new { Start = 31000, Count = 5, End = 31004 });

        File.WriteAllText(Path.Combine(_r.Home, "config.json"), "{ \"ports\": { \"start\": 70000 } }");
        var act = () => SwarmService.Open(_r.Home);
        act.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.ConfigInvalid);
        File.WriteAllText(Path.Combine(_r.Home, "config.json"), "{ not json");
        act.Should().Throw<SwarmException>().Which.Message.Should().Contain("config.json");
    }

    [Fact]
    public void Home_resolution_prefers_the_override_then_the_environment_variable()
    {
        SwarmHome.Resolve("/tmp/x-home").Path.Should().Be(Path.GetFullPath("/tmp/x-home"));
        var old = Environment.GetEnvironmentVariable("SWARMPS_HOME");
        try
        {
            Environment.SetEnvironmentVariable("SWARMPS_HOME", "/tmp/y-home");
            SwarmHome.Resolve().Path.Should().Be(Path.GetFullPath("/tmp/y-home"));
            Environment.SetEnvironmentVariable("SWARMPS_HOME", null);
            SwarmHome.Resolve().Path.Should().EndWith(OperatingSystem.IsWindows() ? "SwarmPS" : ".swarmps");
        }
        finally
        {
            Environment.SetEnvironmentVariable("SWARMPS_HOME", old);
        }
    }

    [Fact]
    public void Every_git_call_is_an_argument_list_reported_to_the_process_log()
    {
        var seen = new List<string>();
        SwarmPS.Core.Processes.ProcessRunner.Log.Value = new Recorder(seen);
        try
        {
            Run(Service().NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = "LOG-1", RepositoryPath = _r.Repo }));
        }
        finally
        {
            SwarmPS.Core.Processes.ProcessRunner.Log.Value = null;
        }
        seen.Should().Contain(s => s.StartsWith("git worktree add"));
    }

    private sealed class Recorder(List<string> seen) : SwarmPS.Core.Processes.IProcessLog
    {
        public void ProcessStarting(SwarmPS.Core.Processes.ProcessSpec spec) { lock (seen) seen.Add(spec.Display); }
    }

    [Fact]
    public void Without_git_the_worktree_provider_is_unavailable_with_the_reason()
    {
        var noGit = new SwarmPS.Core.Providers.Worktree.WorktreeProvider(new SwarmPS.Core.Git.GitCli(executable: "git-not-installed-swarmps"));
        Run(noGit.CheckAvailabilityAsync(default)).Available.Should().BeFalse();
        var svc = new SwarmService(new SwarmHome(_r.Home), new SwarmConfig(), new ProviderCatalog(new[] { noGit }, noGit.Name));
        var act = () => Run(svc.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = "NOGIT-1", RepositoryPath = _r.Repo }));
        var ex = act.Should().Throw<SwarmException>().Which;
        ex.ErrorId.Should().Be(ErrorIds.ProviderUnavailable);
        ex.Message.Should().Contain("git was not found");
        svc.Registry.CountEnvironments().Should().Be(0);
    }
}
