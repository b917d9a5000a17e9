using System.Net;
using System.Text.Json;
using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Events;
using SwarmPS.Core.Providers;
using SwarmPS.Core.Tasks;
using SwarmPS.Tests.Support;
using Xunit;

namespace SwarmPS.Tests;

public class EventsAndWebhookTests : IDisposable
{
    private readonly TempRepo _r = new();
    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _r.Dispose();
    }

    private SwarmService Service(SwarmConfig? c = null) => new(new SwarmHome(_r.Home), c ?? new SwarmConfig());

    private TaskSpec Cmd(string name, string script) => new()
    {
        Name = name, Title = name, Prompt = name, Profile = "command", Command = new() { "sh", "-c", script }, RepositoryPath = _r.Repo,
        Cleanup = EnvironmentCleanup.Remove,
    };

    [Fact]
    public void Environment_changes_are_events_with_old_and_new_status()
    {
        var svc = Service();
        Sync.Run(svc.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = "EV-1", RepositoryPath = _r.Repo }));
        Sync.Run(svc.StopEnvironmentAsync("EV-1"));
        Sync.Run(svc.RemoveEnvironmentAsync("EV-1"));
        var ev = svc.Events.Get(kinds: new[] { EventKinds.Environment }).Where(e => e.Subject == "EV-1").Select(e => (e.OldStatus, e.NewStatus)).ToList();
        ev.Should().Equal((null, "Creating"), ("Creating", "Running"), ("Running", "Stopped"), ("Stopped", "Removed"));
        var bad = () => svc.Events.Get(kinds: new[] { "nope" });
        bad.Should().Throw<SwarmException>().Which.Kind.Should().Be(SwarmErrorKind.InvalidArgument);
        svc.Events.Get(since: DateTimeOffset.UtcNow.AddMinutes(1)).Should().BeEmpty();
    }

    [Fact]
    public void Follow_yields_existing_then_new_events_until_cancelled()
    {
        var svc = Service();
        svc.Registry.AppendEvent(EventKinds.Swarm, "s-1", null, "Running");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var seen = new List<SwarmEvent>();
        var reader = Task.Run(async () =>
        {
            await foreach (var e in svc.Events.FollowAsync(pollInterval: TimeSpan.FromMilliseconds(20), ct: cts.Token))
            {
                seen.Add(e);
                if (seen.Count == 3) cts.Cancel();
            }
        });
        Thread.Sleep(200);
        var writer = Service(); // as another process would
        writer.Registry.AppendEvent(EventKinds.Swarm, "s-1", "Running", "Stopping");
        writer.Registry.AppendEvent(EventKinds.Swarm, "s-1", "Stopping", "Stopped");
        reader.Wait(TimeSpan.FromSeconds(90)).Should().BeTrue();
        seen.Select(e => e.NewStatus).Should().Equal("Running", "Stopping", "Stopped");
    }

    [Fact]
    public void Webhooks_receive_every_event_as_json_and_a_hanging_webhook_never_blocks_the_scheduler()
    {
        if (OperatingSystem.IsWindows()) return;
        _ = FakeAgents.Dir;
        using var good = new Receiver(respond: true);
        using var hanging = new Receiver(respond: false);
        var cfg = new SwarmConfig
        {
            Webhooks =
            {
                new WebhookConfig { Url = good.Url, Kinds = { EventKinds.Task } },
                new WebhookConfig { Url = hanging.Url, TimeoutSeconds = 30, MaxAttempts = 1 },
            },
        };
        var svc = Service(cfg);
        svc.Tasks.Add(new[] { Cmd("one", "true"), Cmd("two", "true") });
        var run = Task.Run(() => svc.RunQueueAsync(new SchedulerOptions { MaxParallel = 2, PollInterval = TimeSpan.FromMilliseconds(20) }));
        // The hanging webhook holds its first request for 30 s; the queue must drain long before that.
        run.Wait(TimeSpan.FromSeconds(90)).Should().BeTrue("a webhook that does not answer must not block the scheduler");
        run.Result.Drained.Should().BeTrue();
        hanging.Requests.Should().BeGreaterThan(0);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (good.Bodies.Count(b => b.Contains("\"newStatus\":\"Succeeded\"")) < 2 && DateTime.UtcNow < deadline) Thread.Sleep(20);
        var bodies = good.Bodies.Select(b => JsonDocument.Parse(b).RootElement).ToList();
        bodies.Should().OnlyContain(b => b.GetProperty("kind").GetString() == "task", "the good webhook asked for task events only");
        bodies.Count(b => b.GetProperty("newStatus").GetString() == "Succeeded").Should().Be(2);
        bodies[0].TryGetProperty("id", out _).Should().BeTrue();
        bodies[0].TryGetProperty("subject", out _).Should().BeTrue();
    }

    [Fact]
    public void Webhook_urls_are_validated()
    {
        var bad = new SwarmConfig { Webhooks = { new WebhookConfig { Url = "file:///etc/passwd" } } };
        var act = () => bad.Validate("config.json");
        act.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.ConfigInvalid);
    }

    [Fact]
    public void Stop_request_ends_a_running_scheduler_between_dispatches_and_leaves_agents_alone()
    {
        if (OperatingSystem.IsWindows()) return;
        _ = FakeAgents.Dir;
        var svc = Service();
        // The agent runs until the test lets it go: still running after the scheduler stops, whatever the load.
        var go = Path.Combine(_r.Root, "go");
        var added = svc.Tasks.Add(new[] { Cmd("long", $"while [ ! -e '{go}' ]; do sleep 0.05; done") });
        var run = Task.Run(() => svc.RunQueueAsync(new SchedulerOptions { MaxParallel = 1, PollInterval = TimeSpan.FromMilliseconds(20) }));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (svc.Tasks.Get(added[0].Id).AgentIds.Count == 0 && DateTime.UtcNow < deadline) Thread.Sleep(20);
        svc.Queue.Status().Running.Should().BeTrue();
        Sync.Run(svc.Queue.StopAsync(TimeSpan.FromSeconds(60))).Should().BeTrue();
        run.Wait(TimeSpan.FromSeconds(60)).Should().BeTrue();
        run.Result.Drained.Should().BeFalse();
        svc.Queue.Status().Running.Should().BeFalse();
        var agent = svc.Agents.Get(svc.Tasks.Get(added[0].Id).AgentIds.Single());
        agent.Status.Should().Be(SwarmPS.Core.Agents.AgentStatus.Running, "stopping the scheduler never kills running work");
        File.WriteAllText(go, "");
        // The next scheduler adopts it.
        Sync.Run(svc.RunQueueAsync(new SchedulerOptions { PollInterval = TimeSpan.FromMilliseconds(20) })).Drained.Should().BeTrue();
        svc.Tasks.Get(added[0].Id).Status.Should().Be(SwarmTaskStatus.Succeeded);
        Sync.Run(svc.Queue.StopAsync()).Should().BeFalse("nothing is running now");
    }

    /// <summary>A tiny HTTP server on 127.0.0.1 that records POST bodies, or holds requests without answering.</summary>
    private sealed class Receiver : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly bool _respond;
        private readonly CancellationTokenSource _cts = new();
        public List<string> Bodies { get; } = new();
        public int Requests;

        public Receiver(bool respond)
        {
            _respond = respond;
            var port = FreePort();
            Url = $"http://127.0.0.1:{port}/hook/";
            _listener.Prefixes.Add(Url);
            _listener.Start();
            _ = Task.Run(LoopAsync);
        }

        public string Url { get; }

        private async Task LoopAsync()
        {
            while (!_cts.IsCancellationRequested)
            {
                HttpListenerContext ctx;
                try { ctx = await _listener.GetContextAsync(); }
                catch (Exception) { return; }
                Interlocked.Increment(ref Requests);
                using var reader = new StreamReader(ctx.Request.InputStream);
                var body = await reader.ReadToEndAsync();
                lock (Bodies) Bodies.Add(body);
                if (_respond) { ctx.Response.StatusCode = 204; ctx.Response.Close(); }
            }
        }

        private static int FreePort()
        {
            var l = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
            l.Start();
            var port = ((IPEndPoint)l.LocalEndpoint).Port;
            l.Stop();
            return port;
        }

        public void Dispose()
        {
            _cts.Cancel();
            // Closing can race the port with another test process on a busy machine; the test is over by then.
            try { _listener.Stop(); _listener.Close(); } catch (Exception ex) when (ex is ObjectDisposedException or HttpListenerException) { }
        }
    }
}
