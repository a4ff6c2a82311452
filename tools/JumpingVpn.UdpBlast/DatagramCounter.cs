using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using JumpingVpn.Platform.Interop.Linux;

namespace JumpingVpn.UdpBlast;

/// <summary>
/// The receiving side: recvmmsg of up to 64 datagrams per call, counted, never parsed. The rate is taken
/// between the first and the last arrival, so start-up and the sender's stop do not dilute it.
/// </summary>
internal static unsafe class DatagramCounter
{
    private const int Messages = 64;
    private const int SlotBytes = 2048;

    /// <summary>Silence after traffic that means the sender is done.</summary>
    private static readonly TimeSpan SenderDone = TimeSpan.FromSeconds(1);

    public static BlastReport Run(BlastOptions options)
    {
        using var socket = new Socket(options.Endpoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.ReceiveBufferSize = 8 << 20;
        try
        {
            // Root may exceed net.core.rmem_max: a benchmark receiver should not be the one dropping.
            socket.SetRawSocketOption(LibC.SOL_SOCKET, LibC.SO_RCVBUFFORCE, BitConverter.GetBytes(8 << 20));
        }
        catch (SocketException)
        {
        }
        socket.ReceiveTimeout = 100;
        socket.Bind(options.Endpoint);
        int fd = (int)socket.Handle;

        byte* slots = (byte*)NativeMemory.Alloc(Messages * SlotBytes);
        var iov = (LibC.IoVec*)NativeMemory.AllocZeroed((nuint)(Messages * sizeof(LibC.IoVec)));
        var headers = (LibC.MMsgHdr*)NativeMemory.AllocZeroed((nuint)(Messages * sizeof(LibC.MMsgHdr)));
        try
        {
            for (int i = 0; i < Messages; i++)
            {
                iov[i].Base = slots + i * SlotBytes;
                iov[i].Length = SlotBytes;
                headers[i].Header.Iov = &iov[i];
                headers[i].Header.IovLength = 1;
            }
            long datagrams = 0;
            long bytes = 0;
            long start = Stopwatch.GetTimestamp();
            long first = 0;
            long last = 0;
            long window = (long)(options.Seconds * Stopwatch.Frequency);
            long silence = (long)(SenderDone.TotalSeconds * Stopwatch.Frequency);
            while (true)
            {
                int n = LibC.RecvMMsg(fd, headers, Messages, LibC.MSG_WAITFORONE, null);
                long now = Stopwatch.GetTimestamp();
                if (n > 0)
                {
                    if (first == 0)
                    {
                        first = now;
                    }
                    last = now;
                    datagrams += n;
                    for (int i = 0; i < n; i++)
                    {
                        bytes += headers[i].Length;
                    }
                }
                else if (n < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno is not (LibC.EAGAIN or LibC.EINTR))
                    {
                        throw new IOException($"recvmmsg on {options.Endpoint} failed: errno {errno}");
                    }
                }
                if (first == 0 ? now - start >= window : now - first >= window || now - last >= silence)
                {
                    break;
                }
            }
            // One datagram has no interval: its rate is reported as 0 rather than infinite.
            double seconds = datagrams > 1 ? Stopwatch.GetElapsedTime(first, last).TotalSeconds : 0;
            return new BlastReport("recv", datagrams, bytes, 0, seconds);
        }
        finally
        {
            NativeMemory.Free(headers);
            NativeMemory.Free(iov);
            NativeMemory.Free(slots);
        }
    }
}
