namespace JumpingVpn.Tests.Infrastructure;

/// <summary>What every router namespace of the test topologies does: forward (ip_forward inside the
/// router's own namespace only), masquerade toward the server, and keep an empty forward filter chain
/// (`ip jvfilter path`) for loss and blackhole experiments.</summary>
internal static class RouterNamespace
{
    public static void Configure(NetNs router, string publicDevice)
    {
        // net.ipv4.* sysctls are per network namespace: this touches the router only. (tee, not
        // sysctl: coreutils is always there, procps not necessarily.)
        Command.Run("ip", ["netns", "exec", router.Name, Binaries.Find("tee"), "/proc/sys/net/ipv4/ip_forward"], standardInput: "1\n");
        Nft(router,
            $$"""
            table ip jvnat {
                chain post {
                    type nat hook postrouting priority 100; policy accept;
                    oifname "{{publicDevice}}" masquerade
                }
            }
            table ip jvfilter {
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
