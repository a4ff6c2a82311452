using JumpingVpn.Control.Sessions;

namespace JumpingVpn.LoadGen.Bench.Failover;

/// <summary>What the driver sends for a client now.</summary>
internal enum FailoverAction : byte
{
    None,
    Handshake,
    Hello,
    Keepalive,
    Reattach,
}

internal enum FailoverClientState : byte
{
    NotStarted,
    Handshaking,
    Helloing,
    Attached,
    Refused,
    Reattaching,
    Lost,
}

/// <summary>
/// The decisions of one simulated cluster client, sans I/O (the driver sends, the clock is passed in):
/// attach to its first node, KEEPALIVE every heartbeat (every <see cref="FailoverSemantics.ProbeEveryMs"/> once a
/// request has waited <see cref="FailoverSemantics.ProbeAfterMs"/>), judge the node silent after
/// <see cref="FailoverSemantics.SilentNodeMs"/> with a request outstanding, then handshake with the next
/// node of its list and resume with HELLO (session id, last acknowledged version); on a retryable refusal
/// wait the time the node named and retry with REATTACH_REQUEST. The rules live in
/// <see cref="FailoverSemantics"/>; what the session saw goes into <see cref="Trace"/>.
/// The caller serialises access (lock on the instance).
/// </summary>
internal sealed class FailoverClient
{
    private readonly int[] _order;
    private readonly long _heartbeatMs;
    private int _position;
    private long _deadlineMs;
    private long _ownerRefusedSinceMs = -1;
    private long _lastOwnerRefusalMs = -1;
    private long _nextKeepaliveMs;
    private long _lastKeepaliveMs = long.MinValue;
    private long _firstUnansweredMs = -1;
    private int _reattachAttempts;
    private bool _failingOver;
    private int _moves;
    private long _lastMoveMs = -1;
    private long _settlingSinceMs = -1;

    /// <param name="order">Node indices in the order this client tries them; the first is where it attaches.</param>
    public FailoverClient(int[] order, long heartbeatMs)
    {
        ArgumentNullException.ThrowIfNull(order);
        ArgumentOutOfRangeException.ThrowIfZero(order.Length);
        _order = order;
        _heartbeatMs = heartbeatMs;
    }

    public FailoverClientState State { get; private set; }
    public SessionTrace Trace { get; } = new();
    public SessionId SessionId { get; private set; }
    public ulong AckedVersion { get; private set; }

    /// <summary>The node this client talks to now.</summary>
    public int Node => _order[_position];

    public bool IsAttached => State == FailoverClientState.Attached;

    /// <summary>Initial handshakes (and their retries) the client has started since it began a failover.</summary>
    public int FailoverHandshakes { get; private set; }

    public FailoverAction Start(long now)
    {
        State = FailoverClientState.Handshaking;
        _deadlineMs = now + FailoverSemantics.EstablishHandshakeRetryMs;
        return FailoverAction.Handshake;
    }

    /// <summary>What is due at <paramref name="now"/>; at most one action per call.</summary>
    public FailoverAction Poll(long now)
    {
        switch (State)
        {
            case FailoverClientState.Handshaking when now >= _deadlineMs:
                if (_failingOver)
                {
                    // Still no answer: the next node of the list, as the client does on renewed silence.
                    _position = (_position + 1) % _order.Length;
                    FailoverHandshakes++;
                    CountMove(now);
                }
                _deadlineMs = now + (_failingOver ? FailoverSemantics.HandshakeRetryMs : FailoverSemantics.EstablishHandshakeRetryMs);
                return FailoverAction.Handshake;
            case FailoverClientState.Helloing when now >= _deadlineMs:
                _deadlineMs = now + FailoverSemantics.HelloRetryMs;
                return FailoverAction.Hello;
            case FailoverClientState.Refused or FailoverClientState.Reattaching when now >= _deadlineMs:
                State = FailoverClientState.Reattaching;
                _deadlineMs = now + FailoverSemantics.ReattachRetryMs(_reattachAttempts++);
                return FailoverAction.Reattach;
            case FailoverClientState.Attached:
                // Settling on the node that answered since the last move (NodeSilence.RecentMoves).
                int recent = _settlingSinceMs >= 0 && now - _settlingSinceMs < FailoverSemantics.SettleMs ? _moves : 0;
                if (_firstUnansweredMs >= 0 && now - _firstUnansweredMs >= FailoverSemantics.SilentVerdictMs(recent))
                {
                    Trace.OnSilent(now);
                    _failingOver = true;
                    _firstUnansweredMs = -1;
                    _position = (_position + 1) % _order.Length;
                    State = FailoverClientState.Handshaking;
                    FailoverHandshakes++;
                    CountMove(now);
                    _deadlineMs = now + FailoverSemantics.HandshakeRetryMs;
                    return FailoverAction.Handshake;
                }
                // Fast probes once a request has waited ProbeAfterMs, as the client role probes a silent node.
                bool probing = _firstUnansweredMs >= 0 && now - _firstUnansweredMs >= FailoverSemantics.ProbeAfterMs;
                if (now >= _nextKeepaliveMs || probing && now - _lastKeepaliveMs >= FailoverSemantics.ProbeEveryMsFor(recent))
                {
                    _nextKeepaliveMs = now + _heartbeatMs;
                    _lastKeepaliveMs = now;
                    if (_firstUnansweredMs < 0)
                    {
                        _firstUnansweredMs = now;
                    }
                    return FailoverAction.Keepalive;
                }
                return FailoverAction.None;
            default:
                return FailoverAction.None;
        }
    }

    /// <summary>A handshake response with keys installed: true when a HELLO must go out now.</summary>
    public bool OnHandshakeResponse(long now)
    {
        if (State != FailoverClientState.Handshaking)
        {
            return false;
        }
        State = FailoverClientState.Helloing;
        _deadlineMs = now + FailoverSemantics.HelloRetryMs;
        return true;
    }

    /// <param name="firstKeepaliveMs">When the first KEEPALIVE of a new session goes out (spreads N clients over a heartbeat).</param>
    public void OnHelloAck(long now, int node, SessionId id, ulong version, long firstKeepaliveMs)
    {
        if (State != FailoverClientState.Helloing)
        {
            return;
        }
        if (SessionId.IsNone)
        {
            SessionId = id;
        }
        Attached(now, node, id, version);
        _nextKeepaliveMs = Math.Max(now, firstKeepaliveMs);
    }

    public void OnKeepaliveAck(long now, int node, ulong version)
    {
        if (State == FailoverClientState.Attached)
        {
            Answered(now, node, SessionId, version);
        }
    }

    public void OnReattachAck(long now, int node, SessionId id, ulong version)
    {
        if (State is FailoverClientState.Reattaching or FailoverClientState.Refused && id == SessionId)
        {
            Attached(now, node, id, version);
            _nextKeepaliveMs = now + _heartbeatMs;
        }
    }

    /// <summary>
    /// REATTACH_REJECT (to a HELLO or a REATTACH), or TERMINATE to a new session's HELLO. A
    /// STALE_STATE_VERSION names the version the node holds (<paramref name="currentVersion"/>): the retry
    /// claims it, as the client role does.
    /// </summary>
    public void OnRefused(long now, ReasonCode reason, uint retryAfterMs, ulong currentVersion = 0)
    {
        if (State is not (FailoverClientState.Helloing or FailoverClientState.Reattaching or FailoverClientState.Refused))
        {
            return;
        }
        if (SessionId.IsNone)
        {
            // A new session the node could not create (store away): HELLO again later.
            _deadlineMs = now + Math.Max(FailoverSemantics.HelloRetryMs, retryAfterMs);
            return;
        }
        Trace.OnRefused(reason);
        if (Trace.Lost)
        {
            State = FailoverClientState.Lost;
            return;
        }
        if (reason == ReasonCode.NotAuthoritativeOwner)
        {
            if (_ownerRefusedSinceMs < 0 || now - _lastOwnerRefusalMs > 1000)
            {
                _ownerRefusedSinceMs = now;
            }
            _lastOwnerRefusalMs = now;
            if (now - _ownerRefusedSinceMs >= FailoverSemantics.OwnerRefusalRotateMs)
            {
                // The owner is alive on another node: hand shake with the next one at once (the tick moves on).
                _ownerRefusedSinceMs = -1;
                _failingOver = true;
                State = FailoverClientState.Handshaking;
                _deadlineMs = now;
                return;
            }
        }
        if (reason == ReasonCode.InvalidTransportCandidate && SessionId is { IsNone: false } && currentVersion > 0)
        {
            // "Already bound there": the node holds the session bound to this client's address (a retried
            // REATTACH whose ACK was lost or overtaken); the client role's path manager takes it as the ACK.
            Attached(now, Node, SessionId, currentVersion);
            _nextKeepaliveMs = now + _heartbeatMs;
            return;
        }
        State = FailoverClientState.Refused;
        if (reason == ReasonCode.StaleStateVersion && currentVersion > 0)
        {
            AckedVersion = currentVersion;
            _deadlineMs = now + Math.Max(FailoverSemantics.MinStaleRetryMs, retryAfterMs);
            return;
        }
        _deadlineMs = now + FailoverSemantics.RetryAfterMs(reason, retryAfterMs);
    }

    public void OnKill(long now, int node) => Trace.OnKill(now, node);

    /// <summary>
    /// SESSION_MOVE from the node this client is attached to (a draining node, docs/cluster.md "Drain"), as the
    /// client role takes it: the named node if it is in this client's list, else the next one; the version it
    /// names counts as acknowledged; true when the initiation must go out at once.
    /// </summary>
    public bool OnSessionMove(long now, int node, SessionId id, ulong version, int targetNode)
    {
        if (State != FailoverClientState.Attached || node != Node || id != SessionId)
        {
            return false;
        }
        int target = targetNode >= 0 ? Array.IndexOf(_order, targetNode) : -1;
        _position = target >= 0 && target != _position ? target : (_position + 1) % _order.Length;
        CountMove(now);
        if (version > AckedVersion)
        {
            AckedVersion = version;
        }
        Trace.OnSilent(now); // the moment the client left its node
        _failingOver = true;
        _firstUnansweredMs = -1;
        State = FailoverClientState.Handshaking;
        FailoverHandshakes++;
        _deadlineMs = now + FailoverSemantics.HandshakeRetryMs;
        return true;
    }

    /// <summary>One more node move of the current run (NodeSilence.CountMove: a new run once the last move or settling is SettleMs old).</summary>
    private void CountMove(long now)
    {
        long last = Math.Max(_lastMoveMs, _settlingSinceMs);
        _moves = (last >= 0 && now - last < FailoverSemantics.SettleMs ? _moves : 0) + 1;
        _lastMoveMs = now;
        _settlingSinceMs = -1;
    }

    /// <summary>A client that never attached before the kill takes no part: it stops trying.</summary>
    public void Abandon() => State = FailoverClientState.Lost;

    private void Attached(long now, int node, SessionId id, ulong version)
    {
        if (_moves > 0 && _settlingSinceMs < 0)
        {
            _settlingSinceMs = now; // the new node's first answer since the move: settling starts
        }
        State = FailoverClientState.Attached;
        _reattachAttempts = 0;
        _failingOver = false;
        Answered(now, node, id, version);
    }

    private void Answered(long now, int node, SessionId id, ulong version)
    {
        _firstUnansweredMs = -1;
        AckedVersion = version;
        Trace.OnAnswer(now, node, id, version);
    }
}
