using System.CommandLine;
using JumpingVpn.Cli;
using JumpingVpn.Cli.Commands;

// `jvpn up` runs as the natively compiled jvpn-tunnel where the package ships it, for an idle client's memory
// and start-up (docs/performance.md "Idle client memory and start-up"); this returns only when it does not.
TunnelExecutable.ExecIfPresent(args);

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

// User mistakes and OS refusals become one line naming the problem and the fix, never a stack trace.
return UserErrors.ParseAndRun(root, args);
