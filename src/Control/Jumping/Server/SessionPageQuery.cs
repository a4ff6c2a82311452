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
/// listings: while no session enters or leaves, a page is an index range, and a search binary searches in the
/// <see cref="SessionSearchIndex"/> made for this order by the first search that needs it.
/// </summary>
internal sealed class SessionOrder
{
    private SessionSearchIndex? _index;
    private SessionSearchIndex.Inner? _inner;
    private SessionSearchIndex.Endpoints? _endpoints;

    public SessionOrder(long version, ServerSession[] sessions, SessionListingText[] texts)
    {
        Version = version;
        Sessions = sessions;
        Texts = texts;
    }

    public long Version { get; }
    public ServerSession[] Sessions { get; }
    public SessionListingText[] Texts { get; }

    /// <summary>The key and session-id index, made once per order (two listings racing may both make it; either is right).</summary>
    public SessionSearchIndex Index => Volatile.Read(ref _index) ?? Publish(ref _index, new SessionSearchIndex(Texts));

    /// <summary>The inner-address index for the listing's allowed-IPs generation, made again when that changed.</summary>
    public SessionSearchIndex.Inner InnerIndex(SessionListingInputs inputs, Func<int, string> innerText)
    {
        SessionSearchIndex.Inner? inner = Volatile.Read(ref _inner);
        if (inner is not null && inner.Generation == inputs.InnerGeneration)
        {
            return inner;
        }
        string[] texts = new string[Sessions.Length];
        for (int i = 0; i < texts.Length; i++)
        {
            texts[i] = innerText(i);
        }
        return Publish(ref _inner, new SessionSearchIndex.Inner(inputs.InnerGeneration, texts));
    }

    /// <summary>The endpoint index, made by the first search that needs it and again after <see cref="DropEndpoints"/>.</summary>
    public SessionSearchIndex.Endpoints EndpointIndex(Func<int, TransportAddress?> bindingOf, Func<int, string> textOf)
    {
        SessionSearchIndex.Endpoints? index = Volatile.Read(ref _endpoints);
        if (index is not null)
        {
            return index;
        }
        var bindings = new TransportAddress?[Sessions.Length];
        for (int i = 0; i < bindings.Length; i++)
        {
            bindings[i] = bindingOf(i);
        }
        return Publish(ref _endpoints, new SessionSearchIndex.Endpoints(bindings, textOf));
    }

    /// <summary>Many bindings moved since the endpoint index was made: the next search makes it again.</summary>
    public void DropEndpoints(SessionSearchIndex.Endpoints stale) => Interlocked.CompareExchange(ref _endpoints, null, stale);

    private static T Publish<T>(ref T? field, T value)
        where T : class
    {
        Volatile.Write(ref field, value);
        return value;
    }
}

/// <summary>
/// One page of a server's sessions for <c>jvpn_sessions=1</c> (docs/ui.md "Server mode", docs/design.md §7):
/// filtered by the search text, ordered by public key (a total order, so pages do not overlap or skip while the
/// table is unchanged), sliced by offset and limit. Reads the table lock-free (its concurrent maps) and each
/// session's lock-free summary (<see cref="SessionSlot.TryReadSummary"/>), never a slot's lock, which a
/// cluster worker may hold across a store call (docs/threads.md "Session listing"). Cost: the key order is
/// sorted once per table version (O(n log n) after a session came or went) and its search index made once per
/// version (and per allowed-IPs generation for the inner addresses); then a page is O(limit) and a search by key,
/// session id or inner address a few binary searches plus O(matches); only a search that could start an endpoint
/// adds one pass over the bindings. Only the page's rows are formatted, and no per-session text is made twice.
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
        // The key (hex and base64), session id and inner addresses through the order's index, the endpoint (which
        // follows each session's binding) by one pass when the search can start one. The texts other than base64
        // are lower case (hex, ids, addresses), so one lower-cased copy lets every test be ordinal.
        string lower = search.ToLowerInvariant();
        int[] matches = Search(order, search, lower, inputs);
        int take = (int)Math.Clamp((long)matches.Length - offset, 0, limit);
        for (int i = offset; i < offset + take; i++)
        {
            rows.Add(Row(all[matches[i]], order.Texts[matches[i]], inputs));
        }
        return new SessionPageReply(all.Length, matches.Length, offset, rows);
    }

    /// <summary>The order's positions of every session the search matches, ascending (key order), each once.</summary>
    internal static int[] Search(SessionOrder order, string search, string lower, SessionListingInputs inputs)
    {
        ServerSession[] all = order.Sessions;
        SessionListingText[] texts = order.Texts;
        SessionSearchIndex index = order.Index;
        (int hexStart, int hexEnd) = SessionSearchIndex.HexRange(texts, lower);
        ReadOnlySpan<int> base64 = index.Base64(search);
        ReadOnlySpan<int> ids = index.SessionIds(lower);
        ReadOnlySpan<int> inner = order.InnerIndex(inputs, i => InnerText(all[i], texts[i], inputs)).Find(lower);
        bool endpoints = CanStartEndpoint(lower);
        if (!endpoints && base64.Length + ids.Length + inner.Length == 0)
        {
            return RangeArray(hexStart, hexEnd); // a hex prefix alone: already a range of the order
        }
        // A mark per session: the union in key order without a sort, O(n) bytes for the few searches that get here.
        bool[] hit = new bool[all.Length];
        int count = 0;
        for (int i = hexStart; i < hexEnd; i++)
        {
            count += Mark(hit, i);
        }
        count += MarkAll(hit, base64) + MarkAll(hit, ids) + MarkAll(hit, inner);
        if (endpoints)
        {
            count += MarkEndpoints(order, lower, hit);
        }
        int[] result = new int[count];
        for (int i = 0, n = 0; n < count; i++)
        {
            if (hit[i])
            {
                result[n++] = i;
            }
        }
        return result;
    }

    /// <summary>
    /// Marks the sessions whose endpoint starts with <paramref name="lower"/>: the endpoint index answers for the
    /// sessions still bound as when it was made, the text is tested for the others; when more than an eighth moved,
    /// the index is made again by the next search.
    /// </summary>
    private static int MarkEndpoints(SessionOrder order, string lower, bool[] hit)
    {
        ServerSession[] all = order.Sessions;
        SessionListingText[] texts = order.Texts;
        SessionSearchIndex.Endpoints index = order.EndpointIndex(
            i => all[i].Slot.TryReadSummary(out SessionSummary s) ? s.Binding : null,
            i => EndpointText(texts[i], all[i].Slot.TryReadSummary(out SessionSummary s) ? s.Binding : null));
        bool[] indexed = new bool[all.Length];
        foreach (int p in index.Find(lower))
        {
            indexed[p] = true;
        }
        int added = 0;
        int moved = 0;
        for (int i = 0; i < all.Length; i++)
        {
            if (!all[i].Slot.TryReadSummary(out SessionSummary summary))
            {
                continue; // a writer inside its few stores for 16 tries: shown as busy, matched by nothing that moves
            }
            bool match;
            if (index.Same(i, summary.Binding))
            {
                match = indexed[i];
            }
            else
            {
                moved++;
                match = summary.Binding.HasValue && EndpointText(texts[i], summary.Binding).StartsWith(lower, StringComparison.Ordinal);
            }
            if (match)
            {
                added += Mark(hit, i);
            }
        }
        if (moved > all.Length / 8)
        {
            order.DropEndpoints(index);
        }
        return added;
    }

    private static int[] RangeArray(int start, int end)
    {
        int[] r = new int[end - start];
        for (int i = 0; i < r.Length; i++)
        {
            r[i] = start + i;
        }
        return r;
    }

    private static int Mark(bool[] hit, int i)
    {
        if (hit[i])
        {
            return 0;
        }
        hit[i] = true;
        return 1;
    }

    private static int MarkAll(bool[] hit, ReadOnlySpan<int> positions)
    {
        int added = 0;
        foreach (int i in positions)
        {
            added += Mark(hit, i);
        }
        return added;
    }

    /// <summary>An endpoint's text is an IPv4 or IPv6 address and port ("198.51.100.4:10003", "[fd00::1]:51820"):
    /// a search with any other character cannot start one, so the pass over the bindings is skipped.</summary>
    private static bool CanStartEndpoint(string lower)
    {
        foreach (char c in lower)
        {
            if (!(char.IsAsciiDigit(c) || (c >= 'a' && c <= 'f') || c is '.' or ':' or '[' or ']' or '%'))
            {
                return false;
            }
        }
        return true;
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
