namespace JumpingVpn.Tunnel.RateLimiting;

/// <summary>
/// A global cap on the Diffie-Hellman work the handshake thread does per second. Every message that
/// passed mac1 is charged, whether it then cost DH or only a cookie reply: the budget measures demand,
/// so a flood that keeps coming keeps the device under load instead of getting a burst of DH every
/// time the bucket refills. When a message finds the budget empty, the device is "under load" for the
/// next second (wireguard-go's UnderLoadAfterTime): initiations without a valid mac2 get a cookie
/// reply (whitepaper §5.3) instead of DH, while proven sources (valid mac2) are still served, limited per source by
/// <see cref="HandshakeRateLimiter"/>. So legitimate clients are asked for a cookie rather than dropped,
/// and the handshake thread cannot take the data path's CPU with DH for a flood of valid-mac1
/// initiations that arrives too slowly to fill the handshake queue.
/// </summary>
/// <remarks>
/// Why 4096/s, burst 512: an initiation costs the responder 2-5 X25519 operations (~50 µs each here),
/// and one node on 2 cores completes 1.1k-2.3k handshakes/s (docs/scaling.md). 4096/s is 1.8x the
/// highest legitimate rate measured, so the bench's setup and rekey waves never trip it, and it stays
/// below the handshake thread's DH capacity for unknown-key initiations, which is what a valid-mac1
/// flood costs. The burst of 512 is what the 128 in-flight handshakes of a reconnect wave need, with
/// room to spare. Sans-I/O (time in ticks), single-threaded (the handshake thread owns it).
/// </remarks>
public sealed class HandshakeWorkBudget
{
    public const double DefaultPerSecond = 4096;
    public const int DefaultBurst = 512;
    private const long UnderLoadTicks = TimeSpan.TicksPerSecond; // wireguard-go UnderLoadAfterTime

    private TokenBucket _bucket;
    private long _underLoadUntil;
    private bool _tripped;
    private long _trips;

    public HandshakeWorkBudget(long nowTicks, double perSecond = DefaultPerSecond, int burst = DefaultBurst)
    {
        _bucket = new TokenBucket(perSecond, burst, nowTicks);
    }

    /// <summary>Times the budget ran out (each starts at least one second of "under load").</summary>
    public long Trips => Volatile.Read(ref _trips);

    /// <summary>True for one second after the budget last ran out.</summary>
    public bool UnderLoad(long nowTicks) => _tripped && nowTicks < _underLoadUntil;

    /// <summary>Counts one message that needs DH unless under load; an empty budget starts (or extends) a second under load.</summary>
    public void Charge(long nowTicks)
    {
        if (_bucket.TryTake(nowTicks))
        {
            return;
        }
        if (!UnderLoad(nowTicks))
        {
            Volatile.Write(ref _trips, _trips + 1);
        }
        _tripped = true;
        _underLoadUntil = nowTicks + UnderLoadTicks;
    }
}
