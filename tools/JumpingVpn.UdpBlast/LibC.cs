using System.Runtime.InteropServices;

namespace JumpingVpn.UdpBlast;

/// <summary>The few Linux calls and constants .NET sockets do not expose (x86-64/arm64 LP64 layouts).</summary>
internal static unsafe partial class LibC
{
    public const int SolSocket = 1;
    public const int SoRcvBufForce = 33;
    public const int SolUdp = 17;
    public const int UdpSegment = 103;
    public const int MsgWaitForOne = 0x10000;
    public const int EAgain = 11;
    public const int EIntr = 4;

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MMsgHdr
    {
        public MsgHdr Header;
        public uint Length;
    }

    [LibraryImport("libc", SetLastError = true)]
    public static partial int recvmmsg(int fd, MMsgHdr* messages, uint count, int flags, IntPtr timeout);
}
