namespace JumpingVpn.Tunnel.Device;

/// <summary>
/// Why packets were dropped, counted instead of thrown (hot-path rule: expected failures are counters).
/// Incremented atomically; read for status and metrics.
/// </summary>
public sealed class DeviceCounters
{
    internal long RxUnknownIndex;
    internal long RxBadMac;
    internal long RxReplay;
    internal long RxExpiredKeypair;
    internal long RxSourceNotAllowed;
    internal long RxMalformed;
    internal long TxNoRoute;
    internal long TxNoEndpoint;
    internal long TxStaged;
    internal long HandshakeInvalid;
    internal long HandshakeRateLimited;
    internal long CookieRepliesSent;
    internal long HandshakesCompleted;

    public long UnknownIndex => Interlocked.Read(ref RxUnknownIndex);
    public long BadMac => Interlocked.Read(ref RxBadMac);
    public long Replay => Interlocked.Read(ref RxReplay);
    public long ExpiredKeypair => Interlocked.Read(ref RxExpiredKeypair);
    public long SourceNotAllowed => Interlocked.Read(ref RxSourceNotAllowed);
    public long Malformed => Interlocked.Read(ref RxMalformed);
    public long NoRoute => Interlocked.Read(ref TxNoRoute);
    public long NoEndpoint => Interlocked.Read(ref TxNoEndpoint);
    public long Staged => Interlocked.Read(ref TxStaged);
    public long InvalidHandshakes => Interlocked.Read(ref HandshakeInvalid);
    public long RateLimitedHandshakes => Interlocked.Read(ref HandshakeRateLimited);
    public long CookieReplies => Interlocked.Read(ref CookieRepliesSent);
    public long Handshakes => Interlocked.Read(ref HandshakesCompleted);
}
