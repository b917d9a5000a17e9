using System.Text;

namespace SwarmPS.Cli.Output;

/// <summary>
/// Plain aligned text (no borders, no colour, no ANSI): readable on a terminal, in a pipe, a log
/// file or a CI console, and never dependent on the terminal width.
/// </summary>
internal sealed class TextTable
{
    private readonly string[] _headers;
    private readonly List<string[]> _rows = new();

    public TextTable(params string[] headers) => _headers = headers;

    public int Count => _rows.Count;

    public void Add(params string?[] cells)
    {
        if (cells.Length != _headers.Length) throw new ArgumentException($"Expected {_headers.Length} cells, got {cells.Length}.", nameof(cells));
        _rows.Add(cells.Select(c => Clean(c ?? "")).ToArray());
    }

    public void Write(TextWriter w)
    {
        var widths = new int[_headers.Length];
        for (var i = 0; i < widths.Length; i++)
            widths[i] = Math.Max(_headers[i].Length, _rows.Count == 0 ? 0 : _rows.Max(r => r[i].Length));
        WriteRow(w, _headers, widths);
        foreach (var r in _rows) WriteRow(w, r, widths);
    }

    private static void WriteRow(TextWriter w, string[] cells, int[] widths)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < cells.Length; i++)
        {
            if (i > 0) sb.Append("  ");
            sb.Append(i == cells.Length - 1 ? cells[i] : cells[i].PadRight(widths[i]));
        }
        w.WriteLine(sb.ToString().TrimEnd());
    }

    /// <summary>Key/value lines for one object ("Ticket     DEMO-1"). Null values are left out.</summary>
    public static void WriteDetails(TextWriter w, IEnumerable<(string Key, string? Value)> fields)
    {
        var list = fields.Where(f => !string.IsNullOrEmpty(f.Value)).ToList();
        if (list.Count == 0) return;
        var width = list.Max(f => f.Key.Length);
        foreach (var (k, v) in list) w.WriteLine($"{k.PadRight(width)}  {Clean(v!)}");
    }

    /// <summary>Keeps a cell on one line: control characters (newlines, escapes) become visible escapes.</summary>
    public static string Clean(string s)
    {
        if (!s.Any(char.IsControl)) return s;
        var sb = new StringBuilder(s.Length + 8);
        foreach (var c in s)
        {
            if (c == '\t') sb.Append(' ');
            else if (char.IsControl(c)) sb.Append("\\u").Append(((int)c).ToString("X4", System.Globalization.CultureInfo.InvariantCulture));
            else sb.Append(c);
        }
        return sb.ToString();
    }
}
