using JumpingVpn.Tunnel.Device;
using JumpingVpn.Tunnel.Keys;
using JumpingVpn.Tunnel.Noise;

namespace JumpingVpn.Tests.Tunnel.Device;

/// <summary>The receiver index table holds exactly the live keypairs plus the handshake in flight.</summary>
public class IndexTableTests
{
    private static int Expected(Peer peer)
    {
        KeypairSet k = peer.Keypairs;
        int n = (k.Previous is null ? 0 : 1) + (k.Current is null ? 0 : 1) + (k.Next is null ? 0 : 1);
        return n + (peer.Handshake.State == HandshakeState.Zeroed ? 0 : 1);
    }

    [Fact]
    public void Simultaneous_initiations_leave_no_index_behind()
    {
        var t = new TwoDevices();
        t.PeerAOnB.Endpoint = t.AddrA;
        for (int round = 0; round < 5; round++)
        {
            t.Clock.Advance(TimeSpan.FromSeconds(6)); // past RekeyTimeout, so both may initiate again
            t.A.SendHandshakeInitiation(t.PeerBOnA, isRetry: false);
            t.B.SendHandshakeInitiation(t.PeerAOnB, isRetry: false);
            t.Pump();

            Assert.True(t.A.IndexCount <= 3, $"round {round}: A holds {t.A.IndexCount} indices");
            Assert.Equal(Expected(t.PeerBOnA), t.A.IndexCount);
            Assert.Equal(Expected(t.PeerAOnB), t.B.IndexCount);
        }
        // Crossed initiations supersede each other (as in wireguard-go); the retransmission completes
        // one, and the staged packet then arrives.
        TwoDevices.Encapsulate(t.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 3, marker: 0x5A));
        t.Clock.Advance(TimeSpan.FromSeconds(6));
        t.A.Tick();
        (_, List<byte[]> atB) = t.Pump();
        Assert.Contains(atB, p => p[^1] == 0x5A);
        Assert.Equal(Expected(t.PeerBOnA), t.A.IndexCount);
        Assert.Equal(Expected(t.PeerAOnB), t.B.IndexCount);
    }
}
