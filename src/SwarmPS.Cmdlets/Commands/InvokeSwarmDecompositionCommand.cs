using System.Management.Automation;
using SwarmPS.Core;
using SwarmPS.Core.Decomposition;
using SwarmPS.Core.Tasks;

namespace SwarmPS.Cmdlets.Commands;

/// <summary>
/// Asks an LLM to split a request into tasks with dependencies (structured JSON output) and writes
/// the task specs, ready for <c>| Add-SwarmTask</c>. Nothing is queued by this cmdlet.
/// </summary>
/// <remarks>
/// API keys: the SecretManagement vault named by -Vault or by config.json's <c>decomposition.vault</c>
/// (<see cref="SecretManagementSource"/>, looked up on the pipeline thread before the request), then
/// environment variables (ANTHROPIC_API_KEY, OPENAI_API_KEY, GEMINI_API_KEY or GOOGLE_API_KEY).
/// Backend, model, timeout, attempts and base URL default from the same config block. Keys stay in memory: never logged, written or put in an error.
/// The call runs on a worker task; its log lines come out as verbose records from the pipeline thread.
/// </remarks>
[Cmdlet(VerbsLifecycle.Invoke, "SwarmDecomposition", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(TaskSpec))]
public sealed class InvokeSwarmDecompositionCommand : SwarmCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    public string Query { get; set; } = "";

    /// <summary>Background for the model: code layout, constraints, conventions.</summary>
    [Parameter]
    public string? Context { get; set; }

    [Parameter]
    [ValidateSet("anthropic", "openai", "gemini", "claude-cli")]
    public string? Backend { get; set; }

    [Parameter]
    public string? Model { get; set; }

    /// <summary>The SecretManagement vault holding the API key (default: config.json decomposition.vault).</summary>
    [Parameter]
    public string? Vault { get; set; }

    /// <summary>Seconds per HTTP attempt (or for the claude CLI run); default 180.</summary>
    [Parameter]
    [ValidateRange(1, 7200)]
    public int TimeoutSeconds { get; set; }

    /// <summary>API root replacing the backend's public endpoint (a proxy; http only for this machine).</summary>
    [Parameter]
    public Uri? BaseUrl { get; set; }

    private DecompositionConfig? _config;

    protected override void ProcessRecord()
    {
        var config = _config ??= LoadConfig();
        var backendName = Backend ?? config.Backend ?? "anthropic";
        DecompositionBackend backend;
        Uri? baseUrl = BaseUrl;
        try
        {
            backend = DecompositionBackends.Parse(backendName);
            if (baseUrl is null && !string.IsNullOrWhiteSpace(config.BaseUrl) && !Uri.TryCreate(config.BaseUrl, UriKind.Absolute, out baseUrl))
                throw new SwarmException(ErrorIds.ConfigInvalid, SwarmErrorKind.InvalidArgument, $"config.json: decomposition.baseUrl '{config.BaseUrl}' is not an absolute URL.");
        }
        catch (SwarmException ex)
        {
            Terminate(ex, backendName);
            throw;
        }
        var model = Model ?? (Backend is null ? config.Model : null);
        var preview = Query.Length > 60 ? Query[..57] + "..." : Query;
        if (!ShouldProcessItem($"'{preview}'", $"Ask {backendName}{(model is null ? "" : " (" + model + ")")} to split the request into tasks")) return;

        var secrets = Secrets(backend, string.IsNullOrWhiteSpace(Vault) ? config.Vault : Vault);
        int? timeout = MyInvocation.BoundParameters.ContainsKey(nameof(TimeoutSeconds)) ? TimeoutSeconds : config.TimeoutSeconds;
        var request = new DecompositionRequest
        {
            Query = Query, Context = Context, Backend = backend, Model = model, BaseUrl = baseUrl,
            Timeout = timeout is { } sec ? TimeSpan.FromSeconds(sec) : null, MaxAttempts = config.MaxAttempts,
            WorkingDirectory = CurrentDirectory,
        };
        if (TryItem(null, () => RunWithOutput((_, output, ct) =>
                new DecompositionService(new DecompositionServiceOptions { Secrets = secrets, Log = output.Verbose }).DecomposeAsync(request, ct)), out var result))
        {
            WriteVerbose($"{result.Tasks.Count} task(s) from {result.Model} after {result.Attempts} attempt(s); tokens in {result.InputTokens?.ToString() ?? "?"}, out {result.OutputTokens?.ToString() ?? "?"}{(result.CostUsd is { } c ? $", cost {c:0.0000} USD" : "")}.");
            foreach (var (from, to) in result.RenamedTasks) WriteVerbose($"Task name '{from}' became '{to}'.");
            foreach (var t in result.Tasks) WriteObject(t);
        }
    }

    /// <summary>
    /// The vault (when one is named by -Vault or config) first, then environment variables, as
    /// <see cref="DecompositionConfig.Vault"/> documents. Get-Secret runs here, on the pipeline thread.
    /// </summary>
    private ISecretSource Secrets(DecompositionBackend backend, string? vault)
    {
        var env = new EnvironmentSecretSource();
        var names = DecompositionBackends.ApiKeyNames(backend);
        if (names.Count == 0 || string.IsNullOrWhiteSpace(vault)) return env;

        if (InvokeCommand.GetCommand("Get-Secret", CommandTypes.Cmdlet | CommandTypes.Function | CommandTypes.Alias) is null)
        {
            WriteWarning($"The vault '{vault}' cannot be read: Get-Secret is not available (Install-Module Microsoft.PowerShell.SecretManagement). Using environment variables only.");
            return env;
        }
        var source = new SecretManagementSource(vault);
        var getSecret = ScriptBlock.Create("param($Name, $Vault) Get-Secret -Name $Name -Vault $Vault -AsPlainText -ErrorAction Stop");
        foreach (var failure in source.Prefetch(names, (n, v) => getSecret.Invoke(n, v)))
            WriteVerbose($"Vault '{vault}': {failure}");
        return new ChainedSecretSource(source, env);
    }

    /// <summary>The <c>decomposition</c> block of config.json; a malformed config terminates with ConfigInvalid.</summary>
    private DecompositionConfig LoadConfig()
    {
        try
        {
            return SwarmConfig.Load(SwarmHome.Resolve(null)).Decomposition ?? new DecompositionConfig();
        }
        catch (SwarmException ex)
        {
            Terminate(ex, ex.Target);
            throw;
        }
    }
}
