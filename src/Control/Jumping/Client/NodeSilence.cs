namespace JumpingVpn.Control.Jumping.Client;

/// <summary>
/// The client's verdict that the cluster node it talks to is gone (docs/cluster.md "Client failover"), sans-I/O:
/// the node is dead when user data sent after its last authenticated packet has waited longer than path_dead
/// and a KEEPALIVE sent since then is unanswered too. The server's answers on any path count (probe answers
/// included), so this fires only when every path to the node is silent; a lossy path keeps answering some
/// requests and never qualifies, and an idle session has no data waiting (idle silence is
/// transport_dead's business, docs/paths.md "Idle"). The KEEPALIVE condition keeps a one-way upload, which
/// the server need not answer, from looking like silence: the heartbeat goes out while a request waits
/// (docs/design.md §3) and its answer resets the wait.
/// </summary>
internal static class NodeSilence
{
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

    /// <summary>Every path to the node is dead by path_dead: data waited longer than it and the heartbeat sent since the last reply is unanswered.</summary>
    public static bool IsDead(long dataWaitMs, long lastKeepaliveSentNs, long lastRxNs, long pathDeadMs) =>
        dataWaitMs > pathDeadMs && lastKeepaliveSentNs != long.MinValue && lastKeepaliveSentNs > lastRxNs;
}
