using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using JumpingVpn.Platform.Net.KillSwitch;

namespace JumpingVpn.Platform.Net.Linux;

/// <summary>
/// The kill switch as one nftables script (docs/platform.md §4.8): a pure function of the rules, so what the
/// kernel gets is unit tested line by line. The script declares, deletes and redefines the table in one
/// `nft -f` transaction, so an earlier run's table (a crashed jvpn's lockdown) is replaced without a moment in
/// which traffic could leak, and a first run needs no "does it exist" check.
/// </summary>
public static class NftKillSwitchScript
{
    /// <summary>Table name prefix; `jvpn killswitch` and the tests look tables up by it.</summary>
    public const string TablePrefix = "jvpn_ks_";

    /// <summary>
    /// `jvpn_ks_NAME`. Interface names may hold `=` and `+` (wg-quick allows them), which nft identifiers do not:
    /// every character other than a letter, digit or `_` becomes `.` and two hex digits, so names never collide.
    /// </summary>
    public static string TableName(string tunnelInterface)
    {
        ArgumentException.ThrowIfNullOrEmpty(tunnelInterface);
        var sb = new StringBuilder(TablePrefix);
        foreach (char c in tunnelInterface)
        {
            if (char.IsAsciiLetterOrDigit(c) || c == '_')
            {
                sb.Append(c);
            }
            else
            {
                sb.Append('.').Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
            }
        }
        return sb.ToString();
    }

    /// <summary>The script that installs (or replaces) the table for <paramref name="rules"/>.</summary>
    public static string Install(KillSwitchRules rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        string table = TableName(rules.TunnelInterface);
        string tun = Quote(rules.TunnelInterface);
        var s = new StringBuilder();
        s.Append("table inet ").Append(table).Append('\n');
        s.Append("delete table inet ").Append(table).Append('\n');
        s.Append("table inet ").Append(table).Append(" {\n");

        // Output: what this machine sends. Order matters only for DNS, which is judged before the tunnel accept
        // so a query through the tunnel to a resolver other than the tunnel's is refused too.
        s.Append("\tchain output {\n");
        s.Append("\t\ttype filter hook output priority filter; policy drop;\n");
        s.Append("\t\toifname \"lo\" accept\n");
        s.Append("\t\tmeta l4proto { tcp, udp } th dport 53 jump dns\n");
        s.Append("\t\toifname ").Append(tun).Append(" accept\n");
        AppendServers(s, rules, AddressFamily.InterNetwork, "ip");
        AppendServers(s, rules, AddressFamily.InterNetworkV6, "ip6");
        AppendLan(s, rules);
        // A link must keep its address while the tunnel is down: DHCPv4 client to server, DHCPv6 client to
        // server, and the ICMPv6 of router and neighbour discovery (with the MLD reports that join the
        // solicited-node groups neighbour discovery listens on). ARP is not IP and never reaches this table.
        s.Append("\t\tmeta nfproto ipv4 udp sport 68 udp dport 67 accept\n");
        s.Append("\t\tmeta nfproto ipv6 udp sport 546 udp dport 547 accept\n");
        s.Append("\t\ticmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, mld2-listener-report } accept\n");
        AppendReject(s);
        s.Append("\t}\n");

        // Forward: containers or VMs routed through this machine must not bypass the tunnel either.
        s.Append("\tchain forward {\n");
        s.Append("\t\ttype filter hook forward priority filter; policy drop;\n");
        s.Append("\t\toifname ").Append(tun).Append(" accept\n");
        AppendReject(s);
        s.Append("\t}\n");

        // DNS (udp or tcp port 53): only through the tunnel, and only to the tunnel's own servers when it names any.
        s.Append("\tchain dns {\n");
        List<string> v4 = Dns(rules, AddressFamily.InterNetwork);
        List<string> v6 = Dns(rules, AddressFamily.InterNetworkV6);
        if (rules.DnsServers.Count == 0)
        {
            s.Append("\t\toifname ").Append(tun).Append(" accept\n");
        }
        if (v4.Count > 0)
        {
            s.Append("\t\toifname ").Append(tun).Append(" ip daddr { ").AppendJoin(", ", v4).Append(" } accept\n");
        }
        if (v6.Count > 0)
        {
            s.Append("\t\toifname ").Append(tun).Append(" ip6 daddr { ").AppendJoin(", ", v6).Append(" } accept\n");
        }
        AppendReject(s);
        s.Append("\t}\n");
        s.Append("}\n");
        return s.ToString();
    }

    /// <summary>The script that removes the tunnel's table, whether or not it exists (declare, then delete).</summary>
    public static string Remove(string tunnelInterface)
    {
        string table = TableName(tunnelInterface);
        return $"table inet {table}\ndelete table inet {table}\n";
    }

    /// <summary>
    /// The WireGuard UDP: to each server endpoint (address and port together), from any path socket, carrying the
    /// tunnel's fwmark when there is one (docs/platform.md §4.3 marks every socket of the tunnel, bound to an
    /// interface or not), so the hole is jvpn's alone and does not depend on which path is active.
    /// </summary>
    private static void AppendServers(StringBuilder s, KillSwitchRules rules, AddressFamily family, string keyword)
    {
        var elements = new List<string>();
        foreach (IPEndPoint ep in rules.Servers)
        {
            IPAddress a = family == AddressFamily.InterNetwork && ep.Address.IsIPv4MappedToIPv6 ? ep.Address.MapToIPv4() : ep.Address;
            if (a.AddressFamily == family && !(family == AddressFamily.InterNetworkV6 && a.IsIPv4MappedToIPv6))
            {
                string e = a + " . " + ep.Port.ToString(CultureInfo.InvariantCulture);
                if (!elements.Contains(e))
                {
                    elements.Add(e);
                }
            }
        }
        if (elements.Count == 0)
        {
            return;
        }
        s.Append("\t\t");
        if (rules.SocketMark is uint mark)
        {
            s.Append("meta mark 0x").Append(mark.ToString("x8", CultureInfo.InvariantCulture)).Append(' ');
        }
        s.Append(keyword).Append(" daddr . udp dport { ").AppendJoin(", ", elements).Append(" } accept\n");
    }

    /// <summary>
    /// "Allow LAN": each private subnet out of the interface it is connected on (a neighbour on the Wi-Fi, a printer,
    /// the router's own page). After the DNS jump, so a resolver on the LAN still gets no query (docs/ui.md "Kill
    /// switch toggle" says why); the interface keeps a routed destination that merely falls in a private range
    /// (reached through a gateway) blocked.
    /// </summary>
    private static void AppendLan(StringBuilder s, KillSwitchRules rules)
    {
        foreach (LanSubnet lan in rules.Lan)
        {
            s.Append("\t\toifname ").Append(Quote(lan.Interface)).Append(lan.Prefix.IsIPv4 ? " ip daddr " : " ip6 daddr ")
                .Append(lan.Prefix.ToString()).Append(" accept\n");
        }
    }

    /// <summary>Refused with local feedback (a TCP reset, else ICMP administratively prohibited) rather than silently
    /// dropped, so programs fail at once instead of timing out; the reply is local and never leaves a link.</summary>
    private static void AppendReject(StringBuilder s)
    {
        s.Append("\t\tmeta l4proto tcp counter reject with tcp reset\n");
        s.Append("\t\tcounter reject with icmpx type admin-prohibited\n");
    }

    private static List<string> Dns(KillSwitchRules rules, AddressFamily family)
    {
        var list = new List<string>();
        foreach (IPAddress a in rules.DnsServers)
        {
            IPAddress x = a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;
            if (x.AddressFamily == family && !list.Contains(x.ToString()))
            {
                list.Add(x.ToString());
            }
        }
        return list;
    }

    /// <summary>An interface name as an nft string. Config names are `[a-zA-Z0-9_=+.-]`; anything else is refused
    /// here rather than quoted, so no name can change the script's meaning.</summary>
    private static string Quote(string name)
    {
        foreach (char c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '=' or '+' or '.' or '-'))
            {
                throw new ArgumentException($"interface name '{name}' has a character nft rules cannot hold", nameof(name));
            }
        }
        return "\"" + name + "\"";
    }
}
