using System.Net;
using System.Net.Sockets;

namespace JumpingVpn.Platform.Udp;

/// <summary>
/// The interface's one UDP socket for IPv4 and IPv6 (an IPv6 socket in dual mode; IPv4-only when the
/// host has IPv6 disabled). Blocking calls on dedicated threads; the SocketAddress overloads of
/// ReceiveFrom/SendTo (.NET 8+) allocate nothing per datagram.
/// </summary>
public sealed class UdpTransport : IDisposable
{
    private const int SolSocket = 1;
    private const int SoSndBufForce = 32;
    private const int SoRcvBufForce = 33;
    private const int SoMark = 36;
    private const int BufferBytes = 8 << 20;
    private readonly Socket _socket;
    private int _closed;

    private UdpTransport(Socket socket, bool dualMode)
    {
        _socket = socket;
        DualMode = dualMode;
        LocalPort = ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    public int LocalPort { get; }

    /// <summary>True for a dual-stack IPv6 socket: IPv4 peers are addressed as v4-mapped IPv6.</summary>
    public bool DualMode { get; }

    public AddressFamily Family => _socket.AddressFamily;

    /// <summary>Binds the listen port (0 = any free port) on all addresses.</summary>
    public static UdpTransport Bind(int port)
    {
        Socket? socket = null;
        bool dual = false;
        try
        {
            if (Socket.OSSupportsIPv6)
            {
                socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp) { DualMode = true };
                socket.Bind(new IPEndPoint(IPAddress.IPv6Any, port));
                dual = true;
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.AddressFamilyNotSupported or SocketError.ProtocolNotSupported or SocketError.AddressNotAvailable)
        {
            socket?.Dispose();
            socket = null;
        }
        catch (SocketException ex)
        {
            socket?.Dispose();
            throw BindError(port, ex);
        }
        if (socket is null)
        {
            socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                socket.Bind(new IPEndPoint(IPAddress.Any, port));
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                throw BindError(port, ex);
            }
        }
        Tune(socket);
        return new UdpTransport(socket, dual);
    }

    private static PlatformException BindError(int port, SocketException ex) => ex.SocketErrorCode switch
    {
        SocketError.AddressAlreadyInUse => new PlatformException($"UDP port {port} is already in use (another WireGuard or jvpn instance?); choose another ListenPort"),
        SocketError.AccessDenied => new PlatformException($"binding UDP port {port} was denied: {ex.Message}"),
        _ => new PlatformException($"cannot bind UDP port {port}: {ex.Message}"),
    };

    /// <summary>
    /// Large buffers absorb bursts between the two packet threads (perf-notes §1.2: wireguard-go's 7 MB
    /// buffers removed its retransmits). The *FORCE variants pass the sysctl cap with CAP_NET_ADMIN.
    /// </summary>
    private static void Tune(Socket socket)
    {
        try
        {
            socket.SetRawSocketOption(SolSocket, SoRcvBufForce, BitConverter.GetBytes(BufferBytes));
            socket.SetRawSocketOption(SolSocket, SoSndBufForce, BitConverter.GetBytes(BufferBytes));
        }
        catch (SocketException)
        {
            socket.ReceiveBufferSize = BufferBytes;
            socket.SendBufferSize = BufferBytes;
        }
    }

    /// <summary>SO_MARK: packets of this socket carry the mark, so policy routing can exempt them from the tunnel.</summary>
    public void SetFwMark(uint mark)
    {
        try
        {
            _socket.SetRawSocketOption(SolSocket, SoMark, BitConverter.GetBytes(mark));
        }
        catch (SocketException ex)
        {
            throw new PlatformException($"setting fwmark {mark} on the UDP socket failed ({ex.Message}); it needs CAP_NET_ADMIN");
        }
    }

    public SocketAddress CreateAddressBuffer() => new(_socket.AddressFamily);

    /// <summary>Receives one datagram; returns its length, or -1 once the socket was closed.</summary>
    public int Receive(Span<byte> buffer, SocketAddress from)
    {
        while (Volatile.Read(ref _closed) == 0)
        {
            try
            {
                return _socket.ReceiveFrom(buffer, SocketFlags.None, from);
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset
                or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.MessageSize or SocketError.Interrupted)
            {
                // ICMP errors for earlier sends surface here; they say nothing about this receive.
            }
            catch (SocketException) when (Volatile.Read(ref _closed) != 0)
            {
                return -1;
            }
            catch (ObjectDisposedException)
            {
                return -1;
            }
        }
        return -1;
    }

    /// <summary>Sends one datagram; false on any error (unreachable, no route, closed).</summary>
    public bool Send(ReadOnlySpan<byte> datagram, SocketAddress to)
    {
        try
        {
            return _socket.SendTo(datagram, SocketFlags.None, to) == datagram.Length;
        }
        catch (SocketException)
        {
            return false;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            // shutdown() wakes a thread blocked in recvfrom on Linux; Dispose alone does not.
            try
            {
                _socket.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
            }
            _socket.Dispose();
        }
    }

    public void Dispose() => Close();
}
