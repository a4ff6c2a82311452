using System.Globalization;

namespace JumpingVpn.Platform.Net.Linux;

/// <summary>Reads `counter packets N bytes M` out of `nft list` text (the kill switch's refused packets).</summary>
public static class NftCounters
{
    public static long SumPackets(string listing)
    {
        ArgumentNullException.ThrowIfNull(listing);
        long sum = 0;
        const string Marker = "counter packets ";
        int at = 0;
        while ((at = listing.IndexOf(Marker, at, StringComparison.Ordinal)) >= 0)
        {
            at += Marker.Length;
            int end = at;
            while (end < listing.Length && char.IsAsciiDigit(listing[end]))
            {
                end++;
            }
            if (long.TryParse(listing.AsSpan(at, end - at), NumberStyles.None, CultureInfo.InvariantCulture, out long n))
            {
                sum += n;
            }
            at = end;
        }
        return sum;
    }
}
