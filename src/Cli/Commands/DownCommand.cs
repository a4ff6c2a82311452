using System.CommandLine;
using JumpingVpn.Control.Uapi;

namespace JumpingVpn.Cli.Commands;

/// <summary>`jvpn down NAME`: asks the running `jvpn up` to tear down, and waits until it has.</summary>
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
        string socket = UapiPaths.SocketPath(name);
        string reply;
        try
        {
            reply = UapiClient.Request(name, "jvpn_down=1\n\n");
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
            Console.Error.WriteLine($"jvpn down: {name} is not a jvpn interface (its control socket does not understand 'down'); for wireguard-go use 'ip link del {name}'");
            return ExitCodes.InterfaceState;
        }
        for (int i = 0; i < 100 && File.Exists(socket); i++)
        {
            Thread.Sleep(100);
        }
        if (File.Exists(socket))
        {
            Console.Error.WriteLine($"jvpn down: {name} did not stop within 10 s");
            return ExitCodes.Failure;
        }
        return ExitCodes.Ok;
    }
}
