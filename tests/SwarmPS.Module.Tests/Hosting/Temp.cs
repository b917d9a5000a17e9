namespace SwarmPS.Module.Tests;

internal static class Temp
{
    public static string Dir()
    {
        var d = Path.Combine(Path.GetTempPath(), "swarmps-module-tests", Guid.NewGuid().ToString("n")[..12]);
        Directory.CreateDirectory(d);
        return d;
    }
}

internal static class GitRepo
{
    public static string Create(string? dir = null)
    {
        dir ??= Temp.Dir();
        Directory.CreateDirectory(dir);
        Git(dir, "init", "--quiet", "--initial-branch=main");
        File.WriteAllText(Path.Combine(dir, "README.md"), "# test\n");
        File.WriteAllText(Path.Combine(dir, "app.txt"), "line 1\n");
        Git(dir, "add", "--all");
        Git(dir, "-c", "user.name=SwarmPS Tests", "-c", "user.email=tests@swarmps.invalid", "commit", "--quiet", "-m", "initial");
        return Git(dir, "rev-parse", "--show-toplevel").Trim();
    }

    public static string Git(string dir, params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["GIT_AUTHOR_NAME"] = psi.Environment["GIT_COMMITTER_NAME"] = "SwarmPS Tests";
        psi.Environment["GIT_AUTHOR_EMAIL"] = psi.Environment["GIT_COMMITTER_EMAIL"] = "tests@swarmps.invalid";
        using var p = System.Diagnostics.Process.Start(psi)!;
        var error = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"git {string.Join(' ', args)}: {error.Result}");
        return output;
    }
}
