using System.Globalization;
using System.Text.Json;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.EndToEnd;

/// <summary>
/// Planned maintenance on a jvpn cluster in namespaces (<see cref="ClusterTopology"/>, docs/cluster.md "Drain"), on
/// Redis and on etcd: the owner of a client's session is drained (`jvpn cluster drain NODE`, or SIGTERM) while
/// the client pings every 20 ms through it; the node tells the client where to go (SESSION_MOVE), releases the
/// session, and exits; the client resumes on another node with the same session id, contiguous versions and
/// a gap well under the client's own failover (0.6 s), and the store names exactly one owner.
/// </summary>
[Collection(EndToEndCollection.Name)]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ClusterDrainTests
{
    /// <summary>
    /// The goal (docs/cluster.md "Drain"): every client's gap at most 100 ms, measured as the longest time between
    /// two replies of the client's 20 ms ping around the moment it heard SESSION_MOVE (so it includes up to one
    /// ping interval of sampling: the first request after the path reopens leaves up to 20 ms later). Asserted
    /// with NAT at the nodes and with OwnerUp hooks, whenever the machine is not oversubscribed (1-minute load
    /// average at most twice the core count, <see cref="Oversubscribed"/>: the test's own three nodes, store, client
    /// and ping keep a 2-core machine at 2-3, where the five cases measured 42-72 ms).
    /// </summary>
    private static readonly TimeSpan Goal = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// On an oversubscribed machine (the shared 2-vCPU VM at load average 20-40) every step of the move waits
    /// for a CPU (the per-step trace shows 30-300 ms handshakes and 10-120 ms store calls, docs/cluster.md
    /// "Drain"), so the test asserts what still fails a drain that fell back to the client's own failover
    /// (node silence, 0.6 s): 250 ms with NAT, 500 ms with hooks (a spawned `ip route replace` on top).
    /// </summary>
    private static readonly TimeSpan LoadedBound = TimeSpan.FromMilliseconds(250);

    private static readonly TimeSpan LoadedBoundWithHooks = TimeSpan.FromMilliseconds(500);

    /// <summary>The 1-minute load average when it exceeds twice the core count (null: the 100 ms goal is asserted).</summary>
    private static double? Oversubscribed()
    {
        string[] fields = File.ReadAllText("/proc/loadavg").Split(' ');
        double load = double.Parse(fields[0], CultureInfo.InvariantCulture);
        return load > 2 * Environment.ProcessorCount ? load : null;
    }

    [Theory]
    [InlineData("redis", false, true)]
    [InlineData("redis", true, true)]
    [InlineData("etcd", false, true)]
    [InlineData("etcd", true, true)]
    [InlineData("redis", true, false)]
    public void Draining_the_owner_moves_the_client_to_another_node_at_once_and_the_node_exits(string store, bool sigterm, bool nat)
    {
        Requirements.Ensure(["jvpn", "wg", "ping", "nft", .. (store == "etcd" ? new[] { "etcd", "etcdctl" } : ["redis-server"])]);
        using ClusterTopology t = ClusterTopology.Create(3, store);
        // The per-step move trace (MoveTimeline): debug logging only adds a few lines per move.
        t.ProcessEnvironment = new Dictionary<string, string> { ["JVPN_LOG"] = "debug" };
        if (nat)
        {
            t.MasqueradeAtNodes();
        }
        for (int i = 1; i <= 3; i++)
        {
            t.StartNode(i);
        }
        JvpnPeer client = t.StartClient();
        string context = "";
        try
        {
            Assert.True(Ping.WaitForReply(t.Client, ClusterTopology.ServiceV4, TimeSpan.FromSeconds(20)), "no ping through node-1 before the drain");
            SessionView before = SessionStatus.WaitForAttached(client, TimeSpan.FromSeconds(10));
            Assert.Equal("node-1", SessionOf(t, before.Id!).GetProperty("owner_node_id").GetString());

            GapMeter meter = GapMeter.Start(t.Client, ClusterTopology.ServiceV4, TimeSpan.FromSeconds(14), intervalMs: 20);
            // Past WireGuard's 5 s between initiations (the move needs one at once), every node announced.
            Thread.Sleep(6000);
            double? loaded = Oversubscribed();
            TimeSpan bound = loaded is null ? Goal : nat ? LoadedBound : LoadedBoundWithHooks;
            DateTimeOffset drainedAt = DateTimeOffset.UtcNow;
            string drainOutput = "";
            if (sigterm)
            {
                t.Node(1).Process!.Signal();
            }
            else
            {
                CommandResult drain = t.ClusterDrain("node-1");
                drainOutput = drain.StandardOutput + drain.StandardError;
                Assert.True(drain.ExitCode == 0, $"{drain.CommandLine}: {drainOutput}");
            }
            bool exited = t.Node(1).Process!.WaitForExit(TimeSpan.FromSeconds(10));
            GapReport gap = meter.Wait();
            context = "\n" + t.Describe() + "\nclient events:\n" + ClusterTopology.Events(client) + "\nnode-2 events:\n" + ClusterTopology.Events(t.Node(2));
            Assert.True(exited, "node-1 did not exit after its drain" + context);

            // The move's own gap: around the moment the client heard SESSION_MOVE (the CLI's start-up and the
            // node's 250 ms poll come before it; later stalls of the shared VM are not the move's).
            DateTimeOffset movedAt = MoveHeardAt(ClusterTopology.Events(client)) ?? drainedAt;
            TimeSpan worst = LongestGapAround(gap, movedAt);
            TunnelScenarios.Log(string.Create(CultureInfo.InvariantCulture,
                $"{store} {(sigterm ? "SIGTERM" : "jvpn cluster drain")} ({(nat ? "NAT at the nodes" : "OwnerUp hooks")}) of the owner at +{(drainedAt - gap.StartedAt).TotalSeconds:0.00} s, client moved at +{(movedAt - gap.StartedAt).TotalSeconds:0.00} s: gap around the move {worst.TotalMilliseconds:0} ms; 20 ms ping: {gap}\n{drainOutput}"));
            double heard = movedAt.ToUnixTimeMilliseconds() / 1000.0;
            TunnelScenarios.Log("ping replies around the move (ms from the client hearing SESSION_MOVE): " + string.Join(" ",
                gap.ReplyTimes.Where(r => Math.Abs(r - heard) < 0.3).Select(r => ((r - heard) * 1000).ToString("+0;-0", CultureInfo.InvariantCulture))));
            MoveTimeline timeline = MoveTimeline.Build(
                [("node-1", t.Node(1).Process!.Output), ("node-2", t.Node(2).Process!.Output), ("node-3", t.Node(3).Process!.Output), ("client", client.Process!.Output)],
                gap.Ping.Output, 20);
            TunnelScenarios.Log(timeline.ToString());
            TunnelScenarios.Log(string.Create(CultureInfo.InvariantCulture,
                $"bound {bound.TotalMilliseconds:0} ms ({(loaded is double l ? $"load average {l:0.0} on {Environment.ProcessorCount} cores: the 100 ms goal is not asserted" : "the 100 ms goal")}); {File.ReadAllText("/proc/loadavg").Trim()}"));
            Assert.True(worst <= bound, $"gap {worst.TotalMilliseconds:0} ms after the drain (bound {bound.TotalMilliseconds:0} ms): {gap}{context}");

            SessionView after = SessionStatus.WaitForAttached(client, TimeSpan.FromSeconds(10));
            Assert.Equal(before.Id, after.Id);
            JsonElement moved = SessionOf(t, before.Id!);
            string newOwner = moved.GetProperty("owner_node_id").GetString()!;
            Assert.True(newOwner is "node-2" or "node-3", $"owner after the drain: {newOwner}{context}");
            Assert.Equal(2UL, moved.GetProperty("owner_epoch").GetUInt64());
            Assert.Equal(before.Version + 2, moved.GetProperty("state_version").GetUInt64());
            Assert.Equal(before.Version + 2, after.Version);
            Assert.Equal("10.77.0.2/32", moved.GetProperty("inner_addresses").GetString());
            Assert.Contains("\"detail_code\":\"DRAIN\"", ClusterTopology.Events(client), StringComparison.Ordinal);
            if (!sigterm)
            {
                Assert.Contains($"{before.Id} node-1 -> {newOwner}", drainOutput, StringComparison.Ordinal);
            }
            // Exactly one owner: the one record names the new owner, and only that node's status has the session.
            using JsonDocument status = JsonDocument.Parse(t.ClusterStatusJson());
            Assert.Single(status.RootElement.GetProperty("sessions").EnumerateArray(), s => s.GetProperty("session_id").GetString() == before.Id);
            int serving = 0;
            for (int i = 2; i <= 3; i++)
            {
                serving += SessionStatus.Read(t.Node(i))?.Id == before.Id ? 1 : 0;
            }
            Assert.Equal(1, serving);
        }
        catch (Exception ex) when (ex is not Xunit.Sdk.XunitException || context.Length == 0)
        {
            throw new InvalidOperationException(ex.Message + "\n" + t.Describe() + "\nclient events:\n" + ClusterTopology.Events(client), ex);
        }
    }

    /// <summary>The longest time without a reply that ends within 1 s after <paramref name="moment"/> (from 300 ms before it).</summary>
    private static TimeSpan LongestGapAround(GapReport gap, DateTimeOffset moment)
    {
        double at = moment.ToUnixTimeMilliseconds() / 1000.0;
        double worst = 0;
        for (int i = 1; i < gap.ReplyTimes.Count; i++)
        {
            if (gap.ReplyTimes[i] >= at - 0.3 && gap.ReplyTimes[i] <= at + 1)
            {
                worst = Math.Max(worst, gap.ReplyTimes[i] - gap.ReplyTimes[i - 1]);
            }
        }
        Assert.True(gap.ReplyTimes.Count > 0 && gap.ReplyTimes[^1] > at + 1, $"no replies after the move: {gap}");
        return TimeSpan.FromSeconds(worst);
    }

    /// <summary>When the client logged SERVER_FAILOVER with detail DRAIN (its audit ts_ms).</summary>
    private static DateTimeOffset? MoveHeardAt(string events)
    {
        foreach (string line in events.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.TrimStart().StartsWith('{') && line.Contains("\"detail_code\":\"DRAIN\"", StringComparison.Ordinal))
            {
                using JsonDocument d = JsonDocument.Parse(line);
                return DateTimeOffset.FromUnixTimeMilliseconds(d.RootElement.GetProperty("ts_ms").GetInt64());
            }
        }
        return null;
    }

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
}
