using FluentAssertions;
using Microsoft.Data.Sqlite;
using SwarmPS.Core;
using SwarmPS.Core.Registry;
using SwarmPS.Tests.Support;
using Xunit;

namespace SwarmPS.Tests;

public class RegistryTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "swarmps-reg-" + Guid.NewGuid().ToString("N")[..8]);
    private SwarmHome Home => new(_dir);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    private static SwarmEnvironment Draft(string ticket, string provider = "worktree") => new() { Ticket = ticket, Provider = provider, WorkspacePath = "/tmp/" + ticket };

    [Fact]
    public void Opening_creates_a_migrated_database_in_wal_mode()
    {
        var reg = SwarmRegistry.Open(Home);
        reg.SchemaVersion.Should().Be(SwarmRegistry.Migrations.Length);
        using var c = new SqliteConnection($"Data Source={reg.Path}");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode";
        cmd.ExecuteScalar().Should().Be("wal");
        // Opening again is idempotent.
        SwarmRegistry.Open(Home).SchemaVersion.Should().Be(SwarmRegistry.Migrations.Length);
    }

    [Fact]
    public void Home_is_0700_and_the_registry_0600_on_unix()
    {
        if (OperatingSystem.IsWindows()) return;
        SwarmRegistry.Open(Home);
        File.GetUnixFileMode(_dir).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.GetUnixFileMode(Home.RegistryPath).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    [Fact]
    public void An_existing_home_with_loose_permissions_is_tightened()
    {
        if (OperatingSystem.IsWindows()) return;
        Directory.CreateDirectory(_dir);
        File.SetUnixFileMode(_dir, (UnixFileMode)0x1ED /* 0755 */);
        SwarmRegistry.Open(Home);
        File.GetUnixFileMode(_dir).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    [Fact]
    public void A_newer_schema_is_refused_instead_of_corrupted()
    {
        var reg = SwarmRegistry.Open(Home);
        using (var c = new SqliteConnection($"Data Source={reg.Path}"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "PRAGMA user_version = 999";
            cmd.ExecuteNonQuery();
        }
        SqliteConnection.ClearAllPools();
        var act = () => SwarmRegistry.Open(Home);
        act.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.RegistryError);
    }

    [Fact]
    public void Tickets_are_unique_regardless_of_case()
    {
        var reg = SwarmRegistry.Open(Home);
        reg.Reserve(Draft("DEMO-1"), new PortConfig());
        var act = () => reg.Reserve(Draft("demo-1"), new PortConfig());
        act.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.EnvironmentExists);
        reg.GetEnvironment("Demo-1")!.Ticket.Should().Be("DEMO-1");
        reg.CountEnvironments().Should().Be(1);
    }

    [Fact]
    public void Reserve_validates_the_ticket_before_touching_the_database()
    {
        var reg = SwarmRegistry.Open(Home);
        var act = () => reg.Reserve(Draft("../x"), new PortConfig());
        act.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.InvalidTicket);
        reg.CountEnvironments().Should().Be(0);
    }

    [Fact]
    public void Port_blocks_do_not_overlap_and_freed_blocks_are_reused()
    {
        var reg = SwarmRegistry.Open(Home);
        var ports = new PortConfig { Start = 30000, End = 30039, BlockSize = 10 };
        var a = reg.Reserve(Draft("A"), ports);
        var b = reg.Reserve(Draft("B"), ports);
        var c = reg.Reserve(Draft("C"), ports);
        new[] { a.Ports.Start, b.Ports.Start, c.Ports.Start }.Should().Equal(30000, 30010, 30020);
        reg.DeleteEnvironment("B");
        reg.Reserve(Draft("D"), ports).Ports.Start.Should().Be(30010);
        reg.Reserve(Draft("E"), ports).Ports.Start.Should().Be(30030);
        var act = () => reg.Reserve(Draft("F"), ports);
        act.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.PortsExhausted);
        reg.GetEnvironment("F").Should().BeNull();
    }

    [Fact]
    public void A_ticket_is_pinned_to_its_provider()
    {
        var reg = SwarmRegistry.Open(Home);
        var e = reg.Reserve(Draft("PIN-1", "worktree"), new PortConfig());
        var moved = new SwarmEnvironment { Ticket = e.Ticket, Provider = "docker", Ports = e.Ports, CreatedAt = e.CreatedAt, Status = e.Status };
        var act = () => reg.Update(moved);
        act.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.ProviderMismatch);
        reg.GetEnvironment("PIN-1")!.Provider.Should().Be("worktree");
    }

    [Fact]
    public void The_pin_is_enforced_by_the_database_itself()
    {
        var reg = SwarmRegistry.Open(Home);
        reg.Reserve(Draft("PIN-2"), new PortConfig());
        using var c = new SqliteConnection($"Data Source={reg.Path}");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "UPDATE environments SET provider = 'kvm' WHERE ticket = 'PIN-2'";
        var act = () => cmd.ExecuteNonQuery();
        act.Should().Throw<SqliteException>().WithMessage("*ProviderMismatch*");
    }

    [Fact]
    public void Environment_rows_round_trip_every_field()
    {
        var reg = SwarmRegistry.Open(Home);
        var draft = new SwarmEnvironment
        {
            Ticket = "RT-1", Provider = "worktree", InstanceId = "i-1", RepositoryPath = "/r", BaseRef = "main", Branch = "swarm/RT-1",
            WorkspacePath = "/w", Address = "localhost", Metadata = new Dictionary<string, string> { ["k"] = "v \"quoted\" ü" },
        };
        var r = reg.Reserve(draft, new PortConfig());
        reg.UpdateStatus("RT-1", EnvironmentStatus.Running);
        var back = reg.GetEnvironment("rt-1")!;
        back.Should().BeEquivalentTo(draft, o => o.Excluding(x => x.Status).Excluding(x => x.Ports).Excluding(x => x.CreatedAt).Excluding(x => x.UpdatedAt));
        back.Status.Should().Be(EnvironmentStatus.Running);
        back.Ports.Start.Should().Be(r.Ports.Start);
        back.CreatedAt.Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));
        back.UpdatedAt.Should().BeOnOrAfter(back.CreatedAt);
    }

    [Fact]
    public void Checkpoints_are_listed_oldest_first_unique_per_ticket_and_deleted_with_the_environment()
    {
        var reg = SwarmRegistry.Open(Home);
        reg.Reserve(Draft("CP-1"), new PortConfig());
        var t0 = DateTimeOffset.UtcNow;
        reg.AddCheckpoint(new SwarmCheckpoint { Ticket = "CP-1", Name = "b", CreatedAt = t0 });
        reg.AddCheckpoint(new SwarmCheckpoint { Ticket = "CP-1", Name = "a", CreatedAt = t0.AddSeconds(1) });
        reg.ListCheckpoints("cp-1").Select(c => c.Name).Should().Equal("b", "a");
        var dup = () => reg.AddCheckpoint(new SwarmCheckpoint { Ticket = "CP-1", Name = "A", CreatedAt = t0 });
        dup.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.CheckpointExists);
        reg.DeleteEnvironment("CP-1");
        reg.ListCheckpoints("CP-1").Should().BeEmpty();
    }

    [Fact]
    public void Concurrent_reservations_from_many_threads_never_duplicate_tickets_or_ports()
    {
        var reg = SwarmRegistry.Open(Home);
        var ports = new PortConfig { Start = 20000, End = 29999, BlockSize = 10 };
        var errors = new List<Exception>();
        Parallel.For(0, 100, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            try { SwarmRegistry.Open(Home).Reserve(Draft($"T-{i % 50}"), ports); }
            catch (SwarmException ex) when (ex.ErrorId == ErrorIds.EnvironmentExists) { }
            catch (Exception ex) { lock (errors) errors.Add(ex); }
        });
        errors.Should().BeEmpty();
        var all = reg.ListEnvironments();
        all.Should().HaveCount(50);
        all.Select(e => e.Ports.Start).Should().OnlyHaveUniqueItems();
    }
}
