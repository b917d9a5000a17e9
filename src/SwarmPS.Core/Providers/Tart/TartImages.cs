using SwarmPS.Core.Registry;

namespace SwarmPS.Core.Providers.Tart;

/// <summary>
/// Base VMs of the Tart provider: a local Tart VM name (checked with <c>tart get</c>) or an OCI reference
/// such as <c>ghcr.io/cirruslabs/macos-sequoia-base:latest</c> (pulled by the first clone). SSH uses one key
/// per SwarmPS home (<see cref="TartProvider.KeyPath"/>), which must be authorized in the base VM.
/// </summary>
public static class TartImages
{
    public static async Task<SwarmBaseImage> RegisterAsync(SwarmRegistry registry, string name, string baseVm, string? osNote = null, int cpus = 2, int memoryMb = 4096,
        string sshUser = "admin", TartOptions? options = null, CancellationToken ct = default)
    {
        Names.Ticket(name);
        if (string.IsNullOrWhiteSpace(baseVm) || baseVm.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)) || baseVm.StartsWith('-'))
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, $"'{Names.Describe(baseVm)}' is not a Tart VM name or OCI reference.", name);
        HyperV.HyperVImages.Validate(name, cpus, memoryMb, sshUser);
        if (!baseVm.Contains('/'))
        {
            var cli = new TartCli(options ?? TartOptions.FromEnvironment());
            var r = await cli.RawAsync(ct, TimeSpan.FromSeconds(60), "get", baseVm, "--format", "json").ConfigureAwait(false);
            if (TartCli.Classify(r) == TartFailure.NotFound)
                throw new SwarmException(SwarmRegistry.ImageNotFound, SwarmErrorKind.NotFound, $"Tart has no local VM '{baseVm}' ({TartCli.FirstError(r)}). 'tart list' shows them; 'tart clone ghcr.io/... {baseVm}' makes one.", name);
            if (!r.Success) throw TartCli.Failed(r, name);
        }
        return registry.AddBaseImage(new SwarmBaseImage { Name = name, Provider = TartProvider.ProviderName, Path = baseVm, OsNote = osNote, SshUser = sshUser, Cpus = cpus, MemoryMb = memoryMb });
    }
}
