using System.Globalization;
using System.Text.Json;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.EndToEnd;

/// <summary>
/// A jvpn server cluster on a real store in namespaces (<see cref="ClusterTopology"/>) with the default
/// configuration (NodeTtl 700 ms), each test once on Redis and once on etcd (docs/cluster.md "Which store"): the
/// owner node is killed with SIGKILL while four clients ping through their tunnels and a TCP stream runs inside
/// one, and the sessions continue on other nodes with the same id and inner address, contiguous versions,
/// exactly one owner, every gap at most 1.5 s and their median at most 1 s; the TCP stream survives; the old
/// node, restarted, serves nothing. The owner frozen for 0.8 s (SIGSTOP) costs its client the stall and little more. And the store stopped: the node forwards until NodeTtl minus the fence margin after its last
/// successful heartbeat, then fails closed; reattaches get STORE_UNAVAILABLE; service resumes by itself
/// (under a new node epoch) when the store is back.
/// </summary>
[Collection(EndToEndCollection.Name)]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ClusterFailoverTests
{
    [Theory]
    [InlineData("redis")]
    [InlineData("etcd")]
    public void Kill_9_of_the_owner_node_moves_the_session_to_another_node_with_the_same_id_and_inner_address(string store)
    {
        Requirements.Ensure(["jvpn", "wg", "ping", "iperf3", .. Server(store)]);
        using ClusterTopology t = ClusterTopology.Create(3, store, MoreClients);
        for (int i = 1; i <= 3; i++)
        {
            t.StartNode(i);
        }
        JvpnPeer client = t.StartClient();
        var more = new List<JvpnPeer>();
        string context = "";
        try
        {
            Assert.True(Ping.WaitForReply(t.Client, ClusterTopology.ServiceV4, TimeSpan.FromSeconds(20)), "no ping through node-1 before the failover");
            SessionView before = SessionStatus.WaitForAttached(client, TimeSpan.FromSeconds(10));
            JsonElement owner = SessionOf(t, before.Id!);
            Assert.Equal("node-1", owner.GetProperty("owner_node_id").GetString());
            // More clients of node-1, so the gap goal is judged on a median (the issue: every gap <= 1.5 s, median <= 1 s).
            for (int j = 1; j <= MoreClients; j++)
            {
                more.Add(t.StartExtraClient(j));
                Assert.True(Ping.WaitForReply(t.ExtraClientNamespaces[j - 1], ClusterTopology.ServiceV4, TimeSpan.FromSeconds(20)), $"no ping from client {j + 1} before the failover");
            }
            // WireGuard sends one initiation per RekeyTimeout (5 s): a client that handshook less than 5 s before
            // the kill waits for that before it may handshake with the next node (docs/cluster.md "Client
            // failover"). The kill comes 3 s after the meters start, so 3 s here put every handshake 6 s back.
            Thread.Sleep(3000);

            GapMeter meter = GapMeter.Start(t.Client, ClusterTopology.ServiceV4, TimeSpan.FromSeconds(20));
            GapMeter[] moreMeters = [.. t.ExtraClientNamespaces.Select(ns => GapMeter.Start(ns, ClusterTopology.ServiceV4, TimeSpan.FromSeconds(12)))];
            // A TCP stream inside the tunnel across the kill (capped at 2 Mbit/s: it must survive, not measure).
            Iperf3Result? stream = null;
            Exception? streamFailed = null;
            var tcp = new Thread(() =>
            {
                try
                {
                    stream = Iperf3.RunTcp(t.Router, ClusterTopology.ServiceV4, t.Client, 14, bitrate: "2M");
                }
                catch (InvalidOperationException ex)
                {
                    streamFailed = ex;
                }
            }) { IsBackground = true };
            tcp.Start();
            Thread.Sleep(3000);
            ulong killedEpoch = NodeOf(t, "node-1").GetProperty("node_epoch").GetUInt64();
            DateTimeOffset killedAt = DateTimeOffset.UtcNow;
            t.Node(1).Process!.KillHard();
            GapReport gap = meter.Wait();
            GapReport[] moreGaps = [.. moreMeters.Select(m => m.Wait())];
            Assert.True(tcp.Join(TimeSpan.FromSeconds(40)), "the TCP stream did not finish");
            context = "\n" + t.Describe() + "\nclient events:\n" + ClusterTopology.Events(client) + "\nnode-2 events:\n" + ClusterTopology.Events(t.Node(2));

            TimeSpan? failoverGap = gap.GapAround(killedAt);
            TunnelScenarios.Log(string.Create(CultureInfo.InvariantCulture,
                $"{store}: owner kill -9 at +{(killedAt - gap.StartedAt).TotalSeconds:0.00} s: gap across it {failoverGap?.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) ?? "(no reply after it)"} ms; 50 ms ping: {gap}"));
            Assert.True(failoverGap is not null, $"no ping reply after the owner died: {gap}{context}");
            TunnelScenarios.Log($"{store}: TCP stream across the kill: {stream?.ToString() ?? streamFailed?.Message}");
            Assert.True(stream is { ReceivedBitsPerSecond: > 0 }, $"the TCP stream inside the tunnel did not survive: {streamFailed?.Message}{context}");

            SessionView after = SessionStatus.WaitForAttached(client, TimeSpan.FromSeconds(10));
            Assert.Equal(before.Id, after.Id);
            JsonElement moved = SessionOf(t, before.Id!);
            string newOwner = moved.GetProperty("owner_node_id").GetString()!;
            Assert.True(newOwner is "node-2" or "node-3", $"owner after failover: {newOwner}{context}");
            Assert.Equal(2UL, moved.GetProperty("owner_epoch").GetUInt64());
            // Exactly one owner: only the new owner holds the session and routes the client's address.
            JvpnPeer other = t.Node(newOwner == "node-2" ? 3 : 2);
            Assert.Null(SessionStatus.Read(other));
            Assert.Contains("(none)", other.Namespace.Exec("wg", "show", other.InterfaceName, "allowed-ips").StandardOutput, StringComparison.Ordinal);
            Assert.Equal("10.77.0.2/32", moved.GetProperty("inner_addresses").GetString());
            // Versions contiguous: v(before) ATTACHED, +1 TRANSPORT_DEAD (OWNER_FAILOVER), +2 REATTACH_SUCCESS.
            Assert.Equal(before.Version + 2, moved.GetProperty("state_version").GetUInt64());
            Assert.Equal(before.Version + 2, after.Version);
            JvpnPeer taker = t.Node(newOwner == "node-2" ? 2 : 3);
            string events = ClusterTopology.Events(taker);
            Assert.Contains("\"event_type\":\"SESSION_OWNER_TRANSFERRED\"", events, StringComparison.Ordinal);
            Assert.Contains("\"detail_code\":\"OWNER_FAILOVER\"", events, StringComparison.Ordinal);
            Assert.Contains("\"reason_code\":\"REATTACH_SUCCESS\"", events, StringComparison.Ordinal);
            AssertVersionsContiguous(events, before.Id!, before.Version + 1, before.Version + 2, context);
            // Listed as dead; on etcd its heartbeat record goes with its lease 2 s after the last beat (docs/cluster.md "etcd").
            JsonElement? deadNode = TryNodeOf(t, "node-1");
            Assert.True(deadNode is { } dead ? dead.GetProperty("liveness").GetString() == "dead" : store == "etcd",
                "node-1 after the kill: " + (deadNode?.ToString() ?? "no heartbeat record") + context);

            // node-1 restarts with the same key and node id (a new node epoch): it cannot serve the session
            // (the new owner beats), routes nothing for the client, and the store still names the new owner.
            JvpnPeer restarted = t.StartNode(1);
            Thread.Sleep(2000);
            Assert.True(Ping.WaitForReply(t.Client, ClusterTopology.ServiceV4, TimeSpan.FromSeconds(5)), "ping after node-1 restarted" + context);
            Assert.Null(SessionStatus.Read(restarted));
            Assert.Contains("(none)", restarted.Namespace.Exec("wg", "show", restarted.InterfaceName, "allowed-ips").StandardOutput, StringComparison.Ordinal);
            JsonElement still = SessionOf(t, before.Id!);
            Assert.Equal(newOwner, still.GetProperty("owner_node_id").GetString());
            Assert.Equal(2UL, still.GetProperty("owner_epoch").GetUInt64());
            JsonElement back = NodeOf(t, "node-1");
            Assert.Equal(("alive", 0), (back.GetProperty("liveness").GetString(), back.GetProperty("sessions").GetInt32()));
            Assert.True(back.GetProperty("node_epoch").GetUInt64() > killedEpoch, "the restarted node runs under a new node epoch" + context);
            Assert.True(NodeOf(t, newOwner).GetProperty("sessions").GetInt32() >= 1);
            Assert.Equal(1 + MoreClients, NodeOf(t, "node-2").GetProperty("sessions").GetInt32() + NodeOf(t, "node-3").GetProperty("sessions").GetInt32());
            TunnelScenarios.Log("cluster status after node-1 restarted:\n" + t.ClusterStatusJson());

            // The issue's goal with the default configuration: every client fails over within 1.5 s, the median
            // within 1 s. The survivors may take the sessions 0.65-0.75 s after the kill (NodeTtl 700 ms, beats
            // every 50 ms); the clients judge node-1 silent at 0.6 s and retry the refused reattach every <= 100 ms.
            var gaps = new List<double> { failoverGap.Value.TotalMilliseconds };
            for (int j = 0; j < moreGaps.Length; j++)
            {
                TimeSpan? g = moreGaps[j].GapAround(killedAt);
                Assert.True(g is not null, $"client {j + 2}: no ping reply after the owner died: {moreGaps[j]}{context}");
                gaps.Add(g.Value.TotalMilliseconds);
            }
            gaps.Sort();
            double median = (gaps[(gaps.Count - 1) / 2] + gaps[gaps.Count / 2]) / 2;
            string all = string.Join(", ", gaps.Select(g => g.ToString("0", CultureInfo.InvariantCulture)));
            TunnelScenarios.Log(string.Create(CultureInfo.InvariantCulture, $"{store}: gaps of the {gaps.Count} clients across the kill: {all} ms, median {median:0} ms"));
            Assert.True(gaps[^1] <= 1500, $"{store}: gaps {all} ms across the kill, goal every one <= 1500 ms{context}");
            Assert.True(median <= 1000, $"{store}: gaps {all} ms across the kill, median {median:0} ms, goal <= 1000 ms{context}");
            // Every client's session moved off node-1: to node-2 or node-3, taken over exactly once.
            using JsonDocument status = JsonDocument.Parse(t.ClusterStatusJson());
            JsonElement[] sessions = [.. status.RootElement.GetProperty("sessions").EnumerateArray()];
            Assert.Equal(1 + MoreClients, sessions.Length);
            Assert.All(sessions, x => Assert.True(x.GetProperty("owner_node_id").GetString() is "node-2" or "node-3" && x.GetProperty("owner_epoch").GetUInt64() == 2,
                $"session {x}{context}"));
        }
        catch (Exception ex) when (ex is not Xunit.Sdk.XunitException || context.Length == 0)
        {
            throw new InvalidOperationException(ex.Message + "\n" + t.Describe() + "\nclient events:\n" + ClusterTopology.Events(client), ex);
        }
        finally
        {
            foreach (JvpnPeer p in more)
            {
                p.Dispose();
            }
        }
    }

    /// <summary>Clients of node-1 besides the one with the TCP stream: four gaps per run for the median.</summary>
    private const int MoreClients = 3;

    /// <summary>How long the owner is frozen in the stall test: longer than its validity (NodeTtl − margin, 0.5 s), so it must fence.</summary>
    private static readonly TimeSpan Stall = TimeSpan.FromMilliseconds(800);

    /// <summary>
    /// The owner is frozen (SIGSTOP) for 0.8 s and then runs on (SIGCONT): a stall, not a death. The client gives
    /// up on it at its node-silence verdict (0.6 s); by then the frozen owner's validity has run out, so on waking
    /// it fences itself (NODE_FENCED) and re-registers, and a survivor takes the session over (docs/cluster.md
    /// "Client failover"). The late replies of the woken owner must not pull the client back. Same session id,
    /// contiguous versions, exactly one node serving it afterwards, and a gap of at most the stall + 0.4 s.
    /// </summary>
    [Theory]
    [InlineData("redis")]
    [InlineData("etcd")]
    public void An_owner_stalled_for_longer_than_its_validity_loses_the_session_to_a_survivor_and_the_gap_is_the_stall_plus_little(string store)
    {
        Requirements.Ensure(["jvpn", "wg", "ping", .. Server(store)]);
        using ClusterTopology t = ClusterTopology.Create(3, store);
        for (int i = 1; i <= 3; i++)
        {
            t.StartNode(i);
        }
        JvpnPeer client = t.StartClient();
        string context = "";
        try
        {
            Assert.True(Ping.WaitForReply(t.Client, ClusterTopology.ServiceV4, TimeSpan.FromSeconds(20)), "no ping through node-1 before the stall");
            SessionView before = SessionStatus.WaitForAttached(client, TimeSpan.FromSeconds(10));
            Assert.Equal("node-1", SessionOf(t, before.Id!).GetProperty("owner_node_id").GetString());
            ulong epochBefore = NodeOf(t, "node-1").GetProperty("node_epoch").GetUInt64();

            GapMeter meter = GapMeter.Start(t.Client, ClusterTopology.ServiceV4, TimeSpan.FromSeconds(10));
            Thread.Sleep(3000);
            DateTimeOffset frozenAt = DateTimeOffset.UtcNow;
            t.Node(1).Process!.Freeze();
            Thread.Sleep(Stall);
            t.Node(1).Process!.Thaw();
            GapReport gap = meter.Wait();
            context = "\n" + t.Describe() + "\nclient events:\n" + ClusterTopology.Events(client) + "\nnode-1 events:\n" + ClusterTopology.Events(t.Node(1))
                + "\nnode-2 events:\n" + ClusterTopology.Events(t.Node(2)) + "\nnode-3 events:\n" + ClusterTopology.Events(t.Node(3));
            TimeSpan? stallGap = gap.GapAround(frozenAt);
            TunnelScenarios.Log(string.Create(CultureInfo.InvariantCulture,
                $"{store}: owner frozen {Stall.TotalMilliseconds:0} ms at +{(frozenAt - gap.StartedAt).TotalSeconds:0.00} s: gap across it {stallGap?.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) ?? "(no reply after it)"} ms; 50 ms ping: {gap}"));
            Assert.True(stallGap is not null, $"no ping reply after the stall: {gap}{context}");

            SessionView after = SessionStatus.WaitForAttached(client, TimeSpan.FromSeconds(10));
            Assert.Equal(before.Id, after.Id);
            Thread.Sleep(1000); // settle: the woken node has fenced, re-registered and beats again
            JsonElement rec = SessionOf(t, before.Id!);
            string owner = rec.GetProperty("owner_node_id").GetString()!;
            Assert.True(owner is "node-2" or "node-3", $"owner after the stall: {owner}{context}");
            Assert.Equal(2UL, rec.GetProperty("owner_epoch").GetUInt64());
            Assert.Equal(before.Version + 2, rec.GetProperty("state_version").GetUInt64());
            Assert.Equal(before.Version + 2, SessionStatus.WaitForAttached(client, TimeSpan.FromSeconds(5)).Version);
            AssertVersionsContiguous(ClusterTopology.Events(t.Node(owner == "node-2" ? 2 : 3)), before.Id!, before.Version + 1, before.Version + 2, context);
            // Exactly one node serves the session: the owner; the woken node and the third hold and route nothing.
            foreach (int n in new[] { 1, 2, 3 }.Where(n => "node-" + n.ToString(CultureInfo.InvariantCulture) != owner))
            {
                Assert.Null(SessionStatus.Read(t.Node(n)));
                Assert.Contains("(none)", t.Node(n).Namespace.Exec("wg", "show", t.Node(n).InterfaceName, "allowed-ips").StandardOutput, StringComparison.Ordinal);
            }
            // Its validity ran out while frozen: on waking it fenced and runs on under a new node epoch.
            Assert.Contains("\"detail_code\":\"NODE_FENCED\"", ClusterTopology.Events(t.Node(1)), StringComparison.Ordinal);
            JsonElement woken = NodeOf(t, "node-1");
            Assert.Equal("alive", woken.GetProperty("liveness").GetString());
            Assert.True(woken.GetProperty("node_epoch").GetUInt64() > epochBefore, "the woken node runs under a new node epoch" + context);
            Assert.True(Ping.WaitForReply(t.Client, ClusterTopology.ServiceV4, TimeSpan.FromSeconds(5)), "ping after the stall" + context);

            double bound = Stall.TotalMilliseconds + 400;
            Assert.True(stallGap.Value.TotalMilliseconds <= bound, $"{store}: gap {stallGap.Value.TotalMilliseconds:0} ms across a {Stall.TotalMilliseconds:0} ms stall, bound {bound:0} ms; 50 ms ping: {gap}{context}");
        }
        catch (Exception ex) when (ex is not Xunit.Sdk.XunitException || context.Length == 0)
        {
            throw new InvalidOperationException(ex.Message + "\n" + t.Describe() + "\nclient events:\n" + ClusterTopology.Events(client), ex);
        }
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("etcd")]
    public void Store_stopped_the_node_forwards_until_its_validity_ends_then_fails_closed_and_resumes_when_it_returns(string store)
    {
        Requirements.Ensure(["jvpn", "wg", "ping", .. Server(store)]);
        using ClusterTopology t = ClusterTopology.Create(1, store);
        t.StartNode(1);
        JvpnPeer client = t.StartClient();
        Assert.True(Ping.WaitForReply(t.Client, ClusterTopology.ServiceV4, TimeSpan.FromSeconds(20)), "no ping before the outage");
        SessionView before = SessionStatus.WaitForAttached(client, TimeSpan.FromSeconds(10));

        GapMeter meter = GapMeter.Start(t.Client, ClusterTopology.ServiceV4, TimeSpan.FromSeconds(25));
        Thread.Sleep(2000);
        DateTimeOffset stoppedAt = DateTimeOffset.UtcNow;
        t.StopStore();
        Thread.Sleep(9000);
        string clientEvents = ClusterTopology.Events(client);
        string nodeEvents = ClusterTopology.Events(t.Node(1));
        DateTimeOffset restartedAt = DateTimeOffset.UtcNow;
        t.StartStore();
        GapReport gap = meter.Wait();
        string context = "\n" + t.Describe() + "\nclient events:\n" + clientEvents + "\nnode events:\n" + nodeEvents;

        // Replies went on after the store stopped (until the last successful beat's send time + NodeTtl 0.7 s -
        // fence margin 0.2 s: 0.45-0.5 s after the stop with beats every 50 ms), stopped (fail closed), came back.
        double stopped = stoppedAt.ToUnixTimeMilliseconds() / 1000.0;
        double restarted = restartedAt.ToUnixTimeMilliseconds() / 1000.0;
        double lastBefore = gap.ReplyTimes.Where(x => x < restarted).DefaultIfEmpty(0).Max();
        double firstAfter = gap.ReplyTimes.Where(x => x > restarted).DefaultIfEmpty(0).Min();
        TunnelScenarios.Log(string.Create(CultureInfo.InvariantCulture,
            $"{store} stopped at +{(stoppedAt - gap.StartedAt).TotalSeconds:0.00} s: forwarding went on for {lastBefore - stopped:0.00} s (NodeTtl 0.7 s), service back {(firstAfter > 0 ? (firstAfter - restarted).ToString("0.00", CultureInfo.InvariantCulture) : "(never)")} s after it restarted; 50 ms ping: {gap}"));
        // Ping replies are 50 ms apart, and the store process may take a moment to die: a 0.3 s allowance each way.
        Assert.True(lastBefore - stopped > 0.25, $"forwarding stopped before the node's validity ended ({lastBefore - stopped:0.00} s){context}");
        Assert.True(lastBefore - stopped < 1.3, $"forwarding went on {lastBefore - stopped:0.00} s after the store stopped: the node did not fence within NodeTtl{context}");
        Assert.True(firstAfter > 0, $"no reply after the store returned: {gap}{context}");
        Assert.Contains("\"detail_code\":\"NODE_FENCED\"", nodeEvents, StringComparison.Ordinal);
        Assert.Contains("\"reason_code\":\"STORE_UNAVAILABLE\"", clientEvents, StringComparison.Ordinal);

        SessionView after = SessionStatus.WaitForAttached(client, TimeSpan.FromSeconds(10));
        Assert.Equal(before.Id, after.Id);
        JsonElement rec = SessionOf(t, before.Id!);
        Assert.Equal("node-1", rec.GetProperty("owner_node_id").GetString());
        Assert.Equal(after.Version, rec.GetProperty("state_version").GetUInt64());
    }

    /// <summary>The server binary a store needs.</summary>
    private static string[] Server(string store) => store == "etcd" ? ["etcd", "etcdctl"] : ["redis-server"];

    private static JsonElement SessionOf(ClusterTopology t, string id)
    {
        using JsonDocument doc = JsonDocument.Parse(t.ClusterStatusJson());
        foreach (JsonElement s in doc.RootElement.GetProperty("sessions").EnumerateArray())
        {
            if (s.GetProperty("session_id").GetString() == id)
            {
                return s.Clone();
            }
        }
        throw new InvalidOperationException($"session {id} not in the store: {doc.RootElement}");
    }

    /// <summary>A node's heartbeat entry in `jvpn cluster status --json` (node epoch, beat, liveness, sessions).</summary>
    private static JsonElement NodeOf(ClusterTopology t, string node) =>
        TryNodeOf(t, node) ?? throw new InvalidOperationException($"node {node} has no heartbeat record: {t.ClusterStatusJson()}");

    /// <summary>The node's heartbeat entry, or null when the store holds none for it.</summary>
    private static JsonElement? TryNodeOf(ClusterTopology t, string node)
    {
        using JsonDocument doc = JsonDocument.Parse(t.ClusterStatusJson());
        foreach (JsonElement n in doc.RootElement.GetProperty("nodes").EnumerateArray())
        {
            if (n.GetProperty("node_id").GetString() == node)
            {
                return n.Clone();
            }
        }
        return null;
    }

    /// <summary>Exactly one STATE_CHANGE of session <paramref name="id"/> per version in [from, to] in the node's audit lines.</summary>
    private static void AssertVersionsContiguous(string events, string id, ulong from, ulong to, string context)
    {
        var seen = new List<ulong>();
        foreach (string line in events.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!line.TrimStart().StartsWith('{'))
            {
                continue;
            }
            using JsonDocument d = JsonDocument.Parse(line);
            if (d.RootElement.TryGetProperty("event_type", out JsonElement e) && e.GetString() == "STATE_CHANGE"
                && d.RootElement.TryGetProperty("session_id", out JsonElement sid) && sid.GetString() == id)
            {
                seen.Add(d.RootElement.GetProperty("state_version").GetUInt64());
            }
        }
        for (ulong v = from; v <= to; v++)
        {
            Assert.True(seen.Count(x => x == v) == 1, $"STATE_CHANGE versions {string.Join(',', seen)}, expected exactly one v{v}{context}");
        }
    }
}
