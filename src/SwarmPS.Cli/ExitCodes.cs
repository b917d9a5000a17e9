using SwarmPS.Core;

namespace SwarmPS.Cli;

/// <summary>The CLI's exit codes. Part of the stable contract (docs/cli.md).</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    /// <summary>The operation failed (not found, exists, conflict, backend error, internal error).</summary>
    public const int Failure = 1;
    /// <summary>Invalid input or usage: parse errors and <see cref="SwarmErrorKind.InvalidArgument"/>.</summary>
    public const int Usage = 2;
    /// <summary>Cancelled by Ctrl+C (SIGINT): 128 + 2.</summary>
    public const int Interrupted = 130;
    /// <summary>Cancelled by SIGTERM: 128 + 15.</summary>
    public const int Terminated = 143;

    /// <summary>The error id used for command-line parse and usage errors.</summary>
    public const string UsageErrorId = "Usage";
    /// <summary>The error id for exceptions that are not <see cref="SwarmException"/>s (bugs).</summary>
    public const string InternalErrorId = "InternalError";
    /// <summary><c>queue run</c> / <c>workflow run</c>: at least one task ended Failed during the run (exit 1).</summary>
    public const string TasksFailedErrorId = "TasksFailed";

    public static int For(SwarmException ex) => ex.Kind switch
    {
        SwarmErrorKind.InvalidArgument => Usage,
        SwarmErrorKind.Cancelled => Interrupted,
        _ => Failure,
    };
}
