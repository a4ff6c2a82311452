using System.Net;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Platform.Net;

namespace JumpingVpn.Tests.Control.Uapi;

/// <summary>Fixed keys and a sample device shared by the UAPI tests.</summary>
internal static class UapiTestData
{
    public static byte[] Key(byte fill) => Enumerable.Repeat(fill, 32).ToArray();

    public static byte[] CountingKey(byte start) => Enumerable.Range(start, 32).Select(i => (byte)i).ToArray();

    public static UapiPeerSnapshot PeerA => new(
        CountingKey(0x10),
        Key(0x22),
        new IPEndPoint(IPAddress.Parse("192.0.2.7"), 51820),
        (1_700_000_000L * 1_000_000_000L) + 123_456_789L,
        2048,
        1024,
        25,
        [IpPrefix.Parse("10.0.0.2/32"), IpPrefix.Parse("fd00::2/128")]);

    public static UapiPeerSnapshot PeerB => new(
        CountingKey(0x40),
        null,
        new IPEndPoint(IPAddress.Parse("2001:db8::1"), 443),
        0,
        0,
        0,
        0,
        [IpPrefix.Parse("0.0.0.0/0")]);

    public static UapiDeviceSnapshot Device => new(CountingKey(0x80), 51820, 0, [PeerA, PeerB]);

    public static string Hex(byte[] key) => Convert.ToHexStringLower(key);

    public static string[] Lines(string text) => text.Split('\n');
}
