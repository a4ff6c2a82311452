using System.CommandLine;
using System.Globalization;
using JumpingVpn.Control.Uapi;

namespace JumpingVpn.Cli.Commands;

/// <summary>
/// `jvpn events NAME [--follow]`: the session layer's audit events (JSON Lines, docs/session-spec.md §6.2) from
/// the running interface's control socket. Without --follow: the recent events the daemon keeps; with
/// --follow: then every new one, until Ctrl-C (polled every 200 ms with a cursor, so nothing is missed
/// unless the daemon's buffer overflowed, which shows as an AUDIT_GAP line).
/// </summary>
internal static class EventsCommand
{
    public static Command Create()
    {
        var name = new Argument<string>("NAME") { Description = "Interface name" };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing new events until interrupted" };
        var json = new Option<bool>("--json") { Description = "JSON Lines output (the default and only format; accepted for symmetry with status)" };
        var cmd = new Command("events", "Print the session layer's audit events (JSON Lines) of a running interface.") { name, follow, json };
        cmd.SetAction((parse, cancel) => Task.FromResult(Run(parse.GetValue(name)!, parse.GetValue(follow), cancel)));
        return cmd;
    }

    private static int Run(string name, bool follow, CancellationToken cancel)
    {
        long cursor = 0;
        do
        {
            string reply = UapiClient.Request(name, $"jvpn_events=1\ncursor={cursor.ToString(CultureInfo.InvariantCulture)}\n\n");
            if (reply.Contains("errno=-", StringComparison.Ordinal))
            {
                Console.Error.WriteLine($"jvpn events: {name} is not a jvpn interface (no session layer events)");
                return ExitCodes.InterfaceState;
            }
            foreach (string line in reply.Split('\n'))
            {
                if (line.StartsWith("cursor=", StringComparison.Ordinal))
                {
                    cursor = long.Parse(line.AsSpan(7), NumberStyles.Integer, CultureInfo.InvariantCulture);
                }
                else if (line.StartsWith('{'))
                {
                    Console.Out.WriteLine(line);
                }
            }
            Console.Out.Flush();
        }
        while (follow && !cancel.WaitHandle.WaitOne(200));
        return ExitCodes.Ok;
    }
}
