using System.CommandLine;
using JumpingVpn.Control.Config;
using JumpingVpn.Control.Hosting;
using JumpingVpn.Control.Interface;
using JumpingVpn.Platform;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace JumpingVpn.Cli.Commands;

/// <summary>
/// `jvpn service run CONFIG` (hidden): the command line the Windows service runs (packaging/windows/install.ps1
/// registers `"...\jvpn.exe" service run "%ProgramData%\jvpn\NAME.conf"` as service jvpn-NAME). It hosts the
/// interface in a .NET generic host with the Windows service lifetime (Microsoft.Extensions.Hosting.WindowsServices),
/// so the process answers the service control manager at once and is not killed with error 1053, stops
/// cleanly on a service stop or shutdown, and logs to the Windows event log. Outside a service (a
/// console, or Linux where systemd runs `jvpn up`) the same host runs with the console lifetime: Ctrl-C
/// and SIGTERM stop it, which makes it testable anywhere. `jvpn down NAME` stops it in both cases.
/// `jvpn service remove-driver` removes the Wintun driver at uninstall (packaging/windows/uninstall.ps1).
/// </summary>
internal static class ServiceCommand
{
    public static Command Create()
    {
        var config = new Argument<string>("CONFIG") { Description = "Path to NAME.conf, or NAME" };
        var run = new Command("run", "Run one tunnel as a service (what the Windows service manager starts).") { config };
        run.SetAction(parse => Run(parse.GetValue(config)!));
        var removeDriver = new Command("remove-driver", "Remove the Wintun driver once no adapter uses it (Windows; run by uninstall.ps1).");
        removeDriver.SetAction(_ => RemoveDriver());
        var service = new Command("service", "Service-manager entry points (used by the Windows service).") { Hidden = true };
        service.Subcommands.Add(run);
        service.Subcommands.Add(removeDriver);
        return service;
    }

    /// <summary>The Windows service name install.ps1 uses for an interface.</summary>
    internal static string ServiceName(string interfaceName) => "jvpn-" + interfaceName;

    private static int Run(string configArg)
    {
        TunnelConfig config = TunnelConfigParser.ParseFile(TunnelConfigParser.ResolveConfigPath(configArg));
        // Typed once at load, like `jvpn up`: a bad [Jumping] value stops here, before the service starts.
        JumpingOptions options = JumpingOptionsParser.Parse(config);
        if (!HostComposition.Current.HasNetAdmin())
        {
            Console.Error.WriteLine($"jvpn service run: creating interface {config.InterfaceName} {HostComposition.Current.PrivilegeRequirement}");
            return ExitCodes.NoPrivilege;
        }
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            // No appsettings.json, environment or command-line configuration: the config file is the config.
            DisableDefaults = true,
            ApplicationName = "jvpn",
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        Logging.Configure(builder.Logging);
        // The host would log a start failure again with its stack trace; TunnelService logs it in one line.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
        // A no-op unless the service control manager started this process; then it also adds the event log.
        builder.Services.AddWindowsService(o => o.ServiceName = ServiceName(config.InterfaceName));
        builder.Services.AddSingleton(options);
        builder.Services.AddHostedService<TunnelService>();
        using IHost host = builder.Build();
        host.Run();
        return ExitCodes.Ok;
    }

    private static int RemoveDriver()
    {
        if (!HostComposition.Current.WintunDriver)
        {
            Console.Error.WriteLine("jvpn service remove-driver: the Wintun driver exists only on Windows");
            return ExitCodes.Failure;
        }
        if (!HostComposition.Current.HasNetAdmin())
        {
            Console.Error.WriteLine($"jvpn service remove-driver: {HostComposition.Current.PrivilegeRequirement}");
            return ExitCodes.NoPrivilege;
        }
        Platform.Tun.Windows.WintunDriver.Remove(); // PlatformException → one line and exit 1 (Program.cs)
        return ExitCodes.Ok;
    }

    /// <summary>Brings the interface up when the host starts and down when it stops.</summary>
    private sealed class TunnelService(JumpingOptions options, ILoggerFactory loggers, IHostApplicationLifetime lifetime) : IHostedService
    {
        private InterfaceHost? _interface;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            ILogger logger = loggers.CreateLogger("jvpn");
            TunnelConfig config = options.Config;
            foreach (string warning in config.Warnings)
            {
                logger.LogWarning("{Warning}", warning);
            }
            // Failures are logged in one line (the event log when a service), then propagate: the host stops,
            // host.Run throws, Program maps the exception to an exit code and one line on stderr, and the
            // service manager sees a failed service (and restarts it).
            try
            {
                _interface = InterfaceHost.Start(options, logger);
            }
            catch (Exception ex)
            {
                logger.LogError("{Name}: cannot start: {Message}", config.InterfaceName, ex.Message);
                throw;
            }
            _interface.DownRequested += lifetime.StopApplication;
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            loggers.CreateLogger("jvpn").LogInformation("{Name}: shutting down", options.Config.InterfaceName);
            _interface?.Dispose();
            _interface = null;
            return Task.CompletedTask;
        }
    }
}
