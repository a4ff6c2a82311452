namespace JumpingVpn.Tests.Infrastructure;

/// <summary>jvpn under test: `dotnet jvpn.dll up DIR/IFNAME.conf` in the foreground. Like wg-quick,
/// jvpn takes the interface name from the file name and configures addresses, MTU and routes itself.</summary>
internal sealed class JvpnPeer : TunnelPeer
{
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(20);

    private JvpnPeer(NetNs ns, string interfaceName, TunnelConfig config)
        : base(ns, interfaceName, config)
    {
    }

    public override PeerKind Kind => PeerKind.Jvpn;

    public string ConfigPath { get; private set; } = "";

    /// <param name="verb">The subcommand that runs the interface: `up` (default), or e.g. `service run`.</param>
    /// <param name="interfaceName">A fixed name (e.g. to restart a crashed interface); a fresh unique one when null.</param>
    /// <param name="executable">A jvpn executable to run instead of `dotnet jvpn.dll` (e.g. the packaged one).</param>
    public static JvpnPeer Start(NetNs ns, TunnelConfig config, IReadOnlyDictionary<string, string>? environment = null, IReadOnlyList<string>? verb = null,
        string? interfaceName = null, string? executable = null)
    {
        var peer = new JvpnPeer(ns, interfaceName ?? "jvj" + NetNs.RandomHex(3), config);
        try
        {
            peer.ConfigPath = peer.WriteFile(peer.InterfaceName + ".conf", config.ToWgQuick());
            peer.Process = executable is null
                ? ns.Start(Binaries.Dotnet(), [Binaries.JvpnDll, .. verb ?? ["up"], peer.ConfigPath], environment)
                : ns.Start(executable, [.. verb ?? ["up"], peer.ConfigPath], environment);
            peer.WaitUntilReady(ReadyTimeout);
            return peer;
        }
        catch
        {
            peer.Dispose();
            throw;
        }
    }

    /// <summary>Runs another jvpn subcommand (status, down, ...) inside the peer's namespace.</summary>
    public CommandResult Run(params string[] arguments) =>
        Namespace.TryExec(Binaries.Dotnet(), [Binaries.JvpnDll, .. arguments], TimeSpan.FromSeconds(20));
}
