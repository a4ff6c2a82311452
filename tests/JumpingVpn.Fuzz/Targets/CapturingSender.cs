using System.Net;
using JumpingVpn.Tunnel.Device;

namespace JumpingVpn.Fuzz.Targets;

/// <summary>Keeps the datagrams a device sends instead of putting them on a socket.</summary>
internal sealed class CapturingSender : IDatagramSender
{
    public List<byte[]> Sent { get; } = [];

    public bool Send(ReadOnlySpan<byte> datagram, SocketAddress destination)
    {
        Sent.Add(datagram.ToArray());
        return true;
    }
}
