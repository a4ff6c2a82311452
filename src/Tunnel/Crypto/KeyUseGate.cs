namespace JumpingVpn.Tunnel.Crypto;

/// <summary>
/// Decides when retired key material may be zeroed while other threads may still hold a reference to
/// it. Each use is bracketed by <see cref="TryEnter"/> / <see cref="Exit"/>; <see cref="Retire"/> marks
/// the material dead. The bytes are zeroed exactly when it is retired and no use is in flight, so no
/// thread ever seals or opens with a zeroed key (a retired key refuses new uses instead). One
/// interlocked add per use and per exit, on the object itself: no lock, nothing shared across sessions.
/// </summary>
public sealed class KeyUseGate
{
    // Low 30 bits: uses in flight. RetiredBit: no new use may start.
    private const int RetiredBit = 1 << 30;
    private readonly Action _zero;
    private int _state;

    public KeyUseGate(Action zero) => _zero = zero;

    public bool IsRetired => (Volatile.Read(ref _state) & RetiredBit) != 0;

    /// <summary>Starts a use; false (and no use started) when the key is already retired.</summary>
    public bool TryEnter()
    {
        int s = Interlocked.Increment(ref _state);
        if ((s & RetiredBit) == 0)
        {
            return true;
        }
        Exit();
        return false;
    }

    /// <summary>Ends a use started by a successful <see cref="TryEnter"/>.</summary>
    public void Exit()
    {
        if (Interlocked.Decrement(ref _state) == RetiredBit)
        {
            _zero();
        }
    }

    /// <summary>Marks the key dead; zeroes it now if idle, else when the last use exits. Idempotent.</summary>
    public void Retire()
    {
        int s = Volatile.Read(ref _state);
        while ((s & RetiredBit) == 0)
        {
            int seen = Interlocked.CompareExchange(ref _state, s | RetiredBit, s);
            if (seen == s)
            {
                if ((s | RetiredBit) == RetiredBit)
                {
                    _zero();
                }
                return;
            }
            s = seen;
        }
    }
}
