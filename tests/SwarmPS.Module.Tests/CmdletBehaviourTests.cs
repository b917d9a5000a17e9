using System.Collections;
using System.Management.Automation;
using FluentAssertions;
using SwarmPS.Cmdlets;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core;
using SwarmPS.Core.Providers;
using Xunit;

namespace SwarmPS.Module.Tests;

/// <summary>
/// The parts of the cmdlet layer that are plain .NET and so testable without pwsh: error category
/// mapping, progress ids, and the completers against a real registry with real git.
/// </summary>
public class CmdletBehaviourTests
{
    [Theory]
    [InlineData(SwarmErrorKind.InvalidArgument, ErrorCategory.InvalidArgument)]
    [InlineData(SwarmErrorKind.NotFound, ErrorCategory.ObjectNotFound)]
    [InlineData(SwarmErrorKind.AlreadyExists, ErrorCategory.ResourceExists)]
    [InlineData(SwarmErrorKind.NotSupported, ErrorCategory.NotImplemented)]
    [InlineData(SwarmErrorKind.InvalidState, ErrorCategory.InvalidOperation)]
    [InlineData(SwarmErrorKind.Unavailable, ErrorCategory.ResourceUnavailable)]
    [InlineData(SwarmErrorKind.OperationFailed, ErrorCategory.InvalidResult)]
    [InlineData(SwarmErrorKind.Conflict, ErrorCategory.WriteError)]
    [InlineData(SwarmErrorKind.Cancelled, ErrorCategory.OperationStopped)]
    public void Every_error_kind_maps_to_a_stable_category(SwarmErrorKind kind, ErrorCategory category)
    {
        SwarmCmdlet.Category(kind).Should().Be(category);
    }

    [Fact]
    public void Every_error_kind_is_mapped()
    {
        foreach (var kind in Enum.GetValues<SwarmErrorKind>())
            SwarmCmdlet.Category(kind).Should().NotBe(ErrorCategory.NotSpecified, kind.ToString());
    }

    [Fact]
    public void Progress_activity_ids_are_fixed_and_distinct_per_cmdlet()
    {
        var ids = StaticModuleTests.Cmdlets.Select(c => SwarmCmdlet.StableId(c.Type.Name)).ToList();
        ids.Should().OnlyHaveUniqueItems();
        ids.Should().OnlyContain(i => i > 0);
        SwarmCmdlet.StableId("NewSwarmEnvironmentCommand").Should().Be(SwarmCmdlet.StableId("NewSwarmEnvironmentCommand"));
    }

    [Fact]
    public void Completion_matching_is_case_insensitive_prefix_or_wildcard()
    {
        var names = new[] { "SHOP-1", "shop-2", "BILL-1" };
        CompletionMatch.Filter(names, "sh").Should().Equal("SHOP-1", "shop-2");
        CompletionMatch.Filter(names, "*-1").Should().Equal("BILL-1", "SHOP-1");
        CompletionMatch.Filter(names, "'BI").Should().Equal("BILL-1");
        CompletionMatch.Filter(names, "").Should().HaveCount(3);
        CompletionMatch.Quote("SHOP-1").Should().Be("SHOP-1");
        CompletionMatch.Quote("a b").Should().Be("'a b'");
    }

    [Fact]
    public void Bound_ticket_is_read_from_strings_arrays_and_wrapped_objects()
    {
        CompletionMatch.BoundTicket(new Hashtable { ["Ticket"] = "A-1" }).Should().Be("A-1");
        CompletionMatch.BoundTicket(new Hashtable { ["Ticket"] = new object[] { "B-1", "B-2" } }).Should().Be("B-1");
        CompletionMatch.BoundTicket(new Hashtable()).Should().BeNull();
        CompletionMatch.BoundTicket(null).Should().BeNull();
    }

    [Fact]
    public void Provider_completer_lists_the_catalog()
    {
        ProviderNameCompleter.Complete("w").Should().Contain("worktree");
        ProviderNameCompleter.Complete("zzz").Should().BeEmpty();
    }

    [Fact]
    public async Task Ticket_and_checkpoint_completers_read_the_registry()
    {
        var home = Temp.Dir();
        var repo = GitRepo.Create();
        var service = new SwarmService(new SwarmHome(home));
        await service.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = "COMP-1", RepositoryPath = repo });
        await service.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = "COMP-2", RepositoryPath = repo });
        await service.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = "OTHER-1", RepositoryPath = repo });
        await service.CheckpointAsync("COMP-1", "before");
        await service.CheckpointAsync("COMP-1", "after");
        await service.CheckpointAsync("COMP-2", "beta");

        TicketCompleter.Complete("comp", home).Should().Equal("COMP-1", "COMP-2");
        TicketCompleter.Complete("*-1", home).Should().Equal("COMP-1", "OTHER-1");
        CheckpointNameCompleter.Complete("COMP-1", "b", home).Should().Equal("before");
        CheckpointNameCompleter.Complete("COMP-*", "b", home).Should().Equal("before", "beta");
        CheckpointNameCompleter.Complete(null, "", home).Should().Equal("after", "before", "beta");
    }

    [Fact]
    public void Completers_never_create_a_home()
    {
        var home = Path.Combine(Temp.Dir(), "not-there");
        TicketCompleter.Complete("", home).Should().BeEmpty();
        CheckpointNameCompleter.Complete("X", "", home).Should().BeEmpty();
        AgentIdCompleter.Complete(null, "", home).Should().BeEmpty();
        AgentProfileCompleter.Complete("cl", home).Should().Equal("claude");
        Directory.Exists(home).Should().BeFalse();
    }

    [Fact]
    public async Task Agent_id_completer_reads_the_registry_and_follows_the_bound_ticket()
    {
        if (OperatingSystem.IsWindows()) return; // the agent below is an sh command; the completer itself is OS-neutral
        var home = Temp.Dir();
        var repo = GitRepo.Create();
        var service = new SwarmService(new SwarmHome(home));
        await service.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = "AGC-1", RepositoryPath = repo });
        await service.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = "AGC-2", RepositoryPath = repo });
        var command = new[] { "/bin/sh", "-c", "exit 0" };
        var a1 = await service.Agents.StartAsync(new Core.Agents.AgentStartRequest { Ticket = "AGC-1", Profile = "command", Prompt = "x", Command = command });
        var a2 = await service.Agents.StartAsync(new Core.Agents.AgentStartRequest { Ticket = "AGC-2", Profile = "command", Prompt = "x", Command = command });
        await service.Agents.WaitAsync(new[] { a1.Id, a2.Id }, TimeSpan.FromSeconds(30), any: false);

        AgentIdCompleter.Complete(null, "ag-", home).Should().BeEquivalentTo(new[] { a1.Id, a2.Id });
        AgentIdCompleter.Complete("AGC-2", "", home).Should().Equal(a2.Id);
        AgentIdCompleter.Complete("agc-*", a1.Id[..6], home).Should().Contain(a1.Id);
        AgentIdCompleter.Complete(null, "zz", home).Should().BeEmpty();
    }

    [Fact]
    public void Agent_profile_completer_lists_built_in_and_configured_profiles()
    {
        var home = Temp.Dir();
        File.WriteAllText(Path.Combine(home, "config.json"), """{ "agentProfiles": [ { "name": "review-bot", "executable": "review" } ] }""");
        AgentProfileCompleter.Complete("", home).Should().Contain(new[] { "aider", "claude", "codex", "command", "cursor-agent", "gemini", "opencode", "review-bot" });
        AgentProfileCompleter.Complete("rev", home).Should().Equal("review-bot");
        AgentProfileCompleter.Complete("c*t", home).Should().Equal("cursor-agent");

        File.WriteAllText(Path.Combine(home, "config.json"), "{ not json");
        AgentProfileCompleter.Complete("cod", home).Should().Equal(new[] { "codex" }, "a broken config.json still completes the built-in profiles");
    }
}

internal static class GitRepo
{
    public static string Create()
    {
        var dir = Temp.Dir();
        Git(dir, "init", "--quiet", "--initial-branch=main");
        File.WriteAllText(Path.Combine(dir, "README.md"), "# test\n");
        Git(dir, "add", "--all");
        Git(dir, "-c", "user.name=SwarmPS Tests", "-c", "user.email=tests@swarmps.invalid", "commit", "--quiet", "-m", "initial");
        return Git(dir, "rev-parse", "--show-toplevel").Trim();
    }

    public static string Git(string dir, params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"git {string.Join(' ', args)}: {error}");
        return output;
    }
}
