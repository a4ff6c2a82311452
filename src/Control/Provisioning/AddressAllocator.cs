using System.Net;
using System.Net.Sockets;
using JumpingVpn.Platform.Net;

namespace JumpingVpn.Control.Provisioning;

/// <summary>
/// Picks the lowest free host address in the server's tunnel subnet for a new peer. "Used" means covered
/// by the server's own addresses or by any peer's AllowedIPs that lies inside the subnet (a peer routing
/// 0.0.0.0/0 does not use up the pool; a peer given 10.0.0.8/29 uses all eight).
/// </summary>
public static class AddressAllocator
{
    /// <summary>
    /// The lowest host address of <paramref name="subnet"/> not covered by <paramref name="used"/>, or null
    /// when the subnet is full. IPv4 skips the network and broadcast addresses (RFC 919/922) except on a
    /// /31, where both are hosts (RFC 3021); IPv6 skips the Subnet-Router anycast address, the all-zero
    /// host (RFC 4291 §2.6.1).
    /// </summary>
    public static IPAddress? NextFree(IpPrefix subnet, IReadOnlyList<IpPrefix> used)
    {
        ArgumentNullException.ThrowIfNull(used);
        int bits = IpPrefix.MaxLength(subnet.Address.AddressFamily);
        int hostBits = bits - subnet.Length;
        UInt128 first = ToNumber(subnet.Address);
        UInt128 last = first + (hostBits >= 128 ? UInt128.MaxValue : (UInt128.One << hostBits) - 1);
        if (subnet.IsIPv4 ? subnet.Length <= 30 : subnet.Length < 128)
        {
            first++;
        }
        if (subnet.IsIPv4 && subnet.Length <= 30)
        {
            last--;
        }

        // Jump over whole used prefixes instead of stepping through them, so a peer owning a large block
        // of an IPv6 /64 costs one step, not 2^n.
        UInt128 candidate = first;
        while (candidate <= last)
        {
            UInt128? blockedUntil = null;
            foreach (IpPrefix p in used)
            {
                if (p.Address.AddressFamily != subnet.Address.AddressFamily || p.Length < subnet.Length)
                {
                    continue;
                }
                UInt128 start = ToNumber(p.Address);
                int pHostBits = bits - p.Length;
                UInt128 end = start + (pHostBits >= 128 ? UInt128.MaxValue : (UInt128.One << pHostBits) - 1);
                if (candidate >= start && candidate <= end && (blockedUntil is null || end > blockedUntil))
                {
                    blockedUntil = end;
                }
            }
            if (blockedUntil is not UInt128 until)
            {
                return FromNumber(candidate, subnet.Address.AddressFamily);
            }
            if (until >= last)
            {
                return null;
            }
            candidate = until + 1;
        }
        return null;
    }

    internal static UInt128 ToNumber(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (!address.TryWriteBytes(bytes, out int n))
        {
            throw new ArgumentException("address too long", nameof(address));
        }
        UInt128 value = 0;
        for (int i = 0; i < n; i++)
        {
            value = (value << 8) | bytes[i];
        }
        return value;
    }

    internal static IPAddress FromNumber(UInt128 value, AddressFamily family)
    {
        int n = family == AddressFamily.InterNetwork ? 4 : 16;
        Span<byte> bytes = stackalloc byte[n];
        for (int i = n - 1; i >= 0; i--)
        {
            bytes[i] = (byte)(value & 0xFF);
            value >>= 8;
        }
        return new IPAddress(bytes);
    }
}
