using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace JumpingVpn.Tests.Infrastructure;

/// <summary>
/// Traffic that must not leave a client whose kill switch is on (docs/platform.md §4.8), aimed at an address on
/// the underlay that is not a server endpoint: a DNS-like UDP responder on port 53 and a TCP listener, both in
/// <paramref name="target"/>'s namespace, plus ping. <see cref="Try"/> reports what got through.
/// </summary>
internal sealed class LeakProbe : IDisposable
{
    public const int DnsPort = 53;
    public const int TcpPort = 8053;
    private readonly Socket _dns;
    private readonly Socket _tcp;
    private readonly Thread _dnsThread;
    private readonly Thread _tcpThread;
    private readonly NetNs _client;
    private readonly string _address;

    public LeakProbe(NetNs client, NetNs target, string address)
    {
        _client = client;
        _address = address;
        _dns = NamespaceSocket.Create(target, SocketType.Dgram, ProtocolType.Udp);
        _dns.Bind(new IPEndPoint(IPAddress.Any, DnsPort));
        _tcp = NamespaceSocket.Create(target, SocketType.Stream, ProtocolType.Tcp);
        _tcp.Bind(new IPEndPoint(IPAddress.Any, TcpPort));
        _tcp.Listen(16);
        _dnsThread = new Thread(AnswerDns) { IsBackground = true, Name = "leak-probe-dns" };
        _tcpThread = new Thread(AcceptTcp) { IsBackground = true, Name = "leak-probe-tcp" };
        _dnsThread.Start();
        _tcpThread.Start();
    }

    /// <summary>One round: a DNS query (answer within 700 ms), a TCP connect (1 s), a ping (1 s) and a stray UDP
    /// datagram; returns what got an answer, e.g. "dns tcp ping", empty when nothing did.</summary>
    public string Try()
    {
        var through = new List<string>();
        if (Dns())
        {
            through.Add("dns");
        }
        if (Tcp())
        {
            through.Add("tcp");
        }
        if (_client.TryExec("ping", ["-n", "-c", "1", "-W", "1", _address], TimeSpan.FromSeconds(5)).ExitCode == 0)
        {
            through.Add("ping");
        }
        StrayUdp();
        return string.Join(' ', through);
    }

    private bool Dns()
    {
        using Socket s = NamespaceSocket.Create(_client, SocketType.Dgram, ProtocolType.Udp);
        // A query for example.com A, as a stub resolver would send it.
        byte[] query = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 7, (byte)'e', (byte)'x', (byte)'a', (byte)'m', (byte)'p', (byte)'l', (byte)'e', 3, (byte)'c', (byte)'o', (byte)'m', 0, 0, 1, 0, 1];
        try
        {
            s.SendTo(query, new IPEndPoint(IPAddress.Parse(_address), DnsPort));
            if (!s.Poll(TimeSpan.FromMilliseconds(700), SelectMode.SelectRead))
            {
                return false;
            }
            byte[] reply = new byte[512];
            return s.Receive(reply) >= 2 && reply[0] == 0x12 && reply[1] == 0x34;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private bool Tcp()
    {
        using Socket s = NamespaceSocket.Create(_client, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            s.ConnectAsync(new IPEndPoint(IPAddress.Parse(_address), TcpPort), timeout.Token).AsTask().GetAwaiter().GetResult();
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    private void StrayUdp()
    {
        using Socket s = NamespaceSocket.Create(_client, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            s.SendTo("leak?"u8.ToArray(), new IPEndPoint(IPAddress.Parse(_address), 9999));
        }
        catch (SocketException)
        {
            // Refused locally by the kill switch (EPERM): exactly what should happen.
        }
    }

    private void AnswerDns()
    {
        byte[] buffer = new byte[512];
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        try
        {
            while (true)
            {
                int n = _dns.ReceiveFrom(buffer, ref from);
                if (n >= 12)
                {
                    buffer[2] |= 0x80; // QR: a response, echoing the question
                    _dns.SendTo(buffer.AsSpan(0, n), from);
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Closed by Dispose.
        }
    }

    private void AcceptTcp()
    {
        try
        {
            while (true)
            {
                _tcp.Accept().Dispose();
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Closed by Dispose.
        }
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{_address} (udp {DnsPort}, tcp {TcpPort}, ping)");

    public void Dispose()
    {
        _dns.Dispose();
        _tcp.Dispose();
        _dnsThread.Join(TimeSpan.FromSeconds(2));
        _tcpThread.Join(TimeSpan.FromSeconds(2));
    }
}
