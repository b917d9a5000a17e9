using System.Globalization;
using System.Text.Json;
using FluentAssertions;
using SwarmPS.Cli.Output;
using SwarmPS.Core;
using Xunit;

namespace SwarmPS.Cli.Tests;

/// <summary>The --json shapes, one per type: camelCase Core property names, string enums, ISO 8601 dates.</summary>
public class JsonShapeTests
{
    private static readonly DateTimeOffset T = new(2025, 3, 4, 5, 6, 7, 890, TimeSpan.Zero);

    private static JsonElement Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    private static string[] Names(JsonElement o) => o.EnumerateObject().Select(p => p.Name).ToArray();

    private static SwarmEnvironment Env(string ticket = "DEMO-1") => new()
    {
        Ticket = ticket, Provider = "worktree", Status = EnvironmentStatus.Running, InstanceId = "/w/DEMO-1", RepositoryPath = "/r",
        BaseRef = "HEAD", Branch = "swarm/" + ticket, WorkspacePath = "/w/" + ticket, Address = "localhost", Ports = new PortBlock(20000, 10),
        CreatedAt = T, UpdatedAt = T.AddMinutes(1), Metadata = new Dictionary<string, string> { ["baseCommit"] = "abc", ["baseBranch"] = "main" },
    };

    [Fact]
    public void Environment_has_the_contract_fields()
    {
        var o = Parse(CliJson.Environment(Env()));
        Names(o).Should().Equal("ticket", "provider", "status", "instanceId", "repositoryPath", "baseRef", "branch", "workspacePath", "address",
            "ports", "createdAt", "updatedAt", "metadata");
        o.GetProperty("ticket").GetString().Should().Be("DEMO-1");
        o.GetProperty("status").GetString().Should().Be("Running");
        var ports = o.GetProperty("ports");
        Names(ports).Should().Equal("start", "count", "end");
        ports.GetProperty("start").GetInt32().Should().Be(20000);
        ports.GetProperty("count").GetInt32().Should().Be(10);
        ports.GetProperty("end").GetInt32().Should().Be(20009);
        // ISO 8601 with offset, not escaped ('+' stays '+').
        o.GetProperty("createdAt").GetString().Should().Be("2025-03-04T05:06:07.89+00:00");
        DateTimeOffset.Parse(o.GetProperty("updatedAt").GetString()!, CultureInfo.InvariantCulture).Should().Be(T.AddMinutes(1));
        // Metadata keys are kept as stored.
        o.GetProperty("metadata").GetProperty("baseCommit").GetString().Should().Be("abc");
    }

    [Fact]
    public void Environment_nulls_are_written_not_dropped()
    {
        var e = new SwarmEnvironment { Ticket = "X", Provider = "worktree" };
        var o = Parse(CliJson.Environment(e));
        o.GetProperty("address").ValueKind.Should().Be(JsonValueKind.Null);
        o.GetProperty("branch").ValueKind.Should().Be(JsonValueKind.Null);
        o.GetProperty("status").GetString().Should().Be("Creating");
    }

    [Fact]
    public void Environment_list_is_an_array()
    {
        var a = Parse(CliJson.Environments(new[] { Env("A-1"), Env("B-2") }));
        a.ValueKind.Should().Be(JsonValueKind.Array);
        a.EnumerateArray().Select(e => e.GetProperty("ticket").GetString()).Should().Equal("A-1", "B-2");
        Parse(CliJson.Environments(Array.Empty<SwarmEnvironment>())).GetArrayLength().Should().Be(0);
    }

    [Fact]
    public void Checkpoint_shape()
    {
        var cp = new SwarmCheckpoint { Ticket = "DEMO-1", Name = "cp1", CreatedAt = T, ProviderReference = "refs/swarmps/checkpoints/DEMO-1/cp1" };
        var o = Parse(CliJson.Checkpoint(cp));
        Names(o).Should().Equal("ticket", "name", "createdAt", "providerReference");
        o.GetProperty("providerReference").GetString().Should().Be("refs/swarmps/checkpoints/DEMO-1/cp1");
        Parse(CliJson.Checkpoints(new[] { cp })).ValueKind.Should().Be(JsonValueKind.Array);
    }

    [Fact]
    public void Provider_capabilities_are_an_array_of_names()
    {
        var p = new SwarmProviderInfo
        {
            Name = "worktree", Available = false, Reason = "git missing", IsDefault = true, Description = "d",
            Capabilities = ProviderCapabilities.Checkpoint | ProviderCapabilities.Exec | ProviderCapabilities.StartStop,
        };
        var a = Parse(CliJson.Providers(new[] { p }));
        a.ValueKind.Should().Be(JsonValueKind.Array);
        var o = a[0];
        Names(o).Should().Equal("name", "available", "reason", "capabilities", "isDefault", "description");
        o.GetProperty("available").GetBoolean().Should().BeFalse();
        o.GetProperty("reason").GetString().Should().Be("git missing");
        o.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()).Should().Equal(p.CapabilityNames);
        o.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()).Should().Equal("Checkpoint", "Exec", "StartStop");
        o.GetProperty("isDefault").GetBoolean().Should().BeTrue();
    }

    [Fact]
    public void Diff_shape()
    {
        var d = new SwarmDiff
        {
            Ticket = "DEMO-1", BaseRef = "main", BaseCommit = "abc", Commits = new[] { "1234567 work" }, HasUncommittedChanges = true, Patch = "diff --git a/x b/x\n",
            Files = new[] { new SwarmDiffFile { Path = "x", Change = "Modified", Additions = 2, Deletions = 1 }, new SwarmDiffFile { Path = "bin", Change = "Added" } },
        };
        var o = Parse(CliJson.Diff(d));
        Names(o).Should().BeEquivalentTo("ticket", "baseRef", "baseCommit", "commits", "files", "hasUncommittedChanges", "additions", "deletions", "patch");
        o.GetProperty("additions").GetInt32().Should().Be(2);
        o.GetProperty("files")[0].GetProperty("path").GetString().Should().Be("x");
        Names(o.GetProperty("files")[0]).Should().BeEquivalentTo("path", "change", "oldPath", "additions", "deletions");
        o.GetProperty("files")[1].GetProperty("additions").ValueKind.Should().Be(JsonValueKind.Null);
        o.GetProperty("patch").GetString().Should().Be("diff --git a/x b/x\n");
    }

    [Fact]
    public void Merge_shape()
    {
        var m = new SwarmMergeResult { Ticket = "DEMO-1", Branch = "swarm/DEMO-1", TargetBranch = "main", Merged = false, ConflictingFiles = new[] { "a.txt" } };
        var o = Parse(CliJson.Merge(m));
        Names(o).Should().BeEquivalentTo("ticket", "branch", "targetBranch", "merged", "upToDate", "commit", "conflictingFiles", "uncommittedChangesLeft");
        o.GetProperty("merged").GetBoolean().Should().BeFalse();
        o.GetProperty("conflictingFiles")[0].GetString().Should().Be("a.txt");
    }

    [Fact]
    public void Exec_shape()
    {
        var o = Parse(CliJson.Exec(new SwarmExecResult { Ticket = "DEMO-1", ExitCode = 3, StandardOutput = "out\n", StandardError = "<err> & \"q\"" }));
        Names(o).Should().Equal("ticket", "exitCode", "standardOutput", "standardError");
        o.GetProperty("exitCode").GetInt32().Should().Be(3);
        o.GetProperty("standardError").GetString().Should().Be("<err> & \"q\"");
    }

    [Fact]
    public void Connection_shape()
    {
        var o = Parse(CliJson.Connection(new SwarmConnection { Ticket = "DEMO-1", Provider = "worktree", Host = "localhost", WorkingDirectory = "/w" }));
        Names(o).Should().Equal("ticket", "provider", "host", "port", "user", "keyPath", "workingDirectory", "knownHostsPath", "hostKeyAlias");
        o.GetProperty("port").ValueKind.Should().Be(JsonValueKind.Null);
    }

    [Fact]
    public void Repair_items_are_an_array_with_string_kinds()
    {
        var item = new SwarmRepairItem { Kind = RepairIssueKind.DanglingRow, Provider = "worktree", Ticket = "DEMO-1", Path = "/w", Description = "gone", Action = "delete", Fixed = true };
        var a = Parse(CliJson.Repair(new[] { item }));
        a.ValueKind.Should().Be(JsonValueKind.Array);
        Names(a[0]).Should().Equal("kind", "provider", "ticket", "path", "description", "action", "fixed");
        a[0].GetProperty("kind").GetString().Should().Be("DanglingRow");
        Parse(CliJson.Repair(Array.Empty<SwarmRepairItem>())).GetArrayLength().Should().Be(0);
    }

    [Fact]
    public void Version_shape()
    {
        Names(Parse(CliJson.Version("1.2.3"))).Should().Equal("version");
    }

    [Fact]
    public void Non_ascii_text_is_written_as_itself()
    {
        var o = CliJson.Exec(new SwarmExecResult { Ticket = "T", StandardOutput = "héllo ✓" });
        o.Should().Contain("héllo ✓");
        Parse(o).GetProperty("standardOutput").GetString().Should().Be("héllo ✓");
    }
}
