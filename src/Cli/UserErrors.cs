using System.CommandLine;
using JumpingVpn.Control.Config;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Platform;

namespace JumpingVpn.Cli;

/// <summary>
/// User mistakes and OS refusals become one line naming the problem and the fix and an exit code from
/// <see cref="ExitCodes"/>, never a stack trace. Shared by `jvpn` and `jvpn-tunnel` (docs/performance.md
/// "Idle client memory and start-up"), so `jvpn up` fails the same way in either executable.
/// </summary>
internal static class UserErrors
{
    /// <summary>
    /// Parses <paramref name="args"/> against <paramref name="root"/> and runs the command: a parse error is one
    /// line per problem plus where to find the usage (exit <see cref="ExitCodes.Usage"/>), anything else goes
    /// through <see cref="Run"/>.
    /// </summary>
    public static int ParseAndRun(RootCommand root, string[] args)
    {
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
        return Run(() => parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));
    }

    public static int Run(Func<int> command)
    {
        try
        {
            return command();
        }
        catch (ConfigException ex)
        {
            return Report(ex, ExitCodes.BadConfig);
        }
        catch (UapiInterfaceNotRunningException ex)
        {
            return Report(ex, ExitCodes.InterfaceState);
        }
        catch (PlatformException ex)
        {
            return Report(ex, ExitCodes.Of(ex.Kind));
        }
        catch (UapiException ex)
        {
            return Report(ex, ExitCodes.Failure);
        }
        catch (IOException ex)
        {
            return Report(ex, ExitCodes.Failure);
        }
        catch (DllNotFoundException ex)
        {
            // E.g. wintun.dll missing next to jvpn.exe: WintunLoader's message says where to put it.
            return Report(ex, ExitCodes.Failure);
        }
        catch (PlatformNotSupportedException ex)
        {
            return Report(ex, ExitCodes.Failure);
        }
    }

    private static int Report(Exception ex, int exitCode)
    {
        Console.Error.WriteLine($"jvpn: {ex.Message}");
        return exitCode;
    }
}
