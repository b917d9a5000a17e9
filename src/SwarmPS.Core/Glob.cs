using System.Text;
using System.Text.RegularExpressions;

namespace SwarmPS.Core;

/// <summary>Case-insensitive wildcard matching (<c>*</c>, <c>?</c>, <c>[abc]</c>), the same for the CLI and the cmdlets.</summary>
public static class Glob
{
    public static bool HasWildcards(string pattern) => pattern.IndexOfAny(new[] { '*', '?', '[' }) >= 0;

    public static bool IsMatch(string pattern, string value)
    {
        if (!HasWildcards(pattern)) return string.Equals(pattern, value, StringComparison.OrdinalIgnoreCase);
        var sb = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            switch (c)
            {
                case '*': sb.Append(".*"); break;
                case '?': sb.Append('.'); break;
                case '[':
                    var end = pattern.IndexOf(']', i + 1);
                    if (end < 0) { sb.Append("\\["); break; }
                    sb.Append('[').Append(Regex.Escape(pattern[(i + 1)..end]).Replace("\\-", "-")).Append(']');
                    i = end;
                    break;
                default: sb.Append(Regex.Escape(c.ToString())); break;
            }
        }
        sb.Append('$');
        return Regex.IsMatch(value, sb.ToString(), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
    }
}
