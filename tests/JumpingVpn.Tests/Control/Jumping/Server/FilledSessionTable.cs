using System.Net;
using JumpingVpn.Control.Audit;
using JumpingVpn.Control.Jumping;
using JumpingVpn.Control.Jumping.Server;
using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Platform.Net;
using JumpingVpn.Testing;
using JumpingVpn.Tunnel.Device;
using Microsoft.Extensions.Logging.Abstractions;

namespace JumpingVpn.Tests.Control.Jumping.Server;

/// <summary>
/// A real <see cref="ServerSessionTable"/> on a real device, filled with <c>count</c> attached sessions the way the
/// server role makes them (a slot per peer, HANDSHAKE_CONFIRMED from an observed endpoint), each peer routed one
/// inner address: session i has inner 10.(i/65536).(i/256%256).(i%256)+offset /32 and endpoint 198.51.100.x:(10000+i%50000).
/// Keys and ids come from a seeded generator, so runs are repeatable.
/// </summary>
internal sealed class FilledSessionTable
{
    public FilledSessionTable(int count, int seed = 7)
    {
        Device = new WireGuardDevice(new DeviceOptions { Time = Clock }, new WireSender());
        Context = new NodeContext(Device, SessionPolicy.Default, new AuditTail("listing"), NullLogger.Instance, Clock);
        Table = new ServerSessionTable(Context);
        Source = new SessionListingSource(Device, Table);
        var random = new Random(seed);
        Span<byte> key = stackalloc byte[32];
        Span<byte> id = stackalloc byte[16];
        for (int i = 0; i < count; i++)
        {
            random.NextBytes(key);
            random.NextBytes(id);
            Peer peer = Device.AddPeer(key, new byte[32]);
            Device.AddAllowedIp(peer, InnerOf(i));
            var slot = new SessionSlot(SessionId.Read(id), SessionPolicy.Default, 0, null);
            slot.Apply(SessionEvent.HandshakeConfirmed(TransportAddress.From(EndpointOf(i))), 0, null);
            var session = new ServerSession(peer, slot);
            Table.Put(peer, session);
            Sessions.Add(session);
        }
    }

    public ManualTimeProvider Clock { get; } = new();
    public WireGuardDevice Device { get; }
    public NodeContext Context { get; }
    public ServerSessionTable Table { get; }
    public SessionListingSource Source { get; }

    /// <summary>In creation order (index i is session i).</summary>
    public List<ServerSession> Sessions { get; } = [];

    public static IpPrefix InnerOf(int i) =>
        new(new IPAddress([10, (byte)(i >> 16), (byte)(i >> 8), (byte)i]), 32);

    public static IPEndPoint EndpointOf(int i) =>
        new(new IPAddress([198, 51, 100, (byte)(1 + i % 250)]), 10000 + i % 50000);
}
