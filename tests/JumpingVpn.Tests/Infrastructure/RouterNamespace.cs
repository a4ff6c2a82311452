namespace JumpingVpn.Tests.Infrastructure;

/// <summary>What every router namespace of the test topologies does: forward IPv4 and IPv6 (inside the
/// router's own namespace only), masquerade both toward the server, and keep an empty forward filter chain
/// for both families (`inet jvfilter path`) for loss and blackhole experiments.</summary>
internal static class RouterNamespace
{
    public static void Configure(NetNs router, string publicDevice)
    {
        // net.ipv4.* sysctls are per network namespace: this touches the router only. (tee, not
        // sysctl: coreutils is always there, procps not necessarily.)
        Command.Run("ip", ["netns", "exec", router.Name, Binaries.Find("tee"), "/proc/sys/net/ipv4/ip_forward"], standardInput: "1\n");
        Command.Run("ip", ["netns", "exec", router.Name, Binaries.Find("tee"), "/proc/sys/net/ipv6/conf/all/forwarding"], standardInput: "1\n");
        Nft(router,
            $$"""
            table ip jvnat {
                chain post {
                    type nat hook postrouting priority 100; policy accept;
                    oifname "{{publicDevice}}" masquerade
                }
            }
            table ip6 jvnat6 {
                chain post {
                    type nat hook postrouting priority 100; policy accept;
                    oifname "{{publicDevice}}" masquerade
                }
            }
            table inet jvfilter {
                chain path {
                    type filter hook forward priority 0; policy accept;
                }
            }
            """);
    }

    /// <summary>Loads an nft script into the router as one transaction (`nft -f -`).</summary>
    public static void Nft(NetNs router, string script) =>
        Command.Run("ip", ["netns", "exec", router.Name, Binaries.Find("nft"), "-f", "-"], standardInput: script + "\n");
}
