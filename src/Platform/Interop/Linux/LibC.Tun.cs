using System.Runtime.InteropServices;

namespace JumpingVpn.Platform.Interop.Linux;

/// <summary>
/// TUN offload additions (&lt;linux/if_tun.h&gt;): the virtio-net header flag, TUNSETOFFLOAD and its
/// feature bits, plus writev so a single-packet write can prepend the 10-byte virtio-net header
/// without copying the packet.
/// </summary>
internal static partial class LibC
{
    /// <summary>Every read/write carries a struct virtio_net_hdr prefix (10 bytes by default).</summary>
    public const short IFF_VNET_HDR = 0x4000;

    /// <summary>_IOW('T', 208, unsigned int).</summary>
    public const nuint TUNSETOFFLOAD = 0x400454d0;

    public const uint TUN_F_CSUM = 0x01;
    public const uint TUN_F_TSO4 = 0x02;
    public const uint TUN_F_TSO6 = 0x04;

    /// <summary>UDP segmentation offload (USO), Linux 6.2+; older kernels answer EINVAL.</summary>
    public const uint TUN_F_USO4 = 0x20;
    public const uint TUN_F_USO6 = 0x40;

    [LibraryImport("libc", EntryPoint = "writev", SetLastError = true)]
    public static unsafe partial nint Writev(int fd, IoVec* iov, int iovcnt);
}
