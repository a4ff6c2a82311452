using System.Collections.Concurrent;
using System.Net;
using JumpingVpn.Platform.Net;
using JumpingVpn.Tunnel.Cookies;
using JumpingVpn.Tunnel.Keys;
using JumpingVpn.Tunnel.Noise;
using JumpingVpn.Tunnel.Routing;
using JumpingVpn.Tunnel.Timers;

namespace JumpingVpn.Tunnel.Device;

/// <summary>
/// The WireGuard protocol core of one interface: identity, peers, cryptokey routing, index table and
/// cookie checker. Packet flow, one file per direction as in wireguard-go:
/// <list type="number">
/// <item>WireGuardDevice.Send.cs: TUN packet -> allowed-IPs lookup -> nonce -> pad -> seal in place.</item>
/// <item>WireGuardDevice.Receive.cs: datagram -> index lookup -> open in place -> replay check ->
/// source filter -> TUN.</item>
/// <item>WireGuardDevice.Handshake.cs: initiations, responses, cookie replies (cold path, may allocate).</item>
/// <item>WireGuardDevice.Timers.cs: what the per-peer timers asked for.</item>
/// </list>
/// No sockets or TUN here: the loops in Tunnel/Loops own I/O; handshake-side sends go through
/// <see cref="IDatagramSender"/>. Time and randomness come from <see cref="DeviceOptions"/>.
/// </summary>
public sealed partial class WireGuardDevice
{
    private readonly DeviceOptions _options;
    private readonly IDatagramSender _sender;
    private readonly ConcurrentDictionary<string, Peer> _peers = new(StringComparer.Ordinal);
    private readonly IndexTable _indices = new();
    private readonly Lock _configLock = new();
    private StaticIdentity? _identity;
    private CookieChecker? _cookieChecker;

    public WireGuardDevice(DeviceOptions options, IDatagramSender sender)
    {
        _options = options;
        _sender = sender;
    }

    public DeviceCounters Counters { get; } = new();

    /// <summary>The session layer's hooks; null for a plain WireGuard interface.</summary>
    public IDeviceObserver? Observer { get; set; }

    public AllowedIps<Peer> AllowedIps { get; } = new();

    public StaticIdentity? Identity => Volatile.Read(ref _identity);

    /// <summary>Entries in the receiver index table (handshakes in flight plus live keypairs).</summary>
    internal int IndexCount => _indices.Count;

    public int Mtu => _options.Mtu;

    /// <summary>Set by the handshake loop: the handshake queue is long, demand cookies (whitepaper §5.3).</summary>
    public bool UnderLoad { get; set; }

    /// <summary>Monotonic now in nanoseconds from the injected TimeProvider.</summary>
    public long NowNs()
    {
        long ts = _options.Time.GetTimestamp();
        long freq = _options.Time.TimestampFrequency;
        return freq == 1_000_000_000 ? ts : (long)(ts * (1_000_000_000.0 / freq));
    }

    private long UnixNowNs() => (_options.Time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;

    /// <summary>
    /// Sets (or replaces) the interface private key; existing sessions are dropped as the identity
    /// changed, and the replaced private key is zeroed once no handshake is using it.
    /// </summary>
    public void SetPrivateKey(ReadOnlySpan<byte> privateKey)
    {
        lock (_configLock)
        {
            var identity = new StaticIdentity(privateKey);
            StaticIdentity? replaced = Interlocked.Exchange(ref _identity, identity);
            _cookieChecker = new CookieChecker(identity.PublicKey);
            foreach (Peer peer in _peers.Values)
            {
                ExpireSessions(peer);
            }
            replaced?.Retire();
        }
    }

    /// <summary>A copy of the private key (for UAPI get), or null; never a key being zeroed.</summary>
    public byte[]? CopyPrivateKey()
    {
        StaticIdentity? identity = Identity;
        if (identity is null || !identity.TryEnter())
        {
            return null;
        }
        byte[] copy = (byte[])identity.PrivateKey.Clone();
        identity.Exit();
        return copy;
    }

    public IReadOnlyCollection<Peer> Peers => (IReadOnlyCollection<Peer>)_peers.Values;

    private int _peerCount;

    /// <summary>Number of peers, without the dictionary's all-locks Count.</summary>
    public int PeerCount => Volatile.Read(ref _peerCount);

    /// <summary>
    /// How often the timer loop should run <see cref="Tick"/>: every 20 ms (as before) up to 10k peers,
    /// then in proportion, at most 250 ms. One Tick visits every peer (about 50 ns each), so at 100k
    /// peers a 20 ms period alone cost a quarter of a core (measured); WireGuard's timers are
    /// seconds long (5 s rekey timeout, 10 s keepalive, 333 ms jitter), so firing up to 200 ms late
    /// at that size is harmless. A timing wheel would make it O(due timers); docs/scaling.md.
    /// </summary>
    public int TickPeriodMs => Math.Clamp(PeerCount / 500, 20, 250);

    public Peer? FindPeer(ReadOnlySpan<byte> publicKey) =>
        _peers.TryGetValue(Convert.ToBase64String(publicKey), out Peer? p) ? p : null;

    /// <summary>Adds a peer, or returns the existing one with that public key.</summary>
    public Peer AddPeer(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> presharedKey)
    {
        lock (_configLock)
        {
            string id = Convert.ToBase64String(publicKey);
            if (_peers.TryGetValue(id, out Peer? existing))
            {
                return existing;
            }
            var peer = new Peer(publicKey, presharedKey, Jitter);
            _peers[id] = peer;
            Interlocked.Increment(ref _peerCount);
            return peer;
        }
    }

    public static void SetPresharedKey(Peer peer, ReadOnlySpan<byte> psk)
    {
        lock (peer.HandshakeLock)
        {
            peer.Handshake.SetPresharedKey(psk);
        }
    }

    public static byte[] GetPresharedKey(Peer peer)
    {
        lock (peer.HandshakeLock)
        {
            return (byte[])peer.Handshake.PresharedKey.Clone();
        }
    }

    public bool RemovePeer(ReadOnlySpan<byte> publicKey)
    {
        lock (_configLock)
        {
            if (!_peers.TryRemove(Convert.ToBase64String(publicKey), out Peer? peer))
            {
                return false;
            }
            Interlocked.Decrement(ref _peerCount);
            AllowedIps.RemoveAll(peer);
            ExpireSessions(peer);
            peer.Timers.StopAll();
            peer.MarkRemoved();
            return true;
        }
    }

    public void RemoveAllPeers()
    {
        foreach (Peer peer in _peers.Values)
        {
            RemovePeer(peer.PublicKey);
        }
    }

    public void AddAllowedIp(Peer peer, IpPrefix prefix) => AllowedIps.Insert(prefix, peer);

    /// <summary>Sets the endpoint from configuration (an explicit endpoint always wins over roaming).</summary>
    public static void SetEndpoint(Peer peer, IPEndPoint endpoint, bool dualMode) =>
        peer.Endpoint = EndpointCodec.ToSocketAddress(endpoint, dualMode);

    /// <summary>Drops all keypairs and the in-flight handshake of a peer (zero key material).</summary>
    private void ExpireSessions(Peer peer)
    {
        var retired = new List<Keypair>(3);
        lock (peer.HandshakeLock)
        {
            peer.Keypairs.Clear(retired);
            if (peer.Handshake.State != HandshakeState.Zeroed)
            {
                _indices.Remove(peer.Handshake.LocalIndex);
            }
            peer.Handshake.Clear();
        }
        RemoveRetired(retired);
        peer.DropStaged();
    }

    /// <summary>Jitter for handshake retransmissions: uniform in [0, 1/3 s) (timers.c).</summary>
    private long Jitter()
    {
        Span<byte> b = stackalloc byte[8];
        _options.Random(b);
        return (long)(BitConverter.ToUInt64(b) % (ulong)ProtocolTimes.MaxJitter);
    }
}
