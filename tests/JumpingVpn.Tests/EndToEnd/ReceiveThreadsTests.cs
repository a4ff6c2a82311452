using System.Globalization;
using System.Text.Json;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.EndToEnd;

/// <summary>
/// A server with two receive threads (`[Jumping] ReceiveThreads = 2`, docs/threads.md "Receive threads"): one
/// SO_REUSEPORT socket each on the listen port. Three clients in their own namespaces, each on its own link to
/// the server, ping the server through the tunnel and the server pings each of them back; then `jvpn down`
/// stops the server and leaves no socket on the port.
/// <code>
///   [client k 10.201.k.2] --veth-- [10.201.k.1 server]   (k = 1..3; inner 10.78.0.(10+k) and 10.78.0.1)
/// </code>
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class ReceiveThreadsTests
{
    private const int Port = 51820;
    private const string ServerInner = "10.78.0.1";

    private static string ClientInner(int k) => string.Create(CultureInfo.InvariantCulture, $"10.78.0.{10 + k}");

    [Fact]
    public void A_server_with_two_receive_threads_carries_several_clients_both_ways_and_down_frees_the_port()
    {
        Requirements.Ensure("jvpn", "wg", "ping", "ss");
        const int Clients = 3;
        using NetNs server = NetNs.Create("rs");
        var namespaces = new List<NetNs>();
        var peers = new List<TunnelPeer>();
        try
        {
            KeyPair serverKeys = KeyPair.Generate();
            var clientKeys = new KeyPair[Clients];
            for (int k = 1; k <= Clients; k++)
            {
                NetNs ns = NetNs.Create("rc");
                namespaces.Add(ns);
                NetNs.ConnectVeth(server, $"veth{k}", [$"10.201.{k}.1/24"], ns, "veth0", [$"10.201.{k}.2/24"]);
                clientKeys[k - 1] = KeyPair.Generate();
            }
            var serverConfig = new TunnelConfig(
                serverKeys.PrivateKey,
                [ServerInner + "/24"],
                [.. Enumerable.Range(1, Clients).Select(k => new TunnelPeerConfig(clientKeys[k - 1].PublicKey, [ClientInner(k) + "/32"]))],
                ListenPort: Port,
                Jumping: new Dictionary<string, string> { ["ReceiveThreads"] = "2" });
            var serverPeer = JvpnPeer.Start(server, serverConfig);
            peers.Add(serverPeer);
            for (int k = 1; k <= Clients; k++)
            {
                var clientConfig = new TunnelConfig(
                    clientKeys[k - 1].PrivateKey,
                    [ClientInner(k) + "/24"],
                    [new TunnelPeerConfig(serverKeys.PublicKey, [ServerInner + "/32"], Endpoint: $"10.201.{k}.1:{Port}")]);
                peers.Add(JvpnPeer.Start(namespaces[k - 1], clientConfig));
            }
            string Describe() => string.Join("\n", peers.Select(p => p.Describe()));

            // The listen port is two sockets of one group.
            string sockets = server.Exec("ss", "-Huan", $"sport = :{Port}").StandardOutput;
            Assert.True(SocketLines(sockets) == 2, $"expected 2 UDP sockets on port {Port}:\n{sockets}");

            for (int k = 1; k <= Clients; k++)
            {
                Assert.True(Ping.WaitForReply(namespaces[k - 1], ServerInner, TimeSpan.FromSeconds(10)), $"client {k} cannot reach the server\n{Describe()}");
            }
            for (int k = 1; k <= Clients; k++)
            {
                PingResult toServer = Ping.Measure(namespaces[k - 1], ServerInner, count: 20, intervalMs: 20);
                Assert.True(toServer.Received >= 19, $"client {k} -> server: {toServer}\n{Describe()}");
                PingResult toClient = Ping.Measure(server, ClientInner(k), count: 20, intervalMs: 20);
                Assert.True(toClient.Received >= 19, $"server -> client {k}: {toClient}\n{Describe()}");
            }

            (long total, long[] perThread) = ReceiveStats(serverPeer);
            TunnelScenarios.Log($"server datagrams {total}, per receive thread {string.Join(", ", perThread)}");
            Assert.Equal(2, perThread.Length);
            Assert.Equal(total, perThread.Sum());
            Assert.True(total >= Clients * 40, $"the server received only {total} datagrams");

            CommandResult down = serverPeer.Run("down", serverPeer.InterfaceName);
            Assert.True(down.ExitCode == 0, $"{down.CommandLine}: {down.StandardError}");
            Assert.True(serverPeer.Process!.WaitForExit(TimeSpan.FromSeconds(10)), $"`jvpn down` did not stop the server\n{Describe()}");
            string after = server.Exec("ss", "-Huan", $"sport = :{Port}").StandardOutput;
            Assert.True(SocketLines(after) == 0, $"sockets left on port {Port} after jvpn down:\n{after}");
        }
        finally
        {
            peers.ForEach(p => p.Dispose());
            namespaces.ForEach(n => n.Dispose());
        }
    }

    private static int SocketLines(string ssOutput) =>
        ssOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Length;

    private static (long Total, long[] PerThread) ReceiveStats(JvpnPeer side)
    {
        CommandResult json = side.Run("status", side.InterfaceName, "--json");
        Assert.True(json.ExitCode == 0, $"{json.CommandLine}: {json.StandardError}");
        using JsonDocument doc = JsonDocument.Parse(json.StandardOutput);
        JsonElement dp = doc.RootElement.GetProperty("interfaces")[0].GetProperty("data_plane");
        int threads = (int)dp.GetProperty("receive_threads").GetInt64();
        long[] perThread = new long[threads];
        for (int i = 0; i < threads; i++)
        {
            perThread[i] = dp.GetProperty("packets_from_udp_thread_" + i.ToString(CultureInfo.InvariantCulture)).GetInt64();
        }
        return (dp.GetProperty("packets_from_udp").GetInt64(), perThread);
    }
}
