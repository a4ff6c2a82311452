namespace JumpingVpn.Control.Sessions;

public static partial class SessionMachine
{
    /// <summary>
    /// DESIGN §2.2 binding rule: authenticated traffic from an address that is not the binding is
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
        if (record.LastRebindHintMs >= 0 && nowMs - record.LastRebindHintMs < record.Policy.RebindHintIntervalMs)
        {
            return false;
        }
        record.LastRebindHintMs = nowMs;
        return true;
    }
}
