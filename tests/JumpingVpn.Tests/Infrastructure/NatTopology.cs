using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace JumpingVpn.Tests.Infrastructure;

/// <summary>The client's UDP flow to the server as the router's conntrack table records it: the
/// client's own source port, and the port masquerade rewrote it to (what the server sees).</summary>
internal sealed record NatMapping(int ClientPort, int ServerPort, int MappedPort);

/// <summary>A masquerade port range installed by <see cref="NatTopology.ForceNatRebinding"/>.</summary>
internal sealed record NatPortRange(int Low, int High)
{
    public bool Contains(int port) => port >= Low && port <= High;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Low}-{High}");
}

/// <summary>
/// Client (<c>jvc…</c>) behind a NAT router (<c>jvr…</c>) in front of a server (<c>jvs…</c>), like a
/// laptop behind a home router. Private side 192.168.X.0/24 (client .2, router .1); public side
/// 10.201.X.0/24 (router .1, server .2). The router forwards (ip_forward only inside its own
/// namespace) and masquerades the client's traffic with nft; the server has no route to the private
/// subnet, so the tunnel only works through the NAT and the server only ever sees 10.201.X.1:PORT.
/// The router also has a forward filter chain for loss and blackhole experiments.
/// </summary>
internal sealed partial class NatTopology : RouterTopology
{
    /// <summary>Router device facing the client.</summary>
    public const string RouterPrivateDevice = "vpriv";

    private int _rebindings;
    private int _lossPercent;
    private bool _blackhole;

    private NatTopology(NetNs client, NetNs router, NetNs server, int subnet)
        : base(client, router, server, subnet)
    {
    }

    public string ClientPrivateV4 => Address("192.168", 2);

    public string RouterPrivateV4 => Address("192.168", 1);

    /// <summary>The port range of the current masquerade rule; null until the first rebinding
    /// (plain masquerade keeps the client's own source port when it is free).</summary>
    public NatPortRange? CurrentPortRange { get; private set; }

    public static NatTopology Create() => Create(
        (client, router, server, subnet) => new NatTopology(client, router, server, subnet),
        t =>
        {
            NetNs.ConnectVeth(t.Router, RouterPrivateDevice, [t.RouterPrivateV4 + "/24"], t.Client, "veth0", [t.ClientPrivateV4 + "/24"]);
            t.Client.Ip("route", "add", "default", "via", t.RouterPrivateV4);
        });

    /// <summary>Starts the server peer (no endpoint for the client: it learns the NATed address from
    /// the handshake), then the client peer pointing at the server's public address.</summary>
    /// <param name="clientJumping">[Jumping] keys for a jvpn client (e.g. Profile = battery).</param>
    /// <param name="clientPersistentKeepalive">PersistentKeepalive (s) of the client's server peer.</param>
    public NatTunnel StartTunnel(PeerKind serverKind, PeerKind clientKind, IReadOnlyDictionary<string, string>? jvpnEnvironment = null,
        IReadOnlyDictionary<string, string>? clientJumping = null, int? clientPersistentKeepalive = null)
    {
        KeyPair serverKeys = KeyPair.Generate();
        KeyPair clientKeys = KeyPair.Generate();
        var serverConfig = new TunnelConfig(
            serverKeys.PrivateKey,
            [TwoHostTopology.ServerTunnelV4 + "/24", TwoHostTopology.ServerTunnelV6 + "/64"],
            [new TunnelPeerConfig(clientKeys.PublicKey, [TwoHostTopology.ClientTunnelV4 + "/32", TwoHostTopology.ClientTunnelV6 + "/128"])],
            ListenPort: TwoHostTopology.ServerListenPort,
            Mtu: TwoHostTopology.Mtu);
        var clientConfig = new TunnelConfig(
            clientKeys.PrivateKey,
            [TwoHostTopology.ClientTunnelV4 + "/24", TwoHostTopology.ClientTunnelV6 + "/64"],
            [new TunnelPeerConfig(
                serverKeys.PublicKey,
                [TwoHostTopology.ServerTunnelV4 + "/32", TwoHostTopology.ServerTunnelV6 + "/128"],
                Endpoint: string.Create(CultureInfo.InvariantCulture, $"{ServerUnderlayV4}:{TwoHostTopology.ServerListenPort}"),
                PersistentKeepalive: clientPersistentKeepalive)],
            Mtu: TwoHostTopology.Mtu,
            Jumping: clientJumping);
        TunnelPeer server = StartPeer(serverKind, Server, serverConfig, jvpnEnvironment);
        try
        {
            TunnelPeer client = StartPeer(clientKind, Client, clientConfig, jvpnEnvironment);
            return new NatTunnel(this, server, serverKeys, client, clientKeys);
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Makes the router map the client's flow to a new public source port, as a home router does
    /// when its mapping times out or it reboots. Two steps, both needed: NAT rules are only consulted
    /// for a flow's first packet, so the flow's conntrack entries are deleted (the next client packet
    /// starts a new flow); and masquerade would happily reuse the old port for that new flow, so the
    /// rule first moves to a fresh port range (20000-20999, then 21000-21999, ... below the 32768+
    /// ephemeral range, so never the client's own port). A port range needs an L4 match, hence
    /// tcp/udp; anything else keeps plain masquerade. The rule swap is one nft transaction.
    /// </summary>
    public NatPortRange ForceNatRebinding()
    {
        int index = _rebindings++ % 12;
        var range = new NatPortRange(20000 + (index * 1000), 20999 + (index * 1000));
        Nft(
            $$"""
            flush chain ip jvnat post
            add rule ip jvnat post oifname "{{RouterPublicDevice}}" meta l4proto { tcp, udp } masquerade to :{{range.Low}}-{{range.High}}
            add rule ip jvnat post oifname "{{RouterPublicDevice}}" masquerade
            """);
        CurrentPortRange = range;
        // Exit code 1 with "0 flow entries have been deleted" is fine: the flow may be idle.
        CommandResult delete = Router.TryExec("conntrack", ["-D", "-p", "udp"]);
        if (delete.ExitCode is not (0 or 1))
        {
            throw new InvalidOperationException($"{delete.CommandLine} failed: {delete.StandardError.Trim()}");
        }
        return range;
    }

    /// <summary>The router's current UDP mappings of client→server flows (`conntrack -L`).</summary>
    public IReadOnlyList<NatMapping> Mappings()
    {
        // conntrack writes the table to stdout and a "N flow entries" summary to stderr.
        CommandResult list = Router.Exec("conntrack", "-L", "-p", "udp");
        return ParseMappings(list.StandardOutput, ClientPrivateV4, ServerUnderlayV4);
    }

    /// <summary>Polls conntrack until the client's flow to the server is mapped into
    /// <paramref name="range"/>; the mapping, or null on timeout (the client sent nothing).</summary>
    public NatMapping? WaitForMapping(NatPortRange range, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        do
        {
            foreach (NatMapping mapping in Mappings())
            {
                if (mapping.ServerPort == TwoHostTopology.ServerListenPort && range.Contains(mapping.MappedPort))
                {
                    return mapping;
                }
            }
            Thread.Sleep(20);
        }
        while (clock.Elapsed < timeout);
        return null;
    }

    /// <summary>Drops <paramref name="percent"/>% of the packets the router forwards, both
    /// directions (`numgen random mod 100 &lt; N drop`); 0 restores a clean path.</summary>
    public void SetLoss(int percent)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(percent);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(percent, 100);
        _lossPercent = percent;
        ApplyFilter();
    }

    /// <summary>Drops everything the router forwards while on (a dead path), independent of the
    /// configured loss, which applies again once off.</summary>
    public void Blackhole(bool on)
    {
        _blackhole = on;
        ApplyFilter();
    }

    internal static List<NatMapping> ParseMappings(string conntrackOutput, string clientAddress, string serverAddress)
    {
        var mappings = new List<NatMapping>();
        foreach (Match m in ConntrackUdpLine().Matches(conntrackOutput))
        {
            if (m.Groups["src"].Value == clientAddress && m.Groups["dst"].Value == serverAddress)
            {
                mappings.Add(new NatMapping(
                    int.Parse(m.Groups["sport"].Value, CultureInfo.InvariantCulture),
                    int.Parse(m.Groups["dport"].Value, CultureInfo.InvariantCulture),
                    int.Parse(m.Groups["mapped"].Value, CultureInfo.InvariantCulture)));
            }
        }
        return mappings;
    }

    private void ApplyFilter()
    {
        string rule = _blackhole
            ? "add rule inet jvfilter path drop"
            : _lossPercent > 0
                ? string.Create(CultureInfo.InvariantCulture, $"add rule inet jvfilter path numgen random mod 100 < {_lossPercent} drop")
                : "";
        Nft("flush chain inet jvfilter path\n" + rule);
    }

    private static TunnelPeer StartPeer(PeerKind kind, NetNs ns, TunnelConfig config, IReadOnlyDictionary<string, string>? jvpnEnvironment) =>
        kind switch
        {
            PeerKind.Jvpn => JvpnPeer.Start(ns, config, jvpnEnvironment),
            PeerKind.WireGuardGo => WireGuardGoPeer.Start(ns, config),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

    // udp      17 29 src=192.168.5.2 dst=10.201.5.2 sport=43210 dport=51820 src=10.201.5.2 dst=10.201.5.1 sport=51820 dport=20001 [ASSURED] mark=0 use=1
    [GeneratedRegex(@"^udp\s+\d+\s+\d+\s+src=(?<src>\S+) dst=(?<dst>\S+) sport=(?<sport>\d+) dport=(?<dport>\d+) (?:\[UNREPLIED\] )?src=\S+ dst=\S+ sport=\d+ dport=(?<mapped>\d+)", RegexOptions.Multiline)]
    private static partial Regex ConntrackUdpLine();
}

/// <summary>A running client/server pair on a <see cref="NatTopology"/>.</summary>
internal sealed class NatTunnel : IDisposable
{
    internal NatTunnel(NatTopology topology, TunnelPeer server, KeyPair serverKeys, TunnelPeer client, KeyPair clientKeys)
    {
        Topology = topology;
        Server = server;
        ServerKeys = serverKeys;
        Client = client;
        ClientKeys = clientKeys;
    }

    public NatTopology Topology { get; }

    public TunnelPeer Server { get; }

    public KeyPair ServerKeys { get; }

    public TunnelPeer Client { get; }

    public KeyPair ClientKeys { get; }

    /// <summary>Both daemons' command lines, states and output, plus the router's NAT state.</summary>
    public string Describe()
    {
        CommandResult conntrack = Topology.Router.TryExec("conntrack", ["-L"]);
        CommandResult rules = Topology.Router.TryExec("nft", ["list", "ruleset"]);
        return $"{Server.Describe()}\n{Client.Describe()}\n--- router {Topology.Router.Name} ---\n{rules.StandardOutput}{conntrack.StandardOutput}";
    }

    /// <summary>Pings the server's tunnel address from the client until one reply arrives.</summary>
    public void WaitForHandshake(TimeSpan timeout)
    {
        if (!Ping.WaitForReply(Topology.Client, TwoHostTopology.ServerTunnelV4, timeout))
        {
            throw new TimeoutException($"no ping reply through the NATed tunnel within {timeout.TotalSeconds:0} s.\n{Describe()}");
        }
    }

    /// <summary>The client's endpoint as the server's `wg show` reports it (e.g. 10.201.X.1:20417);
    /// null before the server has heard from the client.</summary>
    public IPEndPointText? ServerViewOfClient()
    {
        WgDump dump = Server.Show();
        if (dump.Peers is not [WgPeerStatus peer] || peer.Endpoint == "(none)")
        {
            return null;
        }
        return IPEndPointText.Parse(peer.Endpoint);
    }

    /// <summary>Polls the server's view of the client until its port satisfies
    /// <paramref name="accept"/>; the last view seen (possibly not accepted) on timeout.</summary>
    public IPEndPointText? WaitForServerViewOfClient(Func<int, bool> accept, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        IPEndPointText? seen;
        do
        {
            seen = ServerViewOfClient();
            if (seen is not null && accept(seen.Port))
            {
                return seen;
            }
            Thread.Sleep(20);
        }
        while (clock.Elapsed < timeout);
        return seen;
    }

    public void Dispose()
    {
        Client.Dispose();
        Server.Dispose();
    }
}

/// <summary>A `wg show` endpoint, "HOST:PORT" or "[V6]:PORT", split.</summary>
internal sealed record IPEndPointText(string Host, int Port)
{
    public static IPEndPointText Parse(string endpoint)
    {
        int colon = endpoint.LastIndexOf(':');
        if (colon <= 0)
        {
            throw new FormatException($"bad endpoint '{endpoint}'");
        }
        string host = endpoint[..colon].Trim('[', ']');
        return new IPEndPointText(host, int.Parse(endpoint.AsSpan(colon + 1), CultureInfo.InvariantCulture));
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Host}:{Port}");
}
