using System.Runtime.InteropServices;

namespace JumpingVpn.Platform.Interop.Linux;

/// <summary>
/// Socket calls for batched UDP I/O that Tmds.LibC 0.5.0 lacks (recvmmsg/sendmmsg arrived after that
/// release; docs/data-plane.md §0). Struct layouts are the LP64 Linux ABI shared by x86-64 and arm64
/// (&lt;bits/socket.h&gt;, &lt;bits/uio.h&gt;); constants are from &lt;linux/udp.h&gt; and &lt;bits/socket.h&gt;.
/// fds are plain ints: a SafeHandle parameter would add an AddRef/Release per call (docs/data-plane.md §3.3).
/// </summary>
internal static partial class LibC
{
    public const int SOL_SOCKET = 1;

    /// <summary>Socket-level options .NET does not name: buffers past net.core.[rw]mem_max (root only), the
    /// fwmark, binding to one interface, and a SO_REUSEPORT group.</summary>
    public const int SO_REUSEPORT = 15;
    public const int SO_BINDTODEVICE = 25;
    public const int SO_SNDBUFFORCE = 32;
    public const int SO_RCVBUFFORCE = 33;
    public const int SO_MARK = 36;

    public const int SOL_UDP = 17;

    /// <summary>UDP GSO: u16 segment size, as a cmsg on send or a socket option (kernel ≥ 4.18).</summary>
    public const int UDP_SEGMENT = 103;

    /// <summary>UDP GRO: int socket option; recvmsg then reports the segment size as an int cmsg (kernel ≥ 5.0).</summary>
    public const int UDP_GRO = 104;

    /// <summary>recvmmsg: block for the first message only, then take what is queued.</summary>
    public const int MSG_WAITFORONE = 0x10000;
    public const int MSG_TRUNC = 0x20;
    public const int MSG_CTRUNC = 0x8;

    public const short POLLOUT = 0x4;

    public const int EBADF = 9;
    public const int EIO = 5;
    public const int ENOTSOCK = 88;
    public const int ECONNREFUSED = 111;
    public const int ECONNRESET = 104;
    public const int EHOSTUNREACH = 113;
    public const int ENETUNREACH = 101;
    public const int EMSGSIZE = 90;

    public const int AF_INET = 2;
    public const int AF_INET6 = 10;

    /// <summary>Size of struct cmsghdr: size_t cmsg_len, int cmsg_level, int cmsg_type.</summary>
    public const int CmsgHeaderSize = 16;

    /// <summary>CMSG_ALIGN: control messages are aligned to sizeof(size_t).</summary>
    public static int CmsgAlign(int length) => (length + 7) & ~7;

    /// <summary>CMSG_SPACE: room a control message with a <paramref name="dataLength"/>-byte payload takes.</summary>
    public static int CmsgSpace(int dataLength) => CmsgHeaderSize + CmsgAlign(dataLength);

    /// <summary>CMSG_LEN: the cmsg_len value for a <paramref name="dataLength"/>-byte payload.</summary>
    public static int CmsgLen(int dataLength) => CmsgHeaderSize + dataLength;

    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }

    /// <summary>struct msghdr (56 bytes on LP64).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    /// <summary>struct mmsghdr (64 bytes on LP64): the message and the byte count the kernel returns.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct MMsgHdr
    {
        public MsgHdr Header;
        public uint Length;
    }

    /// <summary>struct cmsghdr header; the payload follows at CMSG_DATA = +16.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct CMsgHdr
    {
        public nuint Length;
        public int Level;
        public int Type;
    }

    [LibraryImport("libc", EntryPoint = "recvmmsg", SetLastError = true)]
    public static unsafe partial int RecvMMsg(int fd, MMsgHdr* messages, uint count, int flags, void* timeout);

    [LibraryImport("libc", EntryPoint = "sendmmsg", SetLastError = true)]
    public static unsafe partial int SendMMsg(int fd, MMsgHdr* messages, uint count, int flags);

    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    public static unsafe partial nint SendMsg(int fd, MsgHdr* message, int flags);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    public static unsafe partial int SetSockOpt(int fd, int level, int name, void* value, uint length);

    [LibraryImport("libc", EntryPoint = "getsockopt", SetLastError = true)]
    public static unsafe partial int GetSockOpt(int fd, int level, int name, void* value, uint* length);
}
