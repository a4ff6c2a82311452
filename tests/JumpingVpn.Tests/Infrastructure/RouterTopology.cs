using System.Globalization;

namespace JumpingVpn.Tests.Infrastructure;

/// <summary>
/// Client, router and server namespaces (<c>jvc…</c>, <c>jvr…</c>, <c>jvs…</c>) with a random subnet
/// number X for their addresses: what <see cref="NatTopology"/> and <see cref="TwoLinkTopology"/> share.
/// The router forwards, masquerades toward the server and has the filter chain `inet jvfilter path`.
/// </summary>
internal abstract class RouterTopology : IDisposable
{
    /// <summary>Router device facing the server: the masquerade's oifname.</summary>
    public const string RouterPublicDevice = "vpub";

    protected RouterTopology(NetNs client, NetNs router, NetNs server, int subnet)
    {
        Client = client;
        Router = router;
        Server = server;
        Subnet = subnet;
    }

    public NetNs Client { get; }

    public NetNs Router { get; }

    public NetNs Server { get; }

    /// <summary>The X in the topology's X.0/24 subnets.</summary>
    public int Subnet { get; }

    /// <summary>The client's traffic as the server sees it (the masquerade source).</summary>
    public string RouterPublicV4 => Address("10.201", 1);

    public string ServerUnderlayV4 => Address("10.201", 2);

    /// <summary>The client's IPv6 traffic as the server sees it (the ip6 masquerade source).</summary>
    public string RouterPublicV6 => AddressV6(0x201, 1);

    public string ServerUnderlayV6 => AddressV6(0x201, 2);

    /// <summary>
    /// Creates the three namespaces, lets <paramref name="construct"/> make the topology and
    /// <paramref name="wireClient"/> connect the client side, then joins router and server and configures
    /// the router. Nothing is left behind if any step fails.
    /// </summary>
    protected static T Create<T>(Func<NetNs, NetNs, NetNs, int, T> construct, Action<T> wireClient)
        where T : RouterTopology
    {
        NetNs? client = null;
        NetNs? router = null;
        NetNs? server = null;
        try
        {
            client = NetNs.Create("c");
            router = NetNs.Create("r");
            server = NetNs.Create("s");
            T topology = construct(client, router, server, Random.Shared.Next(1, 255));
            wireClient(topology);
            NetNs.ConnectVeth(router, RouterPublicDevice, [topology.RouterPublicV4 + "/24", topology.RouterPublicV6 + "/64"],
                server, "veth0", [topology.ServerUnderlayV4 + "/24", topology.ServerUnderlayV6 + "/64"]);
            RouterNamespace.Configure(router, RouterPublicDevice);
            return topology;
        }
        catch
        {
            client?.Dispose();
            router?.Dispose();
            server?.Dispose();
            throw;
        }
    }

    protected void Nft(string script) => RouterNamespace.Nft(Router, script);

    protected string Address(string prefix, int host) => string.Create(CultureInfo.InvariantCulture, $"{prefix}.{Subnet}.{host}");

    /// <summary>fd6a:X:NET::HOST, the IPv6 twin of <see cref="Address"/> (a /64 per link).</summary>
    protected string AddressV6(int net, int host) => string.Create(CultureInfo.InvariantCulture, $"fd6a:{Subnet:x}:{net:x}::{host:x}");

    public void Dispose()
    {
        // Client first: its daemon's shutdown traffic should not hit a half-gone path.
        Client.Dispose();
        Router.Dispose();
        Server.Dispose();
    }
}
