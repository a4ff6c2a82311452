using JumpingVpn.Tunnel.Device;

namespace JumpingVpn.Tests.Tunnel.Device;

/// <summary>
/// Message type is one byte and three reserved zero bytes; wireguard-go reads all four as the type, so a
/// non-zero reserved byte is no known message there. jvpn drops it the same way, counted as malformed.
/// </summary>
public class ReservedHeaderTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void A_transport_message_with_a_non_zero_reserved_byte_is_dropped_and_counted(int reserved)
    {
        var t = new TwoDevices();
        TwoDevices.Encapsulate(t.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 1));
        t.Pump();
        (_, byte[]? d) = TwoDevices.Encapsulate(t.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 20));
        byte[] intact = (byte[])d!.Clone();
        d[reserved] = 0x01; // outside the AEAD: without the check it would still open and be delivered
        long malformed = t.B.Counters.Malformed;

        ReceiveResult r = t.B.Decapsulate(d, t.AddrA, out _, out _, out _);

        Assert.Equal(ReceiveResult.Drop, r);
        Assert.Equal(malformed + 1, t.B.Counters.Malformed);
        // The same datagram with the reserved bytes zero is still accepted (nothing else was wrong with it).
        Assert.Equal(ReceiveResult.Deliver, t.B.Decapsulate(intact, t.AddrA, out _, out _, out _));
    }

    [Fact]
    public void A_handshake_initiation_with_a_non_zero_reserved_byte_never_reaches_the_handshake_thread()
    {
        var t = new TwoDevices();
        t.A.SendHandshakeInitiation(t.PeerBOnA, isRetry: false);
        byte[] initiation = Assert.Single(t.WireA.Drain()).Datagram;
        initiation[3] = 0x80;

        Assert.Equal(ReceiveResult.Drop, t.B.Decapsulate(initiation, t.AddrA, out _, out _, out _));
        Assert.Equal(1, t.B.Counters.Malformed);
    }
}
