using System.Diagnostics;
using System.Text.Json;
using FluentAssertions;
using SwarmPS.Loader;
using SwarmPS.Module.Tests.Checks;
using SwarmPS.Module.Tests.Hosting;
using Xunit;

namespace SwarmPS.Module.Tests;

/// <summary>
/// The ASSEMBLED module folder (bin/.../module/SwarmPS, made by this project's build with the same
/// MSBuild target build.ps1 uses): its layout, that the PowerShell SDK (test-only) never reaches it,
/// and a real Import-Module in a FRESH process (this assembly, Program: fresh-import) whose default
/// context holds the engine and no SwarmPS assembly: the psm1 loader puts the SwarmPS assemblies into
/// the default context from the folder (so scripts see the types), SQLite into the private context
/// from dependencies/, Core finds the native library in runtimes/&lt;rid&gt;/native, and a real
/// New-SwarmEnvironment writes the registry.
/// </summary>
public class ModuleFolderTests
{
    private static string Dir => Repo.AssembledModuleDir;

    [Fact]
    public void Folder_has_the_shipping_layout()
    {
        foreach (var f in new[] { "SwarmPS.psd1", "SwarmPS.psm1", "SwarmPS.format.ps1xml", "SwarmPS.Loader.dll", "SwarmPS.dll", "SwarmPS.Core.dll",
                     "dependencies/Microsoft.Data.Sqlite.dll", "dependencies/SQLitePCLRaw.core.dll", "dependencies/SQLitePCLRaw.provider.e_sqlite3.dll", "dependencies/SQLitePCLRaw.batteries_v2.dll",
                     "dependencies/YamlDotNet.dll", "scripts/setup-base.sh", "worker/swarm-worker.sh" })
            File.Exists(Path.Combine(Dir, f)).Should().BeTrue(f);
        foreach (var (rid, file) in new[] { ("win-x64", "e_sqlite3.dll"), ("linux-x64", "libe_sqlite3.so"), ("linux-arm64", "libe_sqlite3.so"), ("osx-x64", "libe_sqlite3.dylib"), ("osx-arm64", "libe_sqlite3.dylib") })
            File.Exists(Path.Combine(Dir, "runtimes", rid, "native", file)).Should().BeTrue($"{rid} needs {file}");
        Directory.GetFiles(Dir, "*.deps.json", SearchOption.AllDirectories).Should().BeEmpty("pwsh never reads a module's .deps.json");
        Directory.GetFiles(Dir, "*.pdb", SearchOption.AllDirectories).Should().BeEmpty();
        Directory.GetFiles(Dir, "*.dll").Select(Path.GetFileName).Should().BeEquivalentTo(new[] { "SwarmPS.dll", "SwarmPS.Core.dll", "SwarmPS.Loader.dll" }, "only SwarmPS's own assemblies sit at the top");
    }

    [Fact]
    public void The_PowerShell_SDK_is_test_only_and_never_reaches_the_module_folder()
    {
        // Every assembly the SDK put next to the tests (the engine, its modules and dependencies).
        var sdk = Directory.GetFiles(AppContext.BaseDirectory, "*.dll", SearchOption.AllDirectories)
            .Where(f => !f.StartsWith(Dir, StringComparison.Ordinal))
            .Select(Path.GetFileName).Where(n => n is not null && !n.StartsWith("xunit", StringComparison.OrdinalIgnoreCase) && !n.StartsWith("SwarmPS.", StringComparison.Ordinal)
                && !n.StartsWith("Microsoft.TestPlatform", StringComparison.Ordinal) && !n.StartsWith("Microsoft.VisualStudio", StringComparison.Ordinal) && !n.StartsWith("FluentAssertions", StringComparison.Ordinal)
                && !n.StartsWith("testhost", StringComparison.OrdinalIgnoreCase) && !n.StartsWith("Microsoft.TestPlatform", StringComparison.Ordinal))
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
        sdk.Should().Contain(new[] { "System.Management.Automation.dll", "Microsoft.PowerShell.Commands.Utility.dll", "Microsoft.PowerShell.SDK.dll" });
        var shipped = Directory.GetFiles(Dir, "*.dll", SearchOption.AllDirectories).Select(Path.GetFileName).ToList();
        shipped.Where(sdk.Contains).Should().BeEmpty("the module ships no assembly of the PowerShell SDK (pwsh provides the engine)");
        shipped.Should().NotContain(n => n!.StartsWith("System.Management.Automation", StringComparison.OrdinalIgnoreCase) || n.StartsWith("Microsoft.PowerShell", StringComparison.OrdinalIgnoreCase));

        // And nothing in src/ references the SDK or the engine package (the cmdlets compile against the stub).
        foreach (var project in Directory.GetFiles(Repo.Path_("src"), "*.csproj", SearchOption.AllDirectories))
        {
            var text = File.ReadAllText(project);
            text.Should().NotContain("Microsoft.PowerShell.SDK", project);
            text.Should().NotContain("\"System.Management.Automation\"", project);
        }
        foreach (var file in new[] { Repo.Path_("Directory.Build.props"), Repo.Path_("Directory.Build.targets") }.Where(File.Exists))
            File.ReadAllText(file).Should().NotContain("Microsoft.PowerShell.SDK", file);
    }

    [Fact]
    public void The_tests_themselves_load_SwarmPS_only_from_the_module_folder()
    {
        // Not in this process's deps.json or bin: the default context could otherwise bind them (and SQLite) from here.
        foreach (var own in new[] { "SwarmPS.dll", "SwarmPS.Core.dll", "SwarmPS.Loader.dll", "Microsoft.Data.Sqlite.dll" })
            File.Exists(Path.Combine(AppContext.BaseDirectory, own)).Should().BeFalse(own);
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "SwarmPS.Module.Tests.deps.json")).Should().NotContain("SwarmPS.Core").And.NotContain("Sqlite");
        typeof(SwarmLoadContext).Assembly.Location.Should().Be(Path.Combine(Dir, "SwarmPS.Loader.dll"));
    }

    private sealed record LoadedAssembly(string Name, string Context, string Location);

    [Fact]
    public async Task Import_Module_in_a_fresh_process_loads_from_the_folder_isolates_sqlite_and_writes_a_registry()
    {
        var root = Temp.Dir();
        var home = Path.Combine(root, "home");
        var repo = GitRepo.Create(Path.Combine(root, "repo"));
        var dotnet = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var psi = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { typeof(Program).Assembly.Location, ModuleAssemblies.FreshImportArgument, Dir, home, repo }) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        process.ExitCode.Should().Be(0, await stderr);

        using var report = JsonDocument.Parse(stdout);
        var root_ = report.RootElement;
        root_.GetProperty("loadedBefore").GetArrayLength().Should().Be(0, "nothing of SwarmPS is loaded before Import-Module");
        root_.GetProperty("cmdlets").GetInt32().Should().Be(43);
        root_.GetProperty("typeVisibleToScripts").GetBoolean().Should().BeTrue("[SwarmPS.Core.SwarmEnvironment] must resolve in scripts");
        root_.GetProperty("environmentType").GetString().Should().Be("SwarmPS.Core.SwarmEnvironment");
        root_.GetProperty("rows").EnumerateArray().Select(r => r.GetString()).Should().Equal("ALC-1");
        File.Exists(Path.Combine(home, "registry.db")).Should().BeTrue();

        var loaded = root_.GetProperty("assemblies").EnumerateArray()
            .Select(a => new LoadedAssembly(a.GetProperty("name").GetString()!, a.GetProperty("context").GetString()!, a.GetProperty("location").GetString()!)).ToList();
        foreach (var own in new[] { "SwarmPS", "SwarmPS.Core", "SwarmPS.Loader" })
            loaded.Should().ContainSingle(a => a.Name == own).Which.Should().Be(new LoadedAssembly(own, "Default", Path.Combine(Dir, own + ".dll")));
        foreach (var dep in new[] { "Microsoft.Data.Sqlite", "SQLitePCLRaw.core", "SQLitePCLRaw.provider.e_sqlite3", "SQLitePCLRaw.batteries_v2" })
            loaded.Should().ContainSingle(a => a.Name == dep, "one copy only, in the private context")
                .Which.Should().Be(new LoadedAssembly(dep, SwarmLoadContext.ContextName, Path.Combine(Dir, "dependencies", dep + ".dll")));

        root_.GetProperty("resolvedNative").GetString().Should().StartWith(Path.Combine(Dir, "runtimes", SwarmLoadContext.RuntimeId, "native"),
            "Core resolves e_sqlite3 from the module folder itself (no .deps.json inside pwsh)");
    }

    [Fact]
    public void Loader_finds_native_libraries_by_their_DllImport_name()
    {
        SwarmLoadContext.NativeCandidates(Dir, "e_sqlite3").Should().Contain(c => File.Exists(c), "the loader's fallback resolves e_sqlite3 for this platform");
    }

    [Fact]
    public void Loader_script_hooks_the_load_context_before_importing_the_cmdlets()
    {
        var psm1 = File.ReadAllText(Path.Combine(Dir, "SwarmPS.psm1"));
        psm1.IndexOf("[SwarmPS.Loader.SwarmLoadContext]::Initialize($PSScriptRoot)", StringComparison.Ordinal)
            .Should().BeGreaterThan(0).And.BeLessThan(psm1.IndexOf("Import-Module", StringComparison.Ordinal));
        PsParser.Parse(new[] { Path.Combine(Dir, "SwarmPS.psm1") }).Single().Errors.Should().BeEmpty();
    }
}
