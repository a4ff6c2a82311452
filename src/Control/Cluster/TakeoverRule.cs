namespace JumpingVpn.Control.Cluster;

/// <summary>
/// The acquire rule of docs/cluster.md "Failover", decided on the record and the owner's heartbeat record as
/// the store holds them at the moment of the atomic step. <see cref="InMemorySessionStore"/> and
/// <see cref="EtcdSessionStore"/> call it; <see cref="RedisScripts.Acquire"/> is the same rule in Lua.
/// </summary>
internal static class TakeoverRule
{
    public static StoreStatus Decide(OwnershipRecord cur, ClusterNodeInfo? ownerBeat, string node, ulong nodeEpoch, in AcquireExpectation expected)
    {
        if (!string.Equals(cur.OwnerNode, expected.OwnerNode, StringComparison.Ordinal) || cur.OwnerNodeEpoch != expected.OwnerNodeEpoch || cur.OwnerEpoch != expected.OwnerEpoch)
        {
            return StoreStatus.OwnershipConflict;
        }
        if (cur.StateVersion != expected.StateVersion)
        {
            return StoreStatus.StaleStateVersion;
        }
        bool allowed = cur.Released
            || (string.Equals(cur.OwnerNode, node, StringComparison.Ordinal) && cur.OwnerNodeEpoch <= nodeEpoch)
            || (ownerBeat is not null && ownerBeat.NodeEpoch > cur.OwnerNodeEpoch)
            || ObservedBeat.Of(ownerBeat) == expected.StaleBeat;
        return allowed ? StoreStatus.Ok : StoreStatus.OwnerAlive;
    }
}
