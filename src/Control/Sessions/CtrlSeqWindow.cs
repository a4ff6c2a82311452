namespace JumpingVpn.Control.Sessions;

/// <summary>
/// Freshness of the client's ctrl_seq (docs/session-spec.md §2.6): one u64 sequence space per direction, starting
/// at 1. State-mutating frames (REATTACH, TERMINATE) must be above the high-water mark and at most
/// max_forward_gap ahead of it; non-mutating ones (KEEPALIVE, PATH_PROBE) may arrive reordered inside a
/// fixed 128-bit bitmap window. Checks are read-only so they can run before authentication; only
/// <see cref="Accept"/> mutates, and only for authenticated frames.
/// </summary>
internal struct CtrlSeqWindow
{
    private ulong _highest;
    // Bit i set: sequence (_highest - i) was seen.
    private UInt128 _seen;

    public readonly ulong HighWater => _highest;

    public readonly UInt128 Bitmap => _seen;

    public readonly ReasonCode CheckMutating(ulong seq, int maxForwardGap) =>
        seq <= _highest ? ReasonCode.ReplayDetected
        : seq - _highest > (ulong)maxForwardGap ? ReasonCode.FreshnessInvalid
        : ReasonCode.None;

    public readonly ReasonCode CheckNonMutating(ulong seq, int window, int maxForwardGap)
    {
        if (seq == 0)
        {
            return ReasonCode.FreshnessInvalid;
        }
        if (seq > _highest)
        {
            return seq - _highest > (ulong)maxForwardGap ? ReasonCode.FreshnessInvalid : ReasonCode.None;
        }
        ulong back = _highest - seq;
        if (back >= (ulong)Math.Min(window, 128))
        {
            return ReasonCode.ReplayDetected;
        }
        return ((_seen >> (int)back) & UInt128.One) != UInt128.Zero ? ReasonCode.ReplayDetected : ReasonCode.None;
    }

    public void Accept(ulong seq)
    {
        if (seq > _highest)
        {
            ulong shift = seq - _highest;
            _seen = shift >= 128 ? UInt128.Zero : _seen << (int)shift;
            _seen |= UInt128.One;
            _highest = seq;
        }
        else if (_highest - seq < 128)
        {
            _seen |= UInt128.One << (int)(_highest - seq);
        }
    }
}
