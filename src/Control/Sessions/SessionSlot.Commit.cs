using JumpingVpn.Control.Policy;

namespace JumpingVpn.Control.Sessions;

/// <summary>
/// Where a transition is made durable before it counts (the cluster store, docs/design.md §6). Called under the
/// slot's lock with the record after the transition and the version it was read at; answers
/// <see cref="ReasonCode.None"/> when the compare-and-swap on (owner_epoch, state_version) won, else the
/// reason to refuse (STALE_STATE_VERSION, OWNERSHIP_CONFLICT, STORE_UNAVAILABLE, NOT_AUTHORITATIVE_OWNER).
/// </summary>
public interface ISessionCommitter
{
    ReasonCode Commit(SessionRecord committed, ulong readVersion);
}

public sealed partial class SessionSlot
{
    private SessionRecord? _backup;

    /// <summary>A slot around a record continued from the store (<see cref="SessionRecord.Restore"/>).</summary>
    internal SessionSlot(SessionRecord restored)
    {
        _record = restored;
        Cache();
    }

    /// <summary>
    /// <see cref="Apply"/>, then, if the state machine moved, the store commit (docs/session-spec.md §2.4 tier 5).
    /// A refused commit rolls the record back to exactly what it was and removes the events the attempt
    /// appended, so nothing is committed locally that the store did not accept (fail closed); the input is
    /// answered with the store's reason. The rollback copy is allocated once per slot.
    /// </summary>
    public SessionOutcome ApplyCommitted(in SessionEvent e, long nowMs, List<AuditEvent>? audit, ISessionCommitter committer)
    {
        ArgumentNullException.ThrowIfNull(committer);
        lock (_lock)
        {
            _backup ??= new SessionRecord(_record.Id, _record.Policy, _record.CreatedMs);
            _backup.CopyFrom(_record);
            int mark = audit?.Count ?? 0;
            ulong before = _record.StateVersion;
            SessionOutcome outcome = SessionMachine.Apply(_record, e, nowMs, audit);
            if (_record.StateVersion == before)
            {
                Cache();
                return outcome;
            }
            ReasonCode refused = committer.Commit(_record, before);
            if (refused == ReasonCode.None)
            {
                // The lock-free summary follows every committed change, as after Apply: the sweep and the
                // receive thread judge due timers and liveness from it without taking this lock.
                Cache();
                return outcome;
            }
            _record.CopyFrom(_backup);
            audit?.RemoveRange(mark, audit.Count - mark);
            Cache();
            return new SessionOutcome(SessionOutcomeKind.Rejected, refused, _record.StateVersion, 0, 0);
        }
    }

    /// <summary>The record under the lock, for the store's first write of a new session.</summary>
    public T Read<T>(Func<SessionRecord, T> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        lock (_lock)
        {
            return read(_record);
        }
    }

    internal SessionPolicy Policy => _record.Policy;
}
