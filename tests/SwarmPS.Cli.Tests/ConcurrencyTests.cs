using System.Collections.Concurrent;
using System.Text.Json;
using FluentAssertions;
using SwarmPS.Cli.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace SwarmPS.Cli.Tests;

/// <summary>
/// The registry test through the CLI: 8 concurrent writers, each creating 25 environments
/// in one repository against one registry (one --home), must end with exactly 200 rows, no error,
/// no duplicates and non-overlapping port blocks.
/// </summary>
[Trait("Category", "Slow")]
public sealed class ConcurrencyTests : IDisposable
{
    private const int Writers = 8;
    private const int PerWriter = 25;

    private readonly TempWorkspace _ws = new();
    private readonly ITestOutputHelper _output;

    public ConcurrencyTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _ws.Dispose();

    [Fact]
    public async Task Eight_processes_creating_25_environments_each_end_with_200_rows_then_remove_them_all()
    {
        var started = DateTime.UtcNow;
        var failures = new ConcurrentBag<CliResult>();
        var created = new ConcurrentBag<JsonElement>();

        // 8 writers run at once; each is a sequence of 25 'swarmps env new' OS processes, so at
        // any moment 8 CLI processes write to the same registry and the same repository.
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            await gate.Task;
            for (var i = 0; i < PerWriter; i++)
            {
                var r = await _ws.RunAsync("env", "new", $"W{w}-T{i:00}", "--json");
                if (r.ExitCode != 0 || r.StdErr.Length > 0) failures.Add(r);
                else created.Add(r.Json);
            }
        })).ToArray();
        gate.SetResult();
        await Task.WhenAll(writers);
        _output.WriteLine($"{Writers}x{PerWriter} creates took {DateTime.UtcNow - started}");

        failures.Should().BeEmpty(string.Join("\n\n", failures.Take(5).Select(f => f.ToString())));
        created.Should().HaveCount(Writers * PerWriter);

        var list = await _ws.RunAsync("env", "list", "--json");
        list.ExitCode.Should().Be(0, list.ToString());
        var rows = list.Json.EnumerateArray().ToList();
        rows.Should().HaveCount(Writers * PerWriter);

        var tickets = rows.Select(r => r.GetProperty("ticket").GetString()!).ToList();
        tickets.Should().OnlyHaveUniqueItems();
        tickets.Select(t => t.ToUpperInvariant()).Should().OnlyHaveUniqueItems();
        tickets.Should().BeEquivalentTo(Enumerable.Range(0, Writers).SelectMany(w => Enumerable.Range(0, PerWriter).Select(i => $"W{w}-T{i:00}")));
        rows.Should().OnlyContain(r => r.GetProperty("status").GetString() == "Running");

        // Port blocks: every one reserved, distinct, and no two overlap.
        var blocks = rows.Select(r => r.GetProperty("ports")).Select(p => (Start: p.GetProperty("start").GetInt32(), End: p.GetProperty("end").GetInt32(), Count: p.GetProperty("count").GetInt32()))
            .OrderBy(b => b.Start).ToList();
        blocks.Should().OnlyContain(b => b.Count > 0 && b.End == b.Start + b.Count - 1);
        blocks.Select(b => b.Start).Should().OnlyHaveUniqueItems();
        for (var i = 1; i < blocks.Count; i++)
            blocks[i].Start.Should().BeGreaterThan(blocks[i - 1].End, $"block {blocks[i].Start}-{blocks[i].End} overlaps {blocks[i - 1].Start}-{blocks[i - 1].End}");

        // What each process printed agrees with the registry.
        var printed = created.ToDictionary(e => e.GetProperty("ticket").GetString()!, e => e.GetProperty("ports").GetProperty("start").GetInt32());
        foreach (var r in rows)
            printed[r.GetProperty("ticket").GetString()!].Should().Be(r.GetProperty("ports").GetProperty("start").GetInt32());

        // The backend agrees too: one branch and one worktree per row.
        Git.SwarmBranches(_ws.Repo).Should().HaveCount(Writers * PerWriter);
        Git.Lines(_ws.Repo, "worktree", "list", "--porcelain").Count(l => l.StartsWith("worktree ", StringComparison.Ordinal)).Should().Be(Writers * PerWriter + 1);
        rows.Should().OnlyContain(r => Directory.Exists(r.GetProperty("workspacePath").GetString()));

        (await _ws.JsonAsync("repair")).GetArrayLength().Should().Be(0, "nothing is orphaned or dangling");

        // And back down: the same 8 writers remove everything at once.
        started = DateTime.UtcNow;
        var removeGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var removers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            await removeGate.Task;
            for (var i = 0; i < PerWriter; i++)
            {
                var r = await _ws.RunAsync("env", "rm", $"W{w}-T{i:00}", "--json");
                if (r.ExitCode != 0 || r.StdErr.Length > 0) failures.Add(r);
            }
        })).ToArray();
        removeGate.SetResult();
        await Task.WhenAll(removers);
        _output.WriteLine($"{Writers}x{PerWriter} removes took {DateTime.UtcNow - started}");
        failures.Should().BeEmpty(string.Join("\n\n", failures.Take(5).Select(f => f.ToString())));
        (await _ws.RowCountAsync()).Should().Be(0);
        Git.SwarmBranches(_ws.Repo).Should().BeEmpty();
        Git.Lines(_ws.Repo, "worktree", "list", "--porcelain").Count(l => l.StartsWith("worktree ", StringComparison.Ordinal)).Should().Be(1);
    }
}
