using SwarmPS.Core.Processes;
using SwarmPS.Core.Providers.Kvm;

namespace SwarmPS.Core.Providers;

/// <summary>
/// "Can I log in to this guest yet?" The seam VM providers (Hyper-V, Tart) call after the guest has an
/// address; tests substitute a probe that needs no real sshd. The default runs
/// <c>ssh ... user@host -- 'true'</c> with the argv of <see cref="KvmSsh"/> (key-only, never prompting).
/// </summary>
public interface ISshProbe
{
    /// <summary>Null when the login worked; otherwise the first error line (for the timeout message).</summary>
    Task<string?> ProbeAsync(string keyPath, string user, string host, CancellationToken ct);
}

/// <summary>The real probe: one ssh process with a short connect timeout.</summary>
public sealed class SshProbe : ISshProbe
{
    private readonly ProcessRunner _runner;
    public SshProbe(ProcessRunner? runner = null) => _runner = runner ?? ProcessRunner.Default;
    public static SshProbe Default { get; } = new();

    public async Task<string?> ProbeAsync(string keyPath, string user, string host, CancellationToken ct)
    {
        var r = await _runner.RunAsync(new ProcessSpec("ssh", KvmSsh.Arguments(keyPath, user, host, new[] { "true" }, null, 3)) { Timeout = TimeSpan.FromSeconds(15) }, ct).ConfigureAwait(false);
        return r.Success ? null : Virsh.FirstError(r);
    }
}

/// <summary>
/// SSH keys and readiness shared by the VM providers that are not KVM (the KVM provider keeps its own
/// copies while another branch reworks them; this file is the generalised form, to be merged with them).
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
    /// Polls <paramref name="probe"/> until the login works or <paramref name="timeout"/> passes; the
    /// error then comes from <paramref name="timeoutMessage"/> (given the last ssh error).
    /// </summary>
    public static async Task WaitForSshAsync(ISshProbe probe, string keyPath, string user, string host, TimeSpan timeout, TimeSpan interval,
        Func<string, string> timeoutMessage, string ticket, Action<TimeSpan>? onAttempt, CancellationToken ct)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            onAttempt?.Invoke(sw.Elapsed);
            var error = await probe.ProbeAsync(keyPath, user, host, ct).ConfigureAwait(false);
            if (error is null) return;
            if (sw.Elapsed >= timeout)
                throw new SwarmException(ErrorIds.Timeout, SwarmErrorKind.OperationFailed, timeoutMessage(error), ticket);
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
