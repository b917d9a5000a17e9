using SwarmPS.Core;
using SwarmPS.Core.Providers;
using SwarmPS.Core.Providers.Slurm;
using SwarmPS.Tests.Slurm;
using SwarmPS.Tests.Support;
using Xunit;

namespace SwarmPS.Tests.Contract;

/// <summary>The slurm provider's environments are worktrees under slurm.sharedDirectory/worktrees.</summary>
public sealed class SlurmFixture : IProviderFixture
{
    private readonly TempRepo _repo = new();

    public SlurmFixture()
    {
        Directory.CreateDirectory(_repo.Home);
        File.WriteAllText(Path.Combine(_repo.Home, "config.json"), $$"""{ "slurm": { "sharedDirectory": "{{Shared}}" } }""");
    }

    private string Shared => Path.Combine(_repo.Root, "shared");
    public IEnvironmentProvider Provider { get; } = new SlurmProvider();
    public string? SkipReason => SlurmBackend.Run("srun", "--version").Code == 0 ? null : "the Slurm client (srun) is not installed; run .ci/backends/slurm.sh start";
    public SwarmHome Home => new(_repo.Home);

    public SwarmService CreateService(SwarmConfig? config = null) =>
        new(Home, config ?? new SwarmConfig(), new ProviderCatalog(new[] { Provider }, Provider.Name));

    public NewEnvironmentRequest Request(string ticket) => new() { Ticket = ticket, RepositoryPath = _repo.Repo };

    public SwarmConfig FailingCreateConfig() => new()
    {
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
        var root = Path.Combine(Shared, "worktrees");
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

[Collection("slurm")]
public sealed class SlurmContractTests : ProviderContractTests<SlurmFixture>
{
}
