namespace JumpingVpn.Control.Sessions;

/// <summary>What a session listing shows of one session: state, version and binding as last committed.</summary>
public readonly record struct SessionSummary(SessionState State, ulong StateVersion, TransportAddress? Binding);

public sealed partial class SessionSlot
{
    // A sequence lock (docs/threads.md "Session listing"): the writer, already under _lock, makes the count odd,
    // writes the fields and makes it even again; a reader copies the fields and keeps the copy only when the
    // count was even and unchanged around it. Readers never take _lock, which a cluster worker may hold across a
    // store call, and the writer never waits for a reader.
    private int _summarySeq;
    private SessionState _summaryState;
    private ulong _summaryVersion;
    private TransportAddress _summaryBinding;
    private bool _summaryBound;

    /// <summary>Called from <see cref="Cache"/> under the lock; writes only when something shown changed.</summary>
    private void PublishSummary()
    {
        TransportAddress? binding = _record.Binding;
        bool bound = binding.HasValue;
        if (_summarySeq != 0 && _summaryState == _record.State && _summaryVersion == _record.StateVersion
            && _summaryBound == bound && (!bound || _summaryBinding == binding!.Value))
        {
            return; // keepalives and probes: nothing shown changed, no fence
        }
        Interlocked.Increment(ref _summarySeq);
        _summaryState = _record.State;
        _summaryVersion = _record.StateVersion;
        _summaryBinding = binding ?? default;
        _summaryBound = bound;
        Interlocked.Increment(ref _summarySeq);
    }

    /// <summary>
    /// The state, version and binding as of the last committed change, without the slot's lock (listings over
    /// 100 000 sessions, docs/ui.md "Server mode"). False only when a writer was in the middle of an update on
    /// every one of a few attempts; the caller then asks again later or skips the row's details.
    /// </summary>
    public bool TryReadSummary(out SessionSummary summary)
    {
        var spin = new SpinWait();
        for (int attempt = 0; attempt < 16; attempt++)
        {
            int before = Volatile.Read(ref _summarySeq);
            if ((before & 1) != 0)
            {
                spin.SpinOnce(sleep1Threshold: -1); // a writer is inside its few field stores
                continue;
            }
            SessionState state = _summaryState;
            ulong version = _summaryVersion;
            TransportAddress binding = _summaryBinding;
            bool bound = _summaryBound;
            Interlocked.MemoryBarrier();
            if (Volatile.Read(ref _summarySeq) == before)
            {
                summary = new SessionSummary(state, version, bound ? binding : null);
                return true;
            }
            spin.SpinOnce(sleep1Threshold: -1);
        }
        summary = default;
        return false;
    }
}
