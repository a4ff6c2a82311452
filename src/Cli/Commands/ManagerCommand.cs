using System.CommandLine;
using System.Runtime.InteropServices;
using JumpingVpn.Control.Hosting;
using JumpingVpn.Ui.Hosting;
using JumpingVpn.Ui.Manager;
using JumpingVpn.Ui.SignIn;
using JumpingVpn.Control.KillSwitch;
using JumpingVpn.Ui.Events;
using JumpingVpn.Ui.KillSwitch;
using JumpingVpn.Ui.Server;
using JumpingVpn.Ui.Tunnel;
using JumpingVpn.Ui.Tunnels;

namespace JumpingVpn.Cli.Commands;

/// <summary>
/// `jvpn manager`: the privileged service behind the desktop UI (docs/ui.md "The manager"). It runs each active
/// tunnel of its config directory as a `jvpn up` child, serves the UI on 127.0.0.1 and hands out sign-in links
/// over its local socket to root and group jvpn. Runs until SIGINT/SIGTERM, then stops its tunnels.
/// </summary>
internal static class ManagerCommand
{
    public const int DefaultUiPort = 7321;

    public static Command Create()
    {
        var configDir = new Option<string>("--config-dir") { Description = "Directory of NAME.conf tunnel configs", DefaultValueFactory = _ => "/etc/jvpn" };
        var stateDir = new Option<string>("--state-dir") { Description = "Where the manager remembers active and start-at-boot tunnels", DefaultValueFactory = _ => "/var/lib/jvpn" };
        var uiPort = new Option<int>("--ui-port") { Description = "TCP port of the UI on 127.0.0.1 (0 picks a free one)", DefaultValueFactory = _ => DefaultUiPort };
        var socket = new Option<string>("--socket") { Description = "The sign-in socket `jvpn ui` asks (Linux)", DefaultValueFactory = _ => SignInProtocol.DefaultSocketPath };
        var cmd = new Command("manager", "Run the tunnel manager (privileged; starts tunnels from its config directory) and the local web UI that `jvpn ui` opens.") { configDir, stateDir, uiPort, socket };
        cmd.SetAction((parse, cancel) => RunAsync(parse.GetValue(configDir)!, parse.GetValue(stateDir)!, parse.GetValue(uiPort), parse.GetValue(socket)!));
        return cmd;
    }

    private static async Task<int> RunAsync(string configDir, string stateDir, int uiPort, string socketPath)
    {
        if (uiPort is < 0 or > 65535)
        {
            Console.Error.WriteLine($"jvpn manager: --ui-port {uiPort} is not a TCP port (0 to 65535)");
            return ExitCodes.Usage;
        }
        if (!HostComposition.Current.HasNetAdmin())
        {
            Console.Error.WriteLine($"jvpn manager: starting tunnels {HostComposition.Current.PrivilegeRequirement}");
            return ExitCodes.NoPrivilege;
        }
        using var stop = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => { ctx.Cancel = true; stop.Cancel(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; stop.Cancel(); });

        await using TunnelManager manager = TunnelManager.Start(new ManagerOptions
        {
            ConfigDirectory = configDir,
            StateDirectory = stateDir,
            Child = SelfCommand(),
        });
        // Every part of the UI (docs/ui.md "Layout"); they read tunnels through the manager's directory and
        // running interfaces over their control sockets.
        IUiModule[] modules =
        [
            new TunnelsModule(manager),
            new TunnelModule(manager, TimeProvider.System),
            new EventsModule(manager),
            new ServerModule(manager),
            new KillSwitchModule(new KillSwitchControl(HostComposition.Current.Uapi, HostComposition.Current.KillSwitch)),
        ];
        await using UiHost host = await UiHost.StartAsync(new UiHostOptions { Port = uiPort }, modules, stop.Token);
        IAsyncDisposable signIn = HostComposition.Current.FileOwnership
            ? UnixSignInSocket.Start(socketPath, host.IssueSignInUrl)
            : HostComposition.Current.NativeNamedPipes
                ? WindowsSignInPipe.Start(host.IssueSignInUrl)
                : throw new PlatformNotSupportedException("jvpn manager runs on Linux and Windows");
        await using (signIn)
        {
            Console.Out.WriteLine($"jvpn manager: UI at {host.BaseAddress} (open it with `jvpn ui`), {manager.Tunnels().Count} tunnel(s) in {manager.Configs.Path}, sign-in socket {socketPath}");
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token);
            }
            catch (OperationCanceledException)
            {
                Console.Out.WriteLine("jvpn manager: stopping tunnels");
            }
        }
        return ExitCodes.Ok;
    }

    /// <summary>How to run this very jvpn for a tunnel: the apphost itself, or `dotnet jvpn.dll` in a framework-dependent run.</summary>
    private static ChildCommand SelfCommand()
    {
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("the manager cannot find its own executable");
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            // Framework-dependent (development, tests): jvpn.dll sits beside the other assemblies.
            return new ChildCommand(self, [Path.Combine(AppContext.BaseDirectory, "jvpn.dll")]);
        }
        return new ChildCommand(self, []);
    }
}
