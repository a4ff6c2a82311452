using System.Net;

namespace JumpingVpn.Control.Sessions;

/// <summary>
/// Where a binding points: the observed source address and port of an authenticated packet
/// (docs/session-spec.md §2.3: the binding address is the observed one, never a claimed one). IPv4 is stored IPv4-mapped so
/// one 128-bit value compares both families; a value type, so comparing bindings allocates nothing.
/// </summary>
public readonly record struct TransportAddress(UInt128 Address, ushort Port)
{
    public static TransportAddress From(IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        IPAddress ip = endPoint.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
            ? endPoint.Address.MapToIPv6()
            : endPoint.Address;
        Span<byte> bytes = stackalloc byte[16];
        ip.TryWriteBytes(bytes, out _);
        return new TransportAddress(System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(bytes), (ushort)endPoint.Port);
    }

    /// <summary>
    /// The same value straight from a receive buffer's socket address, without allocating (control
    /// frames are parsed on the receive thread; no per-frame garbage).
    /// </summary>
    public static TransportAddress From(System.Net.SocketAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        Span<byte> raw = stackalloc byte[18];
        int n = JumpingVpn.Tunnel.Device.EndpointCodec.WriteAddressBytes(address, raw, includePort: true);
        Span<byte> v6 = stackalloc byte[16];
        if (n == 6)
        {
            v6[10] = 0xFF;
            v6[11] = 0xFF;
            raw[..4].CopyTo(v6[12..]);
        }
        else
        {
            raw[..16].CopyTo(v6);
        }
        ushort port = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(raw[(n - 2)..]);
        return new TransportAddress(System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(v6), port);
    }

    public static TransportAddress Parse(string endPoint) => From(IPEndPoint.Parse(endPoint));

    /// <summary>Parses `ip:port` / `[ip6]:port` with a non-zero port and no scope; false for anything else (store input).</summary>
    public static bool TryParse(string? endPoint, out TransportAddress address)
    {
        address = default;
        if (endPoint is null || endPoint.Length > 64 || endPoint.Contains('%', StringComparison.Ordinal)
            || !IPEndPoint.TryParse(endPoint, out IPEndPoint? ep) || ep.Port == 0
            || ep.AddressFamily is not (System.Net.Sockets.AddressFamily.InterNetwork or System.Net.Sockets.AddressFamily.InterNetworkV6))
        {
            return false;
        }
        address = From(ep);
        return true;
    }

    public IPEndPoint ToIPEndPoint()
    {
        Span<byte> bytes = stackalloc byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(bytes, Address);
        var ip = new IPAddress(bytes);
        return new IPEndPoint(ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip, Port);
    }

    /// <summary>`192.0.2.1:51820` or `[2001:db8::1]:51820`, as audit events print it.</summary>
    public override string ToString() => ToIPEndPoint().ToString();
}
