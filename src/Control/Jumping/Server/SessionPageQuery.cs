using JumpingVpn.Control.Sessions;
using JumpingVpn.Control.Uapi.Sessions;
using JumpingVpn.Tunnel.Device;

namespace JumpingVpn.Control.Jumping.Server;

/// <summary>What a session listing reads besides the table: the device clock, the inner addresses and the owner.</summary>
/// <param name="NowNs">The device's monotonic clock (what <see cref="Peer.LastAuthenticatedRxNs"/> is on).</param>
/// <param name="InnerGeneration">Changes whenever <paramref name="InnerOf"/> may answer differently (the allowed-IPs
/// generation); inner texts made at another generation are made again.</param>
/// <param name="InnerOf">The peer's inner addresses as text; called once per peer and generation.</param>
/// <param name="OwnerOf">The owning cluster node's id, or empty (a single server, or an ownership that is not valid).</param>
internal sealed record SessionListingInputs(long NowNs, long InnerGeneration, Func<Peer, string> InnerOf, Func<ServerSession, string> OwnerOf);

/// <summary>
/// The table's sessions ordered by public key as of one <see cref="ServerSessionTable.Version"/>, kept between
/// listings: while no session enters or leaves, a page is an index range and a search one pass in key order, no sort.
/// </summary>
internal sealed class SessionOrder
{
    public SessionOrder(long version, ServerSession[] sessions, SessionListingText[] texts)
    {
        Version = version;
        Sessions = sessions;
        Texts = texts;
    }

    public long Version { get; }
    public ServerSession[] Sessions { get; }
    public SessionListingText[] Texts { get; }
}

/// <summary>
/// One page of a server's sessions for <c>jvpn_sessions=1</c> (docs/ui.md "Server mode", docs/design.md §7):
/// filtered by the search text, ordered by public key (a total order, so pages do not overlap or skip while the
/// table is unchanged), sliced by offset and limit. Reads the table lock-free (its concurrent maps) and each
/// session's lock-free summary (<see cref="SessionSlot.TryReadSummary"/>), never a slot's lock, which a
/// cluster worker may hold across a store call (docs/threads.md "Session listing"). Cost: the key order is
/// sorted once per table version (O(n log n) after a session came or went), then a page is O(limit) and a search
/// one O(n) pass; only the page's rows are formatted, and no per-session text is made twice.
/// </summary>
internal static class SessionPageQuery
{
    private sealed class ByKey : IComparer<ServerSession>
    {
        public static readonly ByKey Instance = new();

        public int Compare(ServerSession? x, ServerSession? y)
        {
            int c = x!.Listing!.SortKey.CompareTo(y!.Listing!.SortKey);
            return c != 0 ? c : x.Peer.PublicKey.AsSpan().SequenceCompareTo(y.Peer.PublicKey);
        }
    }

    /// <summary>
    /// The order for the table as it is now: <paramref name="cached"/> when the table has not changed since it
    /// was made, else a new one. The version is read before the table is walked, so an order that a concurrent
    /// change overlapped carries the older version and the next listing makes it again.
    /// </summary>
    public static SessionOrder Order(ServerSessionTable table, SessionOrder? cached)
    {
        ArgumentNullException.ThrowIfNull(table);
        long version = table.Version;
        if (cached is not null && cached.Version == version)
        {
            return cached;
        }
        var sessions = new List<ServerSession>(table.Count);
        foreach (KeyValuePair<Peer, ServerSession> pair in table.Entries)
        {
            ServerSession s = pair.Value;
            s.Listing ??= new SessionListingText(s);
            sessions.Add(s);
        }
        ServerSession[] sorted = [.. sessions];
        Array.Sort(sorted, ByKey.Instance);
        var texts = new SessionListingText[sorted.Length];
        for (int i = 0; i < sorted.Length; i++)
        {
            texts[i] = sorted[i].Listing!;
        }
        return new SessionOrder(version, sorted, texts);
    }

    public static SessionPageReply Run(ServerSessionTable table, SessionPageRequest request, SessionListingInputs inputs) =>
        Run(Order(table, null), request, inputs);

    public static SessionPageReply Run(SessionOrder order, SessionPageRequest request, SessionListingInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(order);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(inputs);
        string search = request.Search.Trim();
        ServerSession[] all = order.Sessions;
        int offset = request.Offset;
        int limit = request.Limit;
        var rows = new List<SessionPageRow>(Math.Min(limit, all.Length));
        if (search.Length == 0)
        {
            int end = (int)Math.Min((long)offset + limit, all.Length);
            for (int i = offset; i < end; i++)
            {
                rows.Add(Row(all[i], order.Texts[i], inputs));
            }
            return new SessionPageReply(all.Length, all.Length, offset, rows);
        }
        // One pass in key order: count every match, keep the rows of the requested slice. The texts other than
        // base64 are lower case (hex, ids, addresses), so one lower-cased copy lets every test be ordinal.
        int matched = 0;
        string lower = search.ToLowerInvariant();
        for (int i = 0; i < all.Length; i++)
        {
            if (!Matches(all[i], order.Texts[i], search, lower, inputs))
            {
                continue;
            }
            if (matched >= offset && matched - offset < limit)
            {
                rows.Add(Row(all[i], order.Texts[i], inputs));
            }
            matched++;
        }
        return new SessionPageReply(all.Length, matched, offset, rows);
    }

    private static SessionPageRow Row(ServerSession s, SessionListingText text, SessionListingInputs inputs)
    {
        bool known = s.Slot.TryReadSummary(out SessionSummary summary);
        long lastRx = s.Peer.LastAuthenticatedRxNs;
        long lastSeenMs = lastRx == long.MinValue ? -1 : Math.Max(0, (inputs.NowNs - lastRx) / 1_000_000);
        return new SessionPageRow(
            text.KeyHex,
            text.SessionIdText,
            known ? WireNames.Of(summary.State) : "busy",
            known ? summary.StateVersion : 0,
            InnerText(s, text, inputs),
            known ? EndpointText(text, summary.Binding) : "",
            lastSeenMs,
            inputs.OwnerOf(s));
    }

    /// <summary>
    /// Whether <paramref name="search"/> starts the public key (base64 exactly, hex in any case), the session id,
    /// one of the inner addresses or the endpoint (<paramref name="lower"/>: the search in lower case, for the texts
    /// that are lower case). The immutable texts are tried first, each behind a first-character check, so a pass
    /// over 100 000 sessions mostly compares single characters.
    /// </summary>
    internal static bool Matches(ServerSession s, SessionListingText text, string search, string lower, SessionListingInputs inputs)
    {
        if ((text.KeyBase64[0] == search[0] && text.KeyBase64.StartsWith(search, StringComparison.Ordinal))
            || (text.KeyHex[0] == lower[0] && text.KeyHex.StartsWith(lower, StringComparison.Ordinal))
            || (text.SessionIdText[0] == lower[0] && text.SessionIdText.StartsWith(lower, StringComparison.Ordinal)))
        {
            return true;
        }
        if (StartsAnItem(InnerText(s, text, inputs), lower))
        {
            return true;
        }
        // The endpoint follows the session's state: its text is made again only when the binding changed.
        return s.Slot.TryReadSummary(out SessionSummary summary)
            && summary.Binding.HasValue
            && EndpointText(text, summary.Binding).StartsWith(lower, StringComparison.Ordinal);
    }

    /// <summary>True when <paramref name="search"/> starts one of the comma-separated items of <paramref name="list"/>.</summary>
    private static bool StartsAnItem(string list, string search)
    {
        int start = 0;
        while (start < list.Length)
        {
            int comma = list.IndexOf(',', start);
            int end = comma < 0 ? list.Length : comma;
            if (end - start >= search.Length && list[start] == search[0]
                && list.AsSpan(start, search.Length).SequenceEqual(search))
            {
                return true;
            }
            start = end + 1;
        }
        return false;
    }

    private static string InnerText(ServerSession s, SessionListingText text, SessionListingInputs inputs)
    {
        SessionListingText.InnerText? inner = text.Inner;
        if (inner is null || inner.Generation != inputs.InnerGeneration)
        {
            inner = new SessionListingText.InnerText(inputs.InnerGeneration, inputs.InnerOf(s.Peer));
            text.Inner = inner;
        }
        return inner.Text;
    }

    private static string EndpointText(SessionListingText text, TransportAddress? binding)
    {
        if (binding is null)
        {
            return "";
        }
        SessionListingText.EndpointText? ep = text.Endpoint;
        if (ep is null || ep.Binding != binding)
        {
            ep = new SessionListingText.EndpointText(binding, binding.Value.ToString());
            text.Endpoint = ep;
        }
        return ep.Text;
    }
}
