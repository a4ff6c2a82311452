using System.Net;
using JumpingVpn.Tunnel.Device;

namespace JumpingVpn.Tests.Tunnel.Device;

/// <summary>The core's hooks for the Jumping session layer (docs/design.md §2.2).</summary>
public class SessionHookTests
{
    private sealed class RecordingObserver : IDeviceObserver
    {
        public List<(Peer Peer, bool WeInitiated)> Installed { get; } = [];
        public List<string> Unbound { get; } = [];
        public List<byte[]> Frames { get; } = [];

        public void OnSessionKeysInstalled(Peer peer, bool weInitiated) => Installed.Add((peer, weInitiated));

        public void OnUnboundSource(Peer peer, SocketAddress from, ReadOnlySpan<byte> plaintext) => Unbound.Add(EndpointCodec.ToIPEndPoint(from).ToString());

        public void OnControlFrame(Peer peer, ReadOnlySpan<byte> frame, SocketAddress from, IDatagramSender? arrivedVia) => Frames.Add(frame.ToArray());
    }

    [Fact]
    public void Both_sides_are_told_when_session_keys_are_installed()
    {
        var t = new TwoDevices();
        var a = new RecordingObserver();
        var b = new RecordingObserver();
        t.A.Observer = a;
        t.B.Observer = b;
        TwoDevices.Encapsulate(t.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 1));
        t.Pump();
        Assert.Equal((t.PeerBOnA, true), Assert.Single(a.Installed));
        Assert.Equal((t.PeerAOnB, false), Assert.Single(b.Installed));
    }

    [Fact]
    public void Control_frames_travel_encrypted_and_come_out_as_control_results()
    {
        var t = new TwoDevices();
        TwoDevices.Encapsulate(t.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 1));
        t.Pump();
        byte[] frame = [0x00, 0x07, 0x02, 0x00, 0xAA, 0xBB];
        Assert.True(t.A.SendControl(t.PeerBOnA, frame));
        (byte[] datagram, _) = Assert.Single(t.WireA.Drain());
        Assert.DoesNotContain((byte)0xAA, datagram.AsSpan(16).ToArray().Take(6));
        ReceiveResult r = t.B.Decapsulate(datagram, t.AddrA, out int off, out int len, out Peer? peer);
        Assert.Equal(ReceiveResult.Control, r);
        Assert.Same(t.PeerAOnB, peer);
        Assert.Equal(frame, datagram.AsSpan(off, len)[..frame.Length].ToArray());
        Assert.All(datagram.AsSpan(off + frame.Length, len - frame.Length).ToArray(), x => Assert.Equal(0, x));
    }

    [Fact]
    public void Without_roaming_an_unbound_source_is_delivered_reported_and_not_bound()
    {
        var t = new TwoDevices();
        var observer = new RecordingObserver();
        t.B.Observer = observer;
        TwoDevices.Encapsulate(t.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 1));
        t.Pump();
        t.PeerAOnB.AllowRoaming = false;
        var natted = EndpointCodec.ToSocketAddress(new IPEndPoint(IPAddress.Parse("198.51.100.9"), 40000), false);
        (_, byte[]? d) = TwoDevices.Encapsulate(t.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 10));
        var delivered = new List<byte[]>();
        TwoDevices.Deliver(t.B, d!, natted, delivered);
        Assert.Single(delivered);
        Assert.Equal("198.51.100.9:40000", Assert.Single(observer.Unbound));
        Assert.Equal("192.0.2.1:1001", EndpointCodec.ToIPEndPoint(t.PeerAOnB.Endpoint!).ToString());
        Assert.True(t.PeerAOnB.LastAuthenticatedRxNs > 0);
    }

    [Fact]
    public void Control_frames_must_start_with_zero_and_need_a_session()
    {
        var t = new TwoDevices();
        Assert.False(t.A.SendControl(t.PeerBOnA, [0x00, 1, 0, 0])); // no session yet
        TwoDevices.Encapsulate(t.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 1));
        t.Pump();
        Assert.False(t.A.SendControl(t.PeerBOnA, [0x45, 1, 0, 0])); // an IP packet is not a control frame
    }
}
