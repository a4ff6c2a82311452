using System.Net;
using System.Net.Sockets;
using JumpingVpn.Control.Interface;
using JumpingVpn.Platform.Buffers;
using JumpingVpn.Platform.Udp;

namespace JumpingVpn.Tests.Control.Interface;

/// <summary>The one OS switch of InterfaceHost, and the Windows branch's parts that run anywhere.</summary>
public sealed class HostPlatformTests
{
    [Theory]
    [InlineData(true, false, typeof(WindowsHostPlatform))]
    [InlineData(true, true, typeof(WindowsHostPlatform))]
    [InlineData(false, true, typeof(LinuxHostPlatform))]
    public void SelectionFollowsTheOs(bool windows, bool linux, Type expected) =>
        Assert.IsType(expected, HostPlatform.Select(windows, linux));

    [Fact]
    public void OtherSystemsAreRefusedWithAClearMessage()
    {
        var ex = Assert.Throws<PlatformNotSupportedException>(() => HostPlatform.Select(windows: false, linux: false));
        Assert.StartsWith("jvpn can bring up interfaces on Linux and Windows, not on ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ThisLinuxMachineGetsTheLinuxPlatformWithTheBatchedSocket()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Linux only");
        HostPlatform platform = JumpingVpn.Control.Hosting.HostComposition.Current.CreateInterfacePlatform();
        Assert.Equal("linux", platform.Name);
        using UdpTransport udp = platform.BindUdp(0);
        Assert.True(udp.Batched);
        (string file, string[] arguments) = platform.HookCommand("echo jv0");
        Assert.Equal("/bin/bash", file);
        Assert.Equal(["-c", "echo jv0"], arguments);
    }

    [Fact]
    public void WindowsHooksRunThroughCmd()
    {
        (string file, string[] arguments) = new WindowsHostPlatform().HookCommand("echo jv0");
        Assert.Equal("cmd.exe", file);
        Assert.Equal(["/C", "echo jv0"], arguments);
    }

    [Fact]
    public void WindowsWintunAndIpHelperStepsRefuseToRunElsewhere()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "checks the guard on other systems");
        var platform = new WindowsHostPlatform();
        Assert.Throws<PlatformNotSupportedException>(() => platform.CreateTun("jv0"));
    }

    [Fact]
    public void EachPlatformBringsItsOwnPathSideAndTheWindowsOneRefusesToRunElsewhere()
    {
        Assert.IsType<JumpingVpn.Platform.Net.Linux.LinuxPathPlatform>(new LinuxHostPlatform().Paths);
        var windows = Assert.IsType<JumpingVpn.Platform.Net.Windows.WindowsPathPlatform>(new WindowsHostPlatform().Paths);
        Assert.SkipWhen(OperatingSystem.IsWindows(), "checks the guards on other systems");
        Assert.Throws<PlatformNotSupportedException>(() => windows.Watch(() => { }));
        Assert.Throws<PlatformNotSupportedException>(() => windows.Scan(IPAddress.Loopback, "jv0"));
        Assert.Throws<PlatformNotSupportedException>(() => windows.Bind(new JumpingVpn.Platform.Net.UsableInterface("Wi-Fi", IPAddress.Loopback, 0, 12)));
    }

    [Fact]
    public void WindowsAdapterGuidIsStablePerNameAndWellFormed()
    {
        Guid a = WindowsHostPlatform.AdapterGuid("home");
        Assert.Equal(a, WindowsHostPlatform.AdapterGuid("home"));
        Assert.NotEqual(a, WindowsHostPlatform.AdapterGuid("work"));
        Assert.Equal(4, a.Version);
        Assert.Equal(0x80, a.ToByteArray()[8] & 0xC0); // RFC 4122 variant
    }

    [Fact]
    public void TheWindowsSocketIsThePortableOneAndTalksToTheLinuxOne()
    {
        using UdpTransport windows = new WindowsHostPlatform().BindUdp(0);
        using UdpTransport linux = UdpTransport.Bind(0);
        Assert.False(windows.Batched);
        using var watchdog = new Timer(_ => { windows.Close(); linux.Close(); }, null, TimeSpan.FromSeconds(10), Timeout.InfiniteTimeSpan);

        var tx = new PacketBatch(3, 2048, headroom: 0);
        for (int i = 0; i < 3; i++)
        {
            tx.SetPacket(i, 0, 100 + i);
            tx.Packet(i).Fill((byte)(i + 1));
        }
        Assert.True(windows.SendSegments(tx, 0, 3, Loopback(windows, linux.LocalPort)));
        var received = new List<byte[]>();
        var rx = new PacketBatch(8, 2048, headroom: 0);
        SocketAddress[] sources = [.. Enumerable.Range(0, 8).Select(_ => linux.CreateAddressBuffer())];
        while (received.Count < 3)
        {
            int n = linux.ReceiveBatch(rx, sources, new int[8]);
            Assert.True(n > 0);
            for (int m = 0; m < n; m++)
            {
                received.Add(rx.Packet(m).ToArray());
            }
        }
        Assert.Equal([100, 101, 102], received.Select(r => r.Length));
        Assert.Equal([1, 2, 3], received.Select(r => (int)r[0]));

        // And back: the portable receive hands over one datagram per call.
        Assert.True(linux.SendSegments(tx, 0, 2, Loopback(linux, windows.LocalPort)));
        SocketAddress[] back = [.. Enumerable.Range(0, 8).Select(_ => windows.CreateAddressBuffer())];
        Assert.Equal(1, windows.ReceiveBatch(rx, back, new int[8]));
        Assert.Equal(100, rx.Length(0));
        Assert.Equal(1, windows.ReceiveBatch(rx, back, new int[8]));
        Assert.Equal(101, rx.Length(0));
        Assert.Equal(Loopback(windows, linux.LocalPort), back[0]);
    }

    private static SocketAddress Loopback(UdpTransport t, int port) => t.DualMode
        ? new IPEndPoint(IPAddress.Loopback.MapToIPv6(), port).Serialize()
        : new IPEndPoint(IPAddress.Loopback, port).Serialize();
}
