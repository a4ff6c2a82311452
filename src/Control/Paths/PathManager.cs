using System.Globalization;
using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Control.Paths;

/// <summary>
/// The client's path manager for one session (docs/design.md §4, docs/session-spec.md §1.8 and §2.8), sans-I/O: the
/// caller feeds it the usable paths, probe answers, per-path receive times and its own transmit times,
/// and calls <see cref="Tick"/>; it answers with actions (probe a path, reattach on a path, use a path)
/// and logs every decision with its reason. No sockets, clocks or randomness in here.
/// <list type="bullet">
/// <item>Active path: the one the server has bound. Fast liveness: traffic outstanding and no
/// authenticated reply within a few smoothed RTTs puts it under suspicion (probe everything now, at the
/// fast interval); no reply for path_dead while traffic is outstanding, or for transport_dead in any
/// case, declares it dead.</item>
/// <item>Candidates: probed at a low rate; ranked by (priority, loss, RTT, id) as docs/session-spec.md §2.8 says.</item>
/// <item>Idle (no data for idle_after): the active path is not probed (the heartbeat keeps it and its NAT
/// mapping alive, and only the heartbeat from an unbound address earns a REBIND_HINT), candidates are
/// probed at idle_keepalive_interval, and silence is only suspicious when a request of ours goes
/// unanswered (docs/paths.md "Idle").</item>
/// <item>Fail over (TRANSPORT_DEAD_RECOVERY) when the active path is gone or dead and a candidate answers;
/// leave a lossy path (LOSS_RECOVERY) only for a candidate whose score beats it by the improvement
/// factor; return to a preferred path (PREFERRED_PATH_CHANGED) only after it has answered every probe for
/// the stability window. Voluntary switches respect the cooldown and the switch cap; forced ones are
/// the server's to refuse (it enforces both, docs/design.md §3).</item>
/// </list>
/// The client never treats a path as active before the server's REATTACH_ACK (<see cref="OnSwitchAcked"/>).
/// </summary>
public sealed class PathManager
{
    private const int SwitchHistory = 8;
    private const long ClockSlackMs = 2;
    private readonly SessionPolicy _policy;
    private readonly List<PathEntry> _paths = [];
    private readonly Queue<long> _switchTimes = new();
    private readonly PathSwitchRecord[] _history = new PathSwitchRecord[SwitchHistory];
    private int _historyCount;
    private int _nextId = 1;
    private long _lastTxMs = -1;
    private long _lastDataMs = -1;
    private long _lastKeepaliveMs = -1;
    private long _dataWaitSinceMs = -1;
    private long _anyWaitSinceMs = -1;
    private long _suspectSinceMs = -1;
    private long _activeSinceMs;
    private long _lastSwitchMs = long.MinValue / 2;
    private long _pendingSinceMs;
    private ReasonCode _pendingReason;
    private long _pendingFromLastReplyMs = -1;
    private string? _lostActiveName;
    private long _lostActiveLastReplyMs = -1;
    private string? _deferredNote;
    private bool _suspect;

    public PathManager(SessionPolicy policy)
    {
        _policy = policy;
    }

    public IReadOnlyList<PathEntry> Paths => _paths;

    /// <summary>The path the server has bound (or, without a session, the one we send on); -1 none.</summary>
    public int ActiveId { get; private set; } = -1;

    /// <summary>A REATTACH in flight on this path; -1 none.</summary>
    public int PendingId { get; private set; } = -1;

    /// <summary>True once a jvpn session exists: moving needs a REATTACH. False: just send elsewhere.</summary>
    public bool SessionBound { get; set; }

    /// <summary>The active path is silent while traffic is outstanding (probing fast).</summary>
    public bool Suspect => _suspect;

    /// <summary>Suspicion episodes so far (each logged once at its start and once at its end).</summary>
    public long SuspectEpisodes { get; private set; }

    /// <summary>No data for idle_after: probing slows to the idle interval (docs/paths.md "Idle").</summary>
    public bool IsIdle(long nowMs) => IdleSchedule.IsIdle(_policy, _lastDataMs, nowMs);

    public PathEntry? Active => Find(ActiveId);

    public PathEntry? Find(int id)
    {
        foreach (PathEntry p in _paths)
        {
            if (p.Id == id)
            {
                return p;
            }
        }
        return null;
    }

    /// <summary>The last switches, oldest first.</summary>
    public IEnumerable<PathSwitchRecord> RecentSwitches()
    {
        int start = _historyCount > SwitchHistory ? _historyCount - SwitchHistory : 0;
        for (int i = start; i < _historyCount; i++)
        {
            yield return _history[i % SwitchHistory];
        }
    }

    /// <summary>Successful switches in the sliding 60 s window (docs/session-spec.md §2.7).</summary>
    public int SwitchesLastMinute(long nowMs)
    {
        while (_switchTimes.Count > 0 && nowMs - _switchTimes.Peek() >= 60_000)
        {
            _switchTimes.Dequeue();
        }
        return _switchTimes.Count;
    }

    /// <summary>
    /// The platform's current view (after a netlink event or a periodic scan). A new interface, or one
    /// whose local address changed (the server would see a new source), becomes a new candidate probed at
    /// once; a vanished one is dropped, and if it was active the next <see cref="Tick"/> fails over.
    /// </summary>
    public void SetPaths(IReadOnlyList<PathInfo> present, long nowMs, List<PathDecision> log)
    {
        for (int i = _paths.Count - 1; i >= 0; i--)
        {
            PathEntry p = _paths[i];
            if (!Contains(present, p.Info, out PathInfo current))
            {
                _paths.RemoveAt(i);
                log.Add(Decision(nowMs, "path_removed", p, null, ReasonCode.TransportDead, "interface or address gone"));
                if (p.Id == ActiveId)
                {
                    _lostActiveName = p.Info.Interface;
                    _lostActiveLastReplyMs = p.LastReplyMs;
                    ActiveId = -1;
                }
                if (p.Id == PendingId)
                {
                    PendingId = -1;
                }
            }
            else
            {
                p.Info = current; // priority may have changed
            }
        }
        foreach (PathInfo info in present)
        {
            if (FindByInterface(info.Interface) is null && _paths.Count < _policy.MaxCandidatePaths)
            {
                var p = new PathEntry(_nextId++, info, nowMs) { NextProbeMs = nowMs };
                _paths.Add(p);
                log.Add(Decision(nowMs, "path_added", p, null, ReasonCode.None, "local address " + info.LocalAddress));
            }
        }
    }

    /// <summary>
    /// The caller sent data (IP packets, not control frames) on the active path, the last one at
    /// <paramref name="txMs"/>: it expects an answer, so silence after it is suspicious.
    /// </summary>
    public void OnTransmit(long txMs)
    {
        _lastTxMs = Math.Max(_lastTxMs, txMs);
        _lastDataMs = Math.Max(_lastDataMs, txMs);
    }

    /// <summary>The data plane delivered data from the server at <paramref name="rxMs"/> (the session is not idle).</summary>
    public void OnDataReceived(long rxMs) => _lastDataMs = Math.Max(_lastDataMs, rxMs);

    /// <summary>The caller sent a KEEPALIVE on the active path at <paramref name="txMs"/> (the server answers every one).</summary>
    public void OnKeepaliveSent(long txMs) => _lastKeepaliveMs = Math.Max(_lastKeepaliveMs, txMs);

    /// <summary>The data plane received an authenticated packet on the path at <paramref name="rxMs"/>.</summary>
    public void OnAuthenticatedRx(int pathId, long rxMs)
    {
        if (Find(pathId) is { } p && rxMs > p.LastReplyMs)
        {
            p.LastReplyMs = rxMs;
        }
    }

    /// <summary>The caller sent (or tried to send) PATH_PROBE with ctrl_seq <paramref name="seq"/> on the path.</summary>
    public void OnProbeSent(int pathId, ulong seq, long nowMs) => Find(pathId)?.ProbeSent(seq, nowMs);

    /// <summary>PATH_PROBE_ACK echoing ctrl_seq <paramref name="seq"/> arrived. False if it answers no probe of ours.</summary>
    public bool OnProbeAck(int pathId, ulong seq, long nowMs) => Find(pathId) is { } p && p.ProbeAcked(seq, nowMs);

    /// <summary>REATTACH_ACK for the pending switch: the path is active from now on.</summary>
    public PathSwitchRecord? OnSwitchAcked(int pathId, long nowMs, List<PathDecision> log)
    {
        PathEntry? to = Find(pathId);
        if (to is null)
        {
            return null;
        }
        PathEntry? from = Active;
        string fromName = from?.Info.Interface ?? _lostActiveName ?? "";
        // The gap runs from the last reply the old path gave before we decided to leave it (a reply that
        // sneaks in while the REATTACH is in flight does not shorten what the user saw).
        long lastReply = pathId == PendingId && _pendingFromLastReplyMs >= 0 ? _pendingFromLastReplyMs
            : from is not null ? from.LastReplyMs : _lostActiveLastReplyMs;
        long gap = lastReply >= 0 ? Math.Max(0, nowMs - lastReply) : 0;
        ReasonCode reason = pathId == PendingId ? _pendingReason : ReasonCode.TransportDeadRecovery;
        bool moved = from is null || from.Id != pathId;
        ActiveId = pathId;
        PendingId = -1;
        _activeSinceMs = nowMs;
        EndSuspicion(to, nowMs, log);
        _lostActiveName = null;
        to.LastReplyMs = Math.Max(to.LastReplyMs, nowMs);
        if (to.State == PathState.Dead)
        {
            to.State = PathState.Alive;
        }
        if (!moved)
        {
            log.Add(Decision(nowMs, "path_restored", to, null, reason, "the server bound the same path again"));
            return null;
        }
        _lastSwitchMs = nowMs;
        _switchTimes.Enqueue(nowMs);
        var record = new PathSwitchRecord(nowMs, fromName, to.Info.Interface, reason, gap);
        _history[_historyCount++ % SwitchHistory] = record;
        log.Add(Decision(nowMs, "switched", to, fromName, reason, "gap_ms=" + gap.ToString(CultureInfo.InvariantCulture)));
        return record;
    }

    /// <summary>REATTACH_REJECT for the pending switch: keep the path out of the running for retry_after.</summary>
    public void OnSwitchRejected(int pathId, ReasonCode reason, long retryAfterMs, long nowMs, List<PathDecision> log)
    {
        if (Find(pathId) is not { } p)
        {
            return;
        }
        if (reason == ReasonCode.InvalidTransportCandidate && (pathId == ActiveId || ActiveId < 0))
        {
            // "Already bound there": the server kept our binding through the silence. Nothing to move.
            OnSwitchAcked(pathId, nowMs, log);
            return;
        }
        if (pathId == PendingId)
        {
            PendingId = -1;
        }
        p.PenaltyUntilMs = nowMs + Math.Max(200, retryAfterMs);
        log.Add(Decision(nowMs, "switch_refused", p, Active?.Info.Interface, reason, "retry_after_ms=" + retryAfterMs.ToString(CultureInfo.InvariantCulture)));
    }

    /// <summary>
    /// The handshake through the active path has not completed for a RekeyTimeout or more and no session
    /// exists: try the next path (before a session there is nothing to reattach, so this is just a move).
    /// </summary>
    public void OnHandshakeStalled(long nowMs, List<PathAction> actions, List<PathDecision> log)
    {
        if (SessionBound || _paths.Count < 2)
        {
            return;
        }
        var ranked = new List<PathEntry>(_paths);
        ranked.Sort(ComparePriority);
        int pos = ranked.FindIndex(p => p.Id == ActiveId); // -1 without an active path: start at the top
        PathEntry next = ranked[(pos + 1) % ranked.Count];
        if (next.Id != ActiveId)
        {
            Use(next, nowMs, ReasonCode.TransportDeadRecovery, "no handshake answer through " + (Active?.Info.Interface ?? "(none)"), actions, log);
        }
    }

    /// <summary>Measures, probes, and decides. Call every sweep (50 ms).</summary>
    public void Tick(long nowMs, List<PathAction> actions, List<PathDecision> log)
    {
        if (_paths.Count == 0)
        {
            return;
        }
        UpdateStates(nowMs, log);
        PathEntry? active = Active;
        bool activeBad = active is null || active.State == PathState.Dead;
        UpdateSuspicion(active, nowMs, log);
        bool fast = activeBad || _suspect || active is null || active.State == PathState.Dead;
        Probe(nowMs, fast, idle: !fast && IsIdle(nowMs), actions);

        if (PendingId >= 0)
        {
            long wait = Math.Clamp((long)((Find(PendingId)?.SrttMs ?? 250) * 4), 500, 2_000);
            if (nowMs - _pendingSinceMs < wait)
            {
                return;
            }
            log.Add(Decision(nowMs, "switch_timeout", Find(PendingId), Active?.Info.Interface, _pendingReason, "no REATTACH answer"));
            PendingId = -1;
        }

        if (active is null && !SessionBound)
        {
            // Nothing bound yet (before HELLO_ACK, or a plain WireGuard server): send on the best path now;
            // the handshake itself is the probe.
            PathEntry? first = BestCandidate(nowMs, exclude: -1, requireAnswer: false);
            if (first is not null)
            {
                Use(first, nowMs, ReasonCode.None, "initial path", actions, log);
            }
            return;
        }

        PathEntry? best = BestCandidate(nowMs, exclude: ActiveId, requireAnswer: true);
        if (activeBad)
        {
            if (active is not null && active.State != PathState.Dead)
            {
                return;
            }
            if (best is not null)
            {
                Switch(best, nowMs, ReasonCode.TransportDeadRecovery,
                    active is null ? "active path " + (_lostActiveName ?? "(none)") + " gone" : "active path silent", actions, log);
            }
            else if (active is not null && active.LastReplyMs > 0 && nowMs - active.LastReplyMs < active.ProbeTimeoutMs)
            {
                Switch(active, nowMs, ReasonCode.TransportDeadRecovery, "active path answers again", actions, log);
            }
            return;
        }
        if (!SessionBound || active is null)
        {
            return;
        }
        (double aLoss, int aSamples) = active.Loss(nowMs);
        double aScore = active.Score(aLoss);
        bool cooldownOk = nowMs - _lastSwitchMs >= _policy.SwitchCooldownMs;
        bool capOk = SwitchesLastMinute(nowMs) < _policy.MaxSwitchesPerMinute;

        // Quality (multi-sample, docs/session-spec.md §2.8): only while replies still flow; a silent path is the
        // liveness rule's business, so a blackhole is reported as what it is (TRANSPORT_DEAD).
        if (!_suspect && best is not null && best.State == PathState.Alive && aSamples >= 8 && aLoss > _policy.LossThreshold)
        {
            (double bLoss, _) = best.Loss(nowMs);
            double bScore = best.Score(bLoss);
            if (bScore > Math.Max(aScore, 1) * _policy.ImprovementFactor)
            {
                if (Voluntary(best, nowMs, cooldownOk, capOk, log))
                {
                    Switch(best, nowMs, ReasonCode.LossRecovery,
                        string.Create(CultureInfo.InvariantCulture, $"loss {aLoss:0.00} > {_policy.LossThreshold:0.00}; score {bScore:0.0} vs {aScore:0.0}"), actions, log);
                }
                return;
            }
        }

        PathEntry? preferred = PreferredCandidate(active, nowMs);
        if (preferred is not null)
        {
            (double pLoss, _) = preferred.Loss(nowMs);
            double pScore = preferred.Score(pLoss);
            if (pScore * _policy.ImprovementFactor >= aScore && Voluntary(preferred, nowMs, cooldownOk, capOk, log))
            {
                Switch(preferred, nowMs, ReasonCode.PreferredPathChanged,
                    string.Create(CultureInfo.InvariantCulture, $"priority {preferred.Info.Priority} < {active.Info.Priority}, stable {nowMs - preferred.HealthySinceMs} ms"), actions, log);
            }
        }
    }

    private void UpdateStates(long nowMs, List<PathDecision> log)
    {
        foreach (PathEntry p in _paths)
        {
            (double loss, int samples) = p.Loss(nowMs);
            PathState next;
            bool silent = p.LastReplyMs < 0 || nowMs - p.LastReplyMs > _policy.PathDeadMs;
            if (p.ConsecutiveLost >= _policy.MaxConsecutiveDrops && silent)
            {
                next = PathState.Dead;
            }
            else if (p.LastReplyMs < 0)
            {
                next = PathState.Probing;
            }
            else if (samples >= 4 && loss > _policy.LossThreshold)
            {
                next = PathState.Lossy;
            }
            else
            {
                next = PathState.Alive;
            }
            if (p.Id == ActiveId && p.State == PathState.Dead && next != PathState.Dead && nowMs - p.LastReplyMs > p.ProbeTimeoutMs)
            {
                next = PathState.Dead; // a dead active path comes back only with a fresh answer
            }
            if (next != p.State)
            {
                string detail = string.Create(CultureInfo.InvariantCulture, $"loss {loss:0.00} over {samples} probes, srtt {Math.Max(0, p.SrttMs):0} ms");
                p.State = next;
                log.Add(Decision(nowMs, "path_" + WireName(next), p, null, next == PathState.Dead ? ReasonCode.TransportDead
                    : next == PathState.Lossy ? ReasonCode.LossThresholdExceeded : ReasonCode.HealthRecovered, detail));
            }
        }
    }

    private void UpdateSuspicion(PathEntry? active, long nowMs, List<PathDecision> log)
    {
        if (active is null)
        {
            EndSuspicion(null, nowMs, log);
            return;
        }
        // Replies are stamped by the data plane's clock and converted to ms once per sweep, requests by the
        // sweep's clock: a reply up to ClockSlackMs "before" a request still answers it.
        long lastRx = Math.Max(active.LastReplyMs, _activeSinceMs) + ClockSlackMs;
        // Silence counts from the first request not answered yet, not from the last reply: an idle path's
        // last reply may be a whole idle interval old, and that is not a fault (docs/paths.md "Idle").
        long dataWait = WaitSince(ref _dataWaitSinceMs, _lastTxMs, lastRx, nowMs);
        long anyWait = WaitSince(ref _anyWaitSinceMs, Math.Max(_lastTxMs, _lastKeepaliveMs), lastRx, nowMs);
        long suspectAfter = active.SrttMs < 0 ? 300 : Math.Clamp((long)(4 * active.SrttMs), 100, 600);
        bool suspect = dataWait > suspectAfter;
        if (suspect && !_suspect)
        {
            foreach (PathEntry p in _paths)
            {
                p.NextProbeMs = nowMs; // probe immediately (docs/design.md §4: fast liveness)
            }
            SuspectEpisodes++;
            _suspectSinceMs = nowMs;
            log.Add(Decision(nowMs, "active_suspect", active, null, ReasonCode.HeartbeatTimeout,
                string.Create(CultureInfo.InvariantCulture, $"no reply for {dataWait} ms with traffic outstanding")));
        }
        else if (!suspect)
        {
            EndSuspicion(active, nowMs, log);
        }
        _suspect = suspect;
        bool dead = dataWait > _policy.PathDeadMs || anyWait > _policy.TransportDeadMs;
        if (dead && active.State != PathState.Dead)
        {
            active.State = PathState.Dead;
            long silence = Math.Max(dataWait, anyWait);
            log.Add(Decision(nowMs, "path_dead", active, null, ReasonCode.TransportDead,
                string.Create(CultureInfo.InvariantCulture, $"no authenticated reply for {silence} ms{(dataWait > _policy.PathDeadMs ? " with traffic outstanding" : "")}")));
        }
    }

    /// <summary>One line at the end of a suspicion episode, not one per sweep (the count is in status).</summary>
    private void EndSuspicion(PathEntry? active, long nowMs, List<PathDecision> log)
    {
        if (!_suspect)
        {
            return;
        }
        _suspect = false;
        log.Add(Decision(nowMs, "active_suspect_end", active, null, active?.State == PathState.Dead ? ReasonCode.TransportDead : ReasonCode.HealthRecovered,
            string.Create(CultureInfo.InvariantCulture, $"after {nowMs - _suspectSinceMs} ms")));
    }

    /// <summary>
    /// How long the oldest request sent after the last reply has waited (0 when none is waiting);
    /// <paramref name="since"/> remembers when the wait began (the first request seen after the reply).
    /// </summary>
    private static long WaitSince(ref long since, long lastRequestMs, long lastReplyMs, long nowMs)
    {
        if (lastRequestMs <= lastReplyMs)
        {
            since = -1;
            return 0;
        }
        if (since <= lastReplyMs)
        {
            since = lastRequestMs;
        }
        return Math.Max(0, nowMs - since);
    }

    private void Probe(long nowMs, bool fast, bool idle, List<PathAction> actions)
    {
        foreach (PathEntry p in _paths)
        {
            if (idle && p.Id == ActiveId)
            {
                continue; // the heartbeat speaks for the active path while idle
            }
            // Idle candidates back off like the heartbeat, counted from the later of the last data and the
            // path's arrival: a new path is measured at the normal rate first (its first probe may even
            // precede the handshake and be lost), then probed once per idle interval.
            long interval = fast ? _policy.PathFastProbeIntervalMs
                : !idle ? _policy.PathProbeIntervalMs
                : Math.Min(_policy.IdleKeepaliveIntervalMs, Math.Max(_policy.PathProbeIntervalMs,
                    IdleSchedule.GapAfter(_policy, nowMs, Math.Max(_lastDataMs, p.AddedMs))));
            if (nowMs >= p.NextProbeMs)
            {
                p.NextProbeMs = nowMs + interval;
                actions.Add(new PathAction(PathActionKind.Probe, p.Id, ReasonCode.None));
            }
            else if (p.NextProbeMs - nowMs > interval)
            {
                p.NextProbeMs = nowMs + interval; // switched to the fast interval
            }
        }
    }

    private bool Voluntary(PathEntry target, long nowMs, bool cooldownOk, bool capOk, List<PathDecision> log)
    {
        if (cooldownOk && capOk)
        {
            _deferredNote = null;
            return true;
        }
        string note = cooldownOk ? "switch cap reached" : "cooldown active";
        if (_deferredNote != note + target.Id.ToString(CultureInfo.InvariantCulture))
        {
            _deferredNote = note + target.Id.ToString(CultureInfo.InvariantCulture);
            log.Add(Decision(nowMs, "switch_deferred", target, Active?.Info.Interface,
                cooldownOk ? ReasonCode.SwitchRateLimited : ReasonCode.CooldownActive, note));
        }
        return false;
    }

    private void Switch(PathEntry target, long nowMs, ReasonCode reason, string detail, List<PathAction> actions, List<PathDecision> log)
    {
        if (!SessionBound)
        {
            Use(target, nowMs, reason, detail, actions, log);
            return;
        }
        PendingId = target.Id;
        _pendingSinceMs = nowMs;
        _pendingReason = reason;
        PathEntry? from = Active;
        _pendingFromLastReplyMs = from is not null ? Math.Min(from.LastReplyMs, nowMs) : _lostActiveLastReplyMs;
        (double loss, _) = target.Loss(nowMs);
        double? fromScore = from is null ? null : from.Score(from.Loss(nowMs).Loss);
        log.Add(new PathDecision(nowMs, "switch", target.Info.Interface, from?.Info.Interface ?? _lostActiveName, reason, detail, target.Score(loss), fromScore));
        actions.Add(new PathAction(PathActionKind.Reattach, target.Id, reason));
    }

    private void Use(PathEntry target, long nowMs, ReasonCode reason, string detail, List<PathAction> actions, List<PathDecision> log)
    {
        string? from = Active?.Info.Interface;
        ActiveId = target.Id;
        _activeSinceMs = nowMs;
        EndSuspicion(target, nowMs, log);
        log.Add(Decision(nowMs, "use", target, from, reason, detail));
        actions.Add(new PathAction(PathActionKind.Use, target.Id, reason));
    }

    /// <summary>docs/session-spec.md §2.8 filter and rank: answered recently, not penalised, priority then loss, RTT, id.</summary>
    private PathEntry? BestCandidate(long nowMs, int exclude, bool requireAnswer)
    {
        PathEntry? best = null;
        (double Loss, int Samples) bestLoss = default;
        foreach (PathEntry p in _paths)
        {
            if (p.Id == exclude || p.PenaltyUntilMs > nowMs)
            {
                continue;
            }
            if (requireAnswer && (p.State is not (PathState.Alive or PathState.Lossy) || nowMs - p.LastReplyMs > Math.Max(_policy.PathDeadMs, 2 * _policy.PathProbeIntervalMs)))
            {
                continue;
            }
            (double, int) loss = p.Loss(nowMs);
            if (best is null || Better(p, loss.Item1, best, bestLoss.Loss))
            {
                best = p;
                bestLoss = loss;
            }
        }
        return best;
    }

    private static bool Better(PathEntry a, double aLoss, PathEntry b, double bLoss)
    {
        bool aOk = a.State != PathState.Lossy;
        bool bOk = b.State != PathState.Lossy;
        if (aOk != bOk)
        {
            return aOk;
        }
        if (a.Info.Priority != b.Info.Priority)
        {
            return a.Info.Priority < b.Info.Priority;
        }
        if (Math.Abs(aLoss - bLoss) > 1e-9)
        {
            return aLoss < bLoss;
        }
        if (Math.Abs(a.SrttMs - b.SrttMs) > 1e-9)
        {
            return a.SrttMs >= 0 && (b.SrttMs < 0 || a.SrttMs < b.SrttMs);
        }
        return a.Id < b.Id;
    }

    private PathEntry? PreferredCandidate(PathEntry active, long nowMs)
    {
        PathEntry? pick = null;
        foreach (PathEntry p in _paths)
        {
            if (p.Id == active.Id || p.Info.Priority >= active.Info.Priority || p.State != PathState.Alive
                || p.HealthySinceMs < 0 || nowMs - p.HealthySinceMs < _policy.StabilityWindowMs || p.PenaltyUntilMs > nowMs)
            {
                continue;
            }
            (double loss, int samples) = p.Loss(nowMs);
            if (samples < 4 || loss > _policy.LossThreshold / 2)
            {
                continue;
            }
            if (pick is null || p.Info.Priority < pick.Info.Priority)
            {
                pick = p;
            }
        }
        return pick;
    }

    private static int ComparePriority(PathEntry a, PathEntry b) =>
        a.Info.Priority != b.Info.Priority ? a.Info.Priority.CompareTo(b.Info.Priority) : a.Id.CompareTo(b.Id);

    private PathEntry? FindByInterface(string name)
    {
        foreach (PathEntry p in _paths)
        {
            if (p.Info.Interface == name)
            {
                return p;
            }
        }
        return null;
    }

    private static bool Contains(IReadOnlyList<PathInfo> present, PathInfo info, out PathInfo current)
    {
        foreach (PathInfo p in present)
        {
            if (p.Interface == info.Interface && p.LocalAddress == info.LocalAddress)
            {
                current = p;
                return true;
            }
        }
        current = default;
        return false;
    }

    private static PathDecision Decision(long nowMs, string decision, PathEntry? p, string? from, ReasonCode reason, string detail) =>
        new(nowMs, decision, p?.Info.Interface ?? "", from, reason, detail, 0, null);

    public static string WireName(PathState state) => state switch
    {
        PathState.Probing => "probing",
        PathState.Alive => "alive",
        PathState.Lossy => "lossy",
        _ => "dead",
    };
}
