using System.Buffers.Binary;
using System.Net;
using JumpingVpn.Tunnel.Routing;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Tunnel.Routing;

public class IpPacketTests
{
    private static byte[] V4(string src, string dst, int payload, int ihl = 5, int padding = 0)
    {
        int header = ihl * 4;
        var p = new byte[header + payload + padding];
        p[0] = (byte)(0x40 | ihl);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)(header + payload));
        p[8] = 64;
        p[9] = 17;
        IPAddress.Parse(src).GetAddressBytes().CopyTo(p, 12);
        IPAddress.Parse(dst).GetAddressBytes().CopyTo(p, 16);
        return p;
    }

    private static byte[] V6(string src, string dst, int payload, int padding = 0)
    {
        var p = new byte[40 + payload + padding];
        p[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), (ushort)payload);
        p[6] = 58;
        p[7] = 64;
        IPAddress.Parse(src).GetAddressBytes().CopyTo(p, 8);
        IPAddress.Parse(dst).GetAddressBytes().CopyTo(p, 24);
        return p;
    }

    [Fact]
    public void ReadsIPv4Addresses()
    {
        byte[] p = V4("192.0.2.1", "198.51.100.2", payload: 8);
        Assert.Equal(4, IpPacket.Version(p));
        Assert.True(IpPacket.TryGetSource(p, out ReadOnlySpan<byte> src));
        Assert.Equal(IPAddress.Parse("192.0.2.1"), new IPAddress(src));
        Assert.True(IpPacket.TryGetDestination(p, out ReadOnlySpan<byte> dst));
        Assert.Equal(IPAddress.Parse("198.51.100.2"), new IPAddress(dst));
    }

    [Fact]
    public void ReadsIPv6Addresses()
    {
        byte[] p = V6("2001:db8::1", "fd00::2", payload: 8);
        Assert.Equal(6, IpPacket.Version(p));
        Assert.True(IpPacket.TryGetSource(p, out ReadOnlySpan<byte> src));
        Assert.Equal(IPAddress.Parse("2001:db8::1"), new IPAddress(src));
        Assert.True(IpPacket.TryGetDestination(p, out ReadOnlySpan<byte> dst));
        Assert.Equal(IPAddress.Parse("fd00::2"), new IPAddress(dst));
    }

    [Fact]
    public void TotalLengthStripsWireGuardPadding()
    {
        // WireGuard pads plaintext to a multiple of 16 with zeros (whitepaper §5.4.6).
        byte[] v4 = V4("10.0.0.1", "10.0.0.2", payload: 13, padding: 15);
        Assert.True(IpPacket.TryGetTotalLength(v4, out int len4));
        Assert.Equal(33, len4);

        byte[] v6 = V6("fd00::1", "fd00::2", payload: 3, padding: 13);
        Assert.True(IpPacket.TryGetTotalLength(v6, out int len6));
        Assert.Equal(43, len6);

        byte[] withOptions = V4("10.0.0.1", "10.0.0.2", payload: 0, ihl: 15);
        Assert.True(IpPacket.TryGetTotalLength(withOptions, out int lenOpt));
        Assert.Equal(60, lenOpt);
        Assert.True(IpPacket.TryGetDestination(withOptions, out _));
    }

    [Fact]
    public void RejectsDishonestLengths()
    {
        byte[] v4 = V4("10.0.0.1", "10.0.0.2", payload: 10);
        Assert.False(IpPacket.TryGetTotalLength(v4.AsSpan(0, v4.Length - 1), out _)); // claims more than present
        BinaryPrimitives.WriteUInt16BigEndian(v4.AsSpan(2), 19);                      // shorter than its header
        Assert.False(IpPacket.TryGetTotalLength(v4, out _));

        byte[] v6 = V6("fd00::1", "fd00::2", payload: 10);
        Assert.False(IpPacket.TryGetTotalLength(v6.AsSpan(0, v6.Length - 1), out _));
        Assert.True(IpPacket.TryGetTotalLength(v6.AsSpan(0, 50), out int exact));
        Assert.Equal(50, exact);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public void RejectsIPv4HeaderLengthBelowFive(int ihl)
    {
        byte[] p = V4("10.0.0.1", "10.0.0.2", payload: 20);
        p[0] = (byte)(0x40 | ihl);
        Assert.False(IpPacket.TryGetDestination(p, out _));
        Assert.False(IpPacket.TryGetSource(p, out _));
        Assert.False(IpPacket.TryGetTotalLength(p, out _));
    }

    [Fact]
    public void RejectsHeadersThatDoNotFit()
    {
        byte[] v4 = V4("10.0.0.1", "10.0.0.2", payload: 0);
        Assert.False(IpPacket.TryGetDestination(v4.AsSpan(0, 19), out _));
        byte[] opts = V4("10.0.0.1", "10.0.0.2", payload: 0, ihl: 6);
        Assert.False(IpPacket.TryGetSource(opts.AsSpan(0, 20), out _)); // options cut off
        byte[] v6 = V6("fd00::1", "fd00::2", payload: 0);
        Assert.False(IpPacket.TryGetDestination(v6.AsSpan(0, 39), out _));
        Assert.False(IpPacket.TryGetTotalLength(v6.AsSpan(0, 39), out _));
    }

    [Theory]
    [InlineData(new byte[0], 0)]          // keepalive
    [InlineData(new byte[] { 0x00, 1 }, 0)] // jvpn control frame
    [InlineData(new byte[] { 0x45 }, 4)]
    [InlineData(new byte[] { 0x60 }, 6)]
    [InlineData(new byte[] { 0x50 }, 0)]
    [InlineData(new byte[] { 0xF4 }, 0)]
    public void VersionFromFirstNibble(byte[] packet, int expected)
    {
        Assert.Equal(expected, IpPacket.Version(packet));
        if (expected == 0)
        {
            Assert.False(IpPacket.TryGetDestination(packet, out _));
            Assert.False(IpPacket.TryGetTotalLength(packet, out _));
        }
    }

    [Fact]
    public void DoesNotAllocate()
    {
        byte[] v4 = V4("10.0.0.1", "10.0.0.2", payload: 100);
        byte[] v6 = V6("fd00::1", "fd00::2", payload: 100);
        int sum = 0;
        SteadyState.AllocatesNothing(() => sum += Touch(v4) + Touch(v6), rounds: 100_000, warmup: 1000);
        Assert.True(sum > 0);

        static int Touch(byte[] p)
        {
            IpPacket.TryGetDestination(p, out ReadOnlySpan<byte> d);
            IpPacket.TryGetSource(p, out ReadOnlySpan<byte> s);
            IpPacket.TryGetTotalLength(p, out int n);
            return d[0] + s[0] + n + IpPacket.Version(p);
        }
    }
}
