using System.Buffers.Binary;
using System.Net;
using JumpingVpn.Tunnel.Cookies;
using JumpingVpn.Tunnel.Keys;
using JumpingVpn.Tunnel.Noise;
using JumpingVpn.Tunnel.RateLimiting;
using JumpingVpn.Tunnel.Time;
using JumpingVpn.Tunnel.Timers;

namespace JumpingVpn.Tunnel.Device;

public sealed partial class WireGuardDevice
{
    /// <summary>
    /// Starts a handshake with <paramref name="peer"/> (wireguard-go SendHandshakeInitiation): at most one
    /// initiation per RekeyTimeout, mac1/mac2 stamped, retransmission timer armed.
    /// </summary>
    public void SendHandshakeInitiation(Peer peer, bool isRetry)
    {
        StaticIdentity? identity = Identity;
        SocketAddress? to = peer.HandshakeEndpoint ?? peer.Endpoint;
        if (identity is null || to is null || !identity.TryEnter())
        {
            return;
        }
        try
        {
            SendHandshakeInitiation(peer, isRetry, identity, to);
        }
        finally
        {
            identity.Exit();
        }
    }

    private void SendHandshakeInitiation(Peer peer, bool isRetry, StaticIdentity identity, SocketAddress to)
    {
        Span<byte> message = stackalloc byte[MessageLayout.InitiationSize];
        lock (peer.HandshakeLock)
        {
            long now = NowNs();
            if (!isRetry)
            {
                peer.Timers.ResetAttempts();
            }
            if (peer.Timers.InitiationRecentlySent(now))
            {
                return;
            }
            if (peer.Handshake.State != HandshakeState.Zeroed)
            {
                _indices.Remove(peer.Handshake.LocalIndex);
            }
            uint index = _indices.Allocate(peer, _options.Random);
            Span<byte> timestamp = stackalloc byte[12];
            Tai64N.FromUnixNanoseconds(UnixNowNs()).WriteTo(timestamp);
            if (!peer.Handshake.CreateInitiation(identity, index, timestamp, _options.Random, message))
            {
                _indices.Remove(index);
                return;
            }
            peer.Cookies.AddMacs(message, now);
            peer.Timers.HandshakeInitiated(now);
        }
        peer.Timers.AnyAuthenticatedPacketTraversal(NowNs());
        peer.Timers.AnyAuthenticatedPacketSent();
        SenderFor(peer).Send(message, to);
    }

    /// <summary>
    /// Processes one handshake message (cold path; runs on the handshake thread). Order follows the
    /// whitepaper §5.3: mac1 first (cheap, proves the sender knows our public key), then under load the
    /// cookie (mac2) or a cookie reply, then per-source rate limiting, and only then any DH work.
    /// </summary>
    /// <returns>True when the message passed mac1: an initiation or response that costs DH work unless
    /// the device is under load. The caller budgets this demand (<c>HandshakeWorkBudget</c>).</returns>
    public bool ProcessHandshakeMessage(ReadOnlySpan<byte> message, SocketAddress from, bool rateLimitOk) =>
        ProcessHandshakeMessage(message, from, rateLimitOk, null);

    /// <summary>
    /// As above, with <paramref name="rateLimiter"/> charged only for messages that reach the per-source
    /// check: under load and with a valid mac2 (a proven source address), as wireguard-go's RoutineHandshake.
    /// Charging it for anything earlier would let unproven or keyless traffic drain the buckets of genuine
    /// clients behind the same address (docs/scaling.md, "Handshake admission").
    /// </summary>
    public bool ProcessHandshakeMessage(ReadOnlySpan<byte> message, SocketAddress from, HandshakeRateLimiter rateLimiter) =>
        ProcessHandshakeMessage(message, from, true, rateLimiter);

    private bool ProcessHandshakeMessage(ReadOnlySpan<byte> message, SocketAddress from, bool rateLimitOk, HandshakeRateLimiter? rateLimiter)
    {
        CookieChecker? checker = Volatile.Read(ref _cookieChecker);
        StaticIdentity? identity = Identity;
        if (checker is null || identity is null || !identity.TryEnter())
        {
            return false;
        }
        try
        {
            return ProcessHandshakeMessage(message, from, rateLimitOk, rateLimiter, checker, identity);
        }
        finally
        {
            identity.Exit();
        }
    }

    private bool ProcessHandshakeMessage(ReadOnlySpan<byte> message, SocketAddress from, bool rateLimitOk,
        HandshakeRateLimiter? rateLimiter, CookieChecker checker, StaticIdentity identity)
    {
        long now = NowNs();
        byte type = message[0];
        if (type == MessageLayout.TypeCookieReply)
        {
            ConsumeCookieReply(message, now);
            return false;
        }
        if (!checker.CheckMac1(message))
        {
            Interlocked.Increment(ref Counters.HandshakeInvalid);
            return false;
        }
        if (UnderLoad)
        {
            Span<byte> source = stackalloc byte[18];
            int n = EndpointCodec.WriteAddressBytes(from, source, includePort: true);
            if (!checker.CheckMac2(message, source[..n], now))
            {
                uint senderIndex = BinaryPrimitives.ReadUInt32LittleEndian(message[4..]);
                Span<byte> reply = stackalloc byte[MessageLayout.CookieReplySize];
                checker.CreateReply(message, senderIndex, source[..n], now, _options.Random, reply);
                _sender.Send(reply, from);
                Interlocked.Increment(ref Counters.CookieRepliesSent);
                return true;
            }
            if (rateLimiter is not null)
            {
                int a = EndpointCodec.WriteAddressBytes(from, source, includePort: false);
                rateLimitOk = rateLimiter.Allow(source[..a], now / 100); // the limiter counts TimeSpan ticks
            }
            if (!rateLimitOk)
            {
                Interlocked.Increment(ref Counters.HandshakeRateLimited);
                return true;
            }
        }
        if (type == MessageLayout.TypeInitiation)
        {
            ConsumeInitiation(identity, message, from, now);
            return true;
        }
        if (type == MessageLayout.TypeResponse)
        {
            ConsumeResponse(identity, message, from, now);
            return true;
        }
        return false;
    }

    private void ConsumeInitiation(StaticIdentity identity, ReadOnlySpan<byte> message, SocketAddress from, long now)
    {
        ConsumedInitiation? init = Handshake.ReadInitiation(identity, message);
        if (init is null)
        {
            Interlocked.Increment(ref Counters.HandshakeInvalid);
            return;
        }
        try
        {
            ConsumeInitiation(init, from, now);
        }
        finally
        {
            // Unknown peer, replay or accepted: the decrypted chaining state and ephemeral are not
            // needed any more either way (Handshake.AcceptInitiation copied what it keeps).
            init.Clear();
            InitiationDiscarded?.Invoke(init);
        }
    }

    /// <summary>Test hook: sees every consumed initiation after its secrets were cleared.</summary>
    internal Action<ConsumedInitiation>? InitiationDiscarded { get; set; }

    private void ConsumeInitiation(ConsumedInitiation init, SocketAddress from, long now)
    {
        Peer? peer = FindPeer(init.InitiatorStatic);
        if (peer is null)
        {
            Interlocked.Increment(ref Counters.HandshakeInvalid);
            return;
        }
        Span<byte> response = stackalloc byte[MessageLayout.ResponseSize];
        var retired = new List<Keypair>(3);
        lock (peer.HandshakeLock)
        {
            // Our own initiation in flight (both sides initiated at once) is superseded by answering
            // theirs: its index must go, or it stays in the table for good.
            uint superseded = peer.Handshake.State != HandshakeState.Zeroed ? peer.Handshake.LocalIndex : 0;
            bool hadHandshake = peer.Handshake.State != HandshakeState.Zeroed;
            if (!peer.Handshake.AcceptInitiation(init, now, ProtocolTimes.HandshakeInitiationRate))
            {
                Interlocked.Increment(ref Counters.HandshakeInvalid);
                return;
            }
            if (hadHandshake)
            {
                _indices.Remove(superseded);
            }
            uint index = _indices.Allocate(peer, _options.Random);
            SessionKeys? keys = peer.Handshake.CreateResponse(index, _options.Random, response);
            if (keys is null)
            {
                _indices.Remove(index);
                Interlocked.Increment(ref Counters.HandshakeInvalid);
                return;
            }
            peer.Cookies.AddMacs(response, now);
            InstallSession(peer, keys, now, retired);
        }
        RemoveRetired(retired);
        // The handshake's source is the peer's endpoint from now on (whitepaper §2.1 roaming), unless the
        // session layer pinned it.
        if (peer.AllowRoaming || peer.Endpoint is null)
        {
            peer.Endpoint = EndpointCodec.Copy(from);
        }
        peer.Timers.AnyAuthenticatedPacketTraversal(now);
        peer.Timers.AnyAuthenticatedPacketReceived();
        peer.Timers.AnyAuthenticatedPacketSent();
        SenderFor(peer).Send(response, from);
        Observer?.OnSessionKeysInstalled(peer, weInitiated: false);
    }

    private void ConsumeResponse(StaticIdentity identity, ReadOnlySpan<byte> message, SocketAddress from, long now)
    {
        uint receiver = BinaryPrimitives.ReadUInt32LittleEndian(message[MessageLayout.RespReceiver..]);
        if (!_indices.TryGet(receiver, out IndexEntry? entry) || entry!.Keypair is not null)
        {
            Interlocked.Increment(ref Counters.HandshakeInvalid);
            return;
        }
        Peer peer = entry.Peer;
        var retired = new List<Keypair>(3);
        lock (peer.HandshakeLock)
        {
            SessionKeys? keys = peer.Handshake.ConsumeResponse(identity, message);
            if (keys is null)
            {
                Interlocked.Increment(ref Counters.HandshakeInvalid);
                return;
            }
            InstallSession(peer, keys, now, retired);
            peer.Timers.HandshakeComplete();
            if (peer.HandshakeEndpoint is { } moved)
            {
                // Make-before-break: the new keypair belongs to the address the initiation went to.
                peer.Endpoint = moved;
                peer.HandshakeEndpoint = null;
            }
        }
        RemoveRetired(retired);
        if (peer.AllowRoaming || peer.Endpoint is null)
        {
            peer.Endpoint = EndpointCodec.Copy(from);
        }
        peer.Timers.AnyAuthenticatedPacketTraversal(now);
        peer.Timers.AnyAuthenticatedPacketReceived();
        FlushStaged(peer);
        Observer?.OnSessionKeysInstalled(peer, weInitiated: true);
    }

    /// <summary>BeginSymmetricSession: new keypair into the set, index bound, timers told (caller holds the peer lock).</summary>
    private void InstallSession(Peer peer, SessionKeys keys, long now, List<Keypair> retired)
    {
        var keypair = new Keypair(keys.SendKey, keys.ReceiveKey, keys.IsInitiator, keys.LocalIndex, keys.RemoteIndex, now);
        keys.Clear();
        _indices.SetKeypair(keypair.LocalIndex, keypair);
        peer.Keypairs.Install(keypair, retired);
        peer.Timers.SessionDerived(now);
        peer.SetLastHandshake(UnixNowNs());
        Interlocked.Increment(ref Counters.HandshakesCompleted);
    }

    /// <summary>
    /// Unbinds retired keypairs from the index table, then retires them: their keys are zeroed as soon
    /// as no packet thread is sealing or opening with them (<see cref="Keypair.TryEnter"/>).
    /// </summary>
    private void RemoveRetired(List<Keypair> retired)
    {
        foreach (Keypair k in retired)
        {
            _indices.Remove(k.LocalIndex);
            k.Retire();
        }
    }

    private void ConsumeCookieReply(ReadOnlySpan<byte> message, long now)
    {
        uint receiver = BinaryPrimitives.ReadUInt32LittleEndian(message[MessageLayout.CookieReceiver..]);
        if (!_indices.TryGet(receiver, out IndexEntry? entry))
        {
            Interlocked.Increment(ref Counters.HandshakeInvalid);
            return;
        }
        lock (entry!.Peer.HandshakeLock)
        {
            if (!entry.Peer.Cookies.ConsumeReply(message, now))
            {
                Interlocked.Increment(ref Counters.HandshakeInvalid);
            }
        }
    }
}
