using System.CommandLine;
using JumpingVpn.Control.Hosting;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Control.Uapi.Transport;

namespace JumpingVpn.Cli.Commands;

/// <summary>`jvpn down NAME`: asks the running `jvpn up` to tear down, and waits until it has; with no jvpn running,
/// lifts the kill switch a crashed one left behind.</summary>
internal static class DownCommand
{
    public static Command Create()
    {
        var name = new Argument<string>("NAME") { Description = "Interface name (the config file name without .conf)" };
        var cmd = new Command("down", "Stop a running jvpn interface and remove its routes.") { name };
        cmd.SetAction(parse => Run(parse.GetValue(name)!));
        return cmd;
    }

    private static int Run(string name)
    {
        IUapiTransport transport = UapiTransports.Default;
        string reply;
        try
        {
            reply = UapiClient.Request(transport, name, "jvpn_down=1\n\n");
        }
        catch (UapiInterfaceNotRunningException) when (HostComposition.Current.KillSwitch is { } killSwitch && killSwitch.IsInstalled(name))
        {
            // A jvpn that ended without cleaning up (kill -9, crash) left its kill switch in place: lift the
            // lockdown, which is what `down` means for an interface that is already gone (docs/platform.md §4.8).
            killSwitch.Remove(name);
            Console.Error.WriteLine($"jvpn down: {name} was not running; removed the kill switch it left in place (traffic outside the tunnel flows again)");
            return ExitCodes.Ok;
        }
        catch (UapiInterfaceNotRunningException)
        {
            throw;
        }
        catch (UapiException)
        {
            reply = string.Empty; // the daemon closed the connection while shutting down: that is a yes
        }
        // Another userspace WireGuard (wireguard-go) answers an unknown operation with a negative errno.
        if (reply.Contains("errno=-", StringComparison.Ordinal))
        {
            Console.Error.WriteLine($"jvpn down: {name} is not a jvpn interface (its control socket does not understand 'down'); for wireguard-go stop its process (Linux: 'ip link del {name}')");
            return ExitCodes.InterfaceState;
        }
        // The control endpoint (socket file or pipe) goes away as the last step of the teardown.
        for (int i = 0; i < 100 && transport.Exists(name); i++)
        {
            Thread.Sleep(100);
        }
        if (transport.Exists(name))
        {
            Console.Error.WriteLine($"jvpn down: {name} did not stop within 10 s");
            return ExitCodes.Failure;
        }
        return ExitCodes.Ok;
    }
}
