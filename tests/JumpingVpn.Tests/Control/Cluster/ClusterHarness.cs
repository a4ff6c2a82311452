using System.Net;
using JumpingVpn.Control.Audit;
using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Jumping;
using JumpingVpn.Control.Policy;
using JumpingVpn.Platform.Net;
using JumpingVpn.Tunnel.Crypto;
using JumpingVpn.Tunnel.Device;
using Microsoft.Extensions.Logging.Abstractions;

namespace JumpingVpn.Tests.Control.Cluster;

/// <summary>
/// A client and several cluster nodes on in-memory WireGuard cores with one manual clock and one shared
/// store: every node has the same server identity key (docs/design.md §6), the client knows all node endpoints.
/// Datagrams are delivered by destination address; a node marked down neither receives nor sends.
/// Every node's heartbeat loop is driven by the harness (<see cref="Run"/> ticks it every NodeTtl/4 of manual
/// time, store calls inline), so liveness and fencing are deterministic.
/// </summary>
internal sealed class ClusterHarness
{
    public const long NodeTtlMs = ClusterCoordinator.DefaultNodeTtlMs;

    public ManualTimeProvider Clock { get; } = new();
    public ISessionStore Store { get; }
    public WireGuardDevice ClientDevice { get; }
    public WireSender ClientWire { get; } = new();
    public Peer ServerOnClient { get; }
    public JumpingNode Client { get; }
    public SocketAddress ClientAddr { get; } = Addr("192.0.2.1", 1001);
    public List<Node> Nodes { get; } = [];
    public List<byte[]> DeliveredAtNodes { get; } = [];

    private readonly byte[] _serverKey = new byte[32];

    public byte[] ClientPrivateKey { get; } = new byte[32];
    private readonly DeterministicRandom _random = new(42);

    internal sealed class Node
    {
        public required string Id { get; init; }
        public required WireGuardDevice Device { get; init; }
        public required WireSender Wire { get; init; }
        public required Peer ClientOnNode { get; init; }
        public required JumpingNode Jumping { get; init; }
        public required ClusterCoordinator Cluster { get; init; }
        public required SocketAddress Addr { get; init; }
        public bool Down { get; set; }

        public string Events()
        {
            var sb = new System.Text.StringBuilder();
            Jumping.Audit.ReadSince(0, sb);
            return sb.ToString();
        }
    }

    /// <param name="clientPolicy">The client's session policy (default: the nodes' default).</param>
    public ClusterHarness(int nodes, ISessionStore? store = null, SessionPolicy? clientPolicy = null)
    {
        Store = store ?? new InMemorySessionStore(Clock);
        byte[] clientKey = ClientPrivateKey;
        X25519.GeneratePrivateKey(clientKey, _random.Fill);
        X25519.GeneratePrivateKey(_serverKey, _random.Fill);
        ClientDevice = new WireGuardDevice(new DeviceOptions { Time = Clock, Random = _random.Fill }, ClientWire);
        ClientDevice.SetPrivateKey(clientKey);
        for (int i = 0; i < nodes; i++)
        {
            AddNode("n" + (i + 1), 1002 + i);
        }
        ServerOnClient = ClientDevice.AddPeer(Nodes[0].Device.Identity!.PublicKey, new byte[32]);
        ClientDevice.AddAllowedIp(ServerOnClient, IpPrefix.Parse("10.0.0.0/24"));
        ServerOnClient.Endpoint = Nodes[0].Addr;
        Client = new JumpingNode(ClientDevice, clientPolicy ?? SessionPolicy.Default, [ServerOnClient], new AuditTail("client"), NullLogger.Instance, Clock);
        Client.UseServerEndpoints(ServerOnClient, [.. Nodes.Select(n => EndpointCodec.ToIPEndPoint(n.Addr))], dualMode: false);
        Client.Attach();
    }

    /// <summary>A node (new, or a restart of a dead one under the same node id and address).</summary>
    public Node AddNode(string id, int port)
    {
        var wire = new WireSender();
        var device = new WireGuardDevice(new DeviceOptions { Time = Clock, Random = _random.Fill }, wire);
        device.SetPrivateKey(_serverKey);
        Peer client = device.AddPeer(ClientKeyPublic(), new byte[32]);
        var inner = IpPrefix.Parse("10.0.0.1/32");
        device.AddAllowedIp(client, inner);
        var cluster = new ClusterCoordinator(Store, id, NodeTtlMs, NullLogger.Instance, Clock) { Dispatch = static w => w() };
        cluster.Tick(); // registers a node epoch and beats: the node is valid from here
        var jumping = new JumpingNode(device, SessionPolicy.Default, [], new AuditTail(id), NullLogger.Instance, Clock);
        jumping.UseCluster(cluster, new Dictionary<Peer, IReadOnlyList<IpPrefix>> { [client] = [inner] }, null);
        jumping.Attach();
        var node = new Node { Id = id, Device = device, Wire = wire, ClientOnNode = client, Jumping = jumping, Cluster = cluster, Addr = Addr("192.0.2.2", port) };
        Nodes.RemoveAll(n => n.Id == id);
        Nodes.Add(node);
        return node;
    }

    private byte[] ClientKeyPublic() => ClientDevice?.Identity?.PublicKey ?? throw new InvalidOperationException("client first");

    public Node this[string id] => Nodes.First(n => n.Id == id);

    public static SocketAddress Addr(string ip, int port) => EndpointCodec.ToSocketAddress(new IPEndPoint(IPAddress.Parse(ip), port), dualMode: false);

    /// <summary>Delivers everything in flight until quiet.</summary>
    public void Pump(int rounds = 12)
    {
        for (int i = 0; i < rounds; i++)
        {
            bool any = false;
            foreach ((byte[] d, SocketAddress to) in ClientWire.Drain())
            {
                any = true;
                Node? n = Nodes.FirstOrDefault(x => x.Addr.Equals(to));
                if (n is { Down: false })
                {
                    Deliver(n.Device, d, ClientAddr, DeliveredAtNodes);
                }
            }
            foreach (Node n in Nodes.ToList())
            {
                foreach ((byte[] d, _) in n.Wire.Drain())
                {
                    any = true;
                    if (!n.Down)
                    {
                        Deliver(ClientDevice, d, n.Addr, []);
                    }
                }
            }
            if (!any)
            {
                return;
            }
        }
    }

    public static void Deliver(WireGuardDevice to, byte[] datagram, SocketAddress from, List<byte[]> delivered)
    {
        ReceiveResult r = to.Decapsulate(datagram, from, out int off, out int len, out Peer? peer);
        if (r == ReceiveResult.Handshake)
        {
            to.ProcessHandshakeMessage(datagram, from, rateLimitOk: true);
        }
        else if (r == ReceiveResult.Deliver)
        {
            lock (delivered)
            {
                delivered.Add(datagram.AsSpan(off, len).ToArray());
            }
        }
        else if (r == ReceiveResult.Control)
        {
            to.Observer?.OnControlFrame(peer!, datagram.AsSpan(off, len), from, null);
        }
    }

    /// <summary>Client sends an inner packet (triggers the handshake at first) and everything settles.</summary>
    public void Connect()
    {
        Tunnel.Device.TwoDevices.Encapsulate(ClientDevice, Tunnel.Device.TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 1));
        Pump();
    }

    private long _sinceBeat;

    /// <summary>
    /// Advances the clock in sweep-sized steps, sweeping every live node and the client each time; every
    /// beat period each live node's heartbeat loop ticks (a down node neither beats nor sweeps: kill -9).
    /// </summary>
    public void Run(TimeSpan duration)
    {
        long steps = (long)(duration.TotalMilliseconds / 50);
        for (long i = 0; i < steps; i++)
        {
            Clock.Advance(TimeSpan.FromMilliseconds(50));
            _sinceBeat += 50;
            bool beat = _sinceBeat >= ClusterCoordinator.DefaultBeatEveryMs;
            if (beat)
            {
                _sinceBeat = 0;
            }
            foreach (Node n in Nodes.Where(n => !n.Down))
            {
                if (beat)
                {
                    n.Cluster.Tick();
                }
                n.Jumping.SweepOnce([]);
            }
            Client.SweepOnce([]);
            Pump();
        }
    }

    /// <summary>An inner packet from the client: true when some node delivered it to its TUN side.</summary>
    public bool ClientPacketReachesANode()
    {
        int before = DeliveredAtNodes.Count;
        (_, byte[]? datagram) = Tunnel.Device.TwoDevices.Encapsulate(ClientDevice, Tunnel.Device.TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 8));
        Node? to = Nodes.FirstOrDefault(n => n.Addr.Equals(ServerOnClient.Endpoint));
        if (datagram is not null && to is { Down: false })
        {
            Deliver(to.Device, datagram, ClientAddr, DeliveredAtNodes);
        }
        Pump();
        return DeliveredAtNodes.Count > before;
    }

    public string ClientEvents()
    {
        var sb = new System.Text.StringBuilder();
        Client.Audit.ReadSince(0, sb);
        return sb.ToString();
    }

    public static string Field(string block, string key) =>
        block.Split('\n').FirstOrDefault(l => l.StartsWith(key + "=", StringComparison.Ordinal))?[(key.Length + 1)..] ?? "";
}
