using System.Globalization;

namespace JumpingVpn.Tests.Infrastructure;

/// <summary>Two namespaces, client (<c>jvc…</c>) and server (<c>jvs…</c>), joined by one veth pair.
/// Underlay: server 10.200.X.1/24 and fd00:200:X::1/64, client .2 and ::2, X random to make collisions
/// with a parallel run unlikely. Tunnel: server 10.77.0.1/24 + fd77::1/64, client .2 and ::2.</summary>
internal sealed class TwoHostTopology : IDisposable
{
    public const string ServerTunnelV4 = "10.77.0.1";
    public const string ClientTunnelV4 = "10.77.0.2";
    public const string ServerTunnelV6 = "fd77::1";
    public const string ClientTunnelV6 = "fd77::2";
    public const int ServerListenPort = 51820;
    public const int Mtu = 1420;

    private TwoHostTopology(NetNs client, NetNs server, int subnet)
    {
        Client = client;
        Server = server;
        Subnet = subnet;
    }

    public NetNs Client { get; }

    public NetNs Server { get; }

    /// <summary>The X in 10.200.X.0/24.</summary>
    public int Subnet { get; }

    public string ServerUnderlayV4 => string.Create(CultureInfo.InvariantCulture, $"10.200.{Subnet}.1");

    public string ClientUnderlayV4 => string.Create(CultureInfo.InvariantCulture, $"10.200.{Subnet}.2");

    public string ServerUnderlayV6 => string.Create(CultureInfo.InvariantCulture, $"fd00:200:{Subnet}::1");

    public string ClientUnderlayV6 => string.Create(CultureInfo.InvariantCulture, $"fd00:200:{Subnet}::2");

    public static TwoHostTopology Create()
    {
        NetNs? client = null;
        NetNs? server = null;
        try
        {
            client = NetNs.Create("c");
            server = NetNs.Create("s");
            var topology = new TwoHostTopology(client, server, Random.Shared.Next(1, 255));
            NetNs.ConnectVeth(
                server, "veth0", [topology.ServerUnderlayV4 + "/24", topology.ServerUnderlayV6 + "/64"],
                client, "veth0", [topology.ClientUnderlayV4 + "/24", topology.ClientUnderlayV6 + "/64"]);
            return topology;
        }
        catch
        {
            client?.Dispose();
            server?.Dispose();
            throw;
        }
    }

    /// <summary>Starts the server peer, then the client peer pointing at the server's underlay address.</summary>
    /// <param name="jvpnVerb">The jvpn subcommand that runs each jvpn peer (default `up`).</param>
    /// <param name="clientJvpnExecutable">A jvpn executable for a jvpn client instead of `dotnet jvpn.dll` (e.g. the packaged one).</param>
    public TunnelPair StartTunnel(PeerKind serverKind, PeerKind clientKind, IReadOnlyDictionary<string, string>? jvpnEnvironment = null, bool ipv6Endpoint = false,
        IReadOnlyDictionary<string, string>? serverJumping = null, IReadOnlyList<string>? jvpnVerb = null, string? clientJvpnExecutable = null)
    {
        KeyPair serverKeys = KeyPair.Generate();
        KeyPair clientKeys = KeyPair.Generate();
        string endpointHost = ipv6Endpoint ? $"[{ServerUnderlayV6}]" : ServerUnderlayV4;
        var serverConfig = new TunnelConfig(
            serverKeys.PrivateKey,
            [ServerTunnelV4 + "/24", ServerTunnelV6 + "/64"],
            [new TunnelPeerConfig(clientKeys.PublicKey, [ClientTunnelV4 + "/32", ClientTunnelV6 + "/128"])],
            ListenPort: ServerListenPort,
            Mtu: Mtu,
            Jumping: serverJumping);
        var clientConfig = new TunnelConfig(
            clientKeys.PrivateKey,
            [ClientTunnelV4 + "/24", ClientTunnelV6 + "/64"],
            [new TunnelPeerConfig(
                serverKeys.PublicKey,
                [ServerTunnelV4 + "/32", ServerTunnelV6 + "/128"],
                Endpoint: string.Create(CultureInfo.InvariantCulture, $"{endpointHost}:{ServerListenPort}"))],
            Mtu: Mtu);
        TunnelPeer server = StartPeer(serverKind, Server, serverConfig, jvpnEnvironment, jvpnVerb);
        try
        {
            TunnelPeer client = StartPeer(clientKind, Client, clientConfig, jvpnEnvironment, jvpnVerb, clientJvpnExecutable);
            return new TunnelPair(this, server, serverKeys, client, clientKeys);
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    private static TunnelPeer StartPeer(PeerKind kind, NetNs ns, TunnelConfig config, IReadOnlyDictionary<string, string>? jvpnEnvironment,
        IReadOnlyList<string>? jvpnVerb, string? jvpnExecutable = null) =>
        kind switch
        {
            PeerKind.Jvpn => JvpnPeer.Start(ns, config, jvpnEnvironment, jvpnVerb, executable: jvpnExecutable),
            PeerKind.WireGuardGo => WireGuardGoPeer.Start(ns, config),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

    public void Dispose()
    {
        Client.Dispose();
        Server.Dispose();
    }
}

/// <summary>A running client/server pair on a <see cref="TwoHostTopology"/>.</summary>
internal sealed class TunnelPair : IDisposable
{
    internal TunnelPair(TwoHostTopology topology, TunnelPeer server, KeyPair serverKeys, TunnelPeer client, KeyPair clientKeys)
    {
        Topology = topology;
        Server = server;
        ServerKeys = serverKeys;
        Client = client;
        ClientKeys = clientKeys;
    }

    public TwoHostTopology Topology { get; }

    public TunnelPeer Server { get; }

    public KeyPair ServerKeys { get; }

    public TunnelPeer Client { get; }

    public KeyPair ClientKeys { get; }

    /// <summary>Both daemons' command lines, states and output, for assertion messages.</summary>
    public string Describe() => Server.Describe() + "\n" + Client.Describe();

    /// <summary>Pings the server's tunnel address from the client until one reply arrives, which
    /// means the handshake completed; fails with both daemons' output otherwise.</summary>
    public void WaitForHandshake(TimeSpan timeout, string? target = null)
    {
        target ??= TwoHostTopology.ServerTunnelV4;
        if (!Ping.WaitForReply(Topology.Client, target, timeout))
        {
            throw new TimeoutException($"no ping reply from {target} through the tunnel within {timeout.TotalSeconds:0} s.\n{Describe()}");
        }
    }

    public void Dispose()
    {
        // Client first: its shutdown must not look like a server failure.
        Client.Dispose();
        Server.Dispose();
    }
}
