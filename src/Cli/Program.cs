using System.CommandLine;
using JumpingVpn.Cli;
using JumpingVpn.Cli.Commands;
using JumpingVpn.Control.Config;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Platform;

var root = new RootCommand("jvpn: a WireGuard-compatible VPN whose sessions survive network changes.")
{
    KeyCommands.GenKey(),
    KeyCommands.PubKey(),
    KeyCommands.GenPsk(),
    UpCommand.Create(),
    DownCommand.Create(),
    KillSwitchCommand.Create(),
    StatusCommand.Create(),
    EventsCommand.Create(),
    ServerCommands.Create(),
    ClusterCommands.Create(),
    ServiceCommand.Create(),
    ManagerCommand.Create(),
    UiCommand.Create(),
};

ParseResult parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    foreach (var error in parsed.Errors)
    {
        Console.Error.WriteLine($"jvpn: {error.Message}");
    }
    Console.Error.WriteLine("Run 'jvpn --help' for usage.");
    return ExitCodes.Usage;
}

// User mistakes and OS refusals become one line naming the problem and the fix, never a stack trace.
try
{
    return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (ConfigException ex)
{
    Console.Error.WriteLine($"jvpn: {ex.Message}");
    return ExitCodes.BadConfig;
}
catch (UapiInterfaceNotRunningException ex)
{
    Console.Error.WriteLine($"jvpn: {ex.Message}");
    return ExitCodes.InterfaceState;
}
catch (PlatformException ex)
{
    Console.Error.WriteLine($"jvpn: {ex.Message}");
    return ExitCodes.Of(ex.Kind);
}
catch (UapiException ex)
{
    Console.Error.WriteLine($"jvpn: {ex.Message}");
    return ExitCodes.Failure;
}
catch (IOException ex)
{
    Console.Error.WriteLine($"jvpn: {ex.Message}");
    return ExitCodes.Failure;
}
catch (DllNotFoundException ex)
{
    // E.g. wintun.dll missing next to jvpn.exe: WintunLoader's message says where to put it.
    Console.Error.WriteLine($"jvpn: {ex.Message}");
    return ExitCodes.Failure;
}
catch (PlatformNotSupportedException ex)
{
    Console.Error.WriteLine($"jvpn: {ex.Message}");
    return ExitCodes.Failure;
}
