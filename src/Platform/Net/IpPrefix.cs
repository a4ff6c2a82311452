using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;

namespace JumpingVpn.Platform.Net;

/// <summary>
/// An IPv4 or IPv6 network prefix ("10.0.0.0/24", "fd00::/64"). The address is always stored masked
/// to its prefix length, so two prefixes that cover the same network compare equal (wg(8) does the same
/// when it prints allowed-ips).
/// </summary>
public readonly record struct IpPrefix
{
    public IpPrefix(IPAddress address, int length)
    {
        ArgumentNullException.ThrowIfNull(address);
        int max = MaxLength(address.AddressFamily);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, max);
        Address = Mask(address, length);
        Length = length;
    }

    public IPAddress Address { get; }
    public int Length { get; }
    public bool IsIPv4 => Address.AddressFamily == AddressFamily.InterNetwork;

    public static int MaxLength(AddressFamily family) => family switch
    {
        AddressFamily.InterNetwork => 32,
        AddressFamily.InterNetworkV6 => 128,
        _ => throw new ArgumentException($"unsupported address family {family}", nameof(family)),
    };

    /// <summary>Parses "addr/len" or a bare address (host prefix), as wg-quick and wg(8) accept.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out IpPrefix? prefix)
    {
        prefix = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        text = text.Trim();
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        string addrPart = slash < 0 ? text : text[..slash];
        if (!IPAddress.TryParse(addrPart, out IPAddress? address)
            || address.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)
            || addrPart.Contains('%', StringComparison.Ordinal))
        {
            return false;
        }
        int max = MaxLength(address.AddressFamily);
        int length = max;
        if (slash >= 0)
        {
            string lenPart = text[(slash + 1)..];
            if (lenPart.Length == 0 || lenPart.Length > 3 || !lenPart.All(char.IsAsciiDigit)
                || !int.TryParse(lenPart, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out length)
                || length > max)
            {
                return false;
            }
        }
        prefix = new IpPrefix(address, length);
        return true;
    }

    public static IpPrefix Parse(string text) =>
        TryParse(text, out IpPrefix? p) ? p.Value : throw new FormatException($"'{text}' is not an IP prefix (expected e.g. 10.0.0.1/32 or fd00::/64)");

    /// <summary>True when <paramref name="address"/> lies inside this prefix.</summary>
    public bool Contains(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.AddressFamily == Address.AddressFamily && Mask(address, Length).Equals(Address);
    }

    public static IPAddress Mask(IPAddress address, int length)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (!address.TryWriteBytes(bytes, out int n))
        {
            throw new ArgumentException("address too long", nameof(address));
        }
        bytes = bytes[..n];
        for (int i = 0; i < n; i++)
        {
            int bitsHere = Math.Clamp(length - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF00 >> bitsHere);
        }
        return new IPAddress(bytes);
    }

    public override string ToString() => $"{Address}/{Length}";
}
