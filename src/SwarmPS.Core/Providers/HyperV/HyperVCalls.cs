namespace SwarmPS.Core.Providers.HyperV;

/// <summary>Thin helpers over <see cref="IHyperVHost"/>: parameters as tuples, errors as <see cref="SwarmException"/>.</summary>
public sealed class HyperVCalls
{
    public const string CommandFailed = "HyperVCommandFailed";

    public HyperVCalls(IHyperVHost host) => Host = host;

    public IHyperVHost Host { get; }

    private static Dictionary<string, object?> Bag((string Name, object? Value)[] parameters)
    {
        var d = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (k, v) in parameters) d[k] = v;
        return d;
    }

    /// <summary>Runs the cmdlet; a cmdlet error becomes <see cref="CommandFailed"/> naming the cmdlet and PowerShell's message.</summary>
    public async Task<IReadOnlyList<HyperVObject>> RunAsync(string cmdlet, string? ticket, CancellationToken ct, params (string Name, object? Value)[] parameters)
    {
        try
        {
            return await Host.InvokeAsync(cmdlet, Bag(parameters), ct).ConfigureAwait(false);
        }
        catch (HyperVCommandException ex)
        {
            throw Failed(ex, ticket);
        }
    }

    /// <summary>Runs the cmdlet; null when it failed because the object does not exist (Get-VM of an unknown name, ...).</summary>
    public async Task<IReadOnlyList<HyperVObject>?> GetOrNullAsync(string cmdlet, string? ticket, CancellationToken ct, params (string Name, object? Value)[] parameters)
    {
        try
        {
            return await Host.InvokeAsync(cmdlet, Bag(parameters), ct).ConfigureAwait(false);
        }
        catch (HyperVCommandException ex) when (ex.IsNotFound)
        {
            return null;
        }
        catch (HyperVCommandException ex)
        {
            throw Failed(ex, ticket);
        }
    }

    /// <summary>Best effort (cleanup): errors are swallowed; returns whether it worked.</summary>
    public async Task<bool> TryRunAsync(string cmdlet, CancellationToken ct, params (string Name, object? Value)[] parameters)
    {
        try
        {
            await Host.InvokeAsync(cmdlet, Bag(parameters), ct).ConfigureAwait(false);
            return true;
        }
        catch (HyperVCommandException)
        {
            return false;
        }
    }

    /// <summary>A missing cmdlet is Unavailable (the service then asks the provider why); anything else OperationFailed.</summary>
    public static SwarmException Failed(HyperVCommandException ex, string? ticket) => ex.IsCommandNotFound
        ? new(ErrorIds.ProviderUnavailable, SwarmErrorKind.Unavailable, $"{ex.Cmdlet} is not available here: {ex.Message.TrimEnd()}", ticket, ex)
        : new(CommandFailed, SwarmErrorKind.OperationFailed, $"{ex.Cmdlet} failed: {ex.Message.TrimEnd()} ({ex.FullyQualifiedErrorId})", ticket, ex);
}
