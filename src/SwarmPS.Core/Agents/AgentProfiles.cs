namespace SwarmPS.Core.Agents;

/// <summary>The built-in profiles merged with those from config (config wins, field by field).</summary>
public static class AgentProfiles
{
    public static IReadOnlyList<AgentProfile> From(SwarmConfig config)
    {
        var byName = BuiltInProfiles.All.ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
        foreach (var c in config.AgentProfiles)
        {
            if (!Names.IsValid(c.Name))
                throw new SwarmException(ErrorIds.ConfigInvalid, SwarmErrorKind.InvalidArgument, $"config.json: agent profile name '{Names.Describe(c.Name)}' is not valid.", c.Name);
            byName.TryGetValue(c.Name, out var b);
            var exe = c.Executable ?? b?.Executable;
            if (string.IsNullOrWhiteSpace(exe))
                throw new SwarmException(ErrorIds.ConfigInvalid, SwarmErrorKind.InvalidArgument, $"config.json: agent profile '{c.Name}' needs an executable.", c.Name);
            byName[c.Name] = new AgentProfile
            {
                Name = b?.Name ?? c.Name,
                Executable = exe,
                Arguments = c.Arguments ?? b?.Arguments ?? (IReadOnlyList<string>)Array.Empty<string>(),
                ResumeArguments = c.ResumeArguments ?? b?.ResumeArguments,
                PromptDelivery = c.PromptDelivery ?? b?.PromptDelivery ?? PromptDelivery.Argument,
                OutputFormat = c.OutputFormat ?? b?.OutputFormat ?? AgentOutputFormat.None,
                Description = c.Description ?? b?.Description,
                BuiltIn = false,
            };
        }
        return byName.Values.OrderBy(p => p.Name, StringComparer.OrdinalIgnoreCase).ToList();
    }

    public static AgentProfile Get(SwarmConfig config, string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
            throw new SwarmException(ErrorIds.InvalidArgument, SwarmErrorKind.InvalidArgument, "An agent profile is required (for example claude, codex, aider, opencode, gemini, cursor-agent or command).");
        var all = From(config);
        return all.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
               ?? throw new SwarmException(ErrorIds.ProfileNotFound, SwarmErrorKind.InvalidArgument,
                   $"Unknown agent profile '{Names.Describe(name)}'. Known profiles: {string.Join(", ", all.Select(p => p.Name))}.", name);
    }
}
