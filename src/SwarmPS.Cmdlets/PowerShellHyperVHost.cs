using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using SwarmPS.Core.Providers;
using SwarmPS.Core.Providers.HyperV;

namespace SwarmPS.Cmdlets;

/// <summary>
/// The module's <see cref="IHyperVHost"/>: calls the Hyper-V (and NetNat/Storage) cmdlets in-process, in
/// one dedicated runspace of this pwsh process, instead of a powershell.exe per call.
/// </summary>
/// <remarks>
/// Why a dedicated runspace and not <c>PowerShell.Create(RunspaceMode.CurrentRunspace)</c>: SwarmCmdlet runs
/// Core calls on a worker task while the pipeline thread drains progress, and the current runspace is busy
/// running the cmdlet itself, so a nested pipeline from another thread is refused. The dedicated runspace is
/// opened on first use, serves one call at a time (a lock), and is never exposed to user script.
/// Parameters are bound as objects with AddParameter (no script text is built), every call runs with
/// <c>-ErrorAction Stop</c>, and Ctrl+C (the cancellation token) stops the running pipeline.
/// </remarks>
internal sealed class PowerShellHyperVHost : IHyperVHost
{
    public static PowerShellHyperVHost Shared { get; } = new();

    private readonly object _gate = new();
    private Runspace? _runspace;

    private Runspace OpenRunspace()
    {
        if (_runspace is { RunspaceStateInfo.State: RunspaceState.Opened }) return _runspace;
        var iss = InitialSessionState.CreateDefault2();
        var rs = RunspaceFactory.CreateRunspace(iss);
        rs.ThreadOptions = PSThreadOptions.ReuseThread;
        rs.Open();
        return _runspace = rs;
    }

    private (ProviderAvailability Verdict, DateTime At)? _availability;

    /// <summary>Cached for a minute: Get-Module -ListAvailable and the CIM query cost about a second, and the facts rarely change.</summary>
    public async Task<ProviderAvailability> CheckAvailabilityAsync(CancellationToken ct)
    {
        if (_availability is { } cached && DateTime.UtcNow - cached.At < TimeSpan.FromMinutes(1)) return cached.Verdict;
        var verdict = await ProbeAvailabilityAsync(ct).ConfigureAwait(false);
        _availability = (verdict, DateTime.UtcNow);
        return verdict;
    }

    private Task<ProviderAvailability> ProbeAvailabilityAsync(CancellationToken ct) => Task.Run(() =>
    {
        if (!OperatingSystem.IsWindows()) return HyperVAvailability.Decide(false, false, false, false);
        bool moduleFound;
        try
        {
            moduleFound = Invoke("Get-Module", new Dictionary<string, object?> { ["ListAvailable"] = CmdletSwitch.Present, ["Name"] = "Hyper-V" }, ct).Count > 0;
        }
        catch (HyperVCommandException)
        {
            moduleFound = false;
        }
        var (admin, hvAdmin) = Roles();
        bool? hypervisor = null, vmms = null;
        try
        {
            var cs = Invoke("Get-CimInstance", new Dictionary<string, object?> { ["ClassName"] = "Win32_ComputerSystem" }, ct).FirstOrDefault();
            if (cs?["HypervisorPresent"] is bool present) hypervisor = present;
            var svc = Invoke("Get-Service", new Dictionary<string, object?> { ["Name"] = "vmms" }, ct).FirstOrDefault();
            if (svc is not null) vmms = svc.String("Status") == "Running";
            else vmms = false;
        }
        catch (HyperVCommandException)
        {
            // Unknown: the module and role checks decide; a real failure shows on the first cmdlet call.
        }
        return HyperVAvailability.Decide(true, moduleFound, admin, hvAdmin, hypervisor, vmms);
    }, ct);

    /// <summary>Elevated administrator, and member of Hyper-V Administrators (S-1-5-32-578).</summary>
    private static (bool Admin, bool HyperVAdmin) Roles()
    {
        if (!OperatingSystem.IsWindows()) return (false, false);
        using var identity = System.Security.Principal.WindowsIdentity.GetCurrent();
        var principal = new System.Security.Principal.WindowsPrincipal(identity);
        var admin = principal.IsInRole(System.Security.Principal.WindowsBuiltInRole.Administrator);
        var hvAdmin = principal.IsInRole(new System.Security.Principal.SecurityIdentifier("S-1-5-32-578"));
        return (admin, hvAdmin);
    }

    public Task<IReadOnlyList<HyperVObject>> InvokeAsync(string cmdlet, IReadOnlyDictionary<string, object?> parameters, CancellationToken ct) =>
        Task.Run(() => Invoke(cmdlet, parameters, ct), ct);

    private IReadOnlyList<HyperVObject> Invoke(string cmdlet, IReadOnlyDictionary<string, object?> parameters, CancellationToken ct)
    {
        if (!OperatingSystem.IsWindows() && cmdlet != "Get-Module")
            throw new HyperVCommandException(cmdlet, $"The term '{cmdlet}' is not recognized: the Hyper-V cmdlets exist only on Windows.", "CommandNotFoundException", "ObjectNotFound");
        lock (_gate)
        {
            ct.ThrowIfCancellationRequested();
            using var ps = PowerShell.Create();
            ps.Runspace = OpenRunspace();
            ps.AddCommand(cmdlet);
            foreach (var (name, value) in parameters)
            {
                if (value is CmdletSwitch s) ps.AddParameter(name, new SwitchParameter(s.IsPresent));
                else ps.AddParameter(name, value);
            }
            ps.AddParameter("ErrorAction", ActionPreference.Stop);
            using var stop = ct.Register(() => { try { ps.Stop(); } catch (InvalidOperationException) { } });
            System.Collections.ObjectModel.Collection<PSObject> results;
            try
            {
                results = ps.Invoke();
            }
            catch (RuntimeException ex)
            {
                ct.ThrowIfCancellationRequested();
                var record = ex.ErrorRecord;
                throw new HyperVCommandException(cmdlet, record?.Exception?.Message ?? ex.Message, record?.FullyQualifiedErrorId ?? ex.GetType().Name,
                    record?.CategoryInfo.Category.ToString() ?? "NotSpecified", ex);
            }
            ct.ThrowIfCancellationRequested();
            if (ps.HadErrors && ps.Streams.Error.Count > 0)
            {
                var e = ps.Streams.Error[0];
                throw new HyperVCommandException(cmdlet, e.Exception?.Message ?? e.ToString(), e.FullyQualifiedErrorId ?? "", e.CategoryInfo.Category.ToString());
            }
            return results.Where(r => r is not null).Select(ToObject).ToList();
        }
    }

    /// <summary>A property bag: enums by name (as cli-facts advises), Guids as strings, arrays as string[], other objects as text.</summary>
    private static HyperVObject ToObject(PSObject o)
    {
        var bag = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
        foreach (var p in o.Properties)
        {
            object? v;
            try { v = p.Value; }
            catch (Exception ex) when (ex is GetValueException or ExtendedTypeSystemException or InvalidOperationException) { continue; }
            bag[p.Name] = Convert(v);
        }
        return new HyperVObject(bag);
    }

    private static object? Convert(object? v)
    {
        if (v is PSObject pso) v = pso.BaseObject;
        return v switch
        {
            null => null,
            string or bool or int or long or uint or ulong or short or ushort or byte or double or float or decimal => v,
            char c => c.ToString(),
            Enum e => e.ToString(),
            Guid g => g.ToString(),
            TimeSpan t => t.TotalSeconds,
            DateTime d => d.ToString("o", System.Globalization.CultureInfo.InvariantCulture),
            IEnumerable e and not IDictionary => e.Cast<object?>().Select(x => x is PSObject p ? p.BaseObject : x).Select(x => x?.ToString() ?? "").ToArray(),
            _ => v.ToString(),
        };
    }
}
