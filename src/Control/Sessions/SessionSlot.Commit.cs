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

    /// <summary>
    /// Settles a commit that answered STORE_UNAVAILABLE, whose write may nevertheless have landed (a timeout that hit
    /// the answer, docs/cluster.md "In-doubt commits"): did the store take <paramref name="attemptedVersion"/>,
    /// written over <paramref name="readVersion"/>? Called under the slot's lock before the session changes again.
    /// The default is for a committer whose refusals are always definite.
    /// </summary>
    DoubtResolution ResolveDoubt(ulong readVersion, ulong attemptedVersion) => DoubtResolution.NotLanded;
}

/// <summary>What became of a commit whose answer was lost (<see cref="ISessionCommitter.ResolveDoubt"/>).</summary>
public enum DoubtResolution : byte
{
    /// <summary>The store holds the attempted version: it counts, with its events.</summary>
    Landed,

    /// <summary>The store never took it and never will: the rolled-back record is the session.</summary>
    NotLanded,

    /// <summary>As <see cref="NotLanded"/>, but the committer had to change (a fresh fencing token) first: refuse this input, the next one goes on.</summary>
    Retry,

    /// <summary>The store could not say: stay in doubt, refuse with STORE_UNAVAILABLE, ask again later.</summary>
    Unknown,

    /// <summary>The session is not this committer's any more.</summary>
    Lost,
}

public sealed partial class SessionSlot
{
    private SessionRecord? _backup;

    /// <summary>The record as a commit in doubt left it (null: no doubt), the version it was read at, its events.</summary>
    private SessionRecord? _doubt;
    private ulong _doubtReadVersion;
    private AuditEvent[]? _doubtEvents;
    private long _doubtRetryAtMs;

    /// <summary>How often a doubt the store could not settle is asked again (the sweep picks the session up then).</summary>
    public const long DoubtRetryMs = 250;

    /// <summary>A commit's fate is unknown: the session does not change until the store settled it.</summary>
    public bool InDoubt => Volatile.Read(ref _doubt) is not null;

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
            ReasonCode unsettled = _doubt is null ? ReasonCode.None : SettleDoubt(nowMs, audit, committer);
            if (unsettled != ReasonCode.None)
            {
                return new SessionOutcome(SessionOutcomeKind.Rejected, unsettled, _record.StateVersion, 0, 0);
            }
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
            if (refused == ReasonCode.StoreUnavailable)
            {
                // No answer is not "no": the write may have landed (docs/cluster.md "In-doubt commits"). Keep what
                // it would have made, and its events, until the store says which.
                _doubt ??= new SessionRecord(_record.Id, _record.Policy, _record.CreatedMs);
                _doubt.CopyFrom(_record);
                _doubtReadVersion = before;
                _doubtEvents = audit is null ? null : audit.GetRange(mark, audit.Count - mark).ToArray();
                _doubtRetryAtMs = nowMs;
            }
            _record.CopyFrom(_backup);
            audit?.RemoveRange(mark, audit.Count - mark);
            Cache();
            return new SessionOutcome(SessionOutcomeKind.Rejected, refused, _record.StateVersion, 0, 0);
        }
    }

    /// <summary>
    /// Under the lock, before the session changes again: asks the committer what became of the write in doubt and
    /// makes the record what the store holds. <see cref="ReasonCode.None"/> when the input may go on, else the
    /// refusal for it.
    /// </summary>
    private ReasonCode SettleDoubt(long nowMs, List<AuditEvent>? audit, ISessionCommitter committer)
    {
        SessionRecord doubt = _doubt!;
        DoubtResolution d = committer.ResolveDoubt(_doubtReadVersion, doubt.StateVersion);
        if (d == DoubtResolution.Unknown)
        {
            _doubtRetryAtMs = nowMs + DoubtRetryMs;
            Cache();
            return ReasonCode.StoreUnavailable;
        }
        if (d == DoubtResolution.Landed)
        {
            // The store took it: it is the session, and its events are published now, before anything later.
            _record.CopyFrom(doubt);
            if (audit is not null && _doubtEvents is not null)
            {
                audit.AddRange(_doubtEvents);
            }
        }
        Volatile.Write(ref _doubt, null);
        _doubtEvents = null;
        Cache();
        return d switch
        {
            DoubtResolution.Retry => ReasonCode.StoreUnavailable,
            DoubtResolution.Lost => ReasonCode.OwnershipConflict,
            _ => ReasonCode.None,
        };
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
