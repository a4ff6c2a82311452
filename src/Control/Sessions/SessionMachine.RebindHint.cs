namespace JumpingVpn.Control.Sessions;

public static partial class SessionMachine
{
    /// <summary>Minimum spacing of hints to successive different addresses.</summary>
    public const long RebindHintNewAddressFloorMs = 20;

    /// <summary>
    /// docs/design.md §2.2 binding rule: authenticated traffic from an address that is not the binding is
    /// delivered inbound but never rebinds; the server answers it with a REBIND_HINT so the client sends a
    /// REATTACH_REQUEST (switch_reason NAT_REBIND) from there. Call this for authenticated packets only.
    /// Returns true when a hint should be sent now (rate-limited per session by
    /// <see cref="Policy.SessionPolicy.RebindHintIntervalMs"/>); never changes state or version.
    /// </summary>
    public static bool ShouldSendRebindHint(SessionRecord record, TransportAddress observed, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.State is SessionState.Birth or SessionState.Terminated
            || (record.Binding is { } bound && bound == observed))
        {
            return false;
        }
        // The same unbound address is hinted once per interval. A different one (the NAT moved again, or
        // a stray packet took the last hint) may be hinted after a short floor: waiting a whole interval
        // would add that interval to the rebinding gap. Only authenticated, non-replayed traffic gets
        // here, so the floor bounds a misbehaving client, not an off-path attacker.
        long since = record.LastRebindHintMs >= 0 ? nowMs - record.LastRebindHintMs : long.MaxValue;
        bool sameAddress = record.LastRebindHintAddress is { } last && last == observed;
        long minGap = sameAddress ? record.Policy.RebindHintIntervalMs : Math.Min(RebindHintNewAddressFloorMs, record.Policy.RebindHintIntervalMs);
        if (since < minGap)
        {
            return false;
        }
        record.LastRebindHintMs = nowMs;
        record.LastRebindHintAddress = observed;
        return true;
    }
}
