using JumpingVpn.Control.Jumping.Server;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Control.Uapi.Sessions;
using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.Tests.Control.Jumping.Server;

/// <summary>
/// The session listing of <c>jvpn_sessions=1</c> (docs/ui.md "Server mode") over a real server session table:
/// order, paging, every search kind, the fields of a row, and that it reads committed state without a slot's lock.
/// </summary>
public sealed class SessionPageQueryTests
{
    private static SessionPageReply Page(FilledSessionTable t, string search = "", int offset = 0, int limit = 50) =>
        t.Source.Query(new SessionPageRequest { Search = search, Offset = offset, Limit = limit }, t.Context.NowMs());

    private static List<string> SortedKeys(FilledSessionTable t) =>
        [.. t.Sessions.Select(s => Convert.ToHexStringLower(s.Peer.PublicKey)).Order(StringComparer.Ordinal)];

    [Fact]
    public void The_first_page_is_the_lowest_keys_in_order_with_the_totals()
    {
        var t = new FilledSessionTable(1000);
        SessionPageReply page = Page(t, limit: 25);
        Assert.Equal(1000, page.Total);
        Assert.Equal(1000, page.Matched);
        Assert.Equal(0, page.Offset);
        Assert.Equal(SortedKeys(t).Take(25), page.Rows.Select(r => r.PublicKeyHex));
    }

    [Fact]
    public void Pages_cover_every_session_exactly_once_in_a_stable_order()
    {
        var t = new FilledSessionTable(1000);
        var seen = new List<string>();
        for (int offset = 0; offset < 1000; offset += 37)
        {
            seen.AddRange(Page(t, offset: offset, limit: 37).Rows.Select(r => r.PublicKeyHex));
        }
        Assert.Equal(SortedKeys(t), seen);
        Assert.Equal(Page(t, offset: 500, limit: 10).Rows, Page(t, offset: 500, limit: 10).Rows);
    }

    [Fact]
    public void A_page_past_the_end_is_empty_and_still_counts()
    {
        var t = new FilledSessionTable(30);
        SessionPageReply page = Page(t, offset: 30, limit: 10);
        Assert.Empty(page.Rows);
        Assert.Equal(30, page.Matched);
        Assert.Equal(7, Page(t, offset: 23, limit: 10).Rows.Count);
    }

    [Fact]
    public void Search_matches_the_start_of_the_key_in_base64_and_hex_the_session_id_the_inner_address_and_the_endpoint()
    {
        var t = new FilledSessionTable(2000);
        ServerSession target = t.Sessions[1234];
        string hex = Convert.ToHexStringLower(target.Peer.PublicKey);
        string b64 = WireGuardKey.ToBase64(target.Peer.PublicKey);

        Assert.Equal([hex], Page(t, b64[..10]).Rows.Select(r => r.PublicKeyHex));
        Assert.Equal([hex], Page(t, hex[..12].ToUpperInvariant()).Rows.Select(r => r.PublicKeyHex));
        Assert.Equal([hex], Page(t, target.Slot.Id.ToString()[..14]).Rows.Select(r => r.PublicKeyHex));
        Assert.Equal([hex], Page(t, "10.0.4.210/").Rows.Select(r => r.PublicKeyHex)); // 1234 = 4*256 + 210
        Assert.Equal([hex], Page(t, "  10.0.4.210/32 ").Rows.Select(r => r.PublicKeyHex)); // surrounding blanks do not count

        // Endpoint 198.51.100.(1 + i % 250):(10000 + i): unique with the port.
        Assert.Equal([hex], Page(t, "198.51.100.235:11234").Rows.Select(r => r.PublicKeyHex));
        // A prefix shared by several: every session whose endpoint address is 198.51.100.235 (i % 250 == 234).
        int sharing = t.Sessions.Count(s => s.Slot.Snapshot().Binding!.Value.ToString().StartsWith("198.51.100.235:", StringComparison.Ordinal));
        SessionPageReply shared = Page(t, "198.51.100.235:", limit: 500);
        Assert.Equal(sharing, shared.Matched);
        Assert.Equal(8, sharing);
        Assert.Equal(shared.Rows.Select(r => r.PublicKeyHex).Order(StringComparer.Ordinal), shared.Rows.Select(r => r.PublicKeyHex));

        SessionPageReply none = Page(t, "no-such-thing");
        Assert.Equal(0, none.Matched);
        Assert.Equal(2000, none.Total);
        Assert.Empty(none.Rows);
    }

    [Fact]
    public void A_base64_key_prefix_is_case_sensitive_so_it_does_not_match_other_keys()
    {
        var t = new FilledSessionTable(3000);
        foreach (ServerSession s in t.Sessions.Take(50))
        {
            string b64 = WireGuardKey.ToBase64(s.Peer.PublicKey);
            SessionPageReply page = Page(t, b64[..8]);
            Assert.Contains(Convert.ToHexStringLower(s.Peer.PublicKey), page.Rows.Select(r => r.PublicKeyHex));
            int expected = t.Sessions.Count(o => WireGuardKey.ToBase64(o.Peer.PublicKey).StartsWith(b64[..8], StringComparison.Ordinal)
                || Convert.ToHexStringLower(o.Peer.PublicKey).StartsWith(b64[..8], StringComparison.OrdinalIgnoreCase)
                || o.Slot.Id.ToString().StartsWith(b64[..8], StringComparison.OrdinalIgnoreCase));
            Assert.Equal(expected, page.Matched);
        }
    }

    [Fact]
    public void A_row_shows_state_version_inner_endpoint_and_how_long_ago_the_peer_was_heard()
    {
        var t = new FilledSessionTable(5);
        ServerSession s = t.Sessions[3];
        string hex = Convert.ToHexStringLower(s.Peer.PublicKey);
        SessionPageRow row = Page(t, hex).Rows.Single();
        Assert.Equal(s.Slot.Id.ToString(), row.SessionId);
        Assert.Equal("ATTACHED", row.State);
        Assert.Equal(1UL, row.StateVersion);
        Assert.Equal("10.0.0.3/32", row.InnerAddresses);
        Assert.Equal("198.51.100.4:10003", row.Endpoint);
        Assert.Equal(-1, row.LastSeenMs);
        Assert.Equal("", row.OwnerNode);

        s.Peer.MarkAuthenticatedRx(t.Device.NowNs());
        t.Clock.Advance(TimeSpan.FromMilliseconds(1500));
        Assert.Equal(1500, Page(t, hex).Rows.Single().LastSeenMs);
    }

    [Fact]
    public void A_changed_inner_address_or_binding_shows_on_the_next_page()
    {
        var t = new FilledSessionTable(5);
        ServerSession s = t.Sessions[2];
        string hex = Convert.ToHexStringLower(s.Peer.PublicKey);
        Assert.Equal("10.0.0.2/32", Page(t, hex).Rows.Single().InnerAddresses);
        Assert.Equal([hex], Page(t, "198.51.100.3:10002").Rows.Select(r => r.PublicKeyHex)); // the endpoint index is made

        t.Device.AddAllowedIp(s.Peer, JumpingVpn.Platform.Net.IpPrefix.Parse("fd77::2/128"));
        s.Slot.Apply(SessionEvent.Reattach(TransportAddress.Parse("203.0.113.9:4444"), 1, 1, ReasonCode.NatRebind), t.Context.NowMs(), null);

        SessionPageRow row = Page(t, hex).Rows.Single();
        Assert.Equal("10.0.0.2/32,fd77::2/128", row.InnerAddresses);
        Assert.Equal("203.0.113.9:4444", s.Slot.Snapshot().Binding!.Value.ToString());
        Assert.Equal(s.Slot.Snapshot().Binding!.Value.ToString(), row.Endpoint);
        Assert.Equal(s.Slot.Snapshot().StateVersion, row.StateVersion);
        Assert.Equal([hex], Page(t, "fd77::2").Rows.Select(r => r.PublicKeyHex));
        // The index made before the move answers no more for the old endpoint, and the new one is found.
        Assert.Empty(Page(t, "198.51.100.3:10002").Rows);
        Assert.Equal([hex], Page(t, "203.0.113.9:44").Rows.Select(r => r.PublicKeyHex));
    }

    [Fact]
    public async Task The_listing_reads_the_committed_state_while_a_store_commit_holds_the_slot_lock()
    {
        var t = new FilledSessionTable(3);
        ServerSession s = t.Sessions[1];
        string hex = Convert.ToHexStringLower(s.Peer.PublicKey);
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var committer = new BlockingCommitter(entered, release);
        CancellationToken cancel = TestContext.Current.CancellationToken;
        Task commit = Task.Run(() => s.Slot.ApplyCommitted(SessionEvent.ClientTerminate(1), 0, null, committer), cancel);
        Assert.True(entered.Wait(TimeSpan.FromSeconds(10), cancel), "the commit never started");

        // The slot's lock is held by the commit; the listing answers at once with what was committed before it.
        SessionPageReply during = await Task.Run(() => Page(t, hex), cancel).WaitAsync(TimeSpan.FromSeconds(10), cancel);
        Assert.Equal("ATTACHED", during.Rows.Single().State);

        release.Set();
        await commit.WaitAsync(TimeSpan.FromSeconds(10), cancel);
        Assert.Equal("TERMINATED", Page(t, hex).Rows.Single().State);
    }

    [Fact]
    public void Over_100k_sessions_each_text_is_made_once_and_searches_scan_without_remaking_it()
    {
        var t = new FilledSessionTable(100_000);
        int innerCalls = 0;
        long generation = t.Device.AllowedIps.Generation;
        var inputs = new SessionListingInputs(t.Device.NowNs(), generation, _ => { innerCalls++; return "10.9.9.9/32"; }, _ => "node-a");

        SessionPageReply first = SessionPageQuery.Run(t.Table, new SessionPageRequest { Search = "zz" }, inputs);
        Assert.Equal(100_000, first.Total);
        Assert.Equal(100_000, innerCalls); // "zz" starts no key, id or inner address: each inner text made once
        SessionPageReply again = SessionPageQuery.Run(t.Table, new SessionPageRequest { Search = "10.9.9.9", Offset = 99_990, Limit = 50 }, inputs);
        Assert.Equal(100_000, innerCalls);
        Assert.Equal(100_000, again.Matched);
        Assert.Equal(10, again.Rows.Count);
        Assert.All(again.Rows, r => Assert.Equal("node-a", r.OwnerNode));
        Assert.All(t.Sessions, s => Assert.NotNull(s.Listing));

        // A new allowed-IPs generation makes the inner texts again, once each.
        SessionPageQuery.Run(t.Table, new SessionPageRequest { Search = "10.9" }, inputs with { InnerGeneration = generation + 1 });
        Assert.Equal(200_000, innerCalls);
    }

    [Fact]
    public void The_key_order_is_kept_while_the_table_is_unchanged_and_made_again_when_a_session_comes_or_goes()
    {
        var t = new FilledSessionTable(200);
        SessionOrder first = SessionPageQuery.Order(t.Table, null);
        Assert.Same(first, SessionPageQuery.Order(t.Table, first));

        // A new session (a HELLO) enters: the next listing has it, in its place by key.
        var extra = new FilledSessionTable(1, seed: 99).Sessions[0];
        JumpingVpn.Tunnel.Device.Peer peer = t.Device.AddPeer(extra.Peer.PublicKey, new byte[32]);
        var added = new ServerSession(peer, new SessionSlot(extra.Slot.Id, JumpingVpn.Control.Policy.SessionPolicy.Default, 0, null));
        t.Table.Put(peer, added);
        SessionPageReply page = Page(t, limit: 500);
        Assert.Equal(201, page.Total);
        Assert.Equal(SortedKeys(t).Append(Convert.ToHexStringLower(peer.PublicKey)).Order(StringComparer.Ordinal), page.Rows.Select(r => r.PublicKeyHex));
        Assert.NotSame(first, SessionPageQuery.Order(t.Table, first));

        // One leaves (fenced or evicted): gone from the next listing.
        Assert.True(t.Table.RemoveIfCurrent(t.Sessions[0]));
        SessionPageReply after = Page(t, limit: 500);
        Assert.Equal(200, after.Total);
        Assert.DoesNotContain(Convert.ToHexStringLower(t.Sessions[0].Peer.PublicKey), after.Rows.Select(r => r.PublicKeyHex));
    }

    private sealed class BlockingCommitter(ManualResetEventSlim entered, ManualResetEventSlim release) : ISessionCommitter
    {
        public ReasonCode Commit(SessionRecord committed, ulong readVersion)
        {
            entered.Set();
            release.Wait(TimeSpan.FromSeconds(30));
            return ReasonCode.None;
        }
    }
}
