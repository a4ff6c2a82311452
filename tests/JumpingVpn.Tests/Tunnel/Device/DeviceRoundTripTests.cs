using JumpingVpn.Tunnel.Device;
using JumpingVpn.Tunnel.Noise;
using JumpingVpn.Tunnel.Timers;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Tunnel.Device;

public class DeviceRoundTripTests
{
    [Fact]
    public void First_packet_is_staged_then_delivered_after_the_handshake()
    {
        var t = new TwoDevices();
        byte[] packet = TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 100);

        (SendResult r, _) = TwoDevices.Encapsulate(t.A, packet);
        Assert.Equal(SendResult.Staged, r);
        (_, List<byte[]> atB) = t.Pump();

        Assert.Single(atB);
        Assert.Equal(packet, atB[0]);
        Assert.True(t.PeerBOnA.HasCurrentKeypair);
        Assert.True(t.PeerAOnB.HasCurrentKeypair); // the staged packet confirmed B's "next" keypair
        Assert.Equal(1, t.A.Counters.Handshakes);
        Assert.Equal(1, t.B.Counters.Handshakes);
    }

    [Fact]
    public void Data_flows_both_ways_and_padding_is_stripped()
    {
        var t = new TwoDevices(psk: Enumerable.Repeat((byte)7, 32).ToArray());
        TwoDevices.Encapsulate(t.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 1));
        t.Pump();

        for (int size = 0; size < 40; size++)
        {
            byte[] toB = TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", size, (byte)size);
            (SendResult r1, byte[]? d1) = TwoDevices.Encapsulate(t.A, toB);
            Assert.Equal(SendResult.Send, r1);
            Assert.Equal(0, (d1!.Length - 32) % 16); // padded to 16
            var atB = new List<byte[]>();
            TwoDevices.Deliver(t.B, d1, t.AddrA, atB);
            Assert.Equal(toB, Assert.Single(atB));

            byte[] toA = TwoDevices.Ipv4Packet("10.0.0.2", "10.0.0.1", size, (byte)(size + 1));
            (SendResult r2, byte[]? d2) = TwoDevices.Encapsulate(t.B, toA);
            Assert.Equal(SendResult.Send, r2);
            var atA = new List<byte[]>();
            TwoDevices.Deliver(t.A, d2!, t.AddrB, atA);
            Assert.Equal(toA, Assert.Single(atA));
        }
    }

    [Fact]
    public void Replayed_and_tampered_datagrams_are_counted_not_delivered()
    {
        var t = new TwoDevices();
        TwoDevices.Encapsulate(t.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 1));
        t.Pump();
        (_, byte[]? d) = TwoDevices.Encapsulate(t.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 50));
        var got = new List<byte[]>();
        TwoDevices.Deliver(t.B, (byte[])d!.Clone(), t.AddrA, got);
        TwoDevices.Deliver(t.B, (byte[])d.Clone(), t.AddrA, got);
        byte[] tampered = (byte[])d.Clone();
        tampered[^1] ^= 1;
        TwoDevices.Deliver(t.B, tampered, t.AddrA, got);
        byte[] unknown = (byte[])d.Clone();
        unknown[4] ^= 0xFF;
        TwoDevices.Deliver(t.B, unknown, t.AddrA, got);

        Assert.Single(got);
        Assert.Equal(1, t.B.Counters.Replay);
        Assert.Equal(1, t.B.Counters.BadMac);
        Assert.Equal(1, t.B.Counters.UnknownIndex);
    }

    [Fact]
    public void Inner_source_outside_the_peers_allowed_ips_is_dropped()
    {
        var t = new TwoDevices();
        TwoDevices.Encapsulate(t.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 1));
        t.Pump();
        (_, byte[]? spoofed) = TwoDevices.Encapsulate(t.A, TwoDevices.Ipv4Packet("10.9.9.9", "10.0.0.2", 10));
        var got = new List<byte[]>();
        TwoDevices.Deliver(t.B, spoofed!, t.AddrA, got);
        Assert.Empty(got);
        Assert.Equal(1, t.B.Counters.SourceNotAllowed);
    }

    [Fact]
    public void Plain_wireguard_peer_roams_to_the_source_of_authenticated_packets()
    {
        var t = new TwoDevices();
        TwoDevices.Encapsulate(t.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 1));
        t.Pump();
        var newAddr = EndpointCodec.ToSocketAddress(new System.Net.IPEndPoint(System.Net.IPAddress.Parse("198.51.100.7"), 4444), false);
        (_, byte[]? d) = TwoDevices.Encapsulate(t.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 10));
        TwoDevices.Deliver(t.B, d!, newAddr, []);
        Assert.Equal("198.51.100.7:4444", EndpointCodec.ToIPEndPoint(t.PeerAOnB.Endpoint!).ToString());
    }

    [Fact]
    public void Steady_state_encapsulate_and_decapsulate_allocate_nothing()
    {
        var t = new TwoDevices();
        TwoDevices.Encapsulate(t.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 1));
        t.Pump();
        byte[] packet = TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 1400);
        byte[] buffer = new byte[2048];
        var from = t.AddrA;
        void RoundTrip()
        {
            packet.CopyTo(buffer, MessageLayout.TransportHeaderSize);
            t.A.Encapsulate(buffer, packet.Length, out int len, out _, out _);
            t.B.Decapsulate(buffer.AsSpan(0, len), from, out _, out _, out _);
        }
        SteadyState.AllocatesNothing(RoundTrip, rounds: 10_000, warmup: 2000);
        Assert.True(t.PeerAOnB.RxBytes > 30_000L * 1400);
    }

    [Fact]
    public void Initiator_rekeys_after_rekey_time_and_traffic_continues()
    {
        var t = new TwoDevices();
        TwoDevices.Encapsulate(t.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 1));
        t.Pump();
        t.Clock.Advance(TimeSpan.FromSeconds(121));
        (SendResult r, byte[]? d) = TwoDevices.Encapsulate(t.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 5));
        Assert.Equal(SendResult.Send, r); // old key still valid until RejectAfterTime; rekey started alongside
        var atB = new List<byte[]>();
        TwoDevices.Deliver(t.B, d!, t.AddrA, atB);
        Assert.Single(atB);
        t.Pump();
        Assert.Equal(2, t.A.Counters.Handshakes);
        t.Clock.Advance(TimeSpan.FromSeconds(70)); // first keypair now past RejectAfterTime
        (r, d) = TwoDevices.Encapsulate(t.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 6));
        Assert.Equal(SendResult.Send, r);
        atB.Clear();
        TwoDevices.Deliver(t.B, d!, t.AddrA, atB);
        Assert.Single(atB);
    }

    [Fact]
    public void Lost_initiation_is_retransmitted_after_rekey_timeout_and_given_up_eventually()
    {
        var t = new TwoDevices();
        TwoDevices.Encapsulate(t.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 1));
        Assert.Single(t.WireA.Drain()); // lost
        t.Clock.Advance(TimeSpan.FromSeconds(4));
        t.A.Tick();
        Assert.Empty(t.WireA.Drain());
        t.Clock.Advance(TimeSpan.FromMilliseconds(1400));
        t.A.Tick();
        var resent = t.WireA.Drain();
        Assert.Single(resent);
        Assert.Equal(MessageLayout.TypeInitiation, resent[0].Datagram[0]);

        int initiations = 2;
        for (int i = 0; i < 200; i++)
        {
            t.Clock.Advance(TimeSpan.FromSeconds(1));
            t.A.Tick();
            initiations += t.WireA.Drain().Count;
        }
        // 1 first + MaxTimerHandshakes+1 retries (wireguard-go gives up once attempts > MaxTimerHandshakes).
        Assert.Equal(ProtocolTimes.MaxTimerHandshakes + 2, initiations);
    }

    [Fact]
    public void Keepalive_is_sent_when_data_was_received_and_nothing_sent()
    {
        var t = new TwoDevices();
        TwoDevices.Encapsulate(t.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 1));
        t.Pump();
        t.Clock.Advance(TimeSpan.FromSeconds(11));
        t.B.Tick();
        var sent = t.WireB.Drain();
        Assert.Single(sent);
        Assert.Equal(MessageLayout.TransportMinSize, sent[0].Datagram.Length);
    }

    [Fact]
    public void Under_load_an_initiation_without_mac2_gets_a_cookie_reply_and_the_retry_succeeds()
    {
        var t = new TwoDevices();
        t.B.UnderLoad = true;
        TwoDevices.Encapsulate(t.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 1));
        t.Pump(maxRounds: 2);
        Assert.Equal(1, t.B.Counters.CookieReplies);
        Assert.False(t.PeerBOnA.HasCurrentKeypair);
        t.Clock.Advance(TimeSpan.FromSeconds(6));
        t.A.Tick(); // retransmit, now with mac2
        t.Pump();
        Assert.True(t.PeerBOnA.HasCurrentKeypair);
        Assert.Equal(1, t.B.Counters.CookieReplies);
    }
}
