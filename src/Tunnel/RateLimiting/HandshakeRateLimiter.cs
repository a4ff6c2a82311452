using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace JumpingVpn.Tunnel.RateLimiting;

/// <summary>
/// Per-source rate limit for handshake initiations under load, as wireguard-go's ratelimiter and the
/// kernel's ratelimiter.c: 20 initiations per second with a burst of 5 per IPv4 address or IPv6 /64
/// (a /64 is what one host or subscriber typically owns, so an attacker cannot dodge the limit by
/// cycling through its addresses). Applied only to initiations that carry a valid cookie mac2
/// (whitepaper §5.3), i.e. whose source address is proven.
/// </summary>
/// <remarks>
/// Memory is bounded two ways: the table holds at most <c>maxEntries</c> sources (a new source arriving
/// at a full table is refused, as the kernel does), and entries idle for more than one second are swept
/// away - at most once per second, from inside <see cref="Allow"/>. After a second idle a bucket has
/// refilled completely, so dropping it is indistinguishable from keeping it. Thread-safe (one lock).
/// </remarks>
public sealed class HandshakeRateLimiter
{
    public const int PacketsPerSecond = 20;
    public const int PacketsBurstable = 5;
    public const int DefaultMaxEntries = 65536;
    private const long SweepIntervalTicks = TimeSpan.TicksPerSecond;

    // Key: the IPv4 address or the IPv6 /64. HashCode is seeded randomly per process, so an attacker
    // choosing source addresses cannot aim for one hash bucket.
    private readonly record struct SourceKey(ulong Bits, bool IsV6)
    {
        public override int GetHashCode() => HashCode.Combine(Bits, IsV6);
    }

    private readonly Lock _lock = new();
    private readonly Dictionary<SourceKey, TokenBucket> _table = new();
    private readonly int _maxEntries;
    private long _lastSweepTicks;
    private bool _swept;

    public HandshakeRateLimiter(int maxEntries = DefaultMaxEntries)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEntries, 1);
        _maxEntries = maxEntries;
    }

    /// <summary>Number of sources currently tracked.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _table.Count;
            }
        }
    }

    /// <summary>
    /// True when one more initiation from <paramref name="sourceAddress"/> (4 or 16 raw bytes) may be
    /// processed at <paramref name="nowTicks"/>. Any other address length is refused.
    /// </summary>
    public bool Allow(ReadOnlySpan<byte> sourceAddress, long nowTicks)
    {
        SourceKey key;
        if (sourceAddress.Length == 4)
        {
            key = new SourceKey(BinaryPrimitives.ReadUInt32BigEndian(sourceAddress), IsV6: false);
        }
        else if (sourceAddress.Length == 16)
        {
            key = new SourceKey(BinaryPrimitives.ReadUInt64BigEndian(sourceAddress), IsV6: true); // the /64
        }
        else
        {
            return false;
        }

        lock (_lock)
        {
            SweepIfDue(nowTicks);
            ref TokenBucket bucket = ref CollectionsMarshal.GetValueRefOrNullRef(_table, key);
            if (!System.Runtime.CompilerServices.Unsafe.IsNullRef(ref bucket))
            {
                return bucket.TryTake(nowTicks);
            }
            if (_table.Count >= _maxEntries)
            {
                return false;
            }
            var fresh = new TokenBucket(PacketsPerSecond, PacketsBurstable, nowTicks);
            bool allowed = fresh.TryTake(nowTicks);
            _table.Add(key, fresh);
            return allowed;
        }
    }

    private void SweepIfDue(long nowTicks)
    {
        if (_swept && nowTicks - _lastSweepTicks < SweepIntervalTicks)
        {
            return;
        }
        _swept = true;
        _lastSweepTicks = nowTicks;
        foreach (KeyValuePair<SourceKey, TokenBucket> entry in _table)
        {
            if (nowTicks - entry.Value.LastTicks > SweepIntervalTicks)
            {
                _table.Remove(entry.Key); // removal while enumerating is allowed for Dictionary (.NET Core 3.0+)
            }
        }
    }
}
