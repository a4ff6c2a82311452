using System.CommandLine;
using JumpingVpn.Cli;
using JumpingVpn.Cli.Commands;

// jvpn-tunnel: what `jvpn up` execs (docs/performance.md "Idle client memory and start-up"). argv[0] is this
// file and the rest is jvpn's own command line, "up CONFIG [options]", parsed by the same UpCommand.
var root = new RootCommand("jvpn-tunnel: runs `jvpn up`; start it through jvpn.") { UpCommand.Create() };

return UserErrors.ParseAndRun(root, args);
