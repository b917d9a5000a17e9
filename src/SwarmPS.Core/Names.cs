using System.Text.RegularExpressions;

namespace SwarmPS.Core;

/// <summary>
/// The one place where identifiers are validated. Every entry point (cmdlet, CLI, provider)
/// calls these before anything is created, so a hostile name never reaches git, a path or a shell.
/// </summary>
public static partial class Names
{
    public const int MaxLength = 64;

    // ASCII only on purpose: unicode look-alikes (Cyrillic 'а', fullwidth digits, ...) are rejected.
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    private static readonly HashSet<string> DeviceNames = new(StringComparer.OrdinalIgnoreCase)
    {
        "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
        "COM0", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
        "LPT0", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
    };

    /// <summary>Returns null when <paramref name="value"/> is a valid name, otherwise why it is not.</summary>
    public static string? Problem(string? value)
    {
        if (string.IsNullOrEmpty(value)) return "it is empty";
        if (value.Length > MaxLength) return $"it is {value.Length} characters long; the limit is {MaxLength}";
        if (!Pattern().IsMatch(value))
        {
            var bad = value.FirstOrDefault(c => !(c is >= 'A' and <= 'Z' or >= 'a' and <= 'z' or >= '0' and <= '9' or '.' or '_' or '-'));
            if (bad != default) return $"it contains '{Printable(bad)}' (U+{(int)bad:X4}); only ASCII letters, digits, '.', '_' and '-' are allowed";
            return "it must start with a letter or a digit";
        }
        if (value.Contains("..", StringComparison.Ordinal)) return "it contains '..'";
        if (value.EndsWith('.')) return "it ends with a dot";
        if (value.EndsWith(".lock", StringComparison.OrdinalIgnoreCase)) return "it ends with '.lock', which git reserves";
        var stem = value.Split('.')[0];
        if (DeviceNames.Contains(stem)) return $"'{stem}' is a reserved Windows device name";
        return null;
    }

    private static string Printable(char c) => char.IsControl(c) ? "\\u" + ((int)c).ToString("X4") : c.ToString();

    public static bool IsValid(string? value) => Problem(value) is null;

    /// <summary>Validates a ticket and returns it unchanged, or throws <see cref="ErrorIds.InvalidTicket"/>.</summary>
    public static string Ticket(string? value)
    {
        var problem = Problem(value);
        if (problem is not null)
            throw new SwarmException(ErrorIds.InvalidTicket, SwarmErrorKind.InvalidArgument,
                $"Invalid ticket '{Describe(value)}': {problem}. A ticket is 1-{MaxLength} characters matching [A-Za-z0-9][A-Za-z0-9._-]*.", value);
        return value!;
    }

    /// <summary>Validates a checkpoint name (same rules as a ticket).</summary>
    public static string Checkpoint(string? value)
    {
        var problem = Problem(value);
        if (problem is not null)
            throw new SwarmException(ErrorIds.InvalidCheckpointName, SwarmErrorKind.InvalidArgument,
                $"Invalid checkpoint name '{Describe(value)}': {problem}. A checkpoint name is 1-{MaxLength} characters matching [A-Za-z0-9][A-Za-z0-9._-]*.", value);
        return value!;
    }

    /// <summary>A provider name: short lowercase-insensitive identifier.</summary>
    public static string Provider(string? value)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Length > 32 || !value.All(c => c is >= 'A' and <= 'Z' or >= 'a' and <= 'z' or >= '0' and <= '9' or '-'))
            throw new SwarmException(ErrorIds.ProviderNotFound, SwarmErrorKind.InvalidArgument, $"Invalid provider name '{Describe(value)}'.", value);
        return value;
    }

    /// <summary>Quotes hostile input for an error message without letting it break the line.</summary>
    public static string Describe(string? value)
    {
        if (value is null) return "";
        var s = value.Length > 80 ? value[..80] + "..." : value;
        var sb = new System.Text.StringBuilder(s.Length);
        foreach (var c in s) sb.Append(char.IsControl(c) ? "\\u" + ((int)c).ToString("X4") : c.ToString());
        return sb.ToString();
    }
}
