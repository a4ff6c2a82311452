using JumpingVpn.Control.Sessions;

namespace JumpingVpn.LoadGen.Bench.Failover;

/// <summary>
/// What one simulated session saw around the kill (docs/cluster.md "Benchmark"): its last answer before
/// the kill and its first after, which node answered, the session id and every state version the nodes
/// reported. Times are milliseconds on the generator's one monotonic clock. An answer is an authenticated
/// reply of a node serving the session (HELLO_ACK, KEEPALIVE_ACK, REATTACH_ACK); a refusal is not one.
/// Pure bookkeeping: the caller serialises access (the client's lock).
/// </summary>
internal sealed class SessionTrace
{
    public long KillMs { get; private set; } = -1;
    public int KilledNode { get; private set; } = -1;
    public long LastAnswerBeforeKillMs { get; private set; } = -1;
    public long FirstAnswerAfterKillMs { get; private set; } = -1;
    public int NodeBeforeKill { get; private set; } = -1;
    public int NodeAfterKill { get; private set; } = -1;

    /// <summary>The node whose answer came last (after the settle period: the one serving the session).</summary>
    public int LastNode { get; private set; } = -1;

    /// <summary>When the last answer came (-1: none yet).</summary>
    public long LastAnswerMs { get; private set; } = -1;

    public SessionId Id { get; private set; }

    /// <summary>A node answered with a session id other than the one the client attached with.</summary>
    public bool IdChanged { get; private set; }

    public ulong VersionBeforeKill { get; private set; }
    public ulong FirstVersionAfterKill { get; private set; }
    public ulong LastVersion { get; private set; }

    /// <summary>An answer reported a state version below one reported earlier.</summary>
    public bool VersionWentBack { get; private set; }

    /// <summary>When the client judged the killed node silent and moved on (-1: not yet).</summary>
    public long SilentAtMs { get; private set; } = -1;

    /// <summary>Times the client judged its node silent after the kill: more than one means it moved again after resuming.</summary>
    public int SilentEpisodes { get; private set; }

    public int RetryableRefusals { get; private set; }

    /// <summary>A refusal the client cannot retry (the session is gone), else None.</summary>
    public ReasonCode LostReason { get; private set; }

    public bool Resumed => FirstAnswerAfterKillMs >= 0;

    public bool Lost => LostReason != ReasonCode.None;

    /// <summary>Silence the session saw across the kill: last answer before it to first answer after it.</summary>
    public double GapMs => Resumed && LastAnswerBeforeKillMs >= 0 ? FirstAnswerAfterKillMs - LastAnswerBeforeKillMs : double.NaN;

    /// <summary>From the kill to the session's first answer on another node.</summary>
    public double ResumeMs => Resumed ? FirstAnswerAfterKillMs - KillMs : double.NaN;

    /// <summary>A node refused with STALE_STATE_VERSION: the client had missed a transition (its answer lost, or a node it left adopted the session).</summary>
    public bool SawStale { get; private set; }

    /// <summary>Refusals by reason (null until the first).</summary>
    public Dictionary<ReasonCode, int>? Refusals { get; private set; }

    /// <summary>The last refusal's reason, or None.</summary>
    public ReasonCode LastRefusal { get; private set; }

    /// <summary>
    /// What the client can tell of the versions: none ever went back and the first answer after the kill
    /// is past the last one before it. Whether every version in between was taken exactly once is for the
    /// merged audit logs (only the nodes see every transition).
    /// </summary>
    public bool VersionsMoveOn => Resumed && !VersionWentBack && FirstVersionAfterKill > VersionBeforeKill;

    /// <summary>
    /// The failover took exactly <paramref name="step"/> transitions as the client saw it (T4 and T7: one
    /// adoption, one reattach). More is not a gap: a retried REATTACH applied twice, or a second move.
    /// </summary>
    public bool TookExactly(ulong step) => Resumed && FirstVersionAfterKill == VersionBeforeKill + step;

    public void OnAnswer(long nowMs, int node, SessionId id, ulong version)
    {
        if (Id.IsNone)
        {
            Id = id;
        }
        else if (id != Id)
        {
            IdChanged = true;
        }
        if (version < LastVersion)
        {
            VersionWentBack = true;
        }
        LastVersion = version;
        LastNode = node;
        LastAnswerMs = nowMs;
        // A reply the killed node sent just before it died may be read just after: it is still "before".
        if (KillMs < 0 || nowMs < KillMs || node == KilledNode)
        {
            LastAnswerBeforeKillMs = nowMs;
            NodeBeforeKill = node;
            VersionBeforeKill = version;
        }
        else if (FirstAnswerAfterKillMs < 0)
        {
            FirstAnswerAfterKillMs = nowMs;
            NodeAfterKill = node;
            FirstVersionAfterKill = version;
        }
    }

    public void OnKill(long nowMs, int node)
    {
        KillMs = nowMs;
        KilledNode = node;
    }

    public void OnSilent(long nowMs)
    {
        if (KillMs < 0)
        {
            return;
        }
        SilentEpisodes++;
        if (SilentAtMs < 0)
        {
            SilentAtMs = nowMs;
        }
    }

    public void OnRefused(ReasonCode reason)
    {
        SawStale |= reason == ReasonCode.StaleStateVersion;
        LastRefusal = reason;
        Refusals ??= [];
        Refusals[reason] = Refusals.GetValueOrDefault(reason) + 1;
        if (FailoverSemantics.IsRetryable(reason))
        {
            RetryableRefusals++;
        }
        else
        {
            LostReason = reason;
        }
    }
}
