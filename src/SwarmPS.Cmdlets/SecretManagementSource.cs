using System.Management.Automation;
using System.Net;
using System.Security;
using SwarmPS.Core.Decomposition;

namespace SwarmPS.Cmdlets;

/// <summary>
/// API keys from a SecretManagement vault (<c>Get-Secret -Name N -Vault V -AsPlainText</c>), for
/// Invoke-SwarmDecomposition. Core asks for keys on its worker thread, where the runspace (busy
/// running this very cmdlet) cannot be used, so the keys are looked up beforehand on the pipeline
/// thread through <see cref="Prefetch"/> (a nested command of the current runspace) and only held
/// in memory for the one call. Values are never logged, written or put in messages.
/// </summary>
public sealed class SecretManagementSource : ISecretSource
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public SecretManagementSource(string vault) => Vault = vault;

    public string Vault { get; }

    public string Description => $"SecretManagement vault '{Vault}'";

    /// <summary>
    /// Looks up each name in the vault with <paramref name="getSecret"/> (name, vault) -> the secret
    /// object, which runs Get-Secret on the pipeline thread. Stops at the first name found (the names
    /// are alternatives). Returns the lookups that failed, as "name: reason" (never a value).
    /// </summary>
    public IReadOnlyList<string> Prefetch(IEnumerable<string> names, Func<string, string, object?> getSecret)
    {
        var failures = new List<string>();
        foreach (var name in names)
        {
            try
            {
                if (AsText(getSecret(name, Vault)) is { Length: > 0 } value)
                {
                    _values[name] = value;
                    break;
                }
            }
            catch (Exception ex) when (ex is RuntimeException or InvalidOperationException)
            {
                failures.Add($"{name}: {ex.Message}");
            }
        }
        return failures;
    }

    public ValueTask<string?> GetSecretAsync(string name, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(_values.TryGetValue(name, out var v) ? v : null);

    /// <summary>A secret as text: a string, a SecureString, or the first of several outputs; anything else (a hashtable, bytes) is not a key.</summary>
    public static string? AsText(object? secret)
    {
        if (secret is PSObject pso) secret = pso.BaseObject;
        return secret switch
        {
            string s => s,
            SecureString ss => new NetworkCredential(string.Empty, ss).Password,
            System.Collections.IList { Count: > 0 } list => AsText(list[0]),
            _ => null,
        };
    }
}
