using Spectre.Console;
using SwarmPS.Core;

namespace SwarmPS.Cli.Output;

/// <summary>
/// Draws <see cref="SwarmProgress"/> reports as a progress bar on stderr, only when stderr is a
/// terminal and the output is not --json. Never touches stdout; when it is off, nothing is written.
/// </summary>
internal static class ProgressDisplay
{
    /// <summary>Whether progress may be drawn: stderr is an interactive terminal that understands ANSI.</summary>
    public static bool Available
    {
        get
        {
            if (Console.IsErrorRedirected) return false;
            var term = System.Environment.GetEnvironmentVariable("TERM");
            if (string.Equals(term, "dumb", StringComparison.OrdinalIgnoreCase)) return false;
            return string.IsNullOrEmpty(System.Environment.GetEnvironmentVariable("SWARMPS_NO_PROGRESS"));
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/>; when <paramref name="show"/> is set, with a live progress bar
    /// on stderr that starts as an indeterminate task named <paramref name="activity"/>.
    /// </summary>
    public static async Task<T> RunAsync<T>(bool show, string activity, Func<IProgress<SwarmProgress>?, Task<T>> work)
    {
        if (!show) return await work(null).ConfigureAwait(false);
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(Console.Error),
            Ansi = AnsiSupport.Detect,
            ColorSystem = ColorSystemSupport.Detect,
            Interactive = InteractionSupport.Yes,
        });
        return await console.Progress()
            .AutoClear(true)
            .HideCompleted(false)
            .Columns(new SpinnerColumn(), new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn())
            .StartAsync(async ctx =>
            {
                var sink = new Sink(ctx, activity);
                return await work(sink).ConfigureAwait(false);
            }).ConfigureAwait(false);
    }

    /// <summary>Maps reports to tasks, one task per activity. Reports may come from any thread.</summary>
    private sealed class Sink : IProgress<SwarmProgress>
    {
        private readonly ProgressContext _ctx;
        private readonly Dictionary<string, ProgressTask> _tasks = new(StringComparer.Ordinal);
        private readonly object _gate = new();

        public Sink(ProgressContext ctx, string activity)
        {
            _ctx = ctx;
            var t = ctx.AddTask(Markup.Escape(activity), autoStart: true, maxValue: 100);
            t.IsIndeterminate = true;
            _tasks[activity] = t;
        }

        public void Report(SwarmProgress value)
        {
            lock (_gate)
            {
                if (!_tasks.TryGetValue(value.Activity, out var task))
                {
                    task = _ctx.AddTask(Markup.Escape(value.Activity), autoStart: true, maxValue: 100);
                    _tasks[value.Activity] = task;
                }
                var text = string.IsNullOrEmpty(value.Status) ? value.Activity : $"{value.Activity}: {value.Status}";
                if (text.Length > 70) text = text[..67] + "...";
                task.Description = Markup.Escape(TextTable.Clean(text));
                if (value.PercentComplete >= 0)
                {
                    task.IsIndeterminate = false;
                    task.Value = Math.Clamp(value.PercentComplete, 0, 100);
                }
                if (value.Completed)
                {
                    task.IsIndeterminate = false;
                    task.Value = 100;
                    task.StopTask();
                }
            }
        }
    }
}
