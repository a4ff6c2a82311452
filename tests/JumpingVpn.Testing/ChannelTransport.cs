using System.Net;
using System.Net.Sockets;
using JumpingVpn.Platform.Buffers;
using JumpingVpn.Platform.Udp;
using JumpingVpn.Tunnel.Device;

namespace JumpingVpn.Testing;

/// <summary>
/// One "UDP socket" of a <see cref="ChannelNetwork"/> (docs/data-plane.md §3.6): an IPv4 address and an inbox.
/// It is both what the packet loops receive and send on (<see cref="IDatagramTransport"/>) and what the
/// protocol core sends its own datagrams through (<see cref="IDatagramSender"/>). No offloads: every
/// received message is one datagram (segment size 0). Waiting on several transports uses the network's
/// monitor, which every delivery and close pulses.
/// </summary>
public sealed class ChannelTransport : IDatagramTransport, IDatagramSender
{
    private readonly ChannelNetwork _network;
    private readonly Queue<(byte[] Datagram, SocketAddress From)> _inbox = new(); // under _network.Gate
    private bool _closed; // under _network.Gate
    private Exception? _nextReceiveFault;
    private volatile Thread? _receiver;
    private long _sent;

    internal ChannelTransport(ChannelNetwork network, IPEndPoint address)
    {
        _network = network;
        Rebind(address);
    }

    /// <summary>Where this transport sends from and receives at (changed by <see cref="ChannelNetwork.Move"/>).</summary>
    public IPEndPoint Address { get; private set; } = null!;

    /// <summary><see cref="Address"/> as the loops and the protocol core compare it.</summary>
    public SocketAddress SocketAddress { get; private set; } = null!;

    public int LocalPort => Address.Port;

    public bool GsoEnabled => false;

    public bool GroEnabled => false;

    public bool IsClosed
    {
        get
        {
            lock (_network.Gate)
            {
                return _closed;
            }
        }
    }

    /// <summary>The thread that last received or waited here (a receive loop), null before that.</summary>
    public Thread? Receiver => _receiver;

    /// <summary>Datagrams this transport handed to the network (delivered or not).</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Datagrams waiting in the inbox.</summary>
    public int Pending
    {
        get
        {
            lock (_network.Gate)
            {
                return _inbox.Count;
            }
        }
    }

    /// <summary>The next <see cref="ReceiveBatch"/> throws <paramref name="fault"/> instead of receiving,
    /// as a failing socket call would (the inbox is left as it is).</summary>
    public void FailNextReceive(Exception fault) => Volatile.Write(ref _nextReceiveFault, fault);

    public SocketAddress CreateAddressBuffer() => new(AddressFamily.InterNetwork);

    public int ReceiveBatch(PacketBatch batch, SocketAddress[] sources, int[] segmentSizes)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(segmentSizes);
        _receiver = Thread.CurrentThread;
        if (Interlocked.Exchange(ref _nextReceiveFault, null) is Exception fault)
        {
            throw fault;
        }
        int max = Math.Min(batch.Slots, Math.Min(sources.Length, segmentSizes.Length));
        lock (_network.Gate)
        {
            while (_inbox.Count == 0 && !_closed)
            {
                Monitor.Wait(_network.Gate);
            }
            if (_closed)
            {
                batch.Count = 0;
                return -1;
            }
            int n = 0;
            while (n < max && _inbox.TryDequeue(out (byte[] Datagram, SocketAddress From) item))
            {
                if (item.Datagram.Length > batch.SlotCapacity)
                {
                    batch.SetPacket(n, 0, 0); // truncated, as recvmmsg reports a datagram too large for its slot
                }
                else
                {
                    item.Datagram.CopyTo(batch.Data(n));
                    batch.SetPacket(n, 0, item.Datagram.Length);
                }
                item.From.Buffer.Span[..item.From.Size].CopyTo(sources[n].Buffer.Span);
                sources[n].Size = item.From.Size;
                segmentSizes[n] = 0;
                n++;
            }
            batch.Count = n;
            return n;
        }
    }

    public bool SendSegments(PacketBatch batch, int start, int count, SocketAddress to)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(to);
        bool ok = true;
        for (int i = start; i < start + count; i++)
        {
            ok &= Send(batch.Packet(i), to);
        }
        return ok;
    }

    public bool Send(ReadOnlySpan<byte> datagram, SocketAddress to)
    {
        ArgumentNullException.ThrowIfNull(to);
        if (IsClosed)
        {
            return false;
        }
        Interlocked.Increment(ref _sent);
        return _network.Deliver(this, datagram, to);
    }

    public int WaitReadable(ReadOnlySpan<IDatagramTransport> transports, Span<bool> readable, int timeoutMs)
    {
        int n = Math.Min(transports.Length, IDatagramTransport.MaxWaitSet);
        if (readable.Length < n)
        {
            throw new ArgumentException("readable must have one flag per transport", nameof(readable));
        }
        _receiver = Thread.CurrentThread;
        Span<bool> closedBefore = stackalloc bool[IDatagramTransport.MaxWaitSet];
        long deadline = Environment.TickCount64 + timeoutMs;
        lock (_network.Gate)
        {
            for (int i = 0; i < n; i++)
            {
                if (transports[i] is not ChannelTransport t || !ReferenceEquals(t._network, _network))
                {
                    throw new ArgumentException("a wait covers transports of one in-memory network", nameof(transports));
                }
                closedBefore[i] = t._closed;
            }
            while (true)
            {
                int ready = 0;
                for (int i = 0; i < n; i++)
                {
                    var t = (ChannelTransport)transports[i];
                    readable[i] = !closedBefore[i] && (t._inbox.Count > 0 || t._closed);
                    ready += readable[i] ? 1 : 0;
                }
                long left = deadline - Environment.TickCount64;
                if (ready > 0 || left <= 0)
                {
                    return ready;
                }
                Monitor.Wait(_network.Gate, (int)left);
            }
        }
    }

    public void Close()
    {
        lock (_network.Gate)
        {
            _closed = true;
            _inbox.Clear();
            Monitor.PulseAll(_network.Gate);
        }
    }

    public void Dispose() => Close();

    public override string ToString() => $"channel {Address}";

    internal void Rebind(IPEndPoint address)
    {
        Address = address;
        SocketAddress = EndpointCodec.ToSocketAddress(address, dualMode: false);
    }

    /// <summary>Called by the network under its gate; false once closed (the datagram is dropped).</summary>
    internal bool Enqueue(ReadOnlySpan<byte> datagram, SocketAddress from)
    {
        if (_closed)
        {
            return false;
        }
        _inbox.Enqueue((datagram.ToArray(), from));
        return true;
    }
}
