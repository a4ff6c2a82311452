using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace JumpingVpn.Tests.Infrastructure;

/// <summary>
/// A resolver stand-in on port 53, UDP and TCP (RFC 1035 §4.2: TCP messages carry a two-byte length), in
/// <paramref name="ns"/>'s namespace on every address: it answers each query with the query itself marked as a
/// response, which is all a probe needs to tell "a resolver answered" from "refused or silent". The kill switch's
/// DNS rule (docs/platform.md §4.8) is judged by <see cref="Udp"/> and <see cref="Tcp"/> from a client namespace.
/// </summary>
internal sealed class DnsResponder : IDisposable
{
    public const int Port = 53;
    private static readonly TimeSpan Wait = TimeSpan.FromMilliseconds(1500);
    private readonly Socket _udp;
    private readonly Socket _tcp;
    private readonly Thread _udpThread;
    private readonly Thread _tcpThread;

    public DnsResponder(NetNs ns)
    {
        _udp = NamespaceSocket.Create(ns, SocketType.Dgram, ProtocolType.Udp);
        _udp.Bind(new IPEndPoint(IPAddress.Any, Port));
        _tcp = NamespaceSocket.Create(ns, SocketType.Stream, ProtocolType.Tcp);
        _tcp.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _tcp.Bind(new IPEndPoint(IPAddress.Any, Port));
        _tcp.Listen(16);
        _udpThread = new Thread(AnswerUdp) { IsBackground = true, Name = "dns-responder-udp" };
        _tcpThread = new Thread(AnswerTcp) { IsBackground = true, Name = "dns-responder-tcp" };
        _udpThread.Start();
        _tcpThread.Start();
    }

    /// <summary>A query for example.com A, as a stub resolver sends it; <paramref name="id"/> tells answers apart.</summary>
    private static byte[] Query(ushort id) =>
    [
        (byte)(id >> 8), (byte)id, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
        7, (byte)'e', (byte)'x', (byte)'a', (byte)'m', (byte)'p', (byte)'l', (byte)'e', 3, (byte)'c', (byte)'o', (byte)'m', 0, 0, 1, 0, 1,
    ];

    /// <summary>True when a UDP query from <paramref name="client"/> to <paramref name="address"/>:53 got its answer.</summary>
    public static bool Udp(NetNs client, string address)
    {
        using Socket s = NamespaceSocket.Create(client, SocketType.Dgram, ProtocolType.Udp);
        ushort id = (ushort)Random.Shared.Next(1, ushort.MaxValue);
        try
        {
            s.SendTo(Query(id), new IPEndPoint(IPAddress.Parse(address), Port));
            if (!s.Poll(Wait, SelectMode.SelectRead))
            {
                return false;
            }
            byte[] reply = new byte[512];
            int n = s.Receive(reply);
            return n >= 12 && BinaryPrimitives.ReadUInt16BigEndian(reply) == id && (reply[2] & 0x80) != 0;
        }
        catch (SocketException)
        {
            return false; // refused locally (EPERM) or by an ICMP error: no answer
        }
    }

    /// <summary>True when a TCP query from <paramref name="client"/> to <paramref name="address"/>:53 got its answer.</summary>
    public static bool Tcp(NetNs client, string address)
    {
        using Socket s = NamespaceSocket.Create(client, SocketType.Stream, ProtocolType.Tcp);
        ushort id = (ushort)Random.Shared.Next(1, ushort.MaxValue);
        try
        {
            using var timeout = new CancellationTokenSource(Wait);
            s.ConnectAsync(new IPEndPoint(IPAddress.Parse(address), Port), timeout.Token).AsTask().GetAwaiter().GetResult();
            byte[] query = Query(id);
            byte[] framed = new byte[2 + query.Length];
            BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)query.Length);
            query.CopyTo(framed, 2);
            s.Send(framed);
            byte[] reply = new byte[2 + 512];
            int got = 0;
            while (got < 2 + 12)
            {
                if (!s.Poll(Wait, SelectMode.SelectRead))
                {
                    return false;
                }
                int n = s.Receive(reply.AsSpan(got));
                if (n == 0)
                {
                    return false;
                }
                got += n;
            }
            return BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(2)) == id && (reply[4] & 0x80) != 0;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>"udp tcp", "udp", "tcp" or "" : which transports got an answer from <paramref name="address"/>.</summary>
    public static string Try(NetNs client, string address)
    {
        var through = new List<string>(2);
        if (Udp(client, address))
        {
            through.Add("udp");
        }
        if (Tcp(client, address))
        {
            through.Add("tcp");
        }
        return string.Join(' ', through);
    }

    private void AnswerUdp()
    {
        byte[] buffer = new byte[512];
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        try
        {
            while (true)
            {
                int n = _udp.ReceiveFrom(buffer, ref from);
                if (n >= 12)
                {
                    buffer[2] |= 0x80; // QR: a response, echoing the question
                    _udp.SendTo(buffer.AsSpan(0, n), from);
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Closed by Dispose.
        }
    }

    private void AnswerTcp()
    {
        try
        {
            while (true)
            {
                Socket connection = _tcp.Accept();
                _ = Task.Run(() => AnswerOne(connection));
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Closed by Dispose.
        }
    }

    private static void AnswerOne(Socket connection)
    {
        using (connection)
        {
            try
            {
                connection.ReceiveTimeout = 2000;
                byte[] buffer = new byte[2 + 512];
                int got = 0;
                while (got < 2 || got < 2 + BinaryPrimitives.ReadUInt16BigEndian(buffer))
                {
                    int n = connection.Receive(buffer.AsSpan(got));
                    if (n == 0 || got + n >= buffer.Length)
                    {
                        return;
                    }
                    got += n;
                }
                if (got >= 2 + 12)
                {
                    buffer[4] |= 0x80;
                    connection.Send(buffer.AsSpan(0, got));
                }
            }
            catch (SocketException)
            {
                // The client went away.
            }
        }
    }

    public void Dispose()
    {
        _udp.Dispose();
        _tcp.Dispose();
        _udpThread.Join(TimeSpan.FromSeconds(2));
        _tcpThread.Join(TimeSpan.FromSeconds(2));
    }
}
