using System.Diagnostics;
using System.Net.Sockets;
using JumpingVpn.Platform.Interop.Linux;

namespace JumpingVpn.UdpBlast;

/// <summary>
/// The sending side: one connected UDP socket with UDP_SEGMENT set, so each send() hands the kernel up to
/// 64 datagrams at once, which it segments as late as the output device allows (on a TUN with USO the VPN
/// receives the whole train in one read; docs/performance.md "How to reproduce").
/// </summary>
internal static class GsoSender
{
    public static BlastReport Run(BlastOptions options)
    {
        using var socket = new Socket(options.Endpoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.SendBufferSize = 4 << 20;
        if (options.Segments > 1)
        {
            socket.SetRawSocketOption(LibC.SOL_UDP, LibC.UDP_SEGMENT, BitConverter.GetBytes(options.SegmentSize));
        }
        socket.Connect(options.Endpoint);
        byte[] payload = new byte[options.SegmentSize * options.Segments];
        Random.Shared.NextBytes(payload);
        long sends = 0;
        long start = Stopwatch.GetTimestamp();
        long stop = start + (long)(options.Seconds * Stopwatch.Frequency);
        long now = start;
        while (now < stop)
        {
            try
            {
                socket.Send(payload);
                sends++;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionRefused or SocketError.NoBufferSpaceAvailable)
            {
                // An ICMP port unreachable from before the receiver bound, or a full device queue: the
                // datagrams of this send are not counted as sent, and the blast goes on.
            }
            now = Stopwatch.GetTimestamp();
        }
        double seconds = Stopwatch.GetElapsedTime(start, now).TotalSeconds;
        long datagrams = sends * options.Segments;
        return new BlastReport("send", datagrams, datagrams * options.SegmentSize, sends, seconds);
    }
}
