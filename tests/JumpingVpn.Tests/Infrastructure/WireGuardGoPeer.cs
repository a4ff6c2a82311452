namespace JumpingVpn.Tests.Infrastructure;

/// <summary>The reference implementation: `wireguard-go -f IFNAME`, configured the way wg-quick
/// would do it (`wg setconf`, then addresses, MTU, link up and a route per AllowedIPs).</summary>
internal sealed class WireGuardGoPeer : TunnelPeer
{
    private static readonly Dictionary<string, string> Environment = new()
    {
        // Without this, wireguard-go refuses to start on a kernel that has the WireGuard module.
        ["WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD"] = "1",
    };

    private WireGuardGoPeer(NetNs ns, string interfaceName, TunnelConfig config)
        : base(ns, interfaceName, config)
    {
    }

    public override PeerKind Kind => PeerKind.WireGuardGo;

    public static WireGuardGoPeer Start(NetNs ns, TunnelConfig config)
    {
        var peer = new WireGuardGoPeer(ns, "jvg" + NetNs.RandomHex(3), config);
        try
        {
            peer.Process = ns.Start("wireguard-go", ["-f", peer.InterfaceName], Environment);
            peer.WaitUntilReady(TimeSpan.FromSeconds(10));
            string setconf = peer.WriteFile(peer.InterfaceName + ".wg", config.ToWgSetconf());
            ns.Exec("wg", "setconf", peer.InterfaceName, setconf);
            foreach (string address in config.Addresses)
            {
                ns.AddAddress(peer.InterfaceName, address);
            }
            ns.Ip("link", "set", peer.InterfaceName, "mtu", (config.Mtu ?? 1420).ToString(System.Globalization.CultureInfo.InvariantCulture), "up");
            foreach (TunnelPeerConfig remote in config.Peers)
            {
                foreach (string allowed in remote.AllowedIps)
                {
                    // Default routes would need wg-quick's fwmark policy routing; tests don't use them.
                    if (allowed.EndsWith("/0", StringComparison.Ordinal))
                    {
                        continue;
                    }
                    ns.Ip(allowed.Contains(':', StringComparison.Ordinal) ? "-6" : "-4", "route", "replace", allowed, "dev", peer.InterfaceName);
                }
            }
            return peer;
        }
        catch
        {
            peer.Dispose();
            throw;
        }
    }
}
