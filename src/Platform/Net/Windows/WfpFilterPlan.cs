using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using JumpingVpn.Platform.Net.KillSwitch;

namespace JumpingVpn.Platform.Net.Windows;

/// <summary>The two ALE layers the kill switch filters: outbound connections (UDP: the first datagram to a remote).</summary>
public enum WfpLayer
{
    AleAuthConnectV4,
    AleAuthConnectV6,
}

/// <summary>What a filter condition looks at (fwpmu.h FWPM_CONDITION_*).</summary>
public enum WfpField
{
    LocalInterface,
    RemoteAddress,
    RemotePort,
    LocalPort,
    Protocol,
    Flags,
    AppId,

    /// <summary>ICMP type: at the ALE layers it travels in the local-port field (FWPM_CONDITION_ICMP_TYPE).</summary>
    IcmpType,

    /// <summary>The remote address within a prefix (FWPM_CONDITION_IP_REMOTE_ADDRESS with FWP_V4_ADDR_MASK or
    /// FWP_V6_ADDR_MASK): <see cref="WfpCondition.Address16"/> or the host-order IPv4 number, and
    /// <see cref="WfpCondition.PrefixLength"/>.</summary>
    RemoteSubnet,
}

/// <summary>FWP_MATCH_TYPE values the plan uses.</summary>
public enum WfpMatch
{
    Equal = 0,
    FlagsAllSet = 6,
}

/// <summary>One condition: a number (LUID, port, protocol, flags, IPv4 address in host order), 16 address bytes, or
/// the application id of jvpn's own executable (resolved when applied).</summary>
public sealed record WfpCondition(WfpField Field, WfpMatch Match, ulong Number = 0, byte[]? Address16 = null, int PrefixLength = 0)
{
    public override string ToString() => Field switch
    {
        WfpField.RemoteAddress when Address16 is not null => $"remote address {new IPAddress(Address16)}",
        WfpField.RemoteAddress => $"remote address {new IPAddress(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness((uint)Number))}",
        WfpField.RemoteSubnet when Address16 is not null => $"remote subnet {new IPAddress(Address16)}/{PrefixLength}",
        WfpField.RemoteSubnet => $"remote subnet {new IPAddress(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness((uint)Number))}/{PrefixLength}",
        WfpField.LocalInterface => $"interface luid {Number:x}",
        WfpField.AppId => "application jvpn",
        WfpField.Flags => $"flags {Number:x} all set",
        _ => $"{Field} {Number}",
    };
}

/// <summary>One filter: a key derived from the tunnel name and the filter's name (so `jvpn down` can delete it after
/// a crash without enumerating), its layer, permit or block, its weight within the sublayer, and its conditions
/// (different fields are ANDed by WFP).</summary>
public sealed record WfpFilterSpec(Guid Key, string Name, WfpLayer Layer, bool Permit, byte Weight, IReadOnlyList<WfpCondition> Conditions);

/// <summary>
/// The Windows kill switch as WFP filters (docs/platform.md §3.4), a pure function of the same
/// <see cref="KillSwitchRules"/> the Linux nftables table is built from (§4.8), so the rule set is asserted on any
/// machine. All filters sit in one sublayer per tunnel; within it the highest weight that matches decides:
/// 15 loopback; 14 DNS to the tunnel's servers through the tunnel; 13 any other DNS refused (only when the tunnel
/// names DNS servers); 12 the tunnel interface; 11 jvpn's own UDP to each server endpoint (application id, the
/// Windows counterpart of the Linux fwmark), and with "allow LAN" each private connected subnet; 10 DHCP, DHCPv6 and
/// IPv6 neighbour discovery; 0 block everything else.
/// </summary>
public static class WfpFilterPlan
{
    /// <summary>Limits that keep the set of possible keys finite, so removal can delete every one by key.</summary>
    public const int MaxServers = 32;
    public const int MaxDnsServers = 16;

    public const int ProtocolUdp = 17;
    public const int ProtocolIcmpV6 = 58;
    public const uint FlagIsLoopback = 0x1;

    /// <summary>Neighbour discovery: router solicitation, neighbour solicitation and advertisement, MLDv2 report.</summary>
    public static readonly int[] NdpTypes = [133, 135, 136, 143];

    /// <summary>The one jvpn provider every tunnel's sublayer belongs to.</summary>
    public static Guid ProviderKey { get; } = Derive("jvpn wfp provider");

    public static Guid SubLayerKey(string tunnelInterface) => Derive("jvpn wfp sublayer\0" + tunnelInterface);

    public static Guid FilterKey(string tunnelInterface, string name) => Derive("jvpn wfp filter\0" + tunnelInterface + "\0" + name);

    public static IReadOnlyList<WfpFilterSpec> Build(KillSwitchRules rules, ulong tunnelLuid)
    {
        ArgumentNullException.ThrowIfNull(rules);
        if (rules.Servers.Count > MaxServers || rules.DnsServers.Count > MaxDnsServers || rules.Lan.Count > LanRanges.MaxSubnets)
        {
            throw new PlatformException($"the Windows kill switch takes at most {MaxServers} server endpoints, {MaxDnsServers} DNS servers and {LanRanges.MaxSubnets} LAN subnets");
        }
        string t = rules.TunnelInterface;
        var filters = new List<WfpFilterSpec>();
        foreach (WfpLayer layer in (ReadOnlySpan<WfpLayer>)[WfpLayer.AleAuthConnectV4, WfpLayer.AleAuthConnectV6])
        {
            bool v4 = layer == WfpLayer.AleAuthConnectV4;
            string fam = v4 ? "v4" : "v6";
            void Add(string name, bool permit, byte weight, params WfpCondition[] conditions) =>
                filters.Add(new WfpFilterSpec(FilterKey(t, $"{fam} {name}"), $"jvpn kill switch {t}: {fam} {name}", layer, permit, weight, conditions));

            Add("loopback", true, 15, new WfpCondition(WfpField.Flags, WfpMatch.FlagsAllSet, FlagIsLoopback));
            for (int i = 0; i < rules.DnsServers.Count; i++)
            {
                if (Address(rules.DnsServers[i], v4) is { } dns)
                {
                    Add($"dns {i}", true, 14, Luid(tunnelLuid), dns, new WfpCondition(WfpField.RemotePort, WfpMatch.Equal, 53));
                }
            }
            if (rules.DnsServers.Count > 0)
            {
                Add("other dns", false, 13, new WfpCondition(WfpField.RemotePort, WfpMatch.Equal, 53));
            }
            Add("tunnel", true, 12, Luid(tunnelLuid));
            for (int i = 0; i < rules.Servers.Count; i++)
            {
                if (Address(rules.Servers[i].Address, v4) is { } server)
                {
                    Add($"server {i}", true, 11, new WfpCondition(WfpField.Protocol, WfpMatch.Equal, ProtocolUdp), server,
                        new WfpCondition(WfpField.RemotePort, WfpMatch.Equal, (ulong)rules.Servers[i].Port), new WfpCondition(WfpField.AppId, WfpMatch.Equal));
                }
            }
            // Below the DNS block (13), so a resolver on the LAN stays refused; the subnet alone decides, since the
            // connected route already sends it out of the interface it is on (docs/platform.md §4.8 "Allow LAN").
            for (int i = 0; i < rules.Lan.Count; i++)
            {
                if (Subnet(rules.Lan[i].Prefix, v4) is { } lan)
                {
                    Add($"lan {i}", true, 11, lan);
                }
            }
            if (v4)
            {
                Add("dhcp", true, 10, new WfpCondition(WfpField.Protocol, WfpMatch.Equal, ProtocolUdp),
                    new WfpCondition(WfpField.LocalPort, WfpMatch.Equal, 68), new WfpCondition(WfpField.RemotePort, WfpMatch.Equal, 67));
            }
            else
            {
                Add("dhcp", true, 10, new WfpCondition(WfpField.Protocol, WfpMatch.Equal, ProtocolUdp),
                    new WfpCondition(WfpField.LocalPort, WfpMatch.Equal, 546), new WfpCondition(WfpField.RemotePort, WfpMatch.Equal, 547));
                foreach (int type in NdpTypes)
                {
                    Add($"ndp {type}", true, 10, new WfpCondition(WfpField.Protocol, WfpMatch.Equal, ProtocolIcmpV6),
                        new WfpCondition(WfpField.IcmpType, WfpMatch.Equal, (ulong)type));
                }
            }
            Add("block", false, 0);
        }
        return filters;
    }

    /// <summary>Every key a plan for <paramref name="tunnelInterface"/> can contain, whatever its servers: what removal deletes.</summary>
    public static IReadOnlyList<Guid> AllKeys(string tunnelInterface)
    {
        var keys = new List<Guid>();
        foreach (string fam in (ReadOnlySpan<string>)["v4", "v6"])
        {
            foreach (string name in (ReadOnlySpan<string>)["loopback", "other dns", "tunnel", "dhcp", "block"])
            {
                keys.Add(FilterKey(tunnelInterface, $"{fam} {name}"));
            }
            for (int i = 0; i < MaxDnsServers; i++)
            {
                keys.Add(FilterKey(tunnelInterface, $"{fam} dns {i}"));
            }
            for (int i = 0; i < MaxServers; i++)
            {
                keys.Add(FilterKey(tunnelInterface, $"{fam} server {i}"));
            }
            for (int i = 0; i < LanRanges.MaxSubnets; i++)
            {
                keys.Add(FilterKey(tunnelInterface, $"{fam} lan {i}"));
            }
            foreach (int type in NdpTypes)
            {
                keys.Add(FilterKey(tunnelInterface, $"{fam} ndp {type}"));
            }
        }
        return keys;
    }

    private static WfpCondition Luid(ulong luid) => new(WfpField.LocalInterface, WfpMatch.Equal, luid);

    /// <summary>The remote-address condition for the layer's family; null when the address is of the other family.
    /// IPv4 goes as a host-order UINT32, IPv6 as 16 bytes (FWP_BYTE_ARRAY16).</summary>
    private static WfpCondition? Address(IPAddress address, bool v4)
    {
        IPAddress a = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        if (v4 != (a.AddressFamily == AddressFamily.InterNetwork))
        {
            return null;
        }
        byte[] bytes = a.GetAddressBytes();
        return v4
            ? new WfpCondition(WfpField.RemoteAddress, WfpMatch.Equal, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes))
            : new WfpCondition(WfpField.RemoteAddress, WfpMatch.Equal, 0, bytes);
    }

    /// <summary>The remote-subnet condition for the layer's family; null when the prefix is of the other family.</summary>
    private static WfpCondition? Subnet(IpPrefix prefix, bool v4)
    {
        if (v4 != prefix.IsIPv4)
        {
            return null;
        }
        byte[] bytes = prefix.Address.GetAddressBytes();
        return v4
            ? new WfpCondition(WfpField.RemoteSubnet, WfpMatch.Equal, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes), PrefixLength: prefix.Length)
            : new WfpCondition(WfpField.RemoteSubnet, WfpMatch.Equal, 0, bytes, prefix.Length);
    }

    /// <summary>A stable, well-formed GUID from a name (version-4/variant bits set), as the Wintun adapter GUID is.</summary>
    private static Guid Derive(string name)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(name), hash);
        hash[7] = (byte)((hash[7] & 0x0F) | 0x40);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16]);
    }
}
