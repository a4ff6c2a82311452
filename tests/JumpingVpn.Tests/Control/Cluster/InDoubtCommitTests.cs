using System.Text.Json;
using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tests.Infrastructure;
using static JumpingVpn.Tests.Control.Cluster.ClusterHarness;

namespace JumpingVpn.Tests.Control.Cluster;

/// <summary>
/// A compare-and-swap whose answer was lost (docs/cluster.md "In-doubt commits"): the store took the write but the
/// node saw a timeout, as an overloaded node or store produces. The node must neither serve on under the version
/// it rolled back to while the store holds the next one (the client would be told a version the store does not
/// have), nor lose the transition's audit events (the merged audit logs would miss a version): it resolves
/// the doubt from the store before the session changes again.
/// </summary>
public sealed class InDoubtCommitTests
{
    [Fact]
    public void A_transition_the_store_took_while_its_answer_was_lost_is_counted_exactly_once_and_node_client_and_store_agree()
    {
        var store = new LostAnswerStore(new InMemorySessionStore(new ManualTimeProvider()));
        var h = new ClusterHarness(2, store);
        store.Inner = new InMemorySessionStore(h.Clock);
        h.Connect();
        SessionId id = Sid(Field(h["n1"].Jumping.FormatSessions(), "session_id"));

        // The client goes silent: transport dead on n1 (v2), written to the store, but the answer times out.
        store.LoseNextCasAnswer = true;
        SilenceClient(h);
        h["n1"].Jumping.SweepOnce([]);
        Assert.False(store.LoseNextCasAnswer, "the transport-dead transition went to the store");
        Assert.Equal(2UL, store.Inner.Read(id).Current!.StateVersion);

        // The client comes back and the cluster runs on.
        for (int i = 0; i < 200 && (i < 60 || Field(h.Client.FormatSessions(), "state") != "ATTACHED"); i++)
        {
            h.Run(TimeSpan.FromMilliseconds(50));
        }
        string node = h["n1"].Jumping.FormatSessions();
        string client = h.Client.FormatSessions();
        OwnershipRecord rec = store.Inner.Read(id).Current!;
        string trace = "n1:\n" + h["n1"].Events() + "\nclient:\n" + h.ClientEvents();
        Assert.True(Field(client, "state") == "ATTACHED", trace);
        Assert.Equal(rec.StateVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), Field(node, "state_version"));
        Assert.Equal(rec.StateVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), Field(client, "state_version"));
        // The transport-dead transition counts (v2) exactly as if its answer had come back.
        Assert.True(rec.StateVersion >= 2, "transport dead (v2) counts: " + rec.StateVersion);
        Assert.Equal(rec.State.ToString().ToUpperInvariant(), Field(node, "state"));
        List<ulong> versions = AuditVersions(h["n1"].Events(), id);
        Assert.True(versions.SequenceEqual(Enumerable.Range(1, (int)rec.StateVersion).Select(v => (ulong)v)),
            "audit versions " + string.Join(",", versions) + " for store version " + rec.StateVersion + "\n" + trace);
    }

    [Fact]
    public void A_transition_whose_write_did_not_land_is_dropped_once_the_store_answers_and_the_session_goes_on()
    {
        var store = new LostAnswerStore(new InMemorySessionStore(new ManualTimeProvider()));
        var h = new ClusterHarness(2, store);
        store.Inner = new InMemorySessionStore(h.Clock);
        h.Connect();
        SessionId id = Sid(Field(h["n1"].Jumping.FormatSessions(), "session_id"));

        // The write never reaches the store (a timeout before it was sent): nothing of it may count.
        store.DropNextCas = true;
        SilenceClient(h);
        h["n1"].Jumping.SweepOnce([]);
        Assert.False(store.DropNextCas);
        Assert.Equal(1UL, store.Inner.Read(id).Current!.StateVersion);

        for (int i = 0; i < 200 && (i < 60 || Field(h.Client.FormatSessions(), "state") != "ATTACHED"); i++)
        {
            h.Run(TimeSpan.FromMilliseconds(50));
        }
        OwnershipRecord rec = store.Inner.Read(id).Current!;
        string trace = "n1:\n" + h["n1"].Events() + "\nclient:\n" + h.ClientEvents();
        Assert.Equal(rec.StateVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), Field(h["n1"].Jumping.FormatSessions(), "state_version"));
        Assert.Equal(rec.StateVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), Field(h.Client.FormatSessions(), "state_version"));
        Assert.Equal("n1", rec.OwnerNode);
        List<ulong> versions = AuditVersions(h["n1"].Events(), id);
        Assert.True(versions.SequenceEqual(Enumerable.Range(1, (int)rec.StateVersion).Select(v => (ulong)v)),
            "audit versions " + string.Join(",", versions) + " for store version " + rec.StateVersion + "\n" + trace);
    }

    /// <summary>No client sweep runs while the node beats past transport_dead plus the announced idle keepalive interval.</summary>
    private static void SilenceClient(ClusterHarness h)
    {
        long silenceMs = SessionPolicy.Default.TransportDeadMs + SessionPolicy.Default.IdleKeepaliveIntervalMs + 100;
        for (long stepMs = 50; silenceMs > 0; silenceMs -= stepMs)
        {
            h.Clock.Advance(TimeSpan.FromMilliseconds(Math.Min(stepMs, silenceMs)));
            foreach (Node n in h.Nodes)
            {
                n.Cluster.Tick();
            }
        }
    }

    /// <summary>The state versions of <paramref name="id"/>'s STATE_CHANGE events in an audit stream, in order.</summary>
    private static List<ulong> AuditVersions(string events, SessionId id)
    {
        var versions = new List<ulong>();
        string want = id.ToString();
        foreach (string line in events.Split('\n'))
        {
            if (line.Length == 0 || line[0] != '{')
            {
                continue;
            }
            using JsonDocument doc = JsonDocument.Parse(line);
            JsonElement root = doc.RootElement;
            if (root.TryGetProperty("event_type", out JsonElement t) && t.GetString() == "STATE_CHANGE"
                && root.TryGetProperty("session_id", out JsonElement s) && s.GetString() == want)
            {
                versions.Add(root.GetProperty("state_version").GetUInt64());
            }
        }
        return versions;
    }

    private static SessionId Sid(string hex)
    {
        Assert.True(SessionId.TryParse(hex, out SessionId id), hex);
        return id;
    }

    /// <summary>
    /// A store whose next compare-and-swap answers Unavailable after it was applied (<see cref="LoseNextCasAnswer"/>:
    /// a timeout that hit the answer) or without applying it (<see cref="DropNextCas"/>: one that hit the request).
    /// </summary>
    private sealed class LostAnswerStore(ISessionStore inner) : ISessionStore
    {
        public ISessionStore Inner { get; set; } = inner;
        public volatile bool LoseNextCasAnswer;
        public volatile bool DropNextCas;

        public string Description => "lost-answer";
        public StoreResult Create(OwnershipRecord record) => Inner.Create(record);
        public StoreResult Read(SessionId id) => Inner.Read(id);

        public StoreResult CompareAndSwap(ulong expectedVersion, OwnershipRecord next, long tombstoneMs)
        {
            if (DropNextCas)
            {
                DropNextCas = false;
                return StoreResult.Unavailable;
            }
            StoreResult r = Inner.CompareAndSwap(expectedVersion, next, tombstoneMs);
            if (LoseNextCasAnswer)
            {
                LoseNextCasAnswer = false;
                return StoreResult.Unavailable;
            }
            return r;
        }

        public StoreResult Acquire(SessionId id, string node, ulong nodeEpoch, AcquireExpectation expected) => Inner.Acquire(id, node, nodeEpoch, expected);
        public StoreResult Release(SessionId id, string node, ulong nodeEpoch, ulong epoch) => Inner.Release(id, node, nodeEpoch, epoch);
        public IReadOnlyList<OwnershipRecord> ListSessions() => Inner.ListSessions();
        public IReadOnlyList<OwnershipRecord>? Reap(RecordExpiry rule) => Inner.Reap(rule);
        public ulong RegisterNode(string node) => Inner.RegisterNode(node);
        public bool Heartbeat(ClusterNodeInfo beat) => Inner.Heartbeat(beat);
        public IReadOnlyList<ClusterNodeInfo>? ListNodes() => Inner.ListNodes();
        public bool PutPeer(RegisteredPeer peer) => Inner.PutPeer(peer);
        public IReadOnlyList<RegisteredPeer> ListPeers() => Inner.ListPeers();
        public bool Ping(out double latencyMs) => Inner.Ping(out latencyMs);
        public bool RequestDrain(string node, long ttlMs) => Inner.RequestDrain(node, ttlMs);
        public bool TakeDrainRequest(string node) => Inner.TakeDrainRequest(node);
        public void Dispose() => Inner.Dispose();
    }
}
