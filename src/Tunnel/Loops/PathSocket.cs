using System.Net;
using JumpingVpn.Platform.Udp;
using JumpingVpn.Tunnel.Device;

namespace JumpingVpn.Tunnel.Loops;

/// <summary>
/// One client path (docs/design.md §4): a UDP socket bound to one interface (an
/// <see cref="IDatagramTransport"/>, so tests can run the loops over an in-memory network). The receive
/// loop stamps the time of every authenticated packet that arrives on it, which is the path manager's
/// per-path liveness signal (a reply on a candidate must not make a dead active path look alive).
/// </summary>
public sealed class PathSocket : IDatagramSender, IDisposable
{
    private long _lastAuthenticatedRxNs = long.MinValue;

    public PathSocket(int id, string interfaceName, string localAddress, IDatagramTransport transport)
    {
        Id = id;
        InterfaceName = interfaceName;
        LocalAddress = localAddress;
        Transport = transport;
    }

    public int Id { get; }

    public string InterfaceName { get; }

    public string LocalAddress { get; }

    public IDatagramTransport Transport { get; }

    /// <summary>Monotonic ns of the last authenticated packet received here; long.MinValue = never.</summary>
    public long LastAuthenticatedRxNs => Interlocked.Read(ref _lastAuthenticatedRxNs);

    internal void MarkAuthenticatedRx(long nowNs) => Interlocked.Exchange(ref _lastAuthenticatedRxNs, nowNs);

    public bool Send(ReadOnlySpan<byte> datagram, SocketAddress destination) => Transport.Send(datagram, destination);

    public void Dispose() => Transport.Dispose();

    public override string ToString() => $"{InterfaceName} ({LocalAddress}, port {Transport.LocalPort})";
}

/// <summary>
/// The client's current path sockets, read lock-free by the receive loop (copy-on-write array; the
/// set changes only when interfaces come and go).
/// </summary>
public sealed class PathSocketSet
{
    private readonly Lock _lock = new();
    private PathSocket[] _items = [];

    public PathSocket[] Snapshot => Volatile.Read(ref _items);

    public void Add(PathSocket socket)
    {
        lock (_lock)
        {
            Volatile.Write(ref _items, [.. _items, socket]);
        }
    }

    public bool Remove(PathSocket socket)
    {
        lock (_lock)
        {
            int i = Array.IndexOf(_items, socket);
            if (i < 0)
            {
                return false;
            }
            var next = new List<PathSocket>(_items);
            next.RemoveAt(i);
            Volatile.Write(ref _items, next.ToArray());
            return true;
        }
    }
}
