using FluentAssertions;
using SwarmPS.Core;
using SwarmPS.Core.Providers.HyperV;
using SwarmPS.Core.Providers.Kvm;
using SwarmPS.Core.Providers.Tart;
using SwarmPS.Core.Registry;
using Xunit;

namespace SwarmPS.Tests;

/// <summary>Unregistering a base image is refused while an environment of any provider with base images (kvm, hyperv, tart) uses it.</summary>
public sealed class BaseImageUnregisterTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "swarmps-imgun-" + Guid.NewGuid().ToString("N")[..8]);
    public BaseImageUnregisterTests() => Directory.CreateDirectory(_dir);
    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    [Theory]
    [InlineData(KvmProvider.ProviderName)]
    [InlineData(HyperVProvider.ProviderName)]
    [InlineData(TartProvider.ProviderName)]
    public void An_image_in_use_is_refused_until_its_environments_are_gone(string provider)
    {
        var reg = SwarmRegistry.Open(new SwarmHome(_dir));
        reg.AddBaseImage(new SwarmBaseImage { Name = "base-1", Provider = provider, Path = Path.Combine(_dir, "base") });
        // Another provider's environment naming the same "image" (a docker image, say) does not pin it.
        reg.Reserve(new SwarmEnvironment { Ticket = "OTHER-1", Provider = "docker", Metadata = new Dictionary<string, string> { ["image"] = "base-1" } }, new PortConfig());
        reg.Reserve(new SwarmEnvironment { Ticket = "VM-1", Provider = provider, BaseRef = "base-1", Metadata = new Dictionary<string, string> { ["image"] = "BASE-1" } }, new PortConfig());

        var act = () => new KvmImages(reg).Unregister("base-1");
        var ex = act.Should().Throw<SwarmException>().Which;
        ex.ErrorId.Should().Be(ErrorIds.InvalidState);
        ex.Message.Should().Contain("VM-1").And.NotContain("OTHER-1");
        reg.GetBaseImage("base-1").Should().NotBeNull();

        reg.DeleteEnvironment("VM-1");
        reg.UnregisterBaseImage("base-1").Provider.Should().Be(provider);
        reg.GetBaseImage("base-1").Should().BeNull();
        var missing = () => reg.UnregisterBaseImage("base-1");
        missing.Should().Throw<SwarmException>().Which.ErrorId.Should().Be(ErrorIds.ImageNotFound);
    }
}
