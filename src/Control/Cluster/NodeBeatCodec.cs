using System.Globalization;

namespace JumpingVpn.Control.Cluster;

/// <summary>
/// A node's heartbeat record as both shared stores keep it (docs/cluster.md "Node liveness"):
/// `NODE_EPOCH|BEAT|SEEN_UNIX_MS|DRAINING(0/1)|ENDPOINT`. Decoding is untrusted input: anything that does not
/// parse or fails <see cref="StoreRecordCheck.NodeProblem"/> is a problem, never an exception.
/// </summary>
internal static class NodeBeatCodec
{
    public static string Encode(ClusterNodeInfo n, long seenUnixMs)
    {
        ArgumentNullException.ThrowIfNull(n);
        return string.Create(CultureInfo.InvariantCulture, $"{n.NodeEpoch}|{n.Beat}|{seenUnixMs}|{(n.Draining ? 1 : 0)}|{n.Endpoint}");
    }

    public static bool TryDecode(string nodeId, string value, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ClusterNodeInfo? node,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? problem)
    {
        ArgumentNullException.ThrowIfNull(nodeId);
        ArgumentNullException.ThrowIfNull(value);
        node = null;
        string[] parts = value.Split('|', 5);
        if (parts.Length != 5
            || !ulong.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out ulong epoch)
            || !ulong.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out ulong beat)
            || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out long seen)
            || parts[3] is not ("0" or "1"))
        {
            problem = "heartbeat of node " + StoreRecordCheck.Excerpt(nodeId) + " = " + StoreRecordCheck.Excerpt(value) + " is not epoch|beat|seen|draining|endpoint";
            return false;
        }
        var decoded = new ClusterNodeInfo(nodeId, epoch, beat, parts[4], parts[3] == "1", seen);
        problem = StoreRecordCheck.NodeProblem(decoded);
        if (problem is not null)
        {
            return false;
        }
        node = decoded;
        return true;
    }
}
