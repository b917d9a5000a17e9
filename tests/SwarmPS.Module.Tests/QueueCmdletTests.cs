using System.Management.Automation;
using FluentAssertions;
using SwarmPS.Cmdlets;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core;
using SwarmPS.Core.Tasks;
using SwarmPS.Module.Tests.Checks;
using Xunit;

namespace SwarmPS.Module.Tests;

/// <summary>
/// Plain-.NET helpers of the queue cmdlets, unit-tested directly (the cmdlets themselves run in the
/// runspace tests): the detached scheduler's command line (parsed by PowerShell's own parser), the pwsh
/// path, the task id completer against a real registry, TaskSpec copies, and the vault secret source.
/// </summary>
public class QueueCmdletTests
{
    [Theory]
    [InlineData("/opt/SwarmPS/SwarmPS.psd1")]
    [InlineData("/home/o'brien/My Modules/SwarmPS/SwarmPS.psd1")]
    [InlineData("C:\\Users\\x\\Documents\\PowerShell\\Modules\\SwarmPS\\1.0.0\\SwarmPS.psd1")]
    [InlineData("/tmp/'; Remove-Item -Recurse / ; '/SwarmPS.psd1")]
    [InlineData("/tmp/$(Stop-Computer)/`n\"x\"/\u2019; Get-Process; \u2018/SwarmPS.psd1")]
    public void Detached_command_line_runs_exactly_Import_Module_and_Invoke_SwarmQueue(string modulePath)
    {
        var args = QueueSupport.DetachedArguments(modulePath, 6, continuous: false);
        args.Take(3).Should().Equal("-NoProfile", "-NonInteractive", "-Command");
        args.Should().HaveCount(4);
        var parsed = PsParser.ParseText(args[3]);
        parsed.Errors.Should().BeEmpty();
        parsed.Commands.Select(c => c.Name).Should().Equal("Import-Module", "Invoke-SwarmQueue");
        parsed.Commands[1].Parameters.Should().Equal("-MaxParallel");
        args[3].Should().StartWith("Import-Module '").And.EndWith("Invoke-SwarmQueue -MaxParallel 6");
        // The literal holds the path with every single-quote character doubled, nothing else changed.
        var literal = args[3]["Import-Module ".Length..args[3].IndexOf(" -ErrorAction Stop;", StringComparison.Ordinal)];
        Unquote(literal).Should().Be(modulePath);
    }

    [Fact]
    public void Detached_command_line_passes_Continuous_and_refuses_a_bad_MaxParallel()
    {
        QueueSupport.DetachedArguments("/m/SwarmPS.psd1", 1, continuous: true)[3].Should().EndWith("Invoke-SwarmQueue -MaxParallel 1 -Continuous");
        var act = () => QueueSupport.DetachedArguments("/m/SwarmPS.psd1", 0, false);
        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Pwsh_is_this_process_when_it_is_pwsh_else_the_one_in_PSHOME_else_pwsh_from_PATH()
    {
        var exe = OperatingSystem.IsWindows() ? "pwsh.exe" : "pwsh";
        var self = Path.Combine(Temp.Dir(), exe);
        QueueSupport.PwshPath(self, null).Should().Be(self);
        var psHome = Temp.Dir();
        File.WriteAllText(Path.Combine(psHome, exe), "");
        QueueSupport.PwshPath("/usr/bin/dotnet", psHome).Should().Be(Path.Combine(psHome, exe));
        QueueSupport.PwshPath("/usr/bin/dotnet", null).Should().Be(exe, "a runspace hosted by another program starts pwsh from PATH, never the host");
        QueueSupport.PwshPath("/usr/bin/dotnet", Temp.Dir()).Should().Be(exe);
    }

    [Fact]
    public void Task_id_completer_reads_the_registry_and_never_creates_a_home()
    {
        var home = Temp.Dir();
        var service = new SwarmService(new SwarmHome(home));
        var added = service.Tasks.Add(new[]
        {
            new TaskSpec { Name = "schema", Title = "Schema", Prompt = "x", Profile = "command", Command = new() { "true" } },
            new TaskSpec { Name = "api", Title = "API", Prompt = "x", Profile = "command", Command = new() { "true" }, DependsOn = new() { "schema" } },
        });
        TaskIdCompleter.Complete("t-", home).Should().BeEquivalentTo(added.Select(t => t.Id));
        TaskIdCompleter.Complete("*-api", home).Should().Equal(added[1].Id);
        TaskIdCompleter.Complete("zz", home).Should().BeEmpty();

        var missing = Path.Combine(Temp.Dir(), "not-there");
        TaskIdCompleter.Complete("", missing).Should().BeEmpty();
        Directory.Exists(missing).Should().BeFalse();
    }

    [Fact]
    public void TaskSpec_copies_are_deep_for_lists()
    {
        // Every property differs from its default, so a property Copy forgets fails the loop below.
        var spec = new TaskSpec
        {
            Name = "a", Title = "T", Prompt = "P", DependsOn = new() { "x" }, Command = new() { "sh" }, Priority = TaskPriority.High, MaxAttempts = 3,
            RunAfterFailure = true, Ticket = "T-1", Provider = "worktree", Base = "main", RepositoryPath = "/r", Profile = "command",
            TimeoutSeconds = 9, RetryBackoffSeconds = 4, Cleanup = EnvironmentCleanup.Remove,
        };
        foreach (var p in typeof(TaskSpec).GetProperties().Where(p => p.CanWrite))
            p.GetValue(spec).Should().NotBeEquivalentTo(p.GetValue(new TaskSpec { Title = "", Prompt = "" }), p.Name);
        var copy = QueueSupport.Copy(spec);
        copy.Should().BeEquivalentTo(spec);
        // Every settable TaskSpec property is copied (a new property must be added to Copy).
        foreach (var p in typeof(TaskSpec).GetProperties().Where(p => p.CanWrite))
            p.GetValue(copy).Should().BeEquivalentTo(p.GetValue(spec), p.Name);
        copy.DependsOn.Add("y");
        copy.Command!.Add("-c");
        spec.DependsOn.Should().Equal("x");
        spec.Command.Should().Equal("sh");
    }

    [Fact]
    public async Task Vault_source_keeps_the_first_secret_found_and_reports_failures_without_values()
    {
        var source = new SecretManagementSource("Work");
        var asked = new List<string>();
        var failures = source.Prefetch(new[] { "GEMINI_API_KEY", "GOOGLE_API_KEY" }, (name, vault) =>
        {
            asked.Add($"{vault}/{name}");
            if (name == "GEMINI_API_KEY") throw new RuntimeException("The secret GEMINI_API_KEY was not found.");
            return "g-secret";
        });
        asked.Should().Equal("Work/GEMINI_API_KEY", "Work/GOOGLE_API_KEY");
        failures.Should().ContainSingle().Which.Should().StartWith("GEMINI_API_KEY:").And.NotContain("g-secret");
        (await source.GetSecretAsync("GOOGLE_API_KEY")).Should().Be("g-secret");
        (await source.GetSecretAsync("GEMINI_API_KEY")).Should().BeNull();
        source.Description.Should().Be("SecretManagement vault 'Work'");
    }

    [Fact]
    public void Vault_secrets_are_read_as_text_from_strings_secure_strings_and_outputs()
    {
        SecretManagementSource.AsText("k").Should().Be("k");
        SecretManagementSource.AsText(new PSObject("wrapped")).Should().Be("wrapped", "Get-Secret output arrives wrapped in a PSObject");
        var secure = new System.Security.SecureString();
        foreach (var c in "sec") secure.AppendChar(c);
        SecretManagementSource.AsText(secure).Should().Be("sec");
        SecretManagementSource.AsText(new PSObject(secure)).Should().Be("sec");
        SecretManagementSource.AsText(new List<object> { "first", "second" }).Should().Be("first");
        SecretManagementSource.AsText(new System.Collections.Hashtable { ["k"] = "v" }).Should().BeNull();
        SecretManagementSource.AsText(null).Should().BeNull();
    }

    /// <summary>Reads a PowerShell single-quoted literal (quote characters doubled inside).</summary>
    private static string Unquote(string literal)
    {
        static bool IsQuote(char c) => c is '\'' or '\u2018' or '\u2019' or '\u201A' or '\u201B';
        IsQuote(literal[0]).Should().BeTrue();
        IsQuote(literal[^1]).Should().BeTrue();
        var sb = new System.Text.StringBuilder();
        for (var i = 1; i < literal.Length - 1; i++)
        {
            if (IsQuote(literal[i]))
            {
                IsQuote(literal[i + 1]).Should().BeTrue($"a lone quote at {i} would end the literal");
                i++;
            }
            sb.Append(literal[i]);
        }
        return sb.ToString();
    }
}
