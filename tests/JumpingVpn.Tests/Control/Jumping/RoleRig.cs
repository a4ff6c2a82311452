using System.Net;
using System.Text;
using JumpingVpn.Control.Audit;
using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Jumping;
using JumpingVpn.Control.Jumping.Server;
using JumpingVpn.Control.Policy;
using JumpingVpn.Tests.Tunnel.Device;
using JumpingVpn.Tunnel.Device;
using Microsoft.Extensions.Logging.Abstractions;

namespace JumpingVpn.Tests.Control.Jumping;

/// <summary>
/// One session-layer object under test on two in-memory WireGuard cores with a manual clock: A is the
/// client side (192.0.2.1:1001), B the server side (192.0.2.2:1002). Each side's <see cref="IDeviceObserver"/>
/// is a <see cref="FrameTap"/>: it records what arrives and forwards it to the object under test, so a test
/// can play the other end by hand with real, encrypted frames.
/// </summary>
internal sealed class RoleRig
{
    public RoleRig(SessionPolicy? policy = null)
    {
        Policy = policy ?? SessionPolicy.Default;
        ClientContext = new NodeContext(T.A, Policy, new AuditTail("client"), NullLogger.Instance, T.Clock);
        ServerContext = new NodeContext(T.B, Policy, new AuditTail("server"), NullLogger.Instance, T.Clock);
        T.A.Observer = AtClient;
        T.B.Observer = AtServer;
    }

    public TwoDevices T { get; } = new();

    public SessionPolicy Policy { get; }

    public NodeContext ClientContext { get; }

    public NodeContext ServerContext { get; }

    /// <summary>What the client device hands to the session layer.</summary>
    public FrameTap AtClient { get; } = new();

    /// <summary>What the server device hands to the session layer.</summary>
    public FrameTap AtServer { get; } = new();

    public long NowMs => ClientContext.NowMs();

    public static SocketAddress Address(string ip, int port) =>
        EndpointCodec.ToSocketAddress(new IPEndPoint(IPAddress.Parse(ip), port), dualMode: false);

    /// <summary>Completes a WireGuard handshake (A initiates) and drops the data packet that started it.</summary>
    public void Handshake()
    {
        TwoDevices.Encapsulate(T.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 1));
        Pump();
        Assert.True(T.PeerBOnA.HasCurrentKeypair);
        Assert.True(T.PeerAOnB.HasCurrentKeypair);
    }

    /// <summary>Moves A's datagrams to B (as if from <paramref name="fromClient"/>) and B's to A until quiet.</summary>
    public void Pump(SocketAddress? fromClient = null, bool dropFromClient = false, int rounds = 10)
    {
        for (int i = 0; i < rounds; i++)
        {
            List<(byte[] Datagram, SocketAddress To)> a = T.WireA.Drain();
            List<(byte[] Datagram, SocketAddress To)> b = T.WireB.Drain();
            if (a.Count == 0 && b.Count == 0)
            {
                return;
            }
            if (!dropFromClient)
            {
                foreach ((byte[] d, _) in a)
                {
                    Deliver(T.B, d, fromClient ?? T.AddrA);
                }
            }
            foreach ((byte[] d, _) in b)
            {
                Deliver(T.A, d, T.AddrB);
            }
        }
    }

    /// <summary>The receive loop's part: handshakes to the core, control frames to the observer.</summary>
    public static void Deliver(WireGuardDevice to, byte[] datagram, SocketAddress from, IDatagramSender? via = null)
    {
        ReceiveResult r = to.Decapsulate(datagram, from, out int off, out int len, out Peer? peer);
        if (r == ReceiveResult.Handshake)
        {
            to.ProcessHandshakeMessage(datagram, from, rateLimitOk: true);
        }
        else if (r == ReceiveResult.Control)
        {
            to.Observer?.OnControlFrame(peer!, datagram.AsSpan(off, len), from, via);
        }
    }

    /// <summary>The server side sends <paramref name="frame"/> to the client as it would (encrypted, via B's wire).</summary>
    public void ServerSends(ReadOnlySpan<byte> frame) => Assert.True(T.B.SendControl(T.PeerAOnB, frame));

    /// <summary>The client side sends <paramref name="frame"/> to the server.</summary>
    public void ClientSends(ReadOnlySpan<byte> frame) => Assert.True(T.A.SendControl(T.PeerBOnA, frame));

    /// <summary>
    /// A server role on the server context whose frames and unbound sources come straight from device B,
    /// as the node's dispatcher would route them.
    /// </summary>
    public ServerRole AttachServerRole(ServerSessionTable table, int randomSeed)
    {
        var role = new ServerRole(ServerContext, table, new DeterministicRandom(randomSeed).Fill);
        AtServer.OnFrame = (peer, frame, from, via) =>
        {
            Assert.True(ControlFrame.TryReadHeader(frame, out ControlFrameType type, out _));
            role.OnFrame(peer, type, frame, from, ServerContext.NowMs());
        };
        AtServer.OnUnbound = (peer, from, plaintext) => role.OnUnboundSource(peer, from, plaintext);
        return role;
    }

    public void Advance(long ms) => T.Clock.Advance(TimeSpan.FromMilliseconds(ms));

    public static string Lines(AuditTail tail)
    {
        var sb = new StringBuilder();
        tail.ReadSince(0, sb);
        return sb.ToString();
    }

    public static string[] LinesOf(AuditTail tail, string eventType) =>
        [.. Lines(tail).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => l.Contains($"\"event_type\":\"{eventType}\"", StringComparison.Ordinal))];
}

/// <summary>A device observer that records every callback and forwards it to the handlers a test sets.</summary>
internal sealed class FrameTap : IDeviceObserver
{
    public List<(ControlFrameType Type, byte[] Frame, SocketAddress From, IDatagramSender? Via)> Frames { get; } = [];

    public int KeysInstalled { get; private set; }

    public Action<Peer>? OnKeys { get; set; }

    public Action<Peer, SocketAddress, byte[]>? OnUnbound { get; set; }

    public Action<Peer, byte[], SocketAddress, IDatagramSender?>? OnFrame { get; set; }

    public void OnSessionKeysInstalled(Peer peer, bool weInitiated)
    {
        KeysInstalled++;
        OnKeys?.Invoke(peer);
    }

    public void OnUnboundSource(Peer peer, SocketAddress from, ReadOnlySpan<byte> plaintext) =>
        OnUnbound?.Invoke(peer, from, plaintext.ToArray());

    public void OnControlFrame(Peer peer, ReadOnlySpan<byte> frame, SocketAddress from, IDatagramSender? arrivedVia)
    {
        Assert.True(ControlFrame.TryReadHeader(frame, out ControlFrameType type, out _));
        byte[] copy = frame.ToArray();
        Frames.Add((type, copy, EndpointCodec.Copy(from), arrivedVia));
        OnFrame?.Invoke(peer, copy, from, arrivedVia);
    }

    public List<byte[]> Of(ControlFrameType type) => [.. Frames.Where(f => f.Type == type).Select(f => f.Frame)];

    public void Clear() => Frames.Clear();
}
