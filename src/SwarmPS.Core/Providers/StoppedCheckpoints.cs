namespace SwarmPS.Core.Providers;

/// <summary>
/// Checkpoints on providers that can only checkpoint a stopped environment (Tart: a checkpoint is a clone
/// of the stopped VM). <see cref="SwarmService.CheckpointAsync"/> refuses a running one; these helpers let
/// a caller that has the user's consent (Checkpoint-SwarmEnvironment asks, or -Force) stop it, checkpoint
/// it and start it again.
/// </summary>
public static class StoppedCheckpoints
{
    /// <summary>True when the environment runs and its provider checkpoints only stopped environments.</summary>
    public static async Task<bool> NeedsStopAsync(this SwarmService service, string ticket, CancellationToken ct = default)
    {
        var env = service.GetEnvironment(ticket);
        var p = service.Providers.Get(env.Provider);
        if (!p.Capabilities.HasFlag(ProviderCapabilities.Checkpoint) || p.Capabilities.HasFlag(ProviderCapabilities.CheckpointWhileRunning)) return false;
        return await p.GetStatusAsync(env, ct).ConfigureAwait(false) == EnvironmentStatus.Running;
    }

    /// <summary>Stops the environment, checkpoints it, and starts it again (also when the checkpoint failed).</summary>
    public static async Task<SwarmCheckpoint> CheckpointStoppingAsync(this SwarmService service, string ticket, string? name, IProgress<SwarmProgress>? progress = null, CancellationToken ct = default)
    {
        var env = service.GetEnvironment(ticket);
        if (name is not null) Names.Checkpoint(name);
        progress?.Report(new SwarmProgress("Checkpoint", $"{env.Ticket}: stopping it first (its provider checkpoints only stopped environments)", 5));
        await service.StopEnvironmentAsync(env.Ticket, progress, ct).ConfigureAwait(false);
        try
        {
            return await service.CheckpointAsync(env.Ticket, name, progress, ct).ConfigureAwait(false);
        }
        finally
        {
            progress?.Report(new SwarmProgress("Checkpoint", $"{env.Ticket}: starting it again", 90));
            await service.StartEnvironmentAsync(env.Ticket, progress, CancellationToken.None).ConfigureAwait(false);
        }
    }
}
