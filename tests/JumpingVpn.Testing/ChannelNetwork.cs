using System.Net;
using JumpingVpn.Tunnel.Device;

namespace JumpingVpn.Testing;

/// <summary>
/// An in-memory IPv4 network of <see cref="ChannelTransport"/>s (docs/data-plane.md §3.6): a datagram sent
/// to an address reaches the transport bound there, marked with the sender's current address. A test can
/// <see cref="Cut"/> an address (its traffic is dropped both ways, as when a link dies) and
/// <see cref="Move"/> a transport to a new address (as a NAT rebinding or a roaming client looks to its peer).
/// Delivery is immediate and in order; nothing is lost unless the test says so.
/// </summary>
public sealed class ChannelNetwork
{
    private readonly Dictionary<IPEndPoint, ChannelTransport> _bound = [];
    private readonly HashSet<IPAddress> _cut = [];
    private long _delivered;
    private long _dropped;

    /// <summary>The one monitor of the network: guards every inbox, and is pulsed on each delivery and
    /// close so a <see cref="ChannelTransport.WaitReadable"/> over several transports wakes.</summary>
    internal object Gate { get; } = new();

    public long Delivered => Interlocked.Read(ref _delivered);

    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>A transport bound to <paramref name="address"/>:<paramref name="port"/>.</summary>
    public ChannelTransport Bind(string address, int port) => Bind(new IPEndPoint(IPAddress.Parse(address), port));

    public ChannelTransport Bind(IPEndPoint address)
    {
        ArgumentNullException.ThrowIfNull(address);
        lock (Gate)
        {
            if (_bound.ContainsKey(address))
            {
                throw new InvalidOperationException($"{address} is already bound");
            }
            var transport = new ChannelTransport(this, address);
            _bound[address] = transport;
            return transport;
        }
    }

    /// <summary>Drops every datagram from or to <paramref name="address"/> (any port) until <see cref="Restore"/>.</summary>
    public void Cut(IPAddress address)
    {
        lock (Gate)
        {
            _cut.Add(address);
        }
    }

    public void Restore(IPAddress address)
    {
        lock (Gate)
        {
            _cut.Remove(address);
        }
    }

    /// <summary>From now on <paramref name="transport"/> sends from, and receives at, <paramref name="address"/>;
    /// datagrams to its old address are dropped.</summary>
    public void Move(ChannelTransport transport, IPEndPoint address)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(address);
        lock (Gate)
        {
            if (_bound.TryGetValue(address, out ChannelTransport? other) && !ReferenceEquals(other, transport))
            {
                throw new InvalidOperationException($"{address} is already bound");
            }
            _bound.Remove(transport.Address);
            transport.Rebind(address);
            _bound[address] = transport;
        }
    }

    /// <summary>Queues a copy of <paramref name="datagram"/> at the transport bound to <paramref name="to"/>;
    /// false (and counted as dropped) when the address is cut, unbound or closed.</summary>
    internal bool Deliver(ChannelTransport from, ReadOnlySpan<byte> datagram, SocketAddress to)
    {
        IPEndPoint destination = EndpointCodec.ToIPEndPoint(to);
        lock (Gate)
        {
            if (_cut.Contains(from.Address.Address) || _cut.Contains(destination.Address)
                || !_bound.TryGetValue(destination, out ChannelTransport? target) || !target.Enqueue(datagram, from.SocketAddress))
            {
                Interlocked.Increment(ref _dropped);
                return false;
            }
            Interlocked.Increment(ref _delivered);
            Monitor.PulseAll(Gate);
            return true;
        }
    }
}
