using System.CommandLine;
using System.Globalization;
using JumpingVpn.Cli;
using JumpingVpn.LoadGen.Bench;
using JumpingVpn.Platform;

namespace JumpingVpn.LoadGen;

/// <summary>
/// `jvpn-loadgen control`: the control-plane load generator (docs/scaling.md). Needs root (it
/// runs `jvpn up` servers with a TUN device); run it inside a network namespace of your own, as
/// bench/control-scale.sh does, so the servers' TUN devices and the loopback traffic stay there.
/// Exit codes are jvpn's (README.md, "Exit codes").
/// </summary>
internal static class ControlCommand
{
    public static Command Create()
    {
        var sizes = new Option<string>("--sessions") { Description = "Comma-separated session counts, one fresh server each (e.g. 1000,10000,100000)", DefaultValueFactory = _ => "1000,10000" };
        var storm = new Option<int>("--storm") { Description = "Sessions that reattach at once in the storm", DefaultValueFactory = _ => 10_000 };
        var abuseAt = new Option<int>("--abuse-at") { Description = "Run the abuse phases on the run with this many sessions", DefaultValueFactory = _ => 10_000 };
        var abuseSeconds = new Option<double>("--abuse-seconds") { Description = "Length of each abuse phase", DefaultValueFactory = _ => 5 };
        var floodPps = new Option<double>("--flood-pps") { Description = "Rate each abuse flood offers, packets/s (0: as fast as one thread can send). A fixed rate compares builds whose servers leave the generator different amounts of CPU", DefaultValueFactory = _ => 0 };
        var soakAt = new Option<int>("--soak-at") { Description = "Run the churn soak on the run with this many sessions", DefaultValueFactory = _ => 10_000 };
        var soakSeconds = new Option<double>("--soak-seconds") { Description = "Length of the churn soak (the issue's goal is 600)", DefaultValueFactory = _ => 60 };
        var samples = new Option<int>("--samples") { Description = "Keepalive and reattach round trips sampled per run", DefaultValueFactory = _ => 1000 };
        var port = new Option<int>("--port") { Description = "First server UDP port (one per run)", DefaultValueFactory = _ => 51900 };
        var prefix = new Option<string>("--name") { Description = "Server interface name prefix (the run index is appended)", DefaultValueFactory = _ => "jvb" };
        var workDir = new Option<string?>("--work-dir") { Description = "Where configs, peers files, audit logs and server logs go (default: a new temp directory)" };
        var json = new Option<string?>("--json") { Description = "Also write the results as JSON to this file" };
        var floodClients = new Option<int>("--flood-clients") { Description = "New clients whose first handshake is timed during a keyless flood from 250 sources (0: skip that phase)", DefaultValueFactory = _ => 100 };
        var floodSpacing = new Option<int>("--flood-client-spacing-ms") { Description = "Milliseconds between two new clients of the flood phase", DefaultValueFactory = _ => 20 };
        var floodWireGuardGo = new Option<bool>("--flood-compare-wireguard-go") { Description = "Also run the flood phase against wireguard-go servers (/usr/bin/wireguard-go and the WG_ANCHOR build)", DefaultValueFactory = _ => true };
        var floodOnly = new Option<bool>("--flood-only") { Description = "Run only the keyless-flood handshake phase" };
        var keylessPps = new Option<double?>("--keyless-flood-pps") { Description = "Rate of the keyless flood in that phase, packets/s (default: --flood-pps). A rate the server's receive thread sustains keeps kernel queue drops out of the figure" };
        var abuseOnly = new Option<bool>("--abuse-only") { Description = "Run only the abuse phases (with --abuse-at sessions), once per --receive-threads count" };
        var abuseRepeats = new Option<int>("--abuse-repeats") { Description = "With --abuse-only: rounds over the receive-thread counts", DefaultValueFactory = _ => 1 };
        var receiveThreads = new Option<string?>("--receive-threads") { Description = "The servers' [Jumping] ReceiveThreads: one count, or with --abuse-only a comma-separated list compared in one run (default: the server's own default)" };
        var control = new Command("control", "Control-plane load generator: N clients with real handshakes + HELLO against real jvpn servers, storms, abuse, soak.")
        {
            sizes, storm, abuseAt, abuseSeconds, floodPps, soakAt, soakSeconds, samples, port, prefix, workDir, json,
            floodClients, floodSpacing, floodWireGuardGo, floodOnly, keylessPps, abuseOnly, abuseRepeats, receiveThreads,
        };
        control.SetAction(parse =>
        {
            if (!JumpingVpn.Control.Hosting.HostComposition.Current.HasNetAdmin())
            {
                Console.Error.WriteLine("jvpn-loadgen control: needs root (it starts `jvpn up` servers); run it in a network namespace, e.g. via bench/control-scale.sh");
                return ExitCodes.NoPrivilege;
            }
            var list = new List<int>();
            foreach (string s in parse.GetValue(sizes)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 2)
                {
                    Console.Error.WriteLine($"jvpn-loadgen control: --sessions: `{s}` is not a session count of at least 2");
                    return ExitCodes.Usage;
                }
                list.Add(n);
            }
            var threads = new List<int>();
            foreach (string s in (parse.GetValue(receiveThreads) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int t) || t < 1 || t > JumpingVpn.Control.Hosting.JumpingOptions.MaxReceiveThreads)
                {
                    Console.Error.WriteLine($"jvpn-loadgen control: --receive-threads: `{s}` is not a count from 1 to {JumpingVpn.Control.Hosting.JumpingOptions.MaxReceiveThreads}");
                    return ExitCodes.Usage;
                }
                threads.Add(t);
            }
            if (threads.Count > 1 && !parse.GetValue(abuseOnly))
            {
                Console.Error.WriteLine("jvpn-loadgen control: --receive-threads: a list of counts needs --abuse-only (the full suite runs one server configuration)");
                return ExitCodes.Usage;
            }
            if (parse.GetValue(abuseRepeats) < 1)
            {
                Console.Error.WriteLine("jvpn-loadgen control: --abuse-repeats: give at least 1");
                return ExitCodes.Usage;
            }
            string dir = parse.GetValue(workDir) ?? Directory.CreateTempSubdirectory("jvpn-bench-").FullName;
            var options = new ControlBenchOptions
            {
                Sizes = list,
                StormSize = parse.GetValue(storm),
                AbuseAt = parse.GetValue(abuseAt),
                AbuseSeconds = parse.GetValue(abuseSeconds),
                FloodPps = parse.GetValue(floodPps),
                SoakAt = parse.GetValue(soakAt),
                SoakSeconds = parse.GetValue(soakSeconds),
                Samples = parse.GetValue(samples),
                Port = parse.GetValue(port),
                InterfacePrefix = parse.GetValue(prefix)!,
                WorkDirectory = dir,
                FloodClients = parse.GetValue(floodClients),
                FloodClientSpacingMs = parse.GetValue(floodSpacing),
                FloodCompareWireGuardGo = parse.GetValue(floodWireGuardGo),
                FloodOnly = parse.GetValue(floodOnly),
                KeylessFloodPps = parse.GetValue(keylessPps),
                AbuseOnly = parse.GetValue(abuseOnly),
                AbuseRepeats = parse.GetValue(abuseRepeats),
                ReceiveThreads = threads,
            };
            Console.Out.WriteLine($"jvpn-loadgen control: work directory {dir}");
            BenchReport report = new ControlBench(options, Console.Out).Run();
            Console.Out.WriteLine();
            Console.Out.Write(report.Table());
            if (parse.GetValue(json) is { } path)
            {
                using FileStream f = File.Create(path);
                report.WriteJson(f, new Dictionary<string, string>
                {
                    ["machine"] = Environment.MachineName,
                    ["cores"] = Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture),
                    ["runtime"] = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
                    ["utc"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
                    ["sessions_option"] = parse.GetValue(sizes)!,
                    ["soak_seconds_option"] = options.SoakSeconds.ToString(CultureInfo.InvariantCulture),
                    // Other work on the machine skews latencies; the load average says how busy it was.
                    ["loadavg_at_end"] = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a",
                });
            }
            return ExitCodes.Ok;
        });
        return control;
    }
}
