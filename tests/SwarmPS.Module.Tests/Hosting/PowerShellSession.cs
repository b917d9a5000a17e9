using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace SwarmPS.Module.Tests.Hosting;

/// <summary>What one script invocation produced.</summary>
public sealed record PsResult(IReadOnlyList<PSObject> Output, IReadOnlyList<ErrorRecord> Errors, ErrorRecord? Terminating, IReadOnlyList<string> Warnings)
{
    public IReadOnlyList<string> Strings => Output.Select(o => o?.ToString() ?? "").ToList();

    /// <summary>The FullyQualifiedErrorId of every error, the terminating one last.</summary>
    public IReadOnlyList<string> ErrorIds => Errors.Concat(Terminating is null ? Array.Empty<ErrorRecord>() : new[] { Terminating }).Select(e => e.FullyQualifiedErrorId).ToList();

    public string Describe() => string.Join("\n", Errors.Concat(Terminating is null ? Array.Empty<ErrorRecord>() : new[] { Terminating })
        .Select(e => $"{e.FullyQualifiedErrorId}: {e.Exception?.Message}\n{e.ScriptStackTrace}"));

    /// <summary>Throws with every error when the script wrote any error.</summary>
    public PsResult ShouldSucceed()
    {
        if (Errors.Count > 0 || Terminating is not null) throw new Xunit.Sdk.XunitException("The script failed:\n" + Describe());
        return this;
    }
}

/// <summary>
/// A real PowerShell runspace (Microsoft.PowerShell.SDK, test-only) with the ASSEMBLED SwarmPS module
/// imported once (Import-Module of the module folder's SwarmPS.psd1: the psm1 loader, the private
/// AssemblyLoadContext, the format file). Scripts run one at a time (a runspace runs one pipeline).
/// </summary>
public sealed class PowerShellSession : IDisposable
{
    private readonly Runspace _runspace;
    private readonly object _gate = new();

    public PowerShellSession(bool importModule = true)
    {
        _runspace = RunspaceFactory.CreateRunspace(CreateSessionState());
        _runspace.Open();
        if (importModule)
        {
            ModuleAssemblies.Initialize();
            Run("Import-Module -Name $args[0] -ErrorAction Stop", ModuleAssemblies.ManifestPath).ShouldSucceed();
        }
    }

    public Runspace Runspace => _runspace;

    /// <summary>The default session (every built-in command); on Windows the hosted engine would apply the
    /// machine's execution policy to SwarmPS.psm1, so the tests bypass it as a CI pwsh does.</summary>
    public static InitialSessionState CreateSessionState()
    {
        var iss = InitialSessionState.CreateDefault();
        if (OperatingSystem.IsWindows()) iss.ExecutionPolicy = Microsoft.PowerShell.ExecutionPolicy.Bypass;
        return iss;
    }

    /// <summary>Runs <paramref name="script"/> ($args holds <paramref name="args"/>); terminating errors are captured, not thrown.</summary>
    public PsResult Run(string script, params object?[] args)
    {
        lock (_gate)
        {
            using var ps = PowerShell.Create();
            ps.Runspace = _runspace;
            ps.AddScript(script);
            foreach (var a in args) ps.AddArgument(a);
            Collection<PSObject> output;
            ErrorRecord? terminating = null;
            try
            {
                output = ps.Invoke();
            }
            catch (RuntimeException ex)
            {
                output = new Collection<PSObject>();
                terminating = ex.ErrorRecord;
            }
            return new PsResult(output.ToList(), ps.Streams.Error.ToList(), terminating, ps.Streams.Warning.Select(w => w.Message).ToList());
        }
    }

    /// <summary>Runs the script, asserts it wrote no error, returns its output.</summary>
    public IReadOnlyList<PSObject> Ok(string script, params object?[] args) => Run(script, args).ShouldSucceed().Output;

    public void Dispose() => _runspace.Dispose();
}
