using System.Runtime.InteropServices;

namespace JumpingVpn.Platform.Interop.Windows;

// Blittable x64 layouts of the netioapi.h / ws2ipdef.h rows jvpn uses. Sizes and key offsets are from the
// docs/platform.md §3.1 (checked there against wireguard-windows tunnel/winipcfg/types_test_64.go);
// field order follows netioapi.h. BOOLEAN is 1 byte (byte here), NET_LUID is a ulong, enums are 4-byte ints.
// IpHelperLayoutTests pins every size and key offset.

/// <summary>SOCKADDR_INET: union of SOCKADDR_IN (16 bytes) and SOCKADDR_IN6 (28 bytes); family at 0, port
/// big-endian at 2; 4-byte aligned.</summary>
[StructLayout(LayoutKind.Explicit, Size = 28)]
internal unsafe struct SockAddrInet
{
    [FieldOffset(0)] public ushort Family;
    [FieldOffset(2)] public ushort PortNetworkOrder;
    /// <summary>sin_addr (IPv4, network byte order as 4 bytes) — overlaps sin6_flowinfo.</summary>
    [FieldOffset(4)] public fixed byte Ipv4Address[4];
    [FieldOffset(4)] public uint Ipv6FlowInfo;
    [FieldOffset(8)] public fixed byte Ipv6Address[16];
    [FieldOffset(24)] public uint Ipv6ScopeId;
}

/// <summary>IP_ADDRESS_PREFIX.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IpAddressPrefix
{
    public SockAddrInet Prefix;
    public byte PrefixLength;
}

/// <summary>MIB_UNICASTIPADDRESS_ROW.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MibUnicastIpAddressRow
{
    public SockAddrInet Address;
    public ulong InterfaceLuid;
    public uint InterfaceIndex;
    public int PrefixOrigin;
    public int SuffixOrigin;
    public uint ValidLifetime;
    public uint PreferredLifetime;
    public byte OnLinkPrefixLength;
    public byte SkipAsSource;
    public int DadState;
    public uint ScopeId;
    public long CreationTimeStamp;
}

/// <summary>MIB_IPFORWARD_ROW2.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MibIpForwardRow2
{
    public ulong InterfaceLuid;
    public uint InterfaceIndex;
    public IpAddressPrefix DestinationPrefix;
    public SockAddrInet NextHop;
    public byte SitePrefixLength;
    public uint ValidLifetime;
    public uint PreferredLifetime;
    public uint Metric;
    public int Protocol;
    public byte Loopback;
    public byte AutoconfigureAddress;
    public byte Publish;
    public byte Immortal;
    public uint Age;
    public int Origin;
}

/// <summary>MIB_IPINTERFACE_ROW.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MibIpInterfaceRow
{
    public ushort Family;
    public ulong InterfaceLuid;
    public uint InterfaceIndex;
    public uint MaxReassemblySize;
    public ulong InterfaceIdentifier;
    public uint MinRouterAdvertisementInterval;
    public uint MaxRouterAdvertisementInterval;
    public byte AdvertisingEnabled;
    public byte ForwardingEnabled;
    public byte WeakHostSend;
    public byte WeakHostReceive;
    public byte UseAutomaticMetric;
    public byte UseNeighborUnreachabilityDetection;
    public byte ManagedAddressConfigurationSupported;
    public byte OtherStatefulConfigurationSupported;
    public byte AdvertiseDefaultRoute;
    public int RouterDiscoveryBehavior;
    public uint DadTransmits;
    public uint BaseReachableTime;
    public uint RetransmitTime;
    public uint PathMtuDiscoveryTimeout;
    public int LinkLocalAddressBehavior;
    public uint LinkLocalAddressTimeout;
    public fixed uint ZoneIndices[16];
    public uint SitePrefixLength;
    public uint Metric;
    public uint NlMtu;
    public byte Connected;
    public byte SupportsWakeUpPatterns;
    public byte SupportsNeighborDiscovery;
    public byte SupportsRouterDiscovery;
    public uint ReachableTime;
    public byte TransmitOffload;
    public byte ReceiveOffload;
    public byte DisableDefaultRoutes;
}

/// <summary>DNS_INTERFACE_SETTINGS (version 1, netioapi.h; Windows 10 build 19041+).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct DnsInterfaceSettings
{
    public uint Version;
    public ulong Flags;
    public char* Domain;
    public char* NameServer;
    public char* SearchList;
    public uint RegistrationEnabled;
    public uint RegisterAdapterName;
    public uint EnableLlmnr;
    public uint QueryAdapterName;
    public char* ProfileNameServer;
}

/// <summary>IP Helper constants (ws2def.h, winerror.h, netioapi.h, nldef.h), kept apart from
/// <see cref="IpHelper"/> so the OS-neutral row-filling code can use them.</summary>
internal static class IpHelperConstants
{
    internal const ushort AfUnspec = 0;
    internal const ushort AfInet = 2;
    internal const ushort AfInet6 = 23;

    internal const uint NoError = 0;
    internal const uint ErrorNotFound = 1168;
    internal const uint ErrorObjectAlreadyExists = 5010;

    /// <summary>NL_DAD_STATE IpDadStatePreferred.</summary>
    internal const int IpDadStatePreferred = 4;

    /// <summary>NL_ROUTE_PROTOCOL MIB_IPPROTO_NETMGMT: a static route set by management.</summary>
    internal const int MibIpProtoNetMgmt = 3;

    internal const ulong DnsSettingIpv6 = 0x1;
    internal const ulong DnsSettingNameServer = 0x2;
    internal const ulong DnsSettingSearchList = 0x4;
    internal const uint DnsInterfaceSettingsVersion1 = 1;
}
