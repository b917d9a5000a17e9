using System.Globalization;
using SwarmPS.Core;

namespace SwarmPS.Cli.Output;

/// <summary>The readable (non --json) rendering of each result. Plain text, no ANSI.</summary>
internal static class HumanOutput
{
    private static string Time(DateTimeOffset t) =>
        t == default ? "" : t.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    private static string Short(string? commit) => commit is { Length: > 12 } ? commit[..12] : commit ?? "";

    public static void Environment(TextWriter w, SwarmEnvironment e)
    {
        var baseCommit = e.Metadata.GetValueOrDefault("baseCommit");
        var baseBranch = e.Metadata.GetValueOrDefault("baseBranch");
        TextTable.WriteDetails(w, new (string, string?)[]
        {
            ("Ticket", e.Ticket),
            ("Status", e.Status.ToString()),
            ("Provider", e.Provider),
            ("Branch", e.Branch),
            ("Base", string.IsNullOrEmpty(baseCommit) ? e.BaseRef : $"{e.BaseRef} ({Short(baseCommit)})"),
            ("Merges into", baseBranch),
            ("Workspace", e.WorkspacePath),
            ("Repository", e.RepositoryPath),
            ("Address", e.Address),
            ("Ports", e.Ports.Count > 0 ? $"{e.Ports} ({e.Ports.Count})" : null),
            ("Instance", e.InstanceId != e.WorkspacePath ? e.InstanceId : null),
            ("Created", Time(e.CreatedAt)),
            ("Updated", Time(e.UpdatedAt)),
        });
    }

    public static void Environments(TextWriter w, IReadOnlyList<SwarmEnvironment> list)
    {
        if (list.Count == 0)
        {
            w.WriteLine("No environments.");
            return;
        }
        var t = new TextTable("TICKET", "STATUS", "PROVIDER", "PORTS", "BRANCH", "CREATED", "WORKSPACE");
        foreach (var e in list)
            t.Add(e.Ticket, e.Status.ToString(), e.Provider, e.Ports.ToString(), e.Branch, Time(e.CreatedAt), e.WorkspacePath);
        t.Write(w);
    }

    public static void Checkpoints(TextWriter w, string ticket, IReadOnlyList<SwarmCheckpoint> list)
    {
        if (list.Count == 0)
        {
            w.WriteLine($"No checkpoints for {ticket}.");
            return;
        }
        var t = new TextTable("NAME", "CREATED", "REFERENCE");
        foreach (var c in list) t.Add(c.Name, Time(c.CreatedAt), c.ProviderReference);
        t.Write(w);
    }

    public static void Providers(TextWriter w, IReadOnlyList<SwarmProviderInfo> list)
    {
        var t = new TextTable("NAME", "AVAILABLE", "DEFAULT", "CAPABILITIES", "NOTES");
        foreach (var p in list)
            t.Add(p.Name, p.Available ? "yes" : "no", p.IsDefault ? "yes" : "", string.Join(",", p.CapabilityNames),
                p.Available ? p.Description : p.Reason);
        t.Write(w);
    }

    public static void Diff(TextWriter w, SwarmDiff d)
    {
        if (d.Patch.Length > 0)
        {
            w.Write(d.Patch);
            if (!d.Patch.EndsWith('\n')) w.WriteLine();
        }
        var against = $"{d.BaseRef} ({Short(d.BaseCommit)})";
        if (d.Files.Count == 0)
        {
            w.WriteLine($"{d.Ticket}: no changes against {against}.");
            return;
        }
        var parts = new List<string>
        {
            $"{d.Files.Count} file{(d.Files.Count == 1 ? "" : "s")} changed, +{d.Additions} -{d.Deletions} against {against}",
            $"{d.Commits.Count} commit{(d.Commits.Count == 1 ? "" : "s")}",
        };
        if (d.HasUncommittedChanges) parts.Add("uncommitted changes included");
        w.WriteLine($"{d.Ticket}: {string.Join("; ", parts)}.");
    }

    public static void Merge(TextWriter w, SwarmMergeResult m)
    {
        if (m.Merged) w.WriteLine($"Merged {m.Branch} into {m.TargetBranch}: commit {Short(m.Commit)}.");
        else if (m.UpToDate) w.WriteLine($"Nothing to merge: {m.TargetBranch} already contains {m.Branch}.");
        if (m.UncommittedChangesLeft)
            w.WriteLine($"Note: {m.Ticket} has uncommitted changes; they were not part of the merge. Commit them in the environment and merge again.");
    }

    public static void Connection(TextWriter w, SwarmConnection c)
    {
        TextTable.WriteDetails(w, new (string, string?)[]
        {
            ("Ticket", c.Ticket),
            ("Provider", c.Provider),
            ("Host", c.Host),
            ("Port", c.Port?.ToString(CultureInfo.InvariantCulture)),
            ("User", c.User),
            ("Key", c.KeyPath),
            ("Directory", c.WorkingDirectory),
        });
    }

    public static void Repair(TextWriter w, IReadOnlyList<SwarmRepairItem> items, bool fix)
    {
        if (items.Count == 0)
        {
            w.WriteLine("No problems found: the registry matches every available provider.");
            return;
        }
        var t = new TextTable("KIND", "PROVIDER", "TICKET", "FIXED", "ACTION", "DESCRIPTION");
        foreach (var i in items) t.Add(i.Kind.ToString(), i.Provider, i.Ticket, i.Fixed ? "yes" : "no", i.Action, i.Path is null ? i.Description : $"{i.Description} ({i.Path})");
        t.Write(w);
        var open = items.Count(i => !i.Fixed);
        if (!fix && open > 0) w.WriteLine($"{items.Count} problem(s) found; 'swarmps repair --fix' fixes them.");
        else w.WriteLine($"{items.Count(i => i.Fixed)} of {items.Count} problem(s) fixed.");
    }
}
