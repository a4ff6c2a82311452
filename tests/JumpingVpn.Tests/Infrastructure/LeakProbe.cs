using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace JumpingVpn.Tests.Infrastructure;

/// <summary>
/// Traffic that must not leave a client whose kill switch is on (docs/platform.md §4.8), aimed at an address on
/// the underlay that is not a server endpoint: a resolver on port 53 (UDP and TCP, <see cref="DnsResponder"/>)
/// and a TCP listener, both in <paramref name="target"/>'s namespace, plus ping. <see cref="Try"/> reports what got through.
/// </summary>
internal sealed class LeakProbe : IDisposable
{
    public const int TcpPort = 8053;

    /// <summary>What <see cref="Try"/> answers when nothing is blocked.</summary>
    public const string Everything = "dns dns-tcp tcp ping";

    private readonly DnsResponder _dns;
    private readonly Socket _tcp;
    private readonly Thread _tcpThread;
    private readonly NetNs _client;
    private readonly string _address;

    public LeakProbe(NetNs client, NetNs target, string address)
    {
        _client = client;
        _address = address;
        _dns = new DnsResponder(target);
        _tcp = NamespaceSocket.Create(target, SocketType.Stream, ProtocolType.Tcp);
        _tcp.Bind(new IPEndPoint(IPAddress.Any, TcpPort));
        _tcp.Listen(16);
        _tcpThread = new Thread(AcceptTcp) { IsBackground = true, Name = "leak-probe-tcp" };
        _tcpThread.Start();
    }

    /// <summary>One round: a DNS query over UDP and over TCP, a TCP connect (1 s), a ping (1 s) and a stray UDP
    /// datagram; returns what got an answer, e.g. "dns dns-tcp tcp ping", empty when nothing did.</summary>
    public string Try() => Try(_address);

    /// <summary>The same round toward another address of the target namespace (its responders listen on every address).</summary>
    public string Try(string address)
    {
        var through = new List<string>();
        if (DnsResponder.Udp(_client, address))
        {
            through.Add("dns");
        }
        if (DnsResponder.Tcp(_client, address))
        {
            through.Add("dns-tcp");
        }
        if (Tcp(address))
        {
            through.Add("tcp");
        }
        if (_client.TryExec("ping", ["-n", "-c", "1", "-W", "1", address], TimeSpan.FromSeconds(5)).ExitCode == 0)
        {
            through.Add("ping");
        }
        StrayUdp(address);
        return string.Join(' ', through);
    }

    private bool Tcp(string address)
    {
        using Socket s = NamespaceSocket.Create(_client, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            s.ConnectAsync(new IPEndPoint(IPAddress.Parse(address), TcpPort), timeout.Token).AsTask().GetAwaiter().GetResult();
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    private void StrayUdp(string address)
    {
        using Socket s = NamespaceSocket.Create(_client, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            s.SendTo("leak?"u8.ToArray(), new IPEndPoint(IPAddress.Parse(address), 9999));
        }
        catch (SocketException)
        {
            // Refused locally by the kill switch (EPERM): exactly what should happen.
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

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{_address} (dns udp and tcp {DnsResponder.Port}, tcp {TcpPort}, ping)");

    public void Dispose()
    {
        _dns.Dispose();
        _tcp.Dispose();
        _tcpThread.Join(TimeSpan.FromSeconds(2));
    }
}
