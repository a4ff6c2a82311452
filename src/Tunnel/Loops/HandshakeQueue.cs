using System.Collections.Concurrent;
using System.Net;
using JumpingVpn.Tunnel.Device;

namespace JumpingVpn.Tunnel.Loops;

/// <summary>
/// Bounded queue between the receive loop and the handshake loop (wireguard-go QueueHandshakeSize).
/// Handshake work is cold and may allocate; what matters is that a flood cannot grow it without bound
/// and that a long queue switches the device into "under load" so it demands cookies (whitepaper §5.3).
/// </summary>
internal sealed class HandshakeQueue : IDisposable
{
    public const int Capacity = 1024;
    private readonly BlockingCollection<(byte[] Message, SocketAddress From)> _queue = new(Capacity);

    public int Count => _queue.Count;

    /// <summary>wireguard-go: under load when the queue is at least 1/8 full.</summary>
    public bool UnderLoad => _queue.Count >= Capacity / 8;

    public bool TryEnqueue(ReadOnlySpan<byte> message, SocketAddress from) =>
        _queue.TryAdd((message.ToArray(), EndpointCodec.Copy(from)));

    public bool TryTake(out (byte[] Message, SocketAddress From) item, CancellationToken cancel)
    {
        try
        {
            return _queue.TryTake(out item, Timeout.Infinite, cancel);
        }
        catch (OperationCanceledException)
        {
            item = default;
            return false;
        }
    }

    public void Dispose() => _queue.Dispose();
}
