using SwarmPS.Core;
using SwarmPS.Core.Providers;
using SwarmPS.Core.Providers.Worktree;
using SwarmPS.Tests.Support;

namespace SwarmPS.Tests.Contract;

public sealed class WorktreeFixture : IProviderFixture
{
    private readonly TempRepo _repo = new();

    public IEnvironmentProvider Provider { get; } = new WorktreeProvider();
    public string? SkipReason => TempRepo.TryGit(Path.GetTempPath(), "--version").Code == 0 ? null : "git is not installed";
    public SwarmHome Home => new(_repo.Home);
    public string Repo => _repo.Repo;

    public SwarmService CreateService(SwarmConfig? config = null) =>
        new(Home, config ?? new SwarmConfig(), new ProviderCatalog(new[] { Provider }, Provider.Name));

    public NewEnvironmentRequest Request(string ticket) => new() { Ticket = ticket, RepositoryPath = _repo.Repo };

    public SwarmConfig FailingCreateConfig() => new()
    {
        // git with an unknown subcommand exits 1 on every platform.
        Repositories = { new RepositoryConfig { Path = _repo.Repo, Setup = new() { "git", "no-such-subcommand-swarmps" } } },
    };

    public Task WriteMarkerAsync(SwarmEnvironment env, string content)
    {
        File.WriteAllText(Path.Combine(env.WorkspacePath!, "marker.txt"), content);
        return Task.CompletedTask;
    }

    public Task<string?> ReadMarkerAsync(SwarmEnvironment env)
    {
        var p = Path.Combine(env.WorkspacePath!, "marker.txt");
        return Task.FromResult(File.Exists(p) ? File.ReadAllText(p) : null);
    }

    public Task<IReadOnlyList<string>> LeftoversAsync(string ticket)
    {
        var left = new List<string>();
        left.AddRange(TempRepo.AllRefs(_repo.Repo).Where(r =>
            r.Equals("refs/heads/swarm/" + ticket, StringComparison.OrdinalIgnoreCase) ||
            r.StartsWith("refs/swarmps/checkpoints/" + ticket + "/", StringComparison.OrdinalIgnoreCase)));
        var worktrees = TempRepo.RunGit(_repo.Repo, "worktree", "list", "--porcelain");
        left.AddRange(worktrees.Split('\n').Where(l => l.StartsWith("worktree ", StringComparison.Ordinal) && l.EndsWith("/" + ticket, StringComparison.OrdinalIgnoreCase)));
        var root = Path.Combine(_repo.Home, "worktrees");
        if (Directory.Exists(root))
            left.AddRange(Directory.EnumerateDirectories(root, "*", SearchOption.AllDirectories)
                .Where(d => string.Equals(Path.GetFileName(d), ticket, StringComparison.OrdinalIgnoreCase)));
        return Task.FromResult<IReadOnlyList<string>>(left);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _repo.Dispose();
    }
}

public sealed class WorktreeContractTests : ProviderContractTests<WorktreeFixture>
{
}
