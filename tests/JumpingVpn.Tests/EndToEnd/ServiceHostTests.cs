using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.EndToEnd;

/// <summary>
/// `jvpn service run CONFIG`, the Windows service's command line, run on Linux: outside a Windows service
/// the generic host uses the console lifetime, so the same hosting code (hosted service start/stop,
/// `jvpn down` → StopApplication, SIGTERM) is exercised here; only the service-control-manager handshake
/// itself needs Windows.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class ServiceHostTests
{
    private static readonly string[] ServiceRun = ["service", "run"];

    [Fact]
    public void Service_run_hosts_a_working_tunnel_and_down_stops_it_with_exit_code_0()
    {
        Requirements.Ensure("jvpn", "wg", "ping");
        using TwoHostTopology topology = TwoHostTopology.Create();
        using TunnelPair tunnel = topology.StartTunnel(PeerKind.Jvpn, PeerKind.Jvpn, jvpnVerb: ServiceRun);
        var client = (JvpnPeer)tunnel.Client;

        TunnelScenarios.AssertPing(tunnel, ipv6: false);
        CommandResult down = client.Run("down", client.InterfaceName);

        Assert.True(down.ExitCode == 0, $"{down.CommandLine}: {down.StandardError}");
        Assert.True(client.Process!.WaitForExit(TimeSpan.FromSeconds(10)), $"`jvpn down` did not stop the service host\n{tunnel.Describe()}");
        Assert.Equal(0, client.Process.ExitCode);
        Assert.False(File.Exists(client.SocketPath), $"{client.SocketPath} left behind");
    }

    [Fact]
    public void Service_run_stops_cleanly_on_sigterm()
    {
        Requirements.Ensure("jvpn", "wg");
        using TwoHostTopology topology = TwoHostTopology.Create();
        using TunnelPair tunnel = topology.StartTunnel(PeerKind.Jvpn, PeerKind.Jvpn, jvpnVerb: ServiceRun);
        ManagedProcess process = tunnel.Server.Process!;

        process.Signal();

        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(10)), $"the service host ignored SIGTERM\n{tunnel.Describe()}");
        Assert.False(File.Exists(tunnel.Server.SocketPath), $"{tunnel.Server.SocketPath} left behind");
        CommandResult link = Command.TryRun("ip", ["-n", tunnel.Server.Namespace.Name, "link", "show", "dev", tunnel.Server.InterfaceName]);
        Assert.True(link.ExitCode != 0, $"interface {tunnel.Server.InterfaceName} still exists");
    }
}
