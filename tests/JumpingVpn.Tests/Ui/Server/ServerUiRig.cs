using JumpingVpn.Control.Provisioning;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Control.Uapi.Sessions;
using JumpingVpn.Tests.Control.Jumping.Server;
using JumpingVpn.Tests.Control.Uapi;
using JumpingVpn.Ui.Hosting;
using JumpingVpn.Ui.Server;

namespace JumpingVpn.Tests.Ui.Server;

/// <summary>
/// The server page's world without root: a server config file (<c>jvpn server init</c>'s), a tunnel directory
/// that lists it (plus a client tunnel), and a real UAPI socket for its interface in a temp directory answering
/// <c>set=1</c> (a recording device) and <c>jvpn_sessions=1</c> with the real listing over a
/// <see cref="FilledSessionTable"/>, exactly the handler a running interface uses.
/// </summary>
internal sealed class ServerUiRig : IAsyncDisposable
{
    public const string ServerName = "jvs0";

    private readonly UapiServer? _uapi;

    private ServerUiRig(string dir, FilledSessionTable table, bool running, string? extraJumping)
    {
        Directory = dir;
        SocketDirectory = Path.Combine(dir, "run");
        Table = table;
        ServerInitResult init = ServerInit.Create(new ServerInitOptions
        {
            Addresses = ServerInit.ParseAddresses("10.88.0.1/16"),
            ListenPort = 51888,
            Endpoint = ServerInit.ParseEndpoint("vpn.example.net", 51888),
        });
        ConfigPath = Path.Combine(dir, ServerName + ".conf");
        File.WriteAllText(ConfigPath, init.ConfigText + (extraJumping ?? ""));
        string clientPath = Path.Combine(dir, "laptop.conf");
        File.WriteAllText(clientPath, "[Interface]\nPrivateKey = " + Convert.ToBase64String(new byte[32]) + "\n");
        Tunnels = new FakeTunnels(
        [
            new TunnelEntry("laptop", "laptop", TunnelState.Inactive, clientPath, false),
            new TunnelEntry(ServerName, ServerName, running ? TunnelState.Active : TunnelState.Inactive, ConfigPath, true),
        ]);
        if (running)
        {
            _uapi = UapiServer.Start(ServerName, Device, socketDirectory: SocketDirectory);
            _uapi.Extension = (op, body) => op == SessionPageRequest.Operation ? Table.Source.Answer(body, Table.Context.NowMs(), out _) : null;
        }
    }

    public string Directory { get; }
    public string SocketDirectory { get; }
    public string ConfigPath { get; }
    public FilledSessionTable Table { get; }
    public FakeUapiDevice Device { get; } = new();
    public FakeTunnels Tunnels { get; }
    public UiTestClient Ui { get; private set; } = null!;

    /// <param name="running">Whether the server's interface is up (its UAPI socket answers).</param>
    /// <param name="extraJumping">Appended to the server config (e.g. a Store line under its [Jumping]).</param>
    public static async Task<ServerUiRig> StartAsync(int sessions, bool running = true, string? extraJumping = null,
        Func<JumpingVpn.Control.Cluster.StoreUrl, JumpingVpn.Control.Cluster.ISessionStore>? openStore = null, Action<TimeSpan>? wait = null,
        TimeProvider? time = null)
    {
        // Unix socket paths are short (108 bytes): a short temp directory.
        string dir = System.IO.Directory.CreateTempSubdirectory("jvui").FullName;
        var rig = new ServerUiRig(dir, new FilledSessionTable(sessions), running, extraJumping);
        rig.Ui = await UiTestClient.StartAsync(new ServerModule(rig.Tunnels, rig.SocketDirectory, openStore, wait, time));
        return rig;
    }

    public async ValueTask DisposeAsync()
    {
        await Ui.DisposeAsync();
        _uapi?.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // a socket file still closing; the temp directory is cleaned by the OS
        }
    }

    internal sealed class FakeTunnels(IReadOnlyList<TunnelEntry> entries) : ITunnelDirectory
    {
        public IReadOnlyList<TunnelEntry> List() => entries;

        public IReadOnlyList<TunnelLogLine> Log(string tunnel, int max) => [];
    }
}
