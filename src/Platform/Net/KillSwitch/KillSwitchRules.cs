using System.Net;

namespace JumpingVpn.Platform.Net.KillSwitch;

/// <summary>
/// What the kill switch of one full tunnel lets out (docs/platform.md §4.8), the same facts for the nftables
/// table on Linux and the WFP filters on Windows: traffic into <see cref="TunnelInterface"/>, the encrypted UDP to
/// <see cref="Servers"/> (every configured server endpoint, resolved), DNS only to <see cref="DnsServers"/> through
/// the tunnel, and the link-local chatter a link needs to stay up (DHCP, IPv6 neighbour discovery); with "allow LAN",
/// also traffic to <see cref="Lan"/>, the private subnets directly connected to the path interfaces (DNS excepted).
/// </summary>
/// <param name="TunnelInterface">The tunnel interface's name (Linux `oifname`; on Windows the adapter's LUID is given separately).</param>
/// <param name="Servers">The server endpoints the WireGuard UDP may go to, from any path socket.</param>
/// <param name="DnsServers">The tunnel's `DNS =` servers; empty: DNS may go to any address, but only through the tunnel.</param>
/// <param name="SocketMark">The fwmark every jvpn UDP socket of the tunnel carries (docs/platform.md §4.3); when set,
/// only packets with that mark may go to the servers outside the tunnel, so no other program can use the hole.</param>
public sealed record KillSwitchRules(string TunnelInterface, IReadOnlyList<IPEndPoint> Servers, IReadOnlyList<IPAddress> DnsServers, uint? SocketMark)
{
    /// <summary>The same rules with the sockets' fwmark set (known once full-tunnel routing picked its table).</summary>
    public KillSwitchRules WithMark(uint? mark) => this with { SocketMark = mark };

    /// <summary>The LAN subnets traffic may reach outside the tunnel ("allow LAN", docs/platform.md §4.8); empty
    /// when LAN traffic is blocked like the rest.</summary>
    public IReadOnlyList<LanSubnet> Lan { get; init; } = [];

    /// <summary>The same rules letting <paramref name="lan"/> through (empty: block the LAN).</summary>
    public KillSwitchRules WithLan(IReadOnlyList<LanSubnet> lan) => this with { Lan = lan };
}
