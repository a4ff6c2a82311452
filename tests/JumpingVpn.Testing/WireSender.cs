using System.Net;
using JumpingVpn.Tunnel.Device;

namespace JumpingVpn.Testing;

/// <summary>An in-memory "UDP socket": records what the core sends so a test can deliver it by hand.</summary>
public sealed class WireSender : IDatagramSender
{
    public List<(byte[] Datagram, SocketAddress To)> Sent { get; } = [];

    public bool Send(ReadOnlySpan<byte> datagram, SocketAddress destination)
    {
        lock (Sent)
        {
            Sent.Add((datagram.ToArray(), destination));
        }
        return true;
    }

    public List<(byte[] Datagram, SocketAddress To)> Drain()
    {
        lock (Sent)
        {
            var copy = new List<(byte[], SocketAddress)>(Sent);
            Sent.Clear();
            return copy;
        }
    }
}
