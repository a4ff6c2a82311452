using System.Runtime.InteropServices;

namespace JumpingVpn.Platform.Interop.Linux;

/// <summary>
/// The few libc calls the TUN device needs, declared with source-generated marshalling (no runtime
/// stubs, no allocation per call). Constants are the Linux values from &lt;linux/if_tun.h&gt;,
/// &lt;fcntl.h&gt;, &lt;poll.h&gt; and &lt;sys/eventfd.h&gt;.
/// </summary>
internal static partial class LibC
{
    public const int O_RDWR = 0x2;
    public const int O_NONBLOCK = 0x800;
    public const int O_CLOEXEC = 0x80000;
    public const int EFD_CLOEXEC = 0x80000;
    public const int EFD_NONBLOCK = 0x800;
    public const short POLLIN = 0x1;
    public const nuint TUNSETIFF = 0x400454ca;
    public const short IFF_TUN = 0x0001;
    public const short IFF_NO_PI = 0x1000;
    public const int IFNAMSIZ = 16;

    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int EPERM = 1;
    public const int EACCES = 13;
    public const int EBUSY = 16;
    public const int ENOENT = 2;
    public const int ENODEV = 19;
    public const int EINVAL = 22;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    /// <summary>struct ifreq as TUNSETIFF reads it: name[16] then the flags union (40 bytes in all).</summary>
    [StructLayout(LayoutKind.Sequential, Size = 40)]
    public unsafe struct IfReq
    {
        public fixed byte Name[IFNAMSIZ];
        public short Flags;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static unsafe partial int Ioctl(int fd, nuint request, void* arg);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static unsafe partial nint Read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static unsafe partial nint Write(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static unsafe partial int Poll(PollFd* fds, nuint nfds, int timeout);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initval, int flags);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint GetEuid();

    public static string ErrorText(int errno) => Marshal.GetPInvokeErrorMessage(errno);
}
