using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using JumpingVpn.Tunnel.Cookies;
using JumpingVpn.Tunnel.Noise;

namespace JumpingVpn.Tunnel.RateLimiting;

/// <summary>What <see cref="HandshakeAdmission.Admit"/> decided for one handshake message.</summary>
public enum AdmissionVerdict
{
    Admitted,
    /// <summary>The source's bucket is empty: this source sends faster than any legitimate one.</summary>
    SourceLimited,
    /// <summary>The interface-wide bucket is empty: more handshake traffic than the node should spend on.</summary>
    GlobalLimited,
    /// <summary>An initiation or response without a valid mac1: the sender does not know our public key.</summary>
    Mac1Invalid,
}

/// <summary>
/// Admission of unauthenticated handshake messages into the handshake queue. It runs on the receive thread before the
/// message is copied into the queue, so a flood costs one table lookup per datagram and no cryptography.
/// The cookie mechanism (whitepaper §5.3) decides what the handshake thread does with what is admitted;
/// this stage decides how much reaches it and that no single source can crowd the others out.
/// </summary>
/// <remarks>
/// mac1 before anything else (<see cref="Admit(ReadOnlySpan{byte}, ReadOnlySpan{byte}, long, Mac1Verifier?)"/>):
/// an initiation or response that does not prove knowledge of our public key is counted and dropped
/// without touching any bucket, so a keyless flood, however many sources it spoofs, cannot spend the
/// budget genuine initiations need. Cookie replies carry no mac1; they meet the per-source bucket and a
/// global bucket of their own, so a flood of them cannot starve initiations either.
/// Per source first, then global: a source over its own limit is refused without touching the global
/// bucket, so one flooding source cannot spend the others' share. A source is an IPv4 address or an
/// IPv6 /64 (as <see cref="HandshakeRateLimiter"/>), keyed through <see cref="HashCode"/>, which is seeded
/// randomly per process, so an attacker cannot choose addresses that collide. The table is bounded:
/// when it is full a new source is not tracked and meets only the global bucket (refusing it would let
/// a spoofed-source flood lock out every new client). Entries idle long enough for their bucket to be
/// full again are swept, at most once per second; dropping such an entry changes nothing.
/// Sans-I/O: time comes in as ticks; no allocation once the table has reached its size; the buckets are
/// single-threaded (one receive thread owns them, or several serialise <see cref="AdmitBuckets"/>, docs/threads.md
/// "Receive threads"), the mac1 stage may run on several threads at once; counters are read by other threads.
/// </remarks>
public sealed class HandshakeAdmission
{
    private const long SweepIntervalTicks = TimeSpan.TicksPerSecond;

    private readonly record struct SourceKey(ulong Bits, bool IsV6)
    {
        public override int GetHashCode() => HashCode.Combine(Bits, IsV6);
    }

    private readonly AdmissionLimits _limits;
    private readonly Dictionary<SourceKey, TokenBucket> _sources;
    private readonly long _idleTicks;
    private TokenBucket _global;
    private TokenBucket _cookieReplies;
    private long _lastSweepTicks;
    private long _sourceLimited;
    private long _globalLimited;
    private long _untracked;
    private long _mac1Invalid;

    public HandshakeAdmission(AdmissionLimits limits, long nowTicks)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limits.MaxSources, 1);
        _limits = limits;
        _global = new TokenBucket(limits.GlobalPerSecond, limits.GlobalBurst, nowTicks);
        _cookieReplies = new TokenBucket(limits.GlobalPerSecond, limits.GlobalBurst, nowTicks);
        _ = new TokenBucket(limits.SourcePerSecond, limits.SourceBurst, nowTicks); // validates the per-source limits now
        // Preallocated: Add after Remove reuses freed entries, so the receive thread never resizes it.
        _sources = new Dictionary<SourceKey, TokenBucket>(limits.MaxSources);
        // An empty source bucket is full again after burst/rate; later it is the same as a fresh one.
        _idleTicks = Math.Max(SweepIntervalTicks, (long)Math.Ceiling(limits.SourceBurst / limits.SourcePerSecond * TimeSpan.TicksPerSecond));
        _lastSweepTicks = nowTicks;
    }

    public AdmissionLimits Limits => _limits;

    /// <summary>Sources currently tracked (receive thread only; tests).</summary>
    public int TrackedSources => _sources.Count;

    /// <summary>Messages refused because their source exceeded its bucket.</summary>
    public long SourceLimited => Volatile.Read(ref _sourceLimited);

    /// <summary>Messages refused because the interface-wide bucket was empty.</summary>
    public long GlobalLimited => Volatile.Read(ref _globalLimited);

    /// <summary>Messages from sources that found the table full (checked against the global bucket only).</summary>
    public long Untracked => Volatile.Read(ref _untracked);

    /// <summary>Initiations and responses dropped because their mac1 was invalid (no bucket charged).</summary>
    public long Mac1Invalid => Volatile.Read(ref _mac1Invalid);

    /// <summary>
    /// Decides whether one handshake message (<paramref name="message"/>, already size-checked for its
    /// type) from <paramref name="sourceAddress"/> may enter the handshake queue: initiations and
    /// responses need a valid mac1 (<paramref name="mac1"/>; null when the interface has no key yet, so
    /// nothing passes) before the source and global buckets are charged; cookie replies go to the
    /// source bucket and the cookie-reply bucket.
    /// </summary>
    public AdmissionVerdict Admit(ReadOnlySpan<byte> message, ReadOnlySpan<byte> sourceAddress, long nowTicks, Mac1Verifier? mac1) =>
        PassesMac1(message, mac1) ? AdmitBuckets(message, sourceAddress, nowTicks) : AdmissionVerdict.Mac1Invalid;

    /// <summary>
    /// The mac1 stage alone: false (and counted) for an initiation or response without a valid mac1, true
    /// for a valid one and for a cookie reply (which has none). Safe to call from several receive threads at
    /// once, each with its own <paramref name="mac1"/> verifier (docs/threads.md "Receive threads"), so the
    /// costly check runs outside whatever serialises <see cref="AdmitBuckets"/>.
    /// </summary>
    public bool PassesMac1(ReadOnlySpan<byte> message, Mac1Verifier? mac1)
    {
        if (message.Length > 0 && message[0] == MessageLayout.TypeCookieReply)
        {
            return true;
        }
        if (mac1 is null || !mac1.Check(message))
        {
            Interlocked.Increment(ref _mac1Invalid);
            return false;
        }
        return true;
    }

    /// <summary>
    /// The bucket stage of a message that passed <see cref="PassesMac1"/>: cookie replies meet the source
    /// bucket and the cookie-reply bucket, initiations and responses the source bucket and the global one.
    /// Single-threaded: the caller serialises calls.
    /// </summary>
    public AdmissionVerdict AdmitBuckets(ReadOnlySpan<byte> message, ReadOnlySpan<byte> sourceAddress, long nowTicks) =>
        message.Length > 0 && message[0] == MessageLayout.TypeCookieReply
            ? Admit(sourceAddress, nowTicks, ref _cookieReplies)
            : Admit(sourceAddress, nowTicks, ref _global);

    /// <summary>
    /// The bucket stage alone, for a message that already passed mac1: may one handshake message from
    /// <paramref name="sourceAddress"/> (4 or 16 raw bytes, as <c>EndpointCodec.WriteAddressBytes</c>
    /// without the port) enter the handshake queue at <paramref name="nowTicks"/>? Any other length is
    /// treated as an untracked source.
    /// </summary>
    public AdmissionVerdict Admit(ReadOnlySpan<byte> sourceAddress, long nowTicks) => Admit(sourceAddress, nowTicks, ref _global);

    private AdmissionVerdict Admit(ReadOnlySpan<byte> sourceAddress, long nowTicks, ref TokenBucket global)
    {
        if (nowTicks - _lastSweepTicks >= SweepIntervalTicks)
        {
            Sweep(nowTicks);
        }
        if (!TryKey(sourceAddress, out SourceKey key))
        {
            Volatile.Write(ref _untracked, _untracked + 1);
        }
        else
        {
            ref TokenBucket bucket = ref CollectionsMarshal.GetValueRefOrNullRef(_sources, key);
            if (!Unsafe.IsNullRef(ref bucket))
            {
                if (!bucket.TryTake(nowTicks))
                {
                    Volatile.Write(ref _sourceLimited, _sourceLimited + 1);
                    return AdmissionVerdict.SourceLimited;
                }
            }
            else if (_sources.Count < _limits.MaxSources)
            {
                var fresh = new TokenBucket(_limits.SourcePerSecond, _limits.SourceBurst, nowTicks);
                fresh.TryTake(nowTicks); // a new bucket is full, so this always succeeds
                _sources.Add(key, fresh);
            }
            else
            {
                Volatile.Write(ref _untracked, _untracked + 1);
            }
        }
        if (!global.TryTake(nowTicks))
        {
            Volatile.Write(ref _globalLimited, _globalLimited + 1);
            return AdmissionVerdict.GlobalLimited;
        }
        return AdmissionVerdict.Admitted;
    }

    private static bool TryKey(ReadOnlySpan<byte> address, out SourceKey key)
    {
        if (address.Length == 4)
        {
            key = new SourceKey(BinaryPrimitives.ReadUInt32BigEndian(address), IsV6: false);
            return true;
        }
        if (address.Length == 16)
        {
            key = new SourceKey(BinaryPrimitives.ReadUInt64BigEndian(address), IsV6: true); // the /64
            return true;
        }
        key = default;
        return false;
    }

    /// <summary>Removes sources whose bucket has refilled completely; the next message recreates an identical one.</summary>
    private void Sweep(long nowTicks)
    {
        _lastSweepTicks = nowTicks;
        foreach (KeyValuePair<SourceKey, TokenBucket> entry in _sources)
        {
            if (nowTicks - entry.Value.LastTicks >= _idleTicks)
            {
                _sources.Remove(entry.Key); // allowed while enumerating (.NET Core 3.0+), and allocates nothing
            }
        }
    }
}
