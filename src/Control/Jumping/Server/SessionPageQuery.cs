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
/// One page of a server's sessions for <c>jvpn_sessions=1</c> (docs/ui.md "Server mode", docs/design.md §7):
/// filtered by the search text, ordered by public key (a total order, so pages do not overlap or skip while the
/// table is unchanged), sliced by offset and limit. Reads the table lock-free (its concurrent maps) and each
/// session's lock-free summary (<see cref="SessionSlot.TryReadSummary"/>), never a slot's lock, which a
/// cluster worker may hold across a store call (docs/threads.md "Session listing"). Cost: one pass over the
/// table, a sort of the matches, and formatting only the page's rows: O(n log n) per request, no per-session
/// text made twice.
/// </summary>
internal static class SessionPageQuery
{
    private readonly record struct Entry(ServerSession Session, SessionListingText Text);

    private sealed class ByKey : IComparer<Entry>
    {
        public static readonly ByKey Instance = new();

        public int Compare(Entry x, Entry y)
        {
            int c = x.Text.SortKey.CompareTo(y.Text.SortKey);
            return c != 0 ? c : x.Session.Peer.PublicKey.AsSpan().SequenceCompareTo(y.Session.Peer.PublicKey);
        }
    }

    public static SessionPageReply Run(ServerSessionTable table, SessionPageRequest request, SessionListingInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(inputs);
        string search = request.Search.Trim();
        var matches = new List<Entry>(search.Length == 0 ? table.Count : 64);
        int total = 0;
        foreach (KeyValuePair<Peer, ServerSession> pair in table.Entries)
        {
            ServerSession s = pair.Value;
            total++;
            SessionListingText text = s.Listing ??= new SessionListingText(s);
            if (search.Length == 0 || Matches(s, text, search, inputs))
            {
                matches.Add(new Entry(s, text));
            }
        }
        matches.Sort(ByKey.Instance);
        int offset = request.Offset;
        int end = (int)Math.Min((long)offset + request.Limit, matches.Count);
        var rows = new List<SessionPageRow>(Math.Max(0, end - offset));
        for (int i = offset; i < end; i++)
        {
            rows.Add(Row(matches[i], inputs));
        }
        return new SessionPageReply(total, matches.Count, offset, rows);
    }

    private static SessionPageRow Row(Entry e, SessionListingInputs inputs)
    {
        ServerSession s = e.Session;
        bool known = s.Slot.TryReadSummary(out SessionSummary summary);
        long lastRx = s.Peer.LastAuthenticatedRxNs;
        long lastSeenMs = lastRx == long.MinValue ? -1 : Math.Max(0, (inputs.NowNs - lastRx) / 1_000_000);
        return new SessionPageRow(
            e.Text.KeyHex,
            e.Text.SessionIdText,
            known ? WireNames.Of(summary.State) : "busy",
            known ? summary.StateVersion : 0,
            InnerText(s, e.Text, inputs),
            known ? EndpointText(e.Text, summary.Binding) : "",
            lastSeenMs,
            inputs.OwnerOf(s));
    }

    /// <summary>
    /// Whether <paramref name="search"/> starts the public key (base64 exactly, hex in any case), the session id,
    /// one of the inner addresses or the endpoint. The cheap immutable texts are tried first.
    /// </summary>
    internal static bool Matches(ServerSession s, SessionListingText text, string search, SessionListingInputs inputs)
    {
        if (text.KeyBase64.StartsWith(search, StringComparison.Ordinal)
            || text.KeyHex.StartsWith(search, StringComparison.OrdinalIgnoreCase)
            || text.SessionIdText.StartsWith(search, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        if (StartsAnItem(InnerText(s, text, inputs), search))
        {
            return true;
        }
        return s.Slot.TryReadSummary(out SessionSummary summary)
            && summary.Binding.HasValue
            && EndpointText(text, summary.Binding).StartsWith(search, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>True when <paramref name="search"/> starts one of the comma-separated items of <paramref name="list"/>.</summary>
    private static bool StartsAnItem(string list, string search)
    {
        int start = 0;
        while (start < list.Length)
        {
            int comma = list.IndexOf(',', start);
            int end = comma < 0 ? list.Length : comma;
            if (end - start >= search.Length
                && list.AsSpan(start, search.Length).Equals(search, StringComparison.OrdinalIgnoreCase))
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
