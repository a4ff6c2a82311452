using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using JumpingVpn.Control.Config;
using JumpingVpn.Control.Hosting;
using JumpingVpn.Control.Interface;
using JumpingVpn.Platform;
using Microsoft.Extensions.Logging;

namespace JumpingVpn.Cli.Commands;

/// <summary>
/// `jvpn up CONFIG`: runs the interface in the foreground until SIGINT/SIGTERM or `jvpn down NAME`,
/// then tears everything down. The interface is named after the config file, as with wg-quick.
/// </summary>
internal static class UpCommand
{
    public static Command Create()
    {
        var config = new Argument<string>("CONFIG")
        {
            Description = "Path to NAME.conf (wg-quick format), or a bare NAME meaning /etc/wireguard/NAME.conf",
        };
        var foreground = new Option<bool>("--foreground", "-f")
        {
            Description = "Stay in the foreground (the default; jvpn up always runs in the foreground, use a service manager to detach)",
        };
        var store = new Option<string?>("--store")
        {
            Description = "Session store for a server cluster (overrides [Jumping] Store): memory or redis://HOST:PORT[/DB][?prefix=NAME]",
        };
        var cmd = new Command("up", "Bring up a tunnel interface from a wg-quick config and run it until stopped.") { config, foreground, store };
        cmd.SetAction(parse => Run(parse.GetValue(config)!, parse.GetValue(store)));
        return cmd;
    }

    private static int Run(string configArg, string? storeUrl)
    {
        TunnelConfig config = TunnelConfigParser.ParseFile(TunnelConfigParser.ResolveConfigPath(configArg));
        // Every [Jumping] value is typed here (docs/configuration.md §1): a bad one is a config error
        // naming file, line and key, reported before anything touches the system.
        JumpingOptions options = JumpingOptionsParser.Parse(config, storeUrl);
        foreach (string warning in config.Warnings)
        {
            Console.Error.WriteLine($"Warning: {warning}");
        }
        if (!HostComposition.Current.HasNetAdmin())
        {
            Console.Error.WriteLine($"jvpn up: creating interface {config.InterfaceName} {HostComposition.Current.PrivilegeRequirement}");
            return ExitCodes.NoPrivilege;
        }
        using ILoggerFactory loggers = StderrLoggerFactory.FromEnvironment();
        ILogger logger = loggers.CreateLogger("jvpn");
        long? rekey = null;
        if (int.TryParse(Environment.GetEnvironmentVariable("JVPN_REKEY_AFTER_SECONDS"), NumberStyles.None, CultureInfo.InvariantCulture, out int rekeySeconds) && rekeySeconds > 0)
        {
            rekey = rekeySeconds * 1_000_000_000L;
            logger.LogWarning("JVPN_REKEY_AFTER_SECONDS={Seconds}: rekeying early (testing only)", rekeySeconds);
        }
        using var stop = new ManualResetEventSlim();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => { ctx.Cancel = true; stop.Set(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; stop.Set(); });
        using InterfaceHost host = InterfaceHost.Start(options, logger, rekey);
        host.DownRequested += stop.Set;
        stop.Wait();
        logger.LogInformation("{Name}: shutting down", config.InterfaceName);
        return ExitCodes.Ok;
    }
}
