using System.Net;
using System.Net.Sockets;

namespace JumpingVpn.LoadGen.Bench;

/// <summary>Handles one received datagram (its bytes may be decrypted in place); <paramref name="from"/> is reused for the next receive.</summary>
internal delegate void DatagramHandler(Span<byte> datagram, SocketAddress from);

/// <summary>
/// The generators' receive thread body: reads datagrams from one IPv4 socket into a reused buffer until
/// <paramref name="stopping"/> says so or the socket is closed, ignores socket errors (an ICMP error surfaced
/// by a connectionless socket), and hands every datagram of at least a WireGuard header (32 bytes) on.
/// </summary>
internal static class DatagramReceiveLoop
{
    public static void Run(Socket socket, Func<bool> stopping, DatagramHandler onDatagram)
    {
        byte[] buffer = new byte[2048];
        var from = new SocketAddress(AddressFamily.InterNetwork);
        while (!stopping())
        {
            int n;
            try
            {
                n = socket.ReceiveFrom(buffer, SocketFlags.None, from);
            }
            catch (SocketException)
            {
                continue;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            if (n >= 32)
            {
                onDatagram(buffer.AsSpan(0, n), from);
            }
        }
    }
}
