using FluentAssertions;
using SwarmPS.Module.Tests.Hosting;
using Xunit;

namespace SwarmPS.Module.Tests.RealRunspace;

/// <summary>
/// Agents (the "command" profile runs a real sh process, detached), the task queue run in-process,
/// workflows and decomposition, invoked for real in a runspace.
/// </summary>
[Collection(RunspaceCollection.Name)]
public sealed class AgentAndQueueCmdletTests : RunspaceTest
{
    public AgentAndQueueCmdletTests(ModuleFixture fixture) : base(fixture) { }

    [Fact]
    public void Start_Send_Wait_Receive_Get_Stop_an_agent()
    {
        if (OperatingSystem.IsWindows()) return; // the agent command below is sh
        Ok("New-SwarmEnvironment -Ticket AG-1 -RepositoryPath $args[0]", Repo);
        // The prompt arrives on stdin; each turn prints what it read.
        var agent = Ok("Start-SwarmAgent -Ticket AG-1 -Profile command -Prompt hello -Command sh, -c, 'read line; echo got-$line'").Single();
        agent.BaseObject.GetType().FullName.Should().Be("SwarmPS.Core.Agents.SwarmAgent");
        var id = P(agent, "Id");
        id.Should().StartWith("ag-");

        // Waits for the condition "the agent has ended" (generous deadline on a loaded machine).
        P(Ok("Wait-SwarmAgent -Id $args[0] -Timeout 120", id).Single(), "Status").Should().Be("Succeeded");
        P(Ok("Send-SwarmAgentMessage -Id $args[0] -Prompt second", id).Single(), "Run").Should().Be("2");
        P(Ok("Wait-SwarmAgent -Id $args[0] -Timeout 120", id).Single(), "Status").Should().Be("Succeeded");
        Ok("Receive-SwarmAgentOutput -Id $args[0]", id).Select(o => P(o, "Text")).Should().Equal("got-hello", "got-second");
        Ok("Receive-SwarmAgentOutput -Id $args[0] -Run 1 -Raw", id).Select(o => P(o, "Text")).Should().Equal("got-hello");
        Ok("Get-SwarmAgent -Ticket AG-1").Select(o => P(o, "Id")).Should().Equal(id);
        P(Ok("Stop-SwarmAgent -Id $args[0] -PassThru", id).Single(), "Id").Should().Be(id);
        Fails("Get-SwarmAgent -Id ag-0000000000").ErrorId.Should().Be("AgentNotFound");
    }

    [Fact]
    public void Stop_ends_a_running_agent()
    {
        if (OperatingSystem.IsWindows()) return;
        Ok("New-SwarmEnvironment -Ticket AG-2 -RepositoryPath $args[0]", Repo);
        // Runs until stopped.
        var id = P(Ok("Start-SwarmAgent -Ticket AG-2 -Profile command -Prompt x -Command sh, -c, 'while :; do sleep 1; done'").Single(), "Id");
        P(Ok("Get-SwarmAgent -Id $args[0]", id).Single(), "Status").Should().BeOneOf(new[] { "Starting", "Running" }, "it runs until stopped");
        Ok("Stop-SwarmAgent -Id $args[0]", id);
        P(Ok("Wait-SwarmAgent -Id $args[0] -Timeout 120", id).Single(), "Status").Should().NotBe("Running");
    }

    [Fact]
    public void Agent_profiles_are_listed()
    {
        Ok("Get-SwarmAgentProfile").Select(o => P(o, "Name")).Should().Contain(new[] { "claude", "codex", "command" });
        Ok("Get-SwarmAgentProfile -Name cl*").Select(o => P(o, "Name")).Should().Equal("claude");
        Fails("Start-SwarmAgent -Ticket NOPE-1 -Profile nosuchprofile -Prompt x").ErrorId.Should().BeOneOf("ProfileNotFound", "EnvironmentNotFound");
    }

    [Fact]
    public void Tasks_are_added_listed_stopped_removed_and_run_by_the_queue()
    {
        if (OperatingSystem.IsWindows()) return;
        var first = Ok("Add-SwarmTask -Title 'first task' -Prompt p -Name first -Profile command -Command sh, -c, 'echo done' -RepositoryPath $args[0]", Repo).Single();
        first.BaseObject.GetType().FullName.Should().Be("SwarmPS.Core.Tasks.SwarmTask");
        var cancel = Ok("Add-SwarmTask -Title 'to cancel' -Prompt p -Profile command -Command sh, -c, 'exit 0' -RepositoryPath $args[0]", Repo).Single();
        Ok("Get-SwarmTask").Should().HaveCount(2);
        P(Ok("Stop-SwarmTask -Id $args[0] -PassThru", P(cancel, "Id")).Single(), "Status").Should().Be("Cancelled");
        Ok("Remove-SwarmTask -Id $args[0] -Force", P(cancel, "Id"));
        Ok("Get-SwarmTask").Select(o => P(o, "Id")).Should().Equal(P(first, "Id"));
        Fails("Get-SwarmTask -Id t-nothere").ErrorId.Should().Be("TaskNotFound");

        var summary = Ok("Invoke-SwarmQueue -MaxParallel 1 -Summary").Last();
        summary.BaseObject.GetType().FullName.Should().Be("SwarmPS.Core.Tasks.QueueRunSummary");
        P(Ok("Get-SwarmTask -Id $args[0]", P(first, "Id")).Single(), "Status").Should().Be("Succeeded");
    }

    [Fact]
    public void Detached_queue_cmdlets_bind_and_report_state()
    {
        // Start-SwarmQueue launches pwsh, which this test host is not: -WhatIf proves binding and ShouldProcess.
        var r = Ps.Run("Start-SwarmQueue -MaxParallel 2 -WhatIf");
        r.ShouldSucceed().Output.Should().BeEmpty();
        Directory.Exists(Path.Combine(Home, "queue", "scheduler")).Should().BeFalse("-WhatIf starts nothing");
        var status = Ps.Run("Stop-SwarmQueue -PassThru").ShouldSucceed();
        status.Output.Single().BaseObject.GetType().FullName.Should().Be("SwarmPS.Core.Tasks.SwarmQueueStatus");
        P(status.Output.Single(), "Running").Should().Be("False");
        status.Warnings.Should().Contain(w => w.Contains("No scheduler is running"));
        Fails("Start-SwarmQueue -MaxParallel 0").ErrorId.Should().StartWith("ParameterArgumentValidationError");
    }

    [Fact]
    public void Start_SwarmQueue_runs_a_detached_pwsh_scheduler_that_drains_the_queue()
    {
        if (OperatingSystem.IsWindows()) return;
        // The scheduler is a detached pwsh (this test host is not pwsh): pwsh from PATH, or SWARMPS_TEST_PWSH.
        var pwsh = Environment.GetEnvironmentVariable("SWARMPS_TEST_PWSH") is { Length: > 0 } p && File.Exists(p) ? p
            : Environment.GetEnvironmentVariable("PATH")!.Split(Path.PathSeparator).Select(d => Path.Combine(d, "pwsh")).FirstOrDefault(File.Exists);
        if (pwsh is null)
        {
            Console.Error.WriteLine("SKIPPED (no pwsh on PATH and no SWARMPS_TEST_PWSH): Start_SwarmQueue_runs_a_detached_pwsh_scheduler; Detached_queue_cmdlets_bind_and_report_state still runs");
            return;
        }
        var path = Environment.GetEnvironmentVariable("PATH");
        Environment.SetEnvironmentVariable("PATH", Path.GetDirectoryName(pwsh) + Path.PathSeparator + path);
        try
        {
            // An empty queue starts nothing (a warning and the status).
            var empty = Ps.Run("Start-SwarmQueue -MaxParallel 1").ShouldSucceed();
            empty.Warnings.Should().Contain(w => w.Contains("no scheduler was started"));

            var task = Ok("Add-SwarmTask -Title 'detached' -Prompt p -Profile command -Command sh, -c, 'echo done' -RepositoryPath $args[0]", Repo).Single();
            var started = Ok("Start-SwarmQueue -MaxParallel 1").Single();
            started.BaseObject.GetType().FullName.Should().Be("SwarmPS.Core.Tasks.SwarmQueueStatus");
            // Waits for the condition "the detached scheduler finished the task" (pwsh start-up on a loaded machine: generous deadline).
            var deadline = DateTime.UtcNow.AddMinutes(3);
            string status;
            do
            {
                status = P(Ok("Get-SwarmTask -Id $args[0]", P(task, "Id")).Single(), "Status");
                if (status is "Succeeded" or "Failed") break;
                Thread.Sleep(250);
            }
            while (DateTime.UtcNow < deadline);
            status.Should().Be("Succeeded", "the detached scheduler (pwsh importing the module folder) ran the task");
            P(Ok("Stop-SwarmQueue -TimeoutSeconds 60 -PassThru").Single(), "Running").Should().Be("False");
        }
        finally
        {
            Environment.SetEnvironmentVariable("PATH", path);
            Ps.Run("Stop-SwarmQueue -TimeoutSeconds 30");
        }
    }

    [Fact]
    public void Workflow_queues_its_tasks_and_a_missing_file_is_WorkflowNotFound()
    {
        var path = Path.Combine(Root, "flow.yaml");
        File.WriteAllText(path, """
            name: two-step
            tasks:
              - name: schema
                title: Write the schema
                prompt: write it
                profile: command
                command: [sh, -c, "exit 0"]
              - name: api
                title: Build the API
                prompt: build it
                profile: command
                command: [sh, -c, "exit 0"]
                dependsOn: [schema]
            """);
        var queued = Ps.Run("Invoke-SwarmWorkflow -Path $args[0] -QueueOnly", path);
        queued.ShouldSucceed();
        Ok("Get-SwarmTask").Select(o => P(o, "Title")).Should().BeEquivalentTo("Write the schema", "Build the API");
        Fails("Invoke-SwarmWorkflow -Path $args[0]", Path.Combine(Root, "missing.yaml")).ErrorId.Should().Be("WorkflowNotFound");
    }

    [Fact]
    public void Decomposition_binds_and_asks_nothing_under_WhatIf()
    {
        Ps.Run("Invoke-SwarmDecomposition -Query 'add a login page' -Backend anthropic -WhatIf").ShouldSucceed().Output.Should().BeEmpty();
        Ok("Get-SwarmTask").Should().BeEmpty();
        Fails("Invoke-SwarmDecomposition -Query 'x' -Backend nosuchbackend -BaseUrl http://127.0.0.1:9 -Confirm:$false").ErrorId.Should().NotBeNullOrEmpty();
    }
}
