using System.CommandLine;
using JumpingVpn.Control.Hosting;
using JumpingVpn.Control.KillSwitch;

namespace JumpingVpn.Cli.Commands;

/// <summary>
/// `jvpn killswitch NAME [on|off|status] [--allow-lan|--block-lan]`: the "block untunneled traffic" toggle of a
/// running full tunnel, and the way to see or lift the lockdown a crashed jvpn left (docs/platform.md §4.8). With
/// `on`, `--allow-lan` lets the path interfaces' private subnets through and `--block-lan` blocks them again; `on`
/// alone keeps the tunnel's setting (`[Jumping] KillSwitchAllowLan`). The UI's toggle calls the same
/// <see cref="KillSwitchControl"/>.
/// </summary>
internal static class KillSwitchCommand
{
    public static Command Create()
    {
        var name = new Argument<string>("NAME") { Description = "Interface name (the config file name without .conf)" };
        var action = new Argument<string>("ACTION")
        {
            Description = "on, off or status (the default)",
            DefaultValueFactory = _ => "status",
        };
        action.AcceptOnlyFromAmong("on", "off", "status");
        var allowLan = new Option<bool>("--allow-lan") { Description = "With on: let traffic reach the private subnets of the path interfaces (LAN printers, the router); DNS stays in the tunnel" };
        var blockLan = new Option<bool>("--block-lan") { Description = "With on: block the LAN like everything else outside the tunnel" };
        var cmd = new Command("killswitch", "Block all traffic outside a full tunnel (on), allow it again (off), or show the state (status).") { name, action, allowLan, blockLan };
        cmd.SetAction(parse => Run(parse.GetValue(name)!, parse.GetValue(action)!, parse.GetValue(allowLan), parse.GetValue(blockLan)));
        return cmd;
    }

    private static int Run(string name, string action, bool allowLan, bool blockLan)
    {
        if ((allowLan || blockLan) && (action != "on" || (allowLan && blockLan)))
        {
            Console.Error.WriteLine($"jvpn killswitch: --allow-lan and --block-lan go with 'on', one of them at a time (e.g. 'jvpn killswitch {name} on --allow-lan')");
            return ExitCodes.Usage;
        }
        if (action != "status" && !HostComposition.Current.HasNetAdmin())
        {
            Console.Error.WriteLine($"jvpn killswitch: changing the kill switch of {name} {HostComposition.Current.PrivilegeRequirement}");
            return ExitCodes.NoPrivilege;
        }
        var control = new KillSwitchControl(HostComposition.Current.Uapi, HostComposition.Current.KillSwitch);
        try
        {
            KillSwitchState state = action switch
            {
                "on" => control.Set(name, on: true, allowLan ? true : blockLan ? false : null),
                "off" => control.Set(name, on: false),
                _ => control.Status(name),
            };
            Console.WriteLine(state.Describe());
            return ExitCodes.Ok;
        }
        catch (KillSwitchException ex)
        {
            Console.Error.WriteLine($"jvpn killswitch: {ex.Message}");
            return ExitCodes.InterfaceState;
        }
    }
}
