using JumpingVpn.Platform.Buffers;
using JumpingVpn.Platform.Tun;

namespace JumpingVpn.Testing;

/// <summary>
/// An in-memory TUN device (docs/data-plane.md §3.6). The test plays the host's IP stack: packets it
/// <see cref="Inject"/>s are what the loops read from the device, and what the loops write to the device
/// comes out of <see cref="TryTakeWritten"/>. Keeps the <see cref="ITunDevice"/> contract: reads block
/// until a packet is there and return 0 once <see cref="Close"/> was called from any thread.
/// </summary>
public sealed class ChannelTun(string name = "jvtest0") : ITunDevice
{
    private readonly Lock _gate = new();
    private readonly Queue<byte[]> _toRead = new();
    private readonly SemaphoreSlim _readable = new(0);
    private readonly Queue<byte[]> _written = new();
    private readonly SemaphoreSlim _writtenCount = new(0);
    private volatile bool _closed;
    private volatile Thread? _reader;
    private long _packetsRead;

    public string Name => name;

    public bool IsClosed => _closed;

    /// <summary>The thread that last read from the device (the TUN loop), null before the first read.</summary>
    public Thread? Reader => _reader;

    /// <summary>Packets handed to readers so far.</summary>
    public long PacketsRead => Interlocked.Read(ref _packetsRead);

    /// <summary>Injected packets no reader has taken yet.</summary>
    public int PendingReads
    {
        get
        {
            lock (_gate)
            {
                return _toRead.Count;
            }
        }
    }

    /// <summary>Queues one packet for the device's readers, as if the host routed it into the tunnel.</summary>
    public void Inject(ReadOnlySpan<byte> packet)
    {
        lock (_gate)
        {
            _toRead.Enqueue(packet.ToArray());
        }
        _readable.Release();
    }

    /// <summary>The next packet written to the device, waiting up to <paramref name="timeout"/>; null when none came.</summary>
    public byte[]? TryTakeWritten(TimeSpan timeout)
    {
        if (!_writtenCount.Wait(timeout))
        {
            return null;
        }
        lock (_gate)
        {
            return _written.Dequeue();
        }
    }

    public int Read(Span<byte> buffer)
    {
        _reader = Thread.CurrentThread;
        if (!WaitForPacket())
        {
            return 0;
        }
        byte[] packet = TakeOne()!; // the token WaitForPacket took was a packet's, not Close's
        packet.CopyTo(buffer);
        return packet.Length;
    }

    /// <summary>Blocks for the first packet, then takes every queued one that fits the batch.</summary>
    public int ReadBatch(PacketBatch output)
    {
        ArgumentNullException.ThrowIfNull(output);
        _reader = Thread.CurrentThread;
        output.Count = 0;
        if (!WaitForPacket())
        {
            return 0;
        }
        int n = 0;
        while (true)
        {
            if (TakeOne() is not byte[] packet)
            {
                _readable.Release(); // that was Close's wake-up: leave it for the next read
                break;
            }
            packet.CopyTo(output.Data(n));
            output.SetPacket(n, 0, packet.Length);
            n++;
            if (n == output.Slots || !_readable.Wait(0))
            {
                break;
            }
        }
        output.Count = n;
        return n;
    }

    public bool Write(ReadOnlySpan<byte> packet)
    {
        if (_closed)
        {
            return false;
        }
        lock (_gate)
        {
            _written.Enqueue(packet.ToArray());
        }
        _writtenCount.Release();
        return true;
    }

    public void Close()
    {
        if (_closed)
        {
            return;
        }
        _closed = true;
        _readable.Release(); // wakes a blocked reader, which then sees the device closed
    }

    public void Dispose()
    {
        Close();
    }

    /// <summary>False once closed (a queued packet is not read after Close, as with a deleted device).</summary>
    private bool WaitForPacket()
    {
        if (_closed)
        {
            return false;
        }
        _readable.Wait();
        if (_closed)
        {
            _readable.Release(); // pass the wake-up on to any other blocked reader
            return false;
        }
        return true;
    }

    /// <summary>The oldest queued packet, or null when the queue is empty.</summary>
    private byte[]? TakeOne()
    {
        lock (_gate)
        {
            if (!_toRead.TryDequeue(out byte[]? packet))
            {
                return null;
            }
            Interlocked.Increment(ref _packetsRead);
            return packet;
        }
    }
}
