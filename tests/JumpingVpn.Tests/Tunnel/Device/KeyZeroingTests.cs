using JumpingVpn.Tunnel.Crypto;
using JumpingVpn.Tunnel.Device;
using JumpingVpn.Tunnel.Keys;
using JumpingVpn.Tunnel.Noise;
using JumpingVpn.Tunnel.Timers;

namespace JumpingVpn.Tests.Tunnel.Device;

/// <summary>
/// Key material is zeroed when it can no longer be used: retired and expired transport keys, a replaced
/// private key and the decrypted state of an initiation that was refused or consumed.
/// </summary>
public class KeyZeroingTests
{
    private static Keypair Connect(TwoDevices t)
    {
        TwoDevices.Encapsulate(t.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 1));
        t.Pump();
        return t.PeerBOnA.Keypairs.Current!;
    }

    private static bool Zeroed(Keypair k) => k.Send.IsZeroed && k.Receive.IsZeroed;

    [Fact]
    public void Keypairs_are_zeroed_when_the_zero_key_material_timer_expires_the_session()
    {
        var t = new TwoDevices();
        Keypair onA = Connect(t);
        Keypair onB = t.PeerAOnB.Keypairs.Current!;
        Assert.False(Zeroed(onA));

        t.Clock.Advance(TimeSpan.FromTicks(3 * ProtocolTimes.RejectAfterTime / 100 + TimeSpan.TicksPerSecond));
        t.A.Tick();
        t.B.Tick();

        Assert.True(Zeroed(onA));
        Assert.True(Zeroed(onB));
        Assert.Null(t.PeerBOnA.Keypairs.Current);
        Assert.Equal(0, t.A.IndexCount);
    }

    [Fact]
    public void A_keypair_pushed_out_by_rekeying_is_zeroed_and_traffic_continues()
    {
        var t = new TwoDevices();
        Keypair first = Connect(t);
        for (int i = 0; i < 2; i++)
        {
            t.Clock.Advance(TimeSpan.FromSeconds(6));
            t.A.SendHandshakeInitiation(t.PeerBOnA, isRetry: false);
            t.Pump();
        }
        // first -> previous -> retired after two newer sessions.
        Assert.True(Zeroed(first));
        Keypair current = t.PeerBOnA.Keypairs.Current!;
        Assert.False(Zeroed(current));
        Assert.False(Zeroed(t.PeerBOnA.Keypairs.Previous!));

        (SendResult r, byte[]? d) = TwoDevices.Encapsulate(t.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 9));
        Assert.Equal(SendResult.Send, r);
        var atB = new List<byte[]>();
        TwoDevices.Deliver(t.B, d!, t.AddrA, atB);
        Assert.Single(atB);
    }

    [Fact]
    public void A_keypair_retired_while_in_use_is_zeroed_only_when_the_use_ends()
    {
        var t = new TwoDevices();
        Keypair k = Connect(t);
        Assert.True(k.TryEnter()); // a packet thread sealing with it right now

        t.A.RemovePeer(t.PeerBOnA.PublicKey);

        Assert.False(Zeroed(k));
        Assert.False(k.TryEnter()); // no new use of a retired keypair
        k.Exit();
        Assert.True(Zeroed(k));
    }

    [Fact]
    public void A_datagram_for_a_retired_keypair_is_dropped_not_opened_with_a_zero_key()
    {
        var t = new TwoDevices();
        Connect(t);
        Keypair onB = t.PeerAOnB.Keypairs.Current!;
        (_, byte[]? d) = TwoDevices.Encapsulate(t.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 9));
        onB.Retire(); // as if a handshake retired it between the index lookup and the open
        long unknown = t.B.Counters.UnknownIndex;

        var atB = new List<byte[]>();
        TwoDevices.Deliver(t.B, d!, t.AddrA, atB);

        Assert.Empty(atB);
        Assert.Equal(unknown + 1, t.B.Counters.UnknownIndex);
        Assert.Equal(0, t.B.Counters.BadMac);
    }

    [Fact]
    public void The_replaced_private_key_is_zeroed_once_no_handshake_uses_it()
    {
        var t = new TwoDevices();
        StaticIdentity old = t.A.Identity!;
        byte[] next = new byte[32];
        X25519.GeneratePrivateKey(next, new DeterministicRandom(7).Fill);

        Assert.True(old.TryEnter()); // a handshake in progress
        t.A.SetPrivateKey(next);
        Assert.False(old.IsZeroed);
        old.Exit();

        Assert.True(old.IsZeroed);
        Assert.False(t.A.Identity!.IsZeroed);
        Assert.Equal(next, t.A.CopyPrivateKey());
    }

    [Fact]
    public void Initiations_from_an_unknown_peer_or_replayed_are_cleared()
    {
        var t = new TwoDevices();
        var discarded = new List<ConsumedInitiation>();
        t.B.InitiationDiscarded = discarded.Add;
        t.A.SendHandshakeInitiation(t.PeerBOnA, isRetry: false);
        byte[] initiation = Assert.Single(t.WireA.Drain()).Datagram;

        t.B.ProcessHandshakeMessage(initiation, t.AddrA, rateLimitOk: true); // accepted
        t.WireB.Drain();
        t.Clock.Advance(TimeSpan.FromSeconds(1));
        t.B.ProcessHandshakeMessage(initiation, t.AddrA, rateLimitOk: true); // replayed timestamp
        t.B.RemovePeer(t.PeerAOnB.PublicKey);
        t.Clock.Advance(TimeSpan.FromSeconds(1));
        t.B.ProcessHandshakeMessage(initiation, t.AddrA, rateLimitOk: true); // unknown peer now

        Assert.Equal(3, discarded.Count);
        foreach (ConsumedInitiation init in discarded)
        {
            Assert.True(init.State.ChainingKey.AsSpan().IndexOfAnyExcept((byte)0) < 0);
            Assert.True(init.State.Hash.AsSpan().IndexOfAnyExcept((byte)0) < 0);
            Assert.True(init.RemoteEphemeral.AsSpan().IndexOfAnyExcept((byte)0) < 0);
        }
    }

    [Fact]
    public void Key_use_gate_zeroes_once_after_the_last_use()
    {
        int zeroed = 0;
        var gate = new KeyUseGate(() => zeroed++);
        Assert.True(gate.TryEnter());
        Assert.True(gate.TryEnter());
        gate.Retire();
        gate.Retire();
        gate.Exit();
        Assert.Equal(0, zeroed);
        gate.Exit();
        Assert.Equal(1, zeroed);
        Assert.False(gate.TryEnter());
        Assert.True(gate.IsRetired);
    }
}
