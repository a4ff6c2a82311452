using System.Net;

namespace JumpingVpn.Control.Sessions;

/// <summary>
/// Where a binding points: the observed source address and port of an authenticated packet (session-spec
/// §2.3: the binding address is the observed one, never a claimed one). IPv4 is stored IPv4-mapped so
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

    public static TransportAddress Parse(string endPoint) => From(IPEndPoint.Parse(endPoint));

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
