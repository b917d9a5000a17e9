using SwarmPS.Core.Processes;
using SwarmPS.Core.Providers.Kvm;

namespace SwarmPS.Core.Providers;

/// <summary>
/// "Can I log in to this guest yet?" The seam the SSH VM providers (kvm, hyperv, tart) call after the guest has
/// an address; tests substitute a probe that needs no real sshd. The default runs
/// <c>ssh ... user@host -- 'true'</c> with the argv of <see cref="KvmSsh"/> (key-only, never prompting).
/// </summary>
public interface ISshProbe
{
    /// <summary>Null when the login worked; otherwise the first error line (for the timeout message). No host key is kept.</summary>
    Task<string?> ProbeAsync(string keyPath, string user, string host, CancellationToken ct);

    /// <summary>
    /// The same with the environment's known_hosts (the guest's host key is recorded at the first login, keyed by
    /// <paramref name="hostKeyAlias"/>, and checked afterwards). Probes that need no sshd may ignore it.
    /// </summary>
    Task<string?> ProbeAsync(string keyPath, string user, string host, string? knownHostsPath, string? hostKeyAlias, CancellationToken ct) =>
        ProbeAsync(keyPath, user, host, ct);
}

/// <summary>The real probe: one ssh process with a short connect timeout.</summary>
public sealed class SshProbe : ISshProbe
{
    private readonly ProcessRunner _runner;
    public SshProbe(ProcessRunner? runner = null) => _runner = runner ?? ProcessRunner.Default;
    public static SshProbe Default { get; } = new();

    public Task<string?> ProbeAsync(string keyPath, string user, string host, CancellationToken ct) =>
        ProbeAsync(keyPath, user, host, null, null, ct);

    public async Task<string?> ProbeAsync(string keyPath, string user, string host, string? knownHostsPath, string? hostKeyAlias, CancellationToken ct)
    {
        var r = await _runner.RunAsync(new ProcessSpec("ssh", KvmSsh.Arguments(keyPath, user, host, new[] { "true" }, null, 5, knownHostsPath, hostKeyAlias))
        {
            Environment = Virsh.CLocale, Timeout = TimeSpan.FromSeconds(30),
        }, ct).ConfigureAwait(false);
        return r.Success ? null : Virsh.FirstError(r);
    }
}

/// <summary>
/// SSH keys, the readiness wait for a login and file clean-up shared by the SSH VM providers (kvm, hyperv, tart).
/// </summary>
public static class VmAccess
{
    /// <summary>
    /// Generates an ed25519 key pair at <paramref name="keyPath"/> (private 0600, directory 0700) with
    /// ssh-keygen and returns the public key. An existing pair is replaced unless <paramref name="keepExisting"/>.
    /// </summary>
    public static async Task<string> GenerateKeyAsync(string keyPath, string comment, string? ticket, CancellationToken ct, bool keepExisting = false, ProcessRunner? runner = null)
    {
        var dir = Path.GetDirectoryName(keyPath)!;
        SwarmHome.EnsurePrivateDirectory(Path.GetDirectoryName(dir)!);
        SwarmHome.EnsurePrivateDirectory(dir);
        if (keepExisting && File.Exists(keyPath) && File.Exists(keyPath + ".pub"))
            return await File.ReadAllTextAsync(keyPath + ".pub", ct).ConfigureAwait(false);
        TryDelete(keyPath); TryDelete(keyPath + ".pub");
        var r = await (runner ?? ProcessRunner.Default).RunAsync(new ProcessSpec("ssh-keygen", new[] { "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", keyPath })
        {
            Timeout = TimeSpan.FromSeconds(60),
        }, ct).ConfigureAwait(false);
        if (!r.Success)
            throw new SwarmException(ErrorIds.ProcessFailed, SwarmErrorKind.OperationFailed, $"ssh-keygen failed ({r.ExitCode}): {Virsh.FirstError(r)}. Is the OpenSSH client installed?", ticket);
        SwarmHome.MakeFilePrivate(keyPath);
        return await File.ReadAllTextAsync(keyPath + ".pub", ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Polls <paramref name="probe"/> (one login attempt: null when it worked, else the error) until the login works or <paramref name="timeout"/> passes; the
    /// error then comes from <paramref name="timeoutMessage"/> (given the last ssh error), with <paramref name="hint"/> as its front-end hint.
    /// </summary>
    public static async Task WaitForSshAsync(Func<CancellationToken, Task<string?>> probe, TimeSpan timeout, TimeSpan interval,
        Func<string, string> timeoutMessage, string ticket, Action<TimeSpan>? onAttempt, CancellationToken ct, FrontEndHint? hint = null)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            onAttempt?.Invoke(sw.Elapsed);
            var error = await probe(ct).ConfigureAwait(false);
            if (error is null) return;
            if (sw.Elapsed >= timeout)
                throw new SwarmException(ErrorIds.Timeout, SwarmErrorKind.OperationFailed, timeoutMessage(error), ticket) { Hint = hint };
            await Task.Delay(interval, ct).ConfigureAwait(false);
        }
    }

    internal static void TryDelete(string path)
    {
        try { if (File.Exists(path)) File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    internal static void TryDeleteDirectory(string path)
    {
        try { if (Directory.Exists(path)) Directory.Delete(path, true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
