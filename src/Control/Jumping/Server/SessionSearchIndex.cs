using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Control.Jumping.Server;

/// <summary>
/// Sorted views of one <see cref="SessionOrder"/> that turn a listing's prefix search into binary searches
/// (docs/ui.md "Server mode", docs/threads.md "Session listing"): the key in hex is the order itself (hex orders like
/// the bytes), the key in base64 and the session id each have a permutation of the order's positions sorted by that
/// text, and the inner addresses one sorted array of (address text, position) per allowed-IPs generation. Built on the
/// listing's thread from the texts the order already holds, read by any number of listings at once, never written
/// after it is published; no packet thread sees it.
/// </summary>
internal sealed class SessionSearchIndex
{
    private readonly string[] _base64;
    private readonly int[] _base64Positions;
    private readonly string[] _ids;
    private readonly int[] _idPositions;

    public SessionSearchIndex(SessionListingText[] texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        (_base64, _base64Positions) = Sorted(texts.Length, i => texts[i].KeyBase64);
        (_ids, _idPositions) = Sorted(texts.Length, i => texts[i].SessionIdText);
    }

    /// <summary>The order's positions whose base64 key starts with <paramref name="prefix"/> (exact case).</summary>
    public ReadOnlySpan<int> Base64(string prefix) => Range(_base64, _base64Positions, prefix);

    /// <summary>The order's positions whose session id starts with <paramref name="lower"/>.</summary>
    public ReadOnlySpan<int> SessionIds(string lower) => Range(_ids, _idPositions, lower);

    /// <summary>The positions [start, end) of the order whose hex key starts with <paramref name="lower"/>: the order is by key bytes.</summary>
    public static (int Start, int End) HexRange(SessionListingText[] texts, string lower)
    {
        ArgumentNullException.ThrowIfNull(texts);
        return Bounds(texts.Length, i => texts[i].KeyHex, lower);
    }

    /// <summary>The inner addresses of one allowed-IPs generation, one entry per comma-separated item.</summary>
    public sealed class Inner
    {
        private readonly string[] _items;
        private readonly int[] _positions;

        public Inner(long generation, IReadOnlyList<string> innerTexts)
        {
            ArgumentNullException.ThrowIfNull(innerTexts);
            Generation = generation;
            var items = new List<string>(innerTexts.Count);
            var positions = new List<int>(innerTexts.Count);
            for (int i = 0; i < innerTexts.Count; i++)
            {
                foreach (string item in innerTexts[i].Split(',', StringSplitOptions.RemoveEmptyEntries))
                {
                    items.Add(item);
                    positions.Add(i);
                }
            }
            _items = [.. items];
            _positions = [.. positions];
            Array.Sort(_items, _positions, StringComparer.Ordinal);
        }

        public long Generation { get; }

        /// <summary>The order's positions with an inner address starting with <paramref name="lower"/>; a position can repeat.</summary>
        public ReadOnlySpan<int> Find(string lower) => Range(_items, _positions, lower);
    }

    /// <summary>
    /// The bound endpoints as they were when the index was made, with the binding each text was made from: a binding
    /// moves with its client (roaming, NAT), so a search compares each session's binding now with the one indexed
    /// (two integers, no text) and tests the text only of the sessions whose binding changed since.
    /// </summary>
    public sealed class Endpoints
    {
        private readonly string[] _texts;
        private readonly int[] _positions;
        private readonly TransportAddress[] _bindings;
        private readonly bool[] _bound;

        public Endpoints(IReadOnlyList<TransportAddress?> bindings, Func<int, string> textOf)
        {
            ArgumentNullException.ThrowIfNull(bindings);
            ArgumentNullException.ThrowIfNull(textOf);
            _bindings = new TransportAddress[bindings.Count];
            _bound = new bool[bindings.Count];
            var texts = new List<string>(bindings.Count);
            var positions = new List<int>(bindings.Count);
            for (int i = 0; i < bindings.Count; i++)
            {
                if (bindings[i] is TransportAddress b)
                {
                    _bindings[i] = b;
                    _bound[i] = true;
                    texts.Add(textOf(i));
                    positions.Add(i);
                }
            }
            _texts = [.. texts];
            _positions = [.. positions];
            Array.Sort(_texts, _positions, StringComparer.Ordinal);
        }

        /// <summary>True when the session at <paramref name="position"/> is bound as it was when indexed.</summary>
        public bool Same(int position, TransportAddress? now) => now is TransportAddress a
            ? _bound[position] && _bindings[position].Address == a.Address && _bindings[position].Port == a.Port
            : !_bound[position];

        /// <summary>The positions whose indexed endpoint starts with <paramref name="lower"/>.</summary>
        public ReadOnlySpan<int> Find(string lower) => Range(_texts, _positions, lower);
    }

    private static (string[] Texts, int[] Positions) Sorted(int count, Func<int, string> text)
    {
        string[] texts = new string[count];
        int[] positions = new int[count];
        for (int i = 0; i < count; i++)
        {
            texts[i] = text(i);
            positions[i] = i;
        }
        Array.Sort(texts, positions, StringComparer.Ordinal);
        return (texts, positions);
    }

    private static ReadOnlySpan<int> Range(string[] sorted, int[] positions, string prefix)
    {
        (int start, int end) = Bounds(sorted.Length, i => sorted[i], prefix);
        return positions.AsSpan(start, end - start);
    }

    /// <summary>[first text not below the prefix, first text past every text that starts with it), by two binary searches.</summary>
    private static (int Start, int End) Bounds(int count, Func<int, string> text, string prefix)
    {
        int lo = 0;
        int hi = count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (ComparePrefix(text(mid), prefix) < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        int start = lo;
        hi = count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (ComparePrefix(text(mid), prefix) <= 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return (start, lo);
    }

    /// <summary>The text's first <c>prefix.Length</c> characters against the prefix: 0 when the text starts with it.</summary>
    private static int ComparePrefix(string text, string prefix) =>
        string.CompareOrdinal(text, 0, prefix, 0, prefix.Length);
}
