using System.Globalization;

namespace SwarmPS.Core.Providers.HyperV;

/// <summary>
/// The one door to Hyper-V: "run this cmdlet with these parameters and give me the properties back".
/// Core's <see cref="HyperVProvider"/> depends only on this. The real implementation lives in the
/// module (it needs System.Management.Automation at run time) and calls the Hyper-V cmdlets in-process
/// through a runspace; tests use a fake that records calls and returns recorded property bags and errors.
/// Parameter values are data (strings, numbers, booleans, string arrays): nothing is ever turned into
/// script text. A <see cref="CmdletSwitch"/> value stands for a switch (<c>-Differencing</c>).
/// </summary>
public interface IHyperVHost
{
    /// <summary>Windows, the Hyper-V module, and the caller in Administrators or Hyper-V Administrators.</summary>
    Task<ProviderAvailability> CheckAvailabilityAsync(CancellationToken ct);

    /// <summary>
    /// Runs one cmdlet (with <c>-ErrorAction Stop</c> semantics) and returns every output object as a
    /// property bag. A cmdlet error throws <see cref="HyperVCommandException"/>.
    /// </summary>
    Task<IReadOnlyList<HyperVObject>> InvokeAsync(string cmdlet, IReadOnlyDictionary<string, object?> parameters, CancellationToken ct);
}

/// <summary>A switch parameter (<c>-Force</c>); <c>false</c> gives <c>-Force:$false</c> (used for <c>-Confirm:$false</c>).</summary>
public readonly record struct CmdletSwitch(bool IsPresent)
{
    public static CmdletSwitch Present { get; } = new(true);
    public static CmdletSwitch Off { get; } = new(false);
}

/// <summary>The properties of one output object (names case-insensitive; values as the host converted them).</summary>
public sealed class HyperVObject
{
    public HyperVObject(IReadOnlyDictionary<string, object?> properties) =>
        Properties = new Dictionary<string, object?>(properties, StringComparer.OrdinalIgnoreCase);

    public IReadOnlyDictionary<string, object?> Properties { get; }

    public object? this[string name] => Properties.TryGetValue(name, out var v) ? v : null;

    /// <summary>The property as text (enums by name, as the real host emits them; null when absent).</summary>
    public string? String(string name) => this[name] switch
    {
        null => null,
        string s => s,
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        var o => o.ToString(),
    };

    /// <summary>A string[] property (for example a network adapter's IPAddresses).</summary>
    public IReadOnlyList<string> Strings(string name) => this[name] switch
    {
        null => Array.Empty<string>(),
        string s => new[] { s },
        System.Collections.IEnumerable e => e.Cast<object?>().Where(x => x is not null).Select(x => Convert.ToString(x, CultureInfo.InvariantCulture)!).ToList(),
        var o => new[] { Convert.ToString(o, CultureInfo.InvariantCulture)! },
    };

    public long? Int64(string name) => this[name] switch
    {
        null => null,
        var o when long.TryParse(Convert.ToString(o, CultureInfo.InvariantCulture), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) => v,
        _ => null,
    };
}

/// <summary>
/// A Hyper-V (or NetNat) cmdlet wrote an error. <see cref="FullyQualifiedErrorId"/> is PowerShell's
/// (for example <c>InvalidParameter,Microsoft.HyperV.PowerShell.Commands.GetVM</c> when Get-VM finds
/// no VM of that name); <see cref="Category"/> is the ErrorCategory name (<c>ObjectNotFound</c>, ...).
/// </summary>
public sealed class HyperVCommandException : Exception
{
    public HyperVCommandException(string cmdlet, string message, string fullyQualifiedErrorId, string category, Exception? inner = null)
        : base(message, inner)
    {
        Cmdlet = cmdlet;
        FullyQualifiedErrorId = fullyQualifiedErrorId;
        Category = category;
    }

    public string Cmdlet { get; }
    public string FullyQualifiedErrorId { get; }
    public string Category { get; }

    /// <summary>The cmdlet itself does not exist here (no Hyper-V module, not Windows).</summary>
    public bool IsCommandNotFound => FullyQualifiedErrorId.StartsWith("CommandNotFoundException", StringComparison.Ordinal);

    /// <summary>Get-VM / Get-VMSwitch / Get-NetNat ... found nothing of that name.</summary>
    public bool IsNotFound =>
        !IsCommandNotFound && Category is "ObjectNotFound" ||
        (Category is "InvalidArgument" && FullyQualifiedErrorId.StartsWith("InvalidParameter,", StringComparison.Ordinal) &&
         Message.Contains("unable to find", StringComparison.OrdinalIgnoreCase));
}

/// <summary>
/// The availability rules, in one testable place: the module's host gathers the facts (it can only do
/// that inside pwsh on Windows) and asks this for the verdict and the reason.
/// </summary>
public static class HyperVAvailability
{
    public const string NotWindows = "the Hyper-V provider runs on Windows hosts only.";
    public const string NotInPwsh = "the Hyper-V provider calls the Hyper-V cmdlets in-process, so it works inside pwsh (Import-Module SwarmPS; New-SwarmEnvironment -Provider hyperv), not from the swarmps CLI.";

    public static ProviderAvailability Decide(bool isWindows, bool moduleFound, bool isAdministrator, bool isHyperVAdministrator, bool? hypervisorPresent = null, bool? vmmsRunning = null)
    {
        if (!isWindows) return ProviderAvailability.No(NotWindows);
        if (!moduleFound)
            return ProviderAvailability.No("the Hyper-V PowerShell module was not found (Get-Module -ListAvailable Hyper-V). Enable it: Enable-WindowsOptionalFeature -Online -FeatureName Microsoft-Hyper-V -All, then reboot (not available on Windows Home).");
        if (!isAdministrator && !isHyperVAdministrator)
            return ProviderAvailability.No("the current user is neither in Administrators (elevated) nor in Hyper-V Administrators (S-1-5-32-578). Add the user: Add-LocalGroupMember -SID S-1-5-32-578 -Member $env:USERNAME, then sign out and in again.");
        if (hypervisorPresent == false)
            return ProviderAvailability.No("no hypervisor is running ((Get-CimInstance Win32_ComputerSystem).HypervisorPresent is false). Enable Hyper-V and virtualization in the firmware, then reboot.");
        if (vmmsRunning == false)
            return ProviderAvailability.No("the Hyper-V Virtual Machine Management service (vmms) is not running. Start-Service vmms.");
        return ProviderAvailability.Yes;
    }
}
