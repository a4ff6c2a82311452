namespace JumpingVpn.Tunnel.RateLimiting;

/// <summary>
/// The buckets of <see cref="HandshakeAdmission"/>: handshake messages per second and burst, per source
/// (IPv4 address or IPv6 /64) and for the whole interface, and how many sources are tracked.
/// </summary>
/// <remarks>
/// Why the defaults (docs/scaling.md, "Handshake admission"):
/// <list type="bullet">
/// <item>Global 8192/s, burst 1024. One node on 2 cores completes 1.1k-2.3k handshakes/s, and the
/// handshake thread answers about 18k cookie replies/s. 8192/s leaves 3.5x headroom for legitimate
/// handshakes (a failover or rekey wave) while the handshake thread, if all of it is a flood, spends
/// less than half its time on cookie replies. The burst equals the queue's capacity, so one burst
/// cannot overflow the queue.</item>
/// <item>Per source 128/s, burst 256. A source is one address, which may be a CGNAT address or the
/// bench's 64 loopback addresses: at 100k sessions those carry ~1.5k sessions and ~35
/// initiations/s each while the sessions are set up (rekeys: ~13/s), so 128/s is 3.6x that. The burst
/// is a quarter of the queue, so no single source can fill it, and lets a few hundred clients behind
/// one NAT reconnect at once (e.g. after a node failover).</item>
/// <item>Cookie replies, which carry no mac1, get a global bucket of their own with the same rate and
/// burst, so a flood of them cannot spend the initiations' budget.</item>
/// <item>16384 sources. The table is preallocated up to this size so it never grows on the receive
/// thread past warm-up; at ~60 bytes an entry (key, bucket, hash links) that is about 1 MB.</item>
/// </list>
/// </remarks>
public readonly record struct AdmissionLimits(double GlobalPerSecond, int GlobalBurst, double SourcePerSecond, int SourceBurst, int MaxSources)
{
    public static AdmissionLimits Default => new(GlobalPerSecond: 8192, GlobalBurst: 1024, SourcePerSecond: 128, SourceBurst: 256, MaxSources: 16384);
}
