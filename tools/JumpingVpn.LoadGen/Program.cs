using System.CommandLine;
using JumpingVpn.Cli;
using JumpingVpn.LoadGen;

var root = new RootCommand("jvpn-loadgen: load generators for jvpn servers (docs/scaling.md).")
{
    ControlCommand.Create(),
    FailoverCommand.Create(),
};

ParseResult parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    foreach (var error in parsed.Errors)
    {
        Console.Error.WriteLine($"jvpn-loadgen: {error.Message}");
    }
    Console.Error.WriteLine("Run 'jvpn-loadgen --help' for usage.");
    return ExitCodes.Usage;
}

// A server that does not come up, or a work directory that cannot be written, is one line, not a stack trace.
try
{
    return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (IOException ex)
{
    Console.Error.WriteLine($"jvpn-loadgen: {ex.Message}");
    return ExitCodes.Failure;
}
