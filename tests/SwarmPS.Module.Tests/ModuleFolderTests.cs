using System.Reflection;
using System.Runtime.Loader;
using FluentAssertions;
using SwarmPS.Loader;
using SwarmPS.Module.Tests.Checks;
using Xunit;

namespace SwarmPS.Module.Tests;

/// <summary>
/// Loads the ASSEMBLED module folder (bin/.../module/SwarmPS, made by this project's build with the
/// same MSBuild target build.ps1 uses) the way pwsh does: the loader creates the private load
/// context, every SwarmPS and third-party assembly comes from the folder, there is no .deps.json,
/// and the native SQLite library is found in dependencies/runtimes/&lt;rid&gt;/native by Core itself.
/// </summary>
public class ModuleFolderTests
{
    private static string Dir => Repo.AssembledModuleDir;

    [Fact]
    public void Folder_has_the_shipping_layout()
    {
        foreach (var f in new[] { "SwarmPS.psd1", "SwarmPS.psm1", "SwarmPS.format.ps1xml", "SwarmPS.Loader.dll", "SwarmPS.dll",
                     "dependencies/SwarmPS.Core.dll", "dependencies/Microsoft.Data.Sqlite.dll", "dependencies/SQLitePCLRaw.core.dll", "dependencies/SQLitePCLRaw.provider.e_sqlite3.dll" })
            File.Exists(Path.Combine(Dir, f)).Should().BeTrue(f);
        foreach (var (rid, file) in new[] { ("win-x64", "e_sqlite3.dll"), ("linux-x64", "libe_sqlite3.so"), ("linux-arm64", "libe_sqlite3.so"), ("osx-x64", "libe_sqlite3.dylib"), ("osx-arm64", "libe_sqlite3.dylib") })
            File.Exists(Path.Combine(Dir, "dependencies", "runtimes", rid, "native", file)).Should().BeTrue($"{rid} needs {file}");
        Directory.GetFiles(Dir, "*.deps.json", SearchOption.AllDirectories).Should().BeEmpty("pwsh never reads a module's .deps.json");
        Directory.GetFiles(Dir, "System.Management.Automation.dll", SearchOption.AllDirectories).Should().BeEmpty("pwsh provides the real engine; the stub must not ship");
        Directory.GetFiles(Dir, "*.dll").Select(Path.GetFileName).Should().BeEquivalentTo(new[] { "SwarmPS.dll", "SwarmPS.Loader.dll" }, "only the loader and the cmdlets sit at the top");
    }

    [Fact]
    public void Module_loads_from_the_folder_in_its_own_context_and_writes_a_registry()
    {
        var context = SwarmLoadContext.CreateIsolated(Dir);
        try
        {
            var cmdlets = context.LoadModuleAssembly();
            AssemblyLoadContext.GetLoadContext(cmdlets).Should().BeSameAs(context);
            cmdlets.Location.Should().Be(Path.Combine(Dir, "SwarmPS.dll"));

            // The cmdlets bind to Core from the folder, not to the copy this test process has.
            var statusParameter = cmdlets.GetType("SwarmPS.Cmdlets.Commands.GetSwarmEnvironmentCommand", throwOnError: true)!.GetProperty("Status")!.PropertyType.GetElementType()!;
            var core = statusParameter.Assembly;
            core.GetName().Name.Should().Be("SwarmPS.Core");
            core.Location.Should().Be(Path.Combine(Dir, "dependencies", "SwarmPS.Core.dll"));
            core.Should().NotBeSameAs(typeof(Core.SwarmService).Assembly, "the module's dependencies are isolated from the host's");

            // Open a registry through the isolated Core and write a row.
            var home = Temp.Dir();
            var serviceType = core.GetType("SwarmPS.Core.SwarmService", throwOnError: true)!;
            var service = serviceType.GetMethod("Open")!.Invoke(null, new object?[] { home })!;
            var registry = serviceType.GetProperty("Registry")!.GetValue(service)!;
            var config = serviceType.GetProperty("Config")!.GetValue(service)!;
            var envType = core.GetType("SwarmPS.Core.SwarmEnvironment", throwOnError: true)!;
            var draft = Activator.CreateInstance(envType)!;
            envType.GetProperty("Ticket")!.SetValue(draft, "ALC-1");
            envType.GetProperty("Provider")!.SetValue(draft, "worktree");
            envType.GetProperty("RepositoryPath")!.SetValue(draft, home);
            var ports = config.GetType().GetProperty("Ports")!.GetValue(config)!;
            registry.GetType().GetMethod("Reserve")!.Invoke(registry, new[] { draft, ports });
            var rows = (System.Collections.IEnumerable)registry.GetType().GetMethod("ListEnvironments")!.Invoke(registry, null)!;
            rows.Cast<object>().Select(r => envType.GetProperty("Ticket")!.GetValue(r)).Should().Equal("ALC-1");
            File.Exists(Path.Combine(home, "registry.db")).Should().BeTrue();

            // SQLite came from the folder, and the native library from runtimes/<rid>/native.
            var sqlite = context.Assemblies.Single(a => a.GetName().Name == "Microsoft.Data.Sqlite");
            sqlite.Location.Should().Be(Path.Combine(Dir, "dependencies", "Microsoft.Data.Sqlite.dll"));
            var resolved = (string?)core.GetType("SwarmPS.Core.Registry.SqliteNative", throwOnError: true)!.GetProperty("ResolvedPath")!.GetValue(null);
            resolved.Should().StartWith(Path.Combine(Dir, "dependencies", "runtimes", SwarmLoadContext.RuntimeId, "native"));
            context.Assemblies.Select(a => a.Location).Should().OnlyContain(l => l.StartsWith(Dir, StringComparison.Ordinal), "everything in the context comes from the module folder");
        }
        finally
        {
            context.Unload();
        }
    }

    [Fact]
    public void Loader_finds_native_libraries_by_their_DllImport_name()
    {
        var candidates = SwarmLoadContext.NativeCandidates(Path.Combine(Dir, "dependencies"), "e_sqlite3").ToList();
        candidates.Should().Contain(c => File.Exists(c), "the loader's own fallback resolves e_sqlite3 for this platform");
    }

    [Fact]
    public void Manifest_loader_script_imports_the_cmdlet_assembly_from_the_private_context()
    {
        var psm1 = File.ReadAllText(Path.Combine(Dir, "SwarmPS.psm1"));
        psm1.Should().Contain("[SwarmPS.Loader.SwarmLoadContext]::Initialize($PSScriptRoot)");
        psm1.Should().Contain("Import-Module -Assembly");
        PsParser.Parse(new[] { Path.Combine(Dir, "SwarmPS.psm1") }).Single().Errors.Should().BeEmpty();
    }
}
