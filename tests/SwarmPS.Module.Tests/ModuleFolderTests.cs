using System.Diagnostics;
using System.Text.Json;
using FluentAssertions;
using SwarmPS.Loader;
using SwarmPS.Module.Tests.Checks;
using Xunit;

namespace SwarmPS.Module.Tests;

/// <summary>
/// The ASSEMBLED module folder (bin/.../module/SwarmPS, made by this project's build with the same
/// MSBuild target build.ps1 uses), loaded the way pwsh loads it, in a separate process
/// (SwarmPS.ModuleHost) whose default context holds the engine and no SwarmPS assembly: the
/// SwarmPS assemblies load from the folder into the default context (so scripts see the types),
/// SQLite loads from dependencies/ into the private context, there is no .deps.json, Core finds the
/// native library in runtimes/&lt;rid&gt;/native, and a registry is opened and written.
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
        Directory.GetFiles(Dir, "System.Management.Automation.dll", SearchOption.AllDirectories).Should().BeEmpty("pwsh provides the real engine; the stub must not ship");
        Directory.GetFiles(Dir, "*.dll").Select(Path.GetFileName).Should().BeEquivalentTo(new[] { "SwarmPS.dll", "SwarmPS.Core.dll", "SwarmPS.Loader.dll" }, "only SwarmPS's own assemblies sit at the top");
    }

    private sealed record LoadedAssembly(string Name, string Context, string Location);

    [Fact]
    public async Task Module_loads_from_the_folder_like_pwsh_isolates_sqlite_and_writes_a_registry()
    {
        var host = Path.Combine(AppContext.BaseDirectory, "SwarmPS.ModuleHost.dll");
        File.Exists(host).Should().BeTrue("the test project builds the host next to itself");
        var home = Temp.Dir();
        var dotnet = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var psi = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { host, Dir, home }) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        process.ExitCode.Should().Be(0, await stderr);

        using var report = JsonDocument.Parse(stdout);
        var root = report.RootElement;
        var loaded = root.GetProperty("assemblies").EnumerateArray()
            .Select(a => new LoadedAssembly(a.GetProperty("name").GetString()!, a.GetProperty("context").GetString()!, a.GetProperty("location").GetString()!)).ToList();

        root.GetProperty("cmdletTypes").GetInt32().Should().Be(StaticModuleTests.Cmdlets.Count);
        root.GetProperty("typeVisibleToScripts").GetBoolean().Should().BeTrue("[SwarmPS.Core.SwarmEnvironment] must resolve in scripts");
        root.GetProperty("rows").EnumerateArray().Select(r => r.GetString()).Should().Equal("ALC-1");
        File.Exists(Path.Combine(home, "registry.db")).Should().BeTrue();

        foreach (var own in new[] { "SwarmPS", "SwarmPS.Core", "SwarmPS.Loader" })
            loaded.Should().ContainSingle(a => a.Name == own).Which.Should().Be(new LoadedAssembly(own, "Default", Path.Combine(Dir, own + ".dll")));
        foreach (var dep in new[] { "Microsoft.Data.Sqlite", "SQLitePCLRaw.core", "SQLitePCLRaw.provider.e_sqlite3", "SQLitePCLRaw.batteries_v2" })
            loaded.Should().ContainSingle(a => a.Name == dep, "one copy only, in the private context")
                .Which.Should().Be(new LoadedAssembly(dep, SwarmLoadContext.ContextName, Path.Combine(Dir, "dependencies", dep + ".dll")));

        root.GetProperty("resolvedNative").GetString().Should().StartWith(Path.Combine(Dir, "runtimes", SwarmLoadContext.RuntimeId, "native"),
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
