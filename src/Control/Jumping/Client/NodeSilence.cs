namespace JumpingVpn.Control.Jumping.Client;

/// <summary>
/// The client's verdict that the cluster node it talks to is gone (docs/cluster.md "Client failover"), sans-I/O:
/// the node is dead when user data sent after its last authenticated packet has waited longer than the
/// verdict time (<see cref="VerdictMs"/>: 600 ms on a short round trip, never more than path_dead) and a
/// KEEPALIVE sent since then is unanswered too. From <see cref="ProbeAfterMs"/> of waiting on, the client
/// sends a KEEPALIVE every <see cref="ProbeEveryMs"/> (<see cref="Probing"/>), so a node that is only slow
/// or dropped a reply answers one of several before the verdict. The server's answers on any path count (probe answers
/// included), so this fires only when every path to the node is silent; a lossy path keeps answering some
/// requests and never qualifies, and an idle session has no data waiting (idle silence is
/// transport_dead's business, docs/paths.md "Idle"). The KEEPALIVE condition keeps a one-way upload, which
/// the server need not answer, from looking like silence: the heartbeat goes out while a request waits
/// (docs/design.md §3) and its answer resets the wait.
/// </summary>
internal static class NodeSilence
{
    /// <summary>Data waiting this long without any answer starts the fast probes.</summary>
    public const long ProbeAfterMs = 300;

    /// <summary>Period of the fast probes (KEEPALIVEs) while data waits.</summary>
    public const long ProbeEveryMs = 100;

    /// <summary>
    /// The verdict on a short round trip. Survivors may take a dead node's sessions from NodeTtl − one beat
    /// period after its death (0.65 s at the defaults, docs/cluster.md "Node liveness"), so a client that
    /// arrives at 0.6-0.65 s is refused at most once or twice and resumes within 20-100 ms of the first moment
    /// the takeover is allowed. And it is not earlier than the owner's own validity runs out when the owner
    /// stalls (NodeTtl − fence margin, 0.5 s):
    /// a client that gives up on a stalled owner only does so once that owner has to fence itself anyway
    /// (docs/cluster.md "Client failover").
    /// </summary>
    public const long FastVerdictMs = 600;

    /// <summary>
    /// How long data must wait before the node is judged gone: <see cref="FastVerdictMs"/>, stretched to four
    /// round trips on a slow link (a reply that is merely in flight is not silence), never beyond path_dead.
    /// <paramref name="rttMs"/> &lt; 0: not measured yet.
    /// </summary>
    public static long VerdictMs(long rttMs, long pathDeadMs) => Math.Min(pathDeadMs, Math.Max(FastVerdictMs, 4 * rttMs));

    /// <summary>
    /// How long the client is settling on a node it moved to, counted from that node's first answer after the move:
    /// meanwhile the node gets a longer verdict (<see cref="SettlingVerdictMs"/>) and slower probes.
    /// </summary>
    public const long SettleMs = 20_000;

    /// <summary>
    /// The verdict for a node the client moved to and that has answered it since (docs/cluster.md "Client failover"):
    /// path_dead doubled for each move of the current run (<paramref name="recentMoves"/>, see <see cref="RecentMoves"/>),
    /// never beyond transport_dead; <see cref="VerdictMs"/> when the client is not settling. A node that answered the
    /// resume a moment ago holds the session in the store and beats; if it then falls silent, it is most likely busy
    /// taking over a dead node's other sessions, and leaving it costs far more than waiting: every other node refuses
    /// the client while that owner beats (2 s of NOT_AUTHORITATIVE_OWNER before the client tries the next node) and
    /// each move is another handshake and adoption on the already busy survivors. A second failure within the
    /// settle window costs the client the longer verdict instead of the short one.
    /// </summary>
    public static long SettlingVerdictMs(long rttMs, long pathDeadMs, long transportDeadMs, int recentMoves)
    {
        long verdict = VerdictMs(rttMs, pathDeadMs);
        if (recentMoves <= 0)
        {
            return verdict;
        }
        return Math.Max(verdict, Math.Min(transportDeadMs, pathDeadMs << Math.Min(recentMoves, 4)));
    }

    /// <summary>The fast probes' period while settling: <see cref="ProbeEveryMs"/> doubled per recent move, at most 4x (a busy node gets fewer).</summary>
    public static long ProbeEveryMsFor(int recentMoves) => ProbeEveryMs << Math.Clamp(recentMoves, 0, 2);

    /// <summary>
    /// The moves that count for the settling verdict: those of the current run while the client is settling, i.e. the
    /// node answered since the last move (<paramref name="settlingSinceMs"/>: its first answer, -1 none yet) less than
    /// <see cref="SettleMs"/> ago; otherwise 0 (a node that never answered is left at the ordinary verdict).
    /// </summary>
    public static int RecentMoves(int moves, long settlingSinceMs, long nowMs) =>
        settlingSinceMs >= 0 && nowMs - settlingSinceMs < SettleMs ? moves : 0;

    /// <summary>
    /// The move count after one more move at <paramref name="nowMs"/>: the run goes on while the last move or the last
    /// settling began less than <see cref="SettleMs"/> ago (<paramref name="lastActivityMs"/>, the later of the two),
    /// else a new run starts.
    /// </summary>
    public static int CountMove(int moves, long lastActivityMs, long nowMs) =>
        (lastActivityMs >= 0 && nowMs - lastActivityMs < SettleMs ? moves : 0) + 1;

    /// <summary>Data has waited long enough that the client probes the node every <see cref="ProbeEveryMs"/>.</summary>
    public static bool Probing(long dataWaitMs) => dataWaitMs >= ProbeAfterMs;

    /// <summary>
    /// How long the oldest data packet sent after the last authenticated reply has waited, in ms (0 when none
    /// waits); <paramref name="waitingSinceNs"/> keeps the start of the wait between calls (long.MinValue: none).
    /// </summary>
    public static long DataWaitMs(ref long waitingSinceNs, long lastDataTxNs, long lastRxNs, long nowNs)
    {
        if (lastDataTxNs == long.MinValue || lastDataTxNs <= lastRxNs)
        {
            waitingSinceNs = long.MinValue;
            return 0;
        }
        if (waitingSinceNs == long.MinValue || waitingSinceNs <= lastRxNs)
        {
            waitingSinceNs = lastDataTxNs;
        }
        return Math.Max(0, (nowNs - waitingSinceNs) / 1_000_000);
    }

    /// <summary>Every path to the node is silent: data waited longer than <paramref name="verdictMs"/> and the KEEPALIVE sent since the last reply is unanswered.</summary>
    public static bool IsDead(long dataWaitMs, long lastKeepaliveSentNs, long lastRxNs, long verdictMs) =>
        dataWaitMs > verdictMs && lastKeepaliveSentNs != long.MinValue && lastKeepaliveSentNs > lastRxNs;
}
