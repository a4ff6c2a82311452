using System.Buffers.Binary;

namespace JumpingVpn.Platform.Tun.Offload;

/// <summary>
/// struct virtio_net_hdr (virtio spec 1.1 §5.1.6, &lt;linux/virtio_net.h&gt;): the 10-byte prefix of
/// every TUN read/write once the device is opened with IFF_VNET_HDR. The 16-bit fields are in the
/// guest's native byte order for a legacy header, which TUN keeps unless TUNSETVNETBE is used; every
/// platform .NET runs Linux on (x64, arm64) is little-endian, so they are read little-endian.
/// </summary>
internal struct VirtioNetHeader
{
    public const int Size = 10;

    /// <summary>CHECKSUM_PARTIAL: the L4 checksum at CsumStart + CsumOffset holds only the
    /// pseudo-header sum; the rest must be summed from CsumStart to the end.</summary>
    public const byte FlagNeedsCsum = 1;

    /// <summary>The kernel already verified the checksum (informational on read).</summary>
    public const byte FlagDataValid = 2;

    public const byte GsoNone = 0;
    public const byte GsoTcpV4 = 1;
    public const byte GsoUdp = 3; // legacy UFO, never produced by TUN with our feature set
    public const byte GsoTcpV6 = 4;
    public const byte GsoUdpL4 = 5;
    public const byte GsoEcn = 0x80;

    public byte Flags;
    public byte GsoType;
    public ushort HdrLen;
    public ushort GsoSize;
    public ushort CsumStart;
    public ushort CsumOffset;

    public static VirtioNetHeader Read(ReadOnlySpan<byte> source) => new()
    {
        Flags = source[0],
        GsoType = source[1],
        HdrLen = BinaryPrimitives.ReadUInt16LittleEndian(source[2..]),
        GsoSize = BinaryPrimitives.ReadUInt16LittleEndian(source[4..]),
        CsumStart = BinaryPrimitives.ReadUInt16LittleEndian(source[6..]),
        CsumOffset = BinaryPrimitives.ReadUInt16LittleEndian(source[8..]),
    };

    public readonly void Write(Span<byte> destination)
    {
        destination[0] = Flags;
        destination[1] = GsoType;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], HdrLen);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[4..], GsoSize);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], CsumStart);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[8..], CsumOffset);
    }
}
