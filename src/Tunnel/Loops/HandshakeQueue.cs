using System.Net;
using System.Net.Sockets;
using JumpingVpn.Tunnel.Noise;

namespace JumpingVpn.Tunnel.Loops;

/// <summary>
/// Bounded queue between the receive loop and the handshake loop (wireguard-go QueueHandshakeSize).
/// A flood cannot grow it without bound, and a long queue switches the device into "under load" so it
/// demands cookies (whitepaper §5.3). It is a ring of preallocated slots: the receive loop copies a
/// message and its source into a slot, or drops it when the ring is full, and never allocates, so a
/// handshake flood costs the packet path no garbage (no per-packet allocation under abuse).
/// </summary>
internal sealed class HandshakeQueue : IDisposable
{
    public const int Capacity = 1024;
    private readonly byte[][] _messages = new byte[Capacity][];
    private readonly int[] _lengths = new int[Capacity];
    private readonly SocketAddress[] _sources = new SocketAddress[Capacity];
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _available = new(0, Capacity);
    private int _head;
    private int _count;
    private long _dropped;

    public HandshakeQueue()
    {
        for (int i = 0; i < Capacity; i++)
        {
            _messages[i] = new byte[MessageLayout.InitiationSize];
            _sources[i] = new SocketAddress(AddressFamily.InterNetworkV6);
        }
    }

    public int Count => Volatile.Read(ref _count);

    /// <summary>Messages refused because the ring was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>wireguard-go: under load when the queue is at least 1/8 full.</summary>
    public bool UnderLoad => Count >= Capacity / 8;

    public bool TryEnqueue(ReadOnlySpan<byte> message, SocketAddress from)
    {
        if (message.Length > MessageLayout.InitiationSize || from.Size > _sources[0].Buffer.Length)
        {
            return false;
        }
        lock (_lock)
        {
            if (_count == Capacity)
            {
                _dropped++;
                return false;
            }
            int slot = (_head + _count) % Capacity;
            message.CopyTo(_messages[slot]);
            _lengths[slot] = message.Length;
            CopyAddress(from, _sources[slot]);
            _count++;
        }
        _available.Release();
        return true;
    }

    /// <summary>
    /// Waits for the next message and copies it into the caller's buffers (the handshake thread owns
    /// them), so the slot is free again before the message is processed.
    /// </summary>
    public bool TryTake(byte[] message, SocketAddress from, out int length, CancellationToken cancel)
    {
        length = 0;
        try
        {
            _available.Wait(cancel);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        lock (_lock)
        {
            int slot = _head;
            length = _lengths[slot];
            _messages[slot].AsSpan(0, length).CopyTo(message);
            CopyAddress(_sources[slot], from);
            _head = (_head + 1) % Capacity;
            _count--;
        }
        return true;
    }

    private static void CopyAddress(SocketAddress source, SocketAddress destination)
    {
        source.Buffer.Span[..source.Size].CopyTo(destination.Buffer.Span);
        destination.Size = source.Size;
    }

    public void Dispose() => _available.Dispose();
}
