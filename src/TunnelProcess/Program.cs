using System.CommandLine;
using JumpingVpn.Cli;
using JumpingVpn.Cli.Commands;

// jvpn-tunnel: what `jvpn up` execs (docs/performance.md "Idle client memory and start-up"). argv[0] is this
// file and the rest is jvpn's own command line, "up CONFIG [options]", parsed by the same UpCommand.
var root = new RootCommand("jvpn-tunnel: runs `jvpn up`; start it through jvpn.") { UpCommand.Create() };

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

return UserErrors.Run(() => parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));
