using System.Text.Json;

namespace JumpingVpn.LoadGen.Bench.Failover;

/// <summary>One session record as `jvpn cluster status --json` prints it.</summary>
internal sealed record StoreSession(string Owner, ulong Version, string State);

/// <summary>
/// After the takeover has settled: who owns each session, judged from three sides (docs/cluster.md
/// "Benchmark"). A dual owner is a session two live nodes both serve (their own session tables), or whose
/// store record names a node other than the one that answered the client. A version gap (client and
/// store view) is a resumed session whose versions went back or did not move on across the kill, or whose
/// store record carries another version than the client was last told; the merged audit logs check
/// that every version was taken exactly once. Only sessions whose client is attached when the owners are read are judged (a client
/// still moving has, by design, a store owner it has not heard from yet). Sessions per node counts the store owners of the clients' sessions. Pure: the inputs
/// are read by the caller.
/// </summary>
internal static class OwnershipCheck
{
    /// <param name="DualOwners">Settled sessions served by two live nodes, or whose store owner is not the node that answered.</param>
    /// <param name="ClaimedByTwo">Of those, the ones two live nodes' own tables list.</param>
    /// <param name="Unsettled">Sessions not attached when the owners were read (still moving, lost): not judged.</param>
    internal sealed record Result(int DualOwners, int ClaimedByTwo, int VersionGaps, int MissingFromStore, int Unsettled, IReadOnlyDictionary<string, int> SessionsPerNode);

    /// <param name="nodeIds">Node ids by node index.</param>
    /// <param name="claims">Per node index, the session ids its own table serves; null for a node not read (the killed one).</param>
    /// <param name="settled">Per trace, whether its client was attached and answered when the owners were read.</param>
    public static Result Check(IReadOnlyList<SessionTrace> traces, IReadOnlyList<string> nodeIds,
        IReadOnlyDictionary<string, StoreSession> store, IReadOnlyList<IReadOnlySet<string>?> claims, IReadOnlyList<bool> settled)
    {
        ArgumentNullException.ThrowIfNull(settled);
        ArgumentNullException.ThrowIfNull(traces);
        ArgumentNullException.ThrowIfNull(nodeIds);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(claims);
        int dual = 0, byTwo = 0, gaps = 0, missing = 0, unsettled = 0;
        var perNode = new SortedDictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < traces.Count; i++)
        {
            SessionTrace t = traces[i];
            if (t.Id.IsNone)
            {
                continue;
            }
            string id = t.Id.ToString();
            int claimed = 0;
            foreach (IReadOnlySet<string>? set in claims)
            {
                if (set is not null && set.Contains(id))
                {
                    claimed++;
                }
            }
            bool inStore = store.TryGetValue(id, out StoreSession? rec);
            if (!inStore)
            {
                missing++;
            }
            else
            {
                // Only the clients' current sessions: a session a retried HELLO replaced stays in the store,
                // released, until its retention ends (docs/cluster.md "Not done yet").
                perNode[rec!.Owner] = perNode.GetValueOrDefault(rec.Owner) + 1;
            }
            if (!settled[i])
            {
                unsettled++;
                continue;
            }
            bool wrongOwner = t.Resumed && inStore && t.LastNode >= 0 && !string.Equals(rec!.Owner, nodeIds[t.LastNode], StringComparison.Ordinal);
            if (claimed > 1 || wrongOwner)
            {
                dual++;
                byTwo += claimed > 1 ? 1 : 0;
            }
            if (t.Resumed && (!t.VersionsMoveOn || (inStore && rec!.Version != t.LastVersion)))
            {
                gaps++;
            }
        }
        return new Result(dual, byTwo, gaps, missing, unsettled, perNode);
    }

    /// <summary>The sessions of a `jvpn cluster status --json` document, by session id.</summary>
    public static Dictionary<string, StoreSession> ParseStatus(string json)
    {
        var result = new Dictionary<string, StoreSession>(StringComparer.Ordinal);
        using JsonDocument doc = JsonDocument.Parse(json);
        if (!doc.RootElement.TryGetProperty(FailoverSemantics.StatusSessions, out JsonElement sessions))
        {
            return result;
        }
        foreach (JsonElement s in sessions.EnumerateArray())
        {
            string id = s.GetProperty(FailoverSemantics.StatusSessionId).GetString() ?? "";
            result[id] = new StoreSession(
                s.GetProperty(FailoverSemantics.StatusOwner).GetString() ?? "",
                s.GetProperty(FailoverSemantics.StatusVersion).GetUInt64(),
                s.TryGetProperty(FailoverSemantics.StatusState, out JsonElement st) ? st.GetString() ?? "" : "");
        }
        return result;
    }
}
