using System.Globalization;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.EndToEnd;

/// <summary>
/// The resident memory of an idle `jvpn up` client (docs/performance.md "Idle client memory and start-up"):
/// a jvpn client and server in namespaces, one handshake, 30 s without traffic, then the client's VmRSS.
/// The bound sits about 10% above what this machine measured (60.8 MB), so a regression of a few MB
/// (a subsystem loaded at start-up, buffers allocated eagerly) fails it; the 40 MB goal is not reached
/// with a JIT-compiled runtime, and docs/performance.md says where the memory goes.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class IdleClientMemoryTests
{
    private const double BoundMegabytes = 68;

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")] // Requirements.Ensure skips elsewhere
    public void Idle_client_after_a_handshake_stays_within_its_memory_bound()
    {
        Requirements.Ensure("jvpn", "wg", "ping");
        using TwoHostTopology topology = TwoHostTopology.Create();
        using TunnelPair tunnel = topology.StartTunnel(PeerKind.Jvpn, PeerKind.Jvpn);
        tunnel.WaitForHandshake(TunnelScenarios.HandshakeTimeout);
        Thread.Sleep(TimeSpan.FromSeconds(30));

        int pid = tunnel.Client.Process!.Id;
        double rss = KilobytesOf(File.ReadAllLines($"/proc/{pid}/status"), "VmRSS:") / 1024.0;
        string[] rollup = File.ReadAllLines($"/proc/{pid}/smaps_rollup");
        string breakdown = string.Create(CultureInfo.InvariantCulture,
            $"RSS {rss:0.0} MB: anonymous {KilobytesOf(rollup, "Anonymous:") / 1024.0:0.0} MB, file-backed {KilobytesOf(rollup, "Rss:") / 1024.0 - KilobytesOf(rollup, "Anonymous:") / 1024.0:0.0} MB");
        TunnelScenarios.Log($"idle client after 30 s: {breakdown}");
        Assert.True(tunnel.Client.Process.HasExited == false, tunnel.Describe());
        Assert.True(rss <= BoundMegabytes, $"idle client {breakdown}, bound {BoundMegabytes} MB\n{tunnel.Describe()}");
    }

    private static long KilobytesOf(string[] lines, string key)
    {
        foreach (string line in lines)
        {
            if (line.StartsWith(key, StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(key.Length).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
            }
        }
        throw new InvalidOperationException($"no {key} line");
    }
}
