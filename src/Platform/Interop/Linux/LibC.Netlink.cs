using System.Runtime.InteropServices;

namespace JumpingVpn.Platform.Interop.Linux;

/// <summary>
/// rtnetlink for change notifications (docs/platform.md §4.5). Values from &lt;linux/netlink.h&gt; and
/// &lt;linux/rtnetlink.h&gt;.
/// </summary>
internal static partial class LibC
{
    public const int AF_NETLINK = 16;
    public const int SOCK_RAW = 3;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int SOCK_NONBLOCK = 0x800;
    public const int NETLINK_ROUTE = 0;
    public const uint RTMGRP_LINK = 0x1;
    public const uint RTMGRP_IPV4_IFADDR = 0x10;
    public const uint RTMGRP_IPV4_ROUTE = 0x40;
    public const uint RTMGRP_IPV6_IFADDR = 0x100;
    public const uint RTMGRP_IPV6_ROUTE = 0x400;
    public const int ENOBUFS = 105;

    /// <summary>struct sockaddr_nl (12 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SockAddrNl
    {
        public ushort Family;
        public ushort Pad;
        public uint Pid;
        public uint Groups;
    }

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    public static unsafe partial int Bind(int fd, void* address, uint length);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    public static unsafe partial nint Recv(int fd, byte* buffer, nuint length, int flags);
}
