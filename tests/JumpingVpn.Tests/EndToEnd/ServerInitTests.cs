using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.EndToEnd;

/// <summary>
/// Issue 7: `jvpn server init` + `jvpn server add-peer` produce configs that bring up a working tunnel,
/// used exactly as a user would: the CLI writes the files, `jvpn up` runs them in two namespaces.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class ServerInitTests
{
    private static readonly TimeSpan Ready = TimeSpan.FromSeconds(20);

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")] // Requirements.Ensure skips elsewhere
    public void Init_and_add_peer_configs_bring_up_a_working_tunnel()
    {
        Requirements.Ensure("jvpn", "ping");
        string dir = Directory.CreateTempSubdirectory("jvpn-e2e-init-").FullName;
        string hex = NetNs.RandomHex(3);
        string serverName = "jvsi" + hex;
        string clientName = "jvci" + hex;
        string serverConf = Path.Combine(dir, "etc", serverName + ".conf");
        string clientConf = Path.Combine(dir, clientName + ".conf");
        try
        {
            using TwoHostTopology topology = TwoHostTopology.Create();
            Jvpn("server", "init", "--config", serverConf, "--address", "10.78.0.1/24", "--endpoint", topology.ServerUnderlayV4 + ":51820");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(serverConf));
            Assert.NotEqual(0, Jvpn(expectFailure: true, "server", "init", "--config", serverConf).ExitCode);

            // The server runs before the peer exists: add-peer must add it live over UAPI, no restart.
            ManagedProcess server = topology.Server.Start(Binaries.Dotnet(), [Binaries.JvpnDll, "up", serverConf]);
            WaitForSocket(server, serverName);
            CommandResult added = Jvpn("server", "add-peer", "laptop", "--config", serverConf, "--allowed-ips", "10.78.0.0/24");
            Assert.Contains("to the running interface " + serverName, added.StandardError, StringComparison.Ordinal);
            Assert.Contains("Address = 10.78.0.2/32", added.StandardOutput, StringComparison.Ordinal);
            // The live peer carries its name: `jvpn status` shows it without a restart, in text and JSON.
            Assert.Contains("  name: laptop\n", Jvpn("status", serverName).StandardOutput, StringComparison.Ordinal);
            using (var status = System.Text.Json.JsonDocument.Parse(Jvpn("status", serverName, "--json").StandardOutput))
            {
                Assert.Equal("laptop", status.RootElement.GetProperty("interfaces")[0].GetProperty("peers")[0].GetProperty("name").GetString());
            }
            File.WriteAllText(clientConf, added.StandardOutput);
            File.SetUnixFileMode(clientConf, UnixFileMode.UserRead | UnixFileMode.UserWrite);

            ManagedProcess client = topology.Client.Start(Binaries.Dotnet(), [Binaries.JvpnDll, "up", clientConf]);
            WaitForSocket(client, clientName);
            Assert.True(Ping.WaitForReply(topology.Client, "10.78.0.1", Ready),
                $"no ping reply through the provisioned tunnel\n{server.Describe()}\n{client.Describe()}\n--- server config ---\n{File.ReadAllText(serverConf)}");
        }
        finally
        {
            File.Delete($"/var/run/wireguard/{serverName}.sock");
            File.Delete($"/var/run/wireguard/{clientName}.sock");
            Directory.Delete(dir, recursive: true);
        }
    }

    private static CommandResult Jvpn(params string[] arguments) => Jvpn(false, arguments);

    private static CommandResult Jvpn(bool expectFailure, params string[] arguments)
    {
        CommandResult r = Command.TryRun(Binaries.Dotnet(), [Binaries.JvpnDll, .. arguments], TimeSpan.FromSeconds(30));
        if (!expectFailure && r.ExitCode != 0)
        {
            Assert.Fail($"{r.CommandLine} exited {r.ExitCode}\n{r.StandardError}");
        }
        return r;
    }

    private static void WaitForSocket(ManagedProcess process, string interfaceName) =>
        ReadyWait.UntilSocketAnswers(process, $"/var/run/wireguard/{interfaceName}.sock", Ready, interfaceName + "'s UAPI socket");
}
