using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Providers;
using SwarmPS.Tests.Support;
using Xunit;

namespace SwarmPS.Tests;

/// <summary>
/// Property: for any sequence of edits, creates, deletes, stages, unstages and commits, a restore
/// brings back exactly the state at checkpoint time — files byte for byte, HEAD and its branch,
/// and the index entries. Seeds are fixed so a failure reproduces; the failing seed and the
/// operation log are printed.
/// </summary>
public class CheckpointPropertyTests : IDisposable
{
    private readonly TempRepo _r = new(files: 8);
    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _r.Dispose();
    }

    public static TheoryData<int> Seeds()
    {
        var d = new TheoryData<int>();
        for (var i = 1; i <= 12; i++) d.Add(i * 7919);
        return d;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Restore_returns_exactly_to_the_checkpointed_state(int seed)
    {
        var svc = new SwarmService(new SwarmHome(_r.Home), new SwarmConfig());
        var env = svc.NewEnvironmentAsync(new NewEnvironmentRequest { Ticket = "PROP-1", RepositoryPath = _r.Repo }).GetAwaiter().GetResult();
        var w = env.WorkspacePath!;
        var rng = new Random(seed);
        var log = new List<string>();

        var checkpoints = new List<(string Name, object State)>();
        for (var round = 0; round < 3; round++)
        {
            RandomOps(w, rng, log, rng.Next(3, 12));
            var name = $"cp{round}";
            var state = WorktreeProviderTests.Capture(w);
            svc.CheckpointAsync("PROP-1", name).GetAwaiter().GetResult();
            log.Add($"checkpoint {name}");
            WorktreeProviderTests.Capture(w).Should().BeEquivalentTo(state, "checkpoint must not change anything (seed {0})", seed);
            checkpoints.Add((name, state));
        }
        // Restore each checkpoint after more random work, in random order.
        foreach (var (name, state) in checkpoints.OrderBy(_ => rng.Next()))
        {
            RandomOps(w, rng, log, rng.Next(1, 10));
            svc.RestoreAsync("PROP-1", name).GetAwaiter().GetResult();
            log.Add($"restore {name}");
            WorktreeProviderTests.Capture(w).Should().BeEquivalentTo(state,
                "restore of {0} must be exact (seed {1}); operations:\n{2}", name, seed, string.Join("\n", log));
        }
    }

    private static void RandomOps(string w, Random rng, List<string> log, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var files = Directory.EnumerateFiles(w, "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(w, f).Replace('\\', '/'))
                .Where(f => !f.StartsWith(".git", StringComparison.Ordinal) && !f.StartsWith(".swarm/", StringComparison.Ordinal))
                .OrderBy(f => f, StringComparer.Ordinal).ToList();
            var op = rng.Next(8);
            switch (op)
            {
                case 0 when files.Count > 0: // edit
                {
                    var f = files[rng.Next(files.Count)];
                    File.WriteAllBytes(Path.Combine(w, f), Content(rng));
                    log.Add($"edit {f}");
                    break;
                }
                case 1: // create, sometimes in a new folder
                {
                    var f = (rng.Next(3) == 0 ? $"dir{rng.Next(4)}/sub{rng.Next(2)}/" : "") + $"new{rng.Next(1000)}.bin";
                    Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(w, f))!);
                    File.WriteAllBytes(Path.Combine(w, f), Content(rng));
                    log.Add($"create {f}");
                    break;
                }
                case 2 when files.Count > 1: // delete
                {
                    var f = files[rng.Next(files.Count)];
                    File.Delete(Path.Combine(w, f));
                    log.Add($"delete {f}");
                    break;
                }
                case 3 when files.Count > 0: // stage one path
                {
                    var f = files[rng.Next(files.Count)];
                    TempRepo.RunGit(w, "add", "--", f);
                    log.Add($"stage {f}");
                    break;
                }
                case 4: // stage everything, deletions included
                    TempRepo.RunGit(w, "add", "-A");
                    log.Add("stage -A");
                    break;
                case 5: // commit what is staged
                    TempRepo.RunGit(w, "commit", "-q", "--allow-empty", "-m", $"commit {rng.Next()}");
                    log.Add("commit");
                    break;
                case 6 when files.Count > 0: // unstage a path
                {
                    var f = files[rng.Next(files.Count)];
                    TempRepo.TryGit(w, "reset", "-q", "--", f);
                    log.Add($"unstage {f}");
                    break;
                }
                case 7 when files.Count > 0 && !OperatingSystem.IsWindows(): // toggle the executable bit
                {
                    var f = files[rng.Next(files.Count)];
                    var p = Path.Combine(w, f);
                    var m = File.GetUnixFileMode(p);
                    File.SetUnixFileMode(p, m.HasFlag(UnixFileMode.UserExecute) ? m & ~(UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute) : m | UnixFileMode.UserExecute);
                    log.Add($"chmod {f}");
                    break;
                }
            }
        }
    }

    private static byte[] Content(Random rng)
    {
        // Text with CRLF and LF, sometimes binary with NULs, sometimes empty.
        switch (rng.Next(4))
        {
            case 0: return Array.Empty<byte>();
            case 1:
                var b = new byte[rng.Next(1, 300)];
                rng.NextBytes(b);
                return b;
            default:
                var lines = Enumerable.Range(0, rng.Next(1, 20)).Select(_ => $"line {rng.Next()} ünï" + (rng.Next(2) == 0 ? "\r\n" : "\n"));
                return System.Text.Encoding.UTF8.GetBytes(string.Concat(lines));
        }
    }
}
