using System.Globalization;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.EndToEnd;

/// <summary>The checks every tunnel pairing must pass, whichever implementation sits at each end.
/// Failures carry both daemons' output.</summary>
internal static class TunnelScenarios
{
    public static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    /// <summary>40 pings at 50 ms from the client to the server's inner address; at most 2 lost.</summary>
    public static PingResult AssertPing(TunnelPair tunnel, bool ipv6)
    {
        string target = ipv6 ? TwoHostTopology.ServerTunnelV6 : TwoHostTopology.ServerTunnelV4;
        tunnel.WaitForHandshake(HandshakeTimeout, target);
        PingResult result = Ping.Measure(tunnel.Topology.Client, target, count: 40, intervalMs: 50);
        Log($"ping {target}: {result}");
        Assert.True(result.Received >= 38, $"ping {target}: {result}\n{result.Output}\n{tunnel.Describe()}");
        return result;
    }

    /// <summary>iperf3 TCP for a few seconds, client→server or server→client: the iperf3 server runs on
    /// the receiving side, so each direction carries the bulk data through a different encrypt path.</summary>
    public static Iperf3Result AssertIperf(TunnelPair tunnel, bool clientToServer, int seconds = 3)
    {
        tunnel.WaitForHandshake(HandshakeTimeout);
        TwoHostTopology t = tunnel.Topology;
        Iperf3Result result;
        try
        {
            result = clientToServer
                ? Iperf3.RunTcp(t.Server, TwoHostTopology.ServerTunnelV4, t.Client, seconds)
                : Iperf3.RunTcp(t.Client, TwoHostTopology.ClientTunnelV4, t.Server, seconds);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            throw new InvalidOperationException(e.Message + "\n" + tunnel.Describe(), e);
        }
        string direction = clientToServer ? "client->server" : "server->client";
        Log($"iperf3 TCP {direction} ({tunnel.Client.Kind} client, {tunnel.Server.Kind} server): {result}");
        Assert.True(result.ReceivedMbps > 1, $"iperf3 {direction}: only {result}\n{tunnel.Describe()}");
        return result;
    }

    /// <summary>Both sides list exactly the other peer, with a handshake in the last minute and
    /// bytes both ways.</summary>
    public static void AssertWgShowSeesPeer(TunnelPair tunnel)
    {
        AssertPeerStatus(tunnel, tunnel.Server, tunnel.ClientKeys);
        AssertPeerStatus(tunnel, tunnel.Client, tunnel.ServerKeys);
    }

    private static void AssertPeerStatus(TunnelPair tunnel, TunnelPeer side, KeyPair expectedPeer)
    {
        WgDump dump = side.Show();
        string context = $"wg show {side.InterfaceName} dump ({side.Kind})";
        WgPeerStatus peer = Assert.Single(dump.Peers);
        Assert.Equal(expectedPeer.PublicKey, peer.PublicKey);
        Assert.True(peer.LatestHandshake is not null, $"{context}: no handshake\n{tunnel.Describe()}");
        TimeSpan age = DateTimeOffset.UtcNow - peer.LatestHandshake.Value;
        Assert.True(age < TimeSpan.FromSeconds(60), $"{context}: handshake {age} ago");
        Assert.True(peer.TransferRx > 0 && peer.TransferTx > 0, $"{context}: transfer rx={peer.TransferRx} tx={peer.TransferTx}");
        Log(string.Create(CultureInfo.InvariantCulture, $"{context}: handshake {age.TotalSeconds:0} s ago, rx {peer.TransferRx} B, tx {peer.TransferTx} B"));
    }

    public static void Log(string message) => TestContext.Current.TestOutputHelper?.WriteLine(message);
}
