using JumpingVpn.Control.Hosting;
using JumpingVpn.Control.Interface;
using JumpingVpn.Control.Uapi.Transport;

namespace JumpingVpn.Tests.Control.Hosting;

/// <summary>The composition root's per-capability choices (docs/platform.md §8).</summary>
public sealed class HostCompositionTests
{
    [Fact]
    public void This_linux_machine_gets_every_linux_capability()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Linux only");
        HostCapabilities host = HostComposition.Current;

        Assert.Equal(HostOs.Linux, host.Os);
        Assert.IsType<LinuxHostPlatform>(host.CreateInterfacePlatform());
        Assert.Equal("/var/run/wireguard", Assert.IsType<UnixSocketUapiTransport>(host.Uapi).SocketDirectory);
        Assert.Equal("/etc/wireguard", host.ConfigDirectory);
        Assert.True(host.PosixFileModes);
        Assert.True(host.FileOwnership);
        Assert.False(host.WintunDriver);
        Assert.False(host.NativeNamedPipes);
        Assert.Equal(JumpingVpn.Platform.Privileges.LinuxRequirement, host.PrivilegeRequirement);
    }

    [Fact]
    public void Windows_gets_wintun_the_wireguard_pipe_and_inherited_acls()
    {
        HostCapabilities host = HostComposition.For(HostOs.Windows);

        Assert.IsType<WindowsHostPlatform>(host.CreateInterfacePlatform());
        Assert.IsType<NamedPipeUapiTransport>(host.Uapi);
        Assert.EndsWith("jvpn", host.ConfigDirectory, StringComparison.Ordinal);
        Assert.False(host.PosixFileModes);
        Assert.False(host.FileOwnership);
        Assert.True(host.WintunDriver);
        Assert.True(host.NativeNamedPipes);
        Assert.Equal(JumpingVpn.Platform.Privileges.WindowsRequirement, host.PrivilegeRequirement);
    }

    [Fact]
    public void Other_systems_keep_posix_files_but_cannot_host_an_interface()
    {
        HostCapabilities host = HostComposition.For(HostOs.Other);

        Assert.IsType<UnixSocketUapiTransport>(host.Uapi);
        Assert.True(host.PosixFileModes);
        Assert.False(host.FileOwnership);
        Assert.False(host.HasNetAdmin());
        Assert.Throws<PlatformNotSupportedException>(host.CreateInterfacePlatform);
    }

    [Fact]
    public void Callers_of_the_old_entry_points_get_the_composition_roots_choices()
    {
        Assert.Same(HostComposition.Current.Uapi, UapiTransports.Default);
        Assert.Equal(HostComposition.Current.ConfigDirectory, JumpingVpn.Control.Config.TunnelConfigParser.ConfigDirectory);
    }
}
