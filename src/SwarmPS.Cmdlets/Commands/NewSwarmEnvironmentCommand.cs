using System.Management.Automation;
using SwarmPS.Cmdlets.Completers;
using SwarmPS.Core;
using SwarmPS.Core.Providers;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Creates an isolated environment for each ticket.</para>
/// </summary>
/// <remarks>
/// The repository is <c>-RepositoryPath</c>, not <c>-Path</c>: the item this cmdlet acts on is the
/// ticket's environment; the repository is where it comes from (and relative paths resolve
/// against the current PowerShell location, not the process directory).
/// </remarks>
[Cmdlet(VerbsCommon.New, "SwarmEnvironment", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(SwarmEnvironment))]
public sealed class NewSwarmEnvironmentCommand : SwarmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(TicketCompleter))]
    public string[] Ticket { get; set; } = Array.Empty<string>();

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ProviderNameCompleter))]
    public string? Provider { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Repository")]
    public string? RepositoryPath { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Base")]
    public string? BaseRef { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Spec { get; set; }

    /// <summary>The container image (docker) or registered base image (kvm). Docker default: docker.defaultImage in config.json, SWARMPS_DOCKER_IMAGE, else debian:bookworm-slim.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Image { get; set; }

    /// <summary>docker: an image-only environment without a host worktree (no diff or merge).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public SwitchParameter NoWorktree { get; set; }

    /// <summary>CPUs for a container or VM.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, 1024)]
    public int Cpus { get; set; }

    /// <summary>Memory in MiB for a container or VM.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, int.MaxValue)]
    public int MemoryMb { get; set; }

    /// <summary>Create even if the host would be oversubscribed beyond the ratios in config.json (see Get-SwarmHost).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>kvm: return once the VM runs, without waiting for its IP address and SSH (Options["noWait"]).</summary>
    [Parameter]
    public SwitchParameter NoWait { get; set; }

    protected override void ProcessRecord()
    {
        // ~, paths relative to the PowerShell location and PSDrives (one pipeline record: a bad path is reported, the next record runs).
        string? repository = null;
        if (!string.IsNullOrWhiteSpace(RepositoryPath) && !TryItem(RepositoryPath, () => ResolvePath(RepositoryPath, nameof(RepositoryPath)), out repository)) return;
        foreach (var raw in Ticket)
        {
            if (!TryTicket(raw, out var ticket)) continue;
            var provider = string.IsNullOrWhiteSpace(Provider) ? "the default provider" : $"provider {Provider}";
            if (!ShouldProcessItem(ticket, $"Create environment ({provider})")) continue;
            var request = new NewEnvironmentRequest
            {
                Ticket = ticket,
                Provider = Provider,
                RepositoryPath = repository,
                BaseRef = BaseRef,
                Spec = Spec,
                WorkingDirectory = CurrentDirectory,
                Image = Image,
                Cpus = MyInvocation.BoundParameters.ContainsKey(nameof(Cpus)) ? Cpus : null,
                MemoryMb = MyInvocation.BoundParameters.ContainsKey(nameof(MemoryMb)) ? MemoryMb : null,
                Options = NoWorktree.IsPresent ? new Dictionary<string, string> { [SwarmPS.Core.Providers.Docker.DockerProvider.OptionNoWorktree] = "true" } : null,
                Force = Force.IsPresent,
            };
            if (NoWait) request = request.WithOption(SwarmPS.Core.Providers.Kvm.KvmProvider.OptionNoWait, "true");
            if (TryItem(ticket, () => Run((progress, ct) => Service.NewEnvironmentAsync(request, progress, ct)), out var env))
                WriteObject(env);
        }
    }
}
