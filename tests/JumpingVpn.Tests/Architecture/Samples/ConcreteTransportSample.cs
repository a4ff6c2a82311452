using System.Net;
using JumpingVpn.Platform.Buffers;
using JumpingVpn.Platform.Udp;

namespace JumpingVpn.Tests.Architecture.Samples;

/// <summary>Deliberately names the concrete UDP socket in each way the data-plane seam rule looks for (a
/// field, a parameter, a return type, a call, a poll) so its self-test can see each reported; nothing runs
/// this code.</summary>
internal sealed class ConcreteTransportSample(UdpTransport udp)
{
    private readonly UdpTransport[] _sockets = [udp];

    public UdpTransport Primary => _sockets[0];

    public bool Send(PacketBatch batch, SocketAddress to) => udp.SendSegments(batch, 0, batch.Count, to);

    public int Wait(Span<bool> readable) => UdpPoller.WaitReadable([udp], readable, 0);
}

/// <summary>Takes the interface, as the loops do: the rule must report nothing.</summary>
internal sealed class SeamTransportSample(IDatagramTransport transport)
{
    public bool Send(PacketBatch batch, SocketAddress to) => transport.SendSegments(batch, 0, batch.Count, to);
}
