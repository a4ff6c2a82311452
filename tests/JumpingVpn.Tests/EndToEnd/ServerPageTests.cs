using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using JumpingVpn.Tests.Infrastructure;
using JumpingVpn.Tests.Ui;
using JumpingVpn.Tests.Ui.Server;
using JumpingVpn.Ui.Hosting;
using JumpingVpn.Ui.Server;

namespace JumpingVpn.Tests.EndToEnd;

/// <summary>
/// The server page end to end (docs/ui.md "Server mode"): a real `jvpn up` server in a namespace, a peer added
/// through the UI's add-peer endpoint (live over UAPI), a real client in the other namespace brought up with the
/// config the UI answered, and then the session seen through the UI's sessions endpoint and `jvpn status --sessions`.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class ServerPageTests
{
    private static readonly TimeSpan Ready = TimeSpan.FromSeconds(20);

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")] // Requirements.Ensure skips elsewhere
    public async Task A_peer_added_in_the_ui_connects_and_its_session_shows_in_the_sessions_table_and_the_cli()
    {
        Requirements.Ensure("jvpn", "ping");
        CancellationToken cancel = TestContext.Current.CancellationToken;
        string dir = Directory.CreateTempSubdirectory("jvpn-e2e-page-").FullName;
        string hex = NetNs.RandomHex(3);
        string serverName = "jvsp" + hex;
        string serverConf = Path.Combine(dir, serverName + ".conf");
        string clientConf = Path.Combine(dir, "jvcp" + hex + ".conf");
        try
        {
            using TwoHostTopology topology = TwoHostTopology.Create();
            Jvpn("server", "init", "--config", serverConf, "--address", "10.79.0.1/24", "--endpoint", topology.ServerUnderlayV4 + ":51820");
            ManagedProcess server = topology.Server.Start(Binaries.Dotnet(), [Binaries.JvpnDll, "up", serverConf]);
            WaitForSocket(server, serverName);

            var tunnels = new ServerUiRig.FakeTunnels([new TunnelEntry(serverName, serverName, TunnelState.Active, serverConf, true)]);
            await using UiTestClient ui = await UiTestClient.StartAsync(new ServerModule(tunnels));
            using HttpResponseMessage added = await ui.Http.PostAsJsonAsync(new Uri("api/server/peers", UriKind.Relative),
                new { tunnel = serverName, name = "laptop" }, cancel);
            JsonElement answer = JsonDocument.Parse(await added.Content.ReadAsStringAsync(cancel)).RootElement;
            Assert.True(added.StatusCode == HttpStatusCode.OK, answer.ToString());
            Assert.Equal("added", answer.GetProperty("live").GetString());
            await File.WriteAllTextAsync(clientConf, answer.GetProperty("config").GetString(), cancel);
            File.SetUnixFileMode(clientConf, UnixFileMode.UserRead | UnixFileMode.UserWrite);

            ManagedProcess client = topology.Client.Start(Binaries.Dotnet(), [Binaries.JvpnDll, "up", clientConf]);
            WaitForSocket(client, Path.GetFileNameWithoutExtension(clientConf));
            Assert.True(Ping.WaitForReply(topology.Client, "10.79.0.1", Ready), $"no ping reply\n{server.Describe()}\n{client.Describe()}");

            JsonElement row = default;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < Ready)
            {
                using HttpResponseMessage r = await ui.Http.GetAsync(new Uri($"api/server/sessions?tunnel={serverName}&search=10.79.0.2", UriKind.Relative), cancel);
                JsonElement page = JsonDocument.Parse(await r.Content.ReadAsStringAsync(cancel)).RootElement;
                Assert.True(r.StatusCode == HttpStatusCode.OK, page.ToString());
                if (page.GetProperty("matched").GetInt32() == 1 && page.GetProperty("rows")[0].GetProperty("state").GetString() == "ATTACHED")
                {
                    row = page.GetProperty("rows")[0];
                    break;
                }
                await Task.Delay(200, cancel);
            }
            Assert.True(row.ValueKind == JsonValueKind.Object, $"no attached session listed\n{server.Describe()}");
            Assert.Equal("10.79.0.2/32", row.GetProperty("inner").GetString());
            Assert.StartsWith(topology.ClientUnderlayV4 + ":", row.GetProperty("endpoint").GetString(), StringComparison.Ordinal);
            Assert.InRange(row.GetProperty("lastSeenMs").GetInt64(), 0, 30_000);
            Assert.Equal("", row.GetProperty("owner").GetString());

            CommandResult cli = Jvpn("status", serverName, "--sessions", "--json");
            using JsonDocument listed = JsonDocument.Parse(cli.StandardOutput);
            Assert.Equal(1, listed.RootElement.GetProperty("total").GetInt32());
            Assert.Equal(row.GetProperty("sessionId").GetString(), listed.RootElement.GetProperty("sessions")[0].GetProperty("session_id").GetString());
        }
        finally
        {
            File.Delete($"/var/run/wireguard/{serverName}.sock");
            File.Delete($"/var/run/wireguard/jvcp{hex}.sock");
            Directory.Delete(dir, recursive: true);
        }
    }

    private static CommandResult Jvpn(params string[] arguments)
    {
        CommandResult r = Command.TryRun(Binaries.Dotnet(), [Binaries.JvpnDll, .. arguments], TimeSpan.FromSeconds(30));
        Assert.True(r.ExitCode == 0, $"{r.CommandLine} exited {r.ExitCode}\n{r.StandardError}");
        return r;
    }

    private static void WaitForSocket(ManagedProcess process, string interfaceName) =>
        ReadyWait.UntilSocketAnswers(process, $"/var/run/wireguard/{interfaceName}.sock", Ready, interfaceName + "'s UAPI socket");
}
