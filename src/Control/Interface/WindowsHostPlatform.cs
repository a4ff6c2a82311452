using System.Security.Cryptography;
using System.Text;
using JumpingVpn.Control.Config;
using JumpingVpn.Platform;
using JumpingVpn.Platform.Net;
using JumpingVpn.Platform.Net.Windows;
using JumpingVpn.Platform.Tun;
using JumpingVpn.Platform.Tun.Windows;
using JumpingVpn.Platform.Udp;
using Microsoft.Extensions.Logging;

namespace JumpingVpn.Control.Interface;

/// <summary>
/// Windows: a Wintun adapter, the portable UDP socket (one datagram per call, SIO_UDP_CONNRESET off),
/// IP Helper for MTU/addresses/routes/DNS, and hooks through cmd.exe (as wireguard-windows runs them).
/// A full tunnel puts 0.0.0.0/0 and ::/0 on the adapter with interface metric 0 and pins the UDP socket to
/// the best other default-route interface with IP_UNICAST_IF, re-pinned whenever routes, addresses or
/// interfaces change (wireguard-windows' pre-WireGuardNT recipe, docs/platform.md §0.3 and §3.2 A).
/// The socket has IPv4 and IPv6 (dual mode); it is pinned to the IPv4 default interface, falling back to
/// the IPv6 one on an IPv6-only host.
/// </summary>
internal sealed class WindowsHostPlatform : HostPlatform
{
    /// <summary>How long a new adapter may take to get its IP interface rows.</summary>
    private static readonly TimeSpan InterfaceWait = TimeSpan.FromSeconds(30);

    public override string Name => "windows";

    public override IPathPlatform? Paths { get; } = new WindowsPathPlatform();

    public override UdpTransport BindUdp(int port) => UdpTransport.BindUnbatched(port);

    public override ITunDevice CreateTun(string name)
    {
        if (!OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("Wintun adapters exist only on Windows.");
        }
        return WintunDevice.Create(name, AdapterGuid(name));
    }

    /// <summary>wireguard-windows runs hooks with cmd.exe /C (tunnel/scriptrunner.go); %i is already replaced.</summary>
    public override (string File, string[] Arguments) HookCommand(string command) => ("cmd.exe", ["/C", command]);

    /// <summary>
    /// The same adapter GUID every run for the same interface name, so Windows keeps one network profile
    /// for it instead of creating "Network N" each time (docs/platform.md §1.3; wireguard-windows derives it
    /// deterministically too). Version-4/variant bits are set so it is a well-formed GUID.
    /// </summary>
    internal static Guid AdapterGuid(string interfaceName)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes("jvpn wintun adapter\0" + interfaceName), hash);
        hash[7] = (byte)((hash[7] & 0x0F) | 0x40);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16]);
    }

    public override void Configure(HostContext context)
    {
        if (!OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("IP Helper configuration exists only on Windows.");
        }
        string name = context.Name;
        InterfaceSection iface = context.Config.Interface;
        IpHelperConfigurator.WaitForInterface(name, InterfaceWait);
        var net = new IpHelperConfigurator();
        net.SetMtu(name, context.Mtu);
        foreach (InterfaceAddress a in iface.Addresses)
        {
            net.AddAddress(name, a.Address, a.PrefixLength);
        }
        bool fullTunnel = ConfigureRoutes(context, net);
        if (fullTunnel)
        {
            IpHelperConfigurator.PreferForDefaultRoute(name);
            PinSocketToPhysicalInterface(context);
        }
        if (iface.DnsServers.Count > 0 || iface.DnsSearch.Count > 0)
        {
            if (OperatingSystem.IsWindowsVersionAtLeast(10, 0, 19041))
            {
                // Set on the adapter, so it goes away with the adapter: nothing to undo.
                IpHelperConfigurator.SetDns(name, iface.DnsServers, iface.DnsSearch);
                context.Logger.LogInformation("{Name}: DNS set on the adapter", name);
            }
            else
            {
                context.Logger.LogWarning("DNS = ... ignored: SetInterfaceDnsSettings needs Windows 10 version 2004 (build 19041) or later");
            }
        }
    }

    /// <summary>Adds every AllowedIPs route on the adapter; returns whether one is a default route.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("windows")]
    private static bool ConfigureRoutes(HostContext context, IpHelperConfigurator net)
    {
        string? table = context.Config.Interface.Table;
        if (string.Equals(table, "off", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        if (table is not null && !string.Equals(table, "auto", StringComparison.OrdinalIgnoreCase))
        {
            context.Logger.LogWarning("Table = {Table} ignored: Windows has one routing table; routes go into it", table);
        }
        bool fullTunnel = false;
        foreach (PeerSection p in context.Config.Peers)
        {
            foreach (IpPrefix prefix in p.AllowedIps)
            {
                net.AddRoute(context.Name, prefix);
                fullTunnel |= prefix.Length == 0;
            }
        }
        return fullTunnel;
    }

    [System.Runtime.Versioning.SupportedOSPlatform("windows")]
    private static void PinSocketToPhysicalInterface(HostContext context)
    {
        ulong tunnelLuid = IpHelperConfigurator.LuidOf(context.Name);
        var pin = new SocketPin(context.Udp, tunnelLuid, context.Logger, context.Name);
        pin.Update("start");
        var watcher = new WindowsRouteChangeWatcher();
        watcher.Changed += pin.Update;
        watcher.HandlerFailed += ex => context.Logger.LogWarning("{Name}: re-pinning the UDP socket failed: {Message}", context.Name, ex.Message);
        watcher.Start();
        context.Undo.Add(watcher.Dispose);
    }

    /// <summary>Keeps the UDP socket pinned to the current best non-tunnel default interface.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("windows")]
    private sealed class SocketPin(UdpTransport udp, ulong tunnelLuid, ILogger logger, string name)
    {
        private readonly Lock _lock = new();
        private uint _index = uint.MaxValue;

        public void Update(string reason)
        {
            lock (_lock)
            {
                uint index = DefaultRouteInterface.Find(System.Net.Sockets.AddressFamily.InterNetwork, tunnelLuid);
                if (index == 0 && udp.DualMode)
                {
                    index = DefaultRouteInterface.Find(System.Net.Sockets.AddressFamily.InterNetworkV6, tunnelLuid);
                }
                if (index == _index)
                {
                    return;
                }
                udp.PinToInterface(index);
                _index = index;
                if (index == 0)
                {
                    logger.LogWarning("{Name}: no default route outside the tunnel ({Reason}); the UDP socket is unpinned", name, reason);
                }
                else
                {
                    logger.LogInformation("{Name}: UDP socket pinned to interface {Index} ({Reason})", name, index, reason);
                }
            }
        }
    }
}
