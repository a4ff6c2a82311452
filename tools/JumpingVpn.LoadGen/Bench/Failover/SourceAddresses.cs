using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace JumpingVpn.LoadGen.Bench.Failover;

/// <summary>
/// The simulated clients' source addresses (docs/cluster.md "Benchmark"): consecutive IPv4 addresses from a first
/// one, which the bench makes local to the client namespace with one route (`ip route add local PREFIX dev lo`),
/// so thousands of addresses cost no per-address configuration.
/// </summary>
internal static class SourceAddresses
{
    /// <summary>At most this many: one socket and one receive thread each.</summary>
    public const int Max = 4096;

    /// <summary><paramref name="count"/> consecutive addresses from <paramref name="first"/>; null with a reason when that is not possible.</summary>
    public static IReadOnlyList<IPAddress>? Range(IPAddress first, int count, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(first);
        problem = null;
        if (first.AddressFamily != AddressFamily.InterNetwork)
        {
            problem = $"{first} is not an IPv4 address";
            return null;
        }
        if (count is < 1 or > Max)
        {
            problem = $"{count} source addresses: use 1 to {Max}";
            return null;
        }
        Span<byte> b = stackalloc byte[4];
        first.TryWriteBytes(b, out _);
        uint start = BinaryPrimitives.ReadUInt32BigEndian(b);
        if (start > uint.MaxValue - (uint)(count - 1))
        {
            problem = $"{count} addresses from {first} run past 255.255.255.255";
            return null;
        }
        var list = new IPAddress[count];
        for (int i = 0; i < count; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(b, start + (uint)i);
            list[i] = new IPAddress(b);
        }
        return list;
    }
}
