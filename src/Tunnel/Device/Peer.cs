using System.Net;
using JumpingVpn.Tunnel.Cookies;
using JumpingVpn.Tunnel.Keys;
using JumpingVpn.Tunnel.Noise;
using JumpingVpn.Tunnel.Timers;

namespace JumpingVpn.Tunnel.Device;

/// <summary>
/// A WireGuard peer: its static key, handshake, cookie state, keypairs, endpoint, timers, counters and
/// the packets staged while a handshake is in flight. Everything that changes the session runs under
/// <see cref="HandshakeLock"/> (cold path); the packet threads read the current keypair and endpoint
/// with volatile reads and bump counters atomically. Locks are per peer, never shared across peers.
/// </summary>
public sealed class Peer
{
    private SocketAddress? _endpoint;
    private long _rxBytes;
    private long _txBytes;
    private long _lastHandshakeUnixNs;
    private long _lastAuthenticatedRxNs = long.MinValue;
    private long _replayDrops;
    private readonly Queue<(byte[] Buffer, int Length)> _staged = new();

    internal Peer(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> presharedKey, Func<long> jitter)
    {
        PublicKey = publicKey.ToArray();
        Handshake = new Handshake(publicKey, presharedKey);
        Cookies = new CookieGenerator(publicKey);
        Timers = new PeerTimers(jitter);
    }

    private IDatagramSender? _via;

    public byte[] PublicKey { get; }
    internal Handshake Handshake { get; }
    internal CookieGenerator Cookies { get; }
    internal KeypairSet Keypairs { get; } = new();
    public PeerTimers Timers { get; }
    internal Lock HandshakeLock { get; } = new();

    /// <summary>
    /// Plain WireGuard peers roam: the endpoint follows the source of the latest authenticated packet
    /// (whitepaper §2.1). The Jumping session layer turns this off for its peers (docs/design.md §2.2).
    /// </summary>
    public bool AllowRoaming { get; set; } = true;

    /// <summary>
    /// Where this peer's datagrams leave: a path socket chosen by the client's path manager (docs/design.md §4),
    /// or null for the interface's primary socket. Changes only after the server acknowledged the move.
    /// </summary>
    public IDatagramSender? Via
    {
        get => Volatile.Read(ref _via);
        set => Volatile.Write(ref _via, value);
    }

    public SocketAddress? Endpoint
    {
        get => Volatile.Read(ref _endpoint);
        set => Volatile.Write(ref _endpoint, value);
    }

    /// <summary>
    /// Where handshake initiations go instead of <see cref="Endpoint"/> while set (make-before-break, docs/cluster.md
    /// "Drain"): data keeps going to <see cref="Endpoint"/> under the current keypair until the handshake with this
    /// address completes; then it becomes the endpoint and this is cleared, in the same step that installs the new keypair.
    /// </summary>
    public SocketAddress? HandshakeEndpoint
    {
        get => Volatile.Read(ref _handshakeEndpoint);
        set => Volatile.Write(ref _handshakeEndpoint, value);
    }

    private SocketAddress? _handshakeEndpoint;

    public long RxBytes => Interlocked.Read(ref _rxBytes);
    public long TxBytes => Interlocked.Read(ref _txBytes);

    /// <summary>Wall-clock time of the last completed handshake, Unix ns; 0 = never (as UAPI reports it).</summary>
    public long LastHandshakeUnixNs => Interlocked.Read(ref _lastHandshakeUnixNs);

    public bool HasCurrentKeypair => Keypairs.Current is not null;

    /// <summary>Monotonic time of the last authenticated packet from this peer (long.MinValue = never).</summary>
    public long LastAuthenticatedRxNs => Interlocked.Read(ref _lastAuthenticatedRxNs);

    /// <summary>
    /// Monotonic time of the last IP packet (not a keepalive or Jumping control frame) sealed for or
    /// delivered from this peer (long.MinValue = never): what tells the session layer a session is idle.
    /// </summary>
    public long LastDataTxNs => Interlocked.Read(ref _lastDataTxNs);

    /// <inheritdoc cref="LastDataTxNs"/>
    public long LastDataRxNs => Interlocked.Read(ref _lastDataRxNs);

    private long _lastDataTxNs = long.MinValue;
    private long _lastDataRxNs = long.MinValue;

    internal void MarkDataTx(long now) => Volatile.Write(ref _lastDataTxNs, now);

    internal void MarkDataRx(long now) => Volatile.Write(ref _lastDataRxNs, now);

    /// <summary>Authenticated packets dropped as replays (duplicate or too old a counter).</summary>
    public long ReplayDrops => Interlocked.Read(ref _replayDrops);

    /// <summary>
    /// Set when the peer is removed from the device (UAPI `remove=true`), so the session layer ends its
    /// session (OPERATOR_TERMINATED) instead of keeping a record for a peer that no longer exists.
    /// </summary>
    public bool IsRemoved => Volatile.Read(ref _removed);

    private bool _removed;

    internal void MarkRemoved() => Volatile.Write(ref _removed, true);

    /// <summary>Session-layer state attached to this peer (owned by src/Control; opaque to the core).</summary>
    public object? SessionTag { get; set; }

    internal void AddRx(int bytes) => Interlocked.Add(ref _rxBytes, bytes);
    internal void CountReplay() => Interlocked.Increment(ref _replayDrops);
    internal void MarkAuthenticatedRx(long now) => Volatile.Write(ref _lastAuthenticatedRxNs, now);
    internal void AddTx(int bytes) => Interlocked.Add(ref _txBytes, bytes);
    internal void SetLastHandshake(long unixNs) => Interlocked.Exchange(ref _lastHandshakeUnixNs, unixNs);

    /// <summary>Queues a packet (already laid out with header room) until a session exists; bounded like WireGuard.</summary>
    internal void Stage(ReadOnlySpan<byte> bufferWithHeaderRoom)
    {
        byte[] copy = System.Buffers.ArrayPool<byte>.Shared.Rent(bufferWithHeaderRoom.Length + 16 + 16);
        bufferWithHeaderRoom.CopyTo(copy);
        lock (HandshakeLock)
        {
            if (_staged.Count >= ProtocolTimes.MaxStagedPackets)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(_staged.Dequeue().Buffer);
            }
            _staged.Enqueue((copy, bufferWithHeaderRoom.Length));
        }
    }

    /// <summary>Takes all staged packets (caller returns the buffers to the pool).</summary>
    internal List<(byte[] Buffer, int Length)> TakeStaged()
    {
        lock (HandshakeLock)
        {
            var list = new List<(byte[], int)>(_staged);
            _staged.Clear();
            return list;
        }
    }

    internal void DropStaged()
    {
        foreach ((byte[] buffer, _) in TakeStaged())
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
