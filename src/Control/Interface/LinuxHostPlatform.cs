using JumpingVpn.Control.Config;
using JumpingVpn.Platform;
using JumpingVpn.Platform.Net;
using JumpingVpn.Platform.Net.Linux;
using JumpingVpn.Platform.Tun;
using JumpingVpn.Platform.Tun.Linux;
using JumpingVpn.Platform.Udp;
using Microsoft.Extensions.Logging;

namespace JumpingVpn.Control.Interface;

/// <summary>
/// Linux: /dev/net/tun with virtio-net offloads, the batched UDP socket (recvmmsg/sendmmsg, GSO/GRO),
/// `ip` for addresses and routes, wg-quick's policy routing for a full tunnel, resolvectl/resolvconf
/// for DNS, and hooks through bash.
/// </summary>
internal sealed class LinuxHostPlatform : HostPlatform
{
    public override string Name => "linux";

    public override IPathPlatform? Paths { get; } = new LinuxPathPlatform();

    public override UdpTransport BindUdp(int port) => UdpTransport.Bind(port);

    public override UdpTransport[] BindUdpGroup(int port, int count) => UdpTransport.BindGroup(port, count);

    public override ITunDevice CreateTun(string name) => LinuxTunDevice.Create(name, offload: true);

    public override bool TunOffloadEnabled(ITunDevice tun) => tun is LinuxTunDevice { OffloadEnabled: true };

    public override bool TunUdpOffloadEnabled(ITunDevice tun) => tun is LinuxTunDevice { UdpCoalescingEnabled: true };

    public override (string File, string[] Arguments) HookCommand(string command) => ("/bin/bash", ["-c", command]);

    public override void Configure(HostContext context)
    {
        string name = context.Name;
        var net = new IpCommandConfigurator();
        net.SetMtu(name, context.Mtu);
        foreach (InterfaceAddress a in context.Config.Interface.Addresses)
        {
            net.AddAddress(name, a.Address, a.PrefixLength);
        }
        net.SetUp(name);
        ConfigureDns(context);
        ConfigureRoutes(context, net);
    }

    private static void ConfigureRoutes(HostContext context, IpCommandConfigurator net)
    {
        TunnelConfig config = context.Config;
        string? table = config.Interface.Table;
        if (string.Equals(table, "off", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }
        bool auto = table is null || string.Equals(table, "auto", StringComparison.OrdinalIgnoreCase);
        // wg-quick adds routes most specific last, from `wg show allowed-ips`; order does not matter to the kernel.
        foreach (PeerSection p in config.Peers)
        {
            foreach (IpPrefix prefix in p.AllowedIps)
            {
                if (prefix.Length == 0 && auto)
                {
                    int t = config.Interface.FwMark is uint fw ? (int)fw : FullTunnelRouting.PickTable();
                    var routing = new FullTunnelRouting(context.Name, t);
                    context.Undo.Add(routing.Remove);
                    context.SetFwMark((uint)t);
                    routing.Add(prefix);
                }
                else if (!(auto && CoveredByInterfaceSubnet(config, prefix)))
                {
                    net.AddRoute(context.Name, prefix, auto ? null : table);
                }
            }
        }
    }

    /// <summary>
    /// wg-quick skips a peer's route when `ip route get` already leads into the interface; the connected
    /// route of an interface address (10.64.0.1/10) does that for every peer inside it. Checking it here
    /// instead of running `ip` per peer is what lets 100k peers come up in seconds (docs/scaling.md).
    /// </summary>
    private static bool CoveredByInterfaceSubnet(TunnelConfig config, IpPrefix prefix)
    {
        foreach (InterfaceAddress a in config.Interface.Addresses)
        {
            var subnet = new IpPrefix(a.Address, a.PrefixLength);
            if (subnet.IsIPv4 == prefix.IsIPv4 && subnet.Length <= prefix.Length && subnet.Contains(prefix.Address))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// DNS = ...: systemd-resolved per link when it runs, else resolvconf (wg-quick's way), undone on exit.
    /// Without either, jvpn warns and goes on (the tunnel works; names resolve as before).
    /// </summary>
    private static void ConfigureDns(HostContext context)
    {
        InterfaceSection iface = context.Config.Interface;
        bool fullTunnel = context.Config.Peers.Any(p => p.AllowedIps.Any(a => a.Length == 0));
        DnsConfigurator.Backend backend = DnsConfigurator.Detect(ExternalCommand.FindOnPath, Directory.Exists);
        DnsConfigurator.DnsPlan plan = DnsConfigurator.Plan(backend, context.Name, iface.DnsServers, iface.DnsSearch, fullTunnel);
        if (plan.Apply.Count == 0)
        {
            if (iface.DnsServers.Count > 0 || iface.DnsSearch.Count > 0)
            {
                context.Logger.LogWarning("DNS = ... ignored: neither systemd-resolved (resolvectl) nor resolvconf is available; install one (wg-quick needs resolvconf too)");
            }
            return;
        }
        DnsConfigurator.Run(plan.Apply);
        context.Undo.Add(() => DnsConfigurator.Run(plan.Revert));
        context.Logger.LogInformation("{Name}: DNS through {Backend}", context.Name, plan.Backend);
    }
}
