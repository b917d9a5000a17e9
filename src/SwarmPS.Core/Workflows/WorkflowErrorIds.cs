namespace SwarmPS.Core.Workflows;

/// <summary>
/// Stable error ids for workflow files (kept next to the parser; same rules as <see cref="ErrorIds"/>:
/// scripts match on these, never rename one).
/// </summary>
public static class WorkflowErrorIds
{
    /// <summary>
    /// The workflow file is malformed. The message starts with <c>file:line:column: </c> and points at
    /// the offending YAML node. Kind <see cref="SwarmErrorKind.InvalidArgument"/>; nothing was queued.
    /// </summary>
    public const string WorkflowInvalid = "WorkflowInvalid";

    /// <summary>The workflow file does not exist or cannot be read. Kind <see cref="SwarmErrorKind.NotFound"/>.</summary>
    public const string WorkflowNotFound = "WorkflowNotFound";
}
