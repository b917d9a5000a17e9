using System.Globalization;

namespace SwarmPS.BenchShared;

/// <summary>Helpers shared by the benchmark programs (linked into each project, not a library).</summary>
internal static class BenchUtil
{
    /// <summary>The CLI to time: --cli, else the build output recorded next to this program (its apphost when present).</summary>
    public static (string File, string[] Prefix) ResolveCli(string? path)
    {
        if (path is null)
        {
            var marker = Path.Combine(AppContext.BaseDirectory, "swarmps-cli-path.txt");
            if (!File.Exists(marker)) throw new InvalidOperationException($"{marker} is missing; pass --cli PATH.");
            path = File.ReadAllText(marker).Trim();
        }
        path = Path.GetFullPath(path);
        if (path.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
        {
            var host = path[..^4];
            if (File.Exists(host)) return (host, Array.Empty<string>());
            if (!File.Exists(path)) throw new InvalidOperationException($"{path} does not exist; build src/SwarmPS.Cli first.");
            return ("dotnet", new[] { path });
        }
        if (!File.Exists(path)) throw new InvalidOperationException($"{path} does not exist.");
        return (path, Array.Empty<string>());
    }

    /// <summary>Nearest-rank percentile.</summary>
    public static double Percentile(List<double> values, double p)
    {
        var sorted = values.OrderBy(v => v).ToList();
        var rank = (int)Math.Ceiling(p / 100.0 * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }

    /// <summary>
    /// Runs <paramref name="run"/> in a fresh directory under the temp folder named <paramref name="prefix"/>-xxxxxxxx:
    /// a failure is printed and returns 1; the SQLite pools are cleared and the directory removed unless <paramref name="keep"/>.
    /// </summary>
    public static async Task<int> InTempRootAsync(string prefix, bool keep, Func<string, Task<int>> run)
    {
        var root = Path.Combine(Path.GetTempPath(), prefix + "-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            return await run(root).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"Benchmark failed: {ex}");
            return 1;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (!keep && Directory.Exists(root))
                try { Directory.Delete(root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    public static string F(double v, string format = "0.0") => v.ToString(format, CultureInfo.InvariantCulture);
}
