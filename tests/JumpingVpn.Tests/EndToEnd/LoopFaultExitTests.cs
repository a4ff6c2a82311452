using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.EndToEnd;

/// <summary>
/// A packet loop that cannot continue ends `jvpn up` with a non-zero code, so a service manager restarts
/// it (docs/scaling.md, "Loop faults"). Deleting the interface under a running jvpn makes its TUN read
/// fail for good: before, the TUN thread ended and the process lived on without a data path.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class LoopFaultExitTests
{
    [Fact]
    public void Up_exits_with_code_70_when_its_tun_device_is_deleted_under_it()
    {
        Requirements.Ensure("jvpn", "wg");
        using TwoHostTopology topology = TwoHostTopology.Create();
        using TunnelPair tunnel = topology.StartTunnel(PeerKind.Jvpn, PeerKind.Jvpn);
        ManagedProcess process = tunnel.Client.Process!;

        CommandResult del = topology.Client.Ip("link", "del", tunnel.Client.InterfaceName);
        Assert.True(del.ExitCode == 0, del.StandardError);

        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)), "jvpn up kept running without its TUN device\n" + tunnel.Describe());
        Assert.True(process.ExitCode == 70, $"exit code {process.ExitCode}\n{process.Output}");
    }
}
