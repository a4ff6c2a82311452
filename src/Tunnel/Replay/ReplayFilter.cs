namespace JumpingVpn.Tunnel.Replay;

/// <summary>
/// Sliding-window anti-replay filter for the 64-bit counters of transport data messages
/// (WireGuard paper §5.4.6; algorithm of RFC 6479 §2, "bitmap as a ring of blocks").
/// </summary>
/// <remarks>
/// The window is a ring of <see cref="Blocks"/> 64-bit blocks. When a counter beyond the highest one seen
/// arrives, the blocks between the old and the new top are zeroed in whole-block steps, so advancing
/// costs at most one pass over the ring and no bit shifting (RFC 6479 §2). One block is kept "redundant"
/// (it is the block being recycled), hence the usable window is <c>Blocks*64 - 64</c> counters, like
/// the Linux kernel's COUNTER_WINDOW_SIZE = COUNTER_BITS_TOTAL - BITS_PER_LONG (drivers/net/wireguard/
/// receive.c, counter_validate). The protocol requires at least 2048 (WireGuard paper §5.4.6).
///
/// Call <see cref="TryAccept"/> only after the message authenticated (AEAD tag verified), otherwise an
/// attacker could slide the window with forged counters (WireGuard paper §5.4.6).
///
/// Safe for several receive threads (docs/threads.md "Receive threads"): a server's SO_REUSEPORT sockets
/// spread datagrams by their 4-tuple, so one keypair's packets normally reach one thread, but a roaming
/// client's old and new addresses can hash to two. Each filter has its own lock (one per keypair, never
/// shared across sessions), held for the few instructions of one check; uncontended it costs one
/// compare-and-swap per packet.
/// </remarks>
public sealed class ReplayFilter
{
    private const int BlockBitLog = 6;                 // 64 bits per block
    private const int BlockBits = 1 << BlockBitLog;
    private const int Blocks = 64;                     // power of two: ring index = block & (Blocks - 1)
    private const ulong BlockMask = Blocks - 1;
    private const ulong BitMask = BlockBits - 1;

    /// <summary>How far behind the highest accepted counter a counter may be and still be accepted.</summary>
    public const int WindowSize = (Blocks * BlockBits) - BlockBits;

    private readonly ulong[] _ring = new ulong[Blocks];
    private readonly Lock _lock = new();
    private ulong _last; // highest counter accepted so far (0 before any; bit 0 is then still clear)

    /// <summary>
    /// Returns true exactly once per counter value inside the window; false for duplicates, for counters
    /// more than <see cref="WindowSize"/> behind the highest accepted one, and for
    /// <paramref name="counter"/> &gt;= <paramref name="rejectAfter"/> (pass WireGuard's
    /// REJECT_AFTER_MESSAGES = 2^64 - 2^13 - 1, paper §6.1, so a nonce can never wrap).
    /// A rejected counter never changes the state.
    /// </summary>
    public bool TryAccept(ulong counter, ulong rejectAfter)
    {
        if (counter >= rejectAfter)
        {
            return false;
        }

        lock (_lock)
        {
            return TryAcceptLocked(counter);
        }
    }

    private bool TryAcceptLocked(ulong counter)
    {
        ulong block = counter >> BlockBitLog;
        if (counter > _last)
        {
            // Slide forward: clear every block after the current top block up to the new one. A jump
            // of a full ring or more clears the whole ring once (RFC 6479 §2).
            ulong current = _last >> BlockBitLog;
            ulong toClear = Math.Min(block - current, (ulong)Blocks);
            for (ulong i = 1; i <= toClear; i++)
            {
                _ring[(int)((current + i) & BlockMask)] = 0;
            }
            _last = counter;
        }
        else if (_last - counter > WindowSize)
        {
            return false; // too old: its bit may already have been recycled
        }

        ref ulong slot = ref _ring[(int)(block & BlockMask)];
        ulong bit = 1UL << (int)(counter & BitMask);
        if ((slot & bit) != 0)
        {
            return false; // replay
        }
        slot |= bit;
        return true;
    }

    /// <summary>Forgets every counter (a fresh keypair starts with an empty window).</summary>
    public void Reset()
    {
        lock (_lock)
        {
            Array.Clear(_ring);
            _last = 0;
        }
    }
}
