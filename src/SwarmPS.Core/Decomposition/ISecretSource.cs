namespace SwarmPS.Core.Decomposition;

/// <summary>
/// Where API keys come from. Core ships <see cref="EnvironmentSecretSource"/>; the cmdlet layer adds a
/// SecretManagement source (<c>Get-Secret -Name &lt;name&gt; -Vault &lt;vault&gt; -AsPlainText</c>, vault name
/// from config) and chains both with <see cref="ChainedSecretSource"/>. Implementations must never log
/// or put the secret value into an exception message.
/// </summary>
public interface ISecretSource
{
    /// <summary>The secret called <paramref name="name"/> (for example <c>ANTHROPIC_API_KEY</c>), or null when this source has none.</summary>
    ValueTask<string?> GetSecretAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Describes the source for error messages ("environment variables", "vault 'Work'"). Never contains a secret.</summary>
    string Description { get; }
}

/// <summary>Reads secrets from environment variables of the same name.</summary>
public sealed class EnvironmentSecretSource : ISecretSource
{
    private readonly Func<string, string?> _get;

    public EnvironmentSecretSource() : this(Environment.GetEnvironmentVariable) { }

    /// <summary>For tests: read "environment variables" from a lookup function.</summary>
    public EnvironmentSecretSource(Func<string, string?> getEnvironmentVariable) => _get = getEnvironmentVariable;

    public string Description => "environment variables";

    public ValueTask<string?> GetSecretAsync(string name, CancellationToken cancellationToken = default)
    {
        var v = _get(name);
        return ValueTask.FromResult(string.IsNullOrWhiteSpace(v) ? null : v);
    }
}

/// <summary>Asks each source in turn; the first non-empty answer wins.</summary>
public sealed class ChainedSecretSource : ISecretSource
{
    private readonly IReadOnlyList<ISecretSource> _sources;

    public ChainedSecretSource(params ISecretSource[] sources) => _sources = sources;

    public string Description => string.Join(" or ", _sources.Select(s => s.Description));

    public async ValueTask<string?> GetSecretAsync(string name, CancellationToken cancellationToken = default)
    {
        foreach (var s in _sources)
        {
            var v = await s.GetSecretAsync(name, cancellationToken).ConfigureAwait(false);
            if (!string.IsNullOrWhiteSpace(v)) return v;
        }
        return null;
    }
}
