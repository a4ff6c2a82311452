using System.CommandLine;
using System.Globalization;
using System.Net;
using JumpingVpn.Cli;
using JumpingVpn.LoadGen.Bench.Failover;

namespace JumpingVpn.LoadGen;

/// <summary>
/// `jvpn-loadgen failover`: the kill-the-owner scenario against a running cluster (docs/cluster.md
/// "Benchmark"). bench/cluster-failover.sh builds the namespaces, the store and the nodes, runs
/// `--prepare` first (keys and the peers file the nodes load), then the run itself in the clients'
/// namespace. Exit codes are jvpn's (README.md, "Exit codes").
/// </summary>
internal static class FailoverCommand
{
    public static Command Create()
    {
        var sessions = new Option<int>("--sessions") { Description = "Simulated clients (sessions), all attached to the first node", DefaultValueFactory = _ => 4 };
        var workDir = new Option<string>("--work-dir") { Description = "Keys, peers file and the nodes' audit logs (NODE_ID.audit.jsonl)", Required = true };
        var prepare = new Option<bool>("--prepare") { Description = "Only write server.key, server.pub, clients.key and clients.peers into --work-dir, then exit" };
        var nodes = new Option<string[]>("--node") { Description = "A node as ID=INTERFACE@IP:PORT (repeat; the first owns every session and is killed)", AllowMultipleArgumentsPerToken = false };
        var ownerPid = new Option<int>("--owner-pid") { Description = "PID of the first node's jvpn process (killed with SIGKILL once every session is steady)" };
        var bind = new Option<string>("--bind") { Description = "Local address of the clients' sockets (the clients' namespace)", DefaultValueFactory = _ => "0.0.0.0" };
        var sources = new Option<int>("--sources") { Description = "Spread the clients over this many source addresses from --source-base (1: only --bind)", DefaultValueFactory = _ => 1 };
        var sourceBase = new Option<string?>("--source-base") { Description = "First of the --sources consecutive addresses (local to this namespace, e.g. through `ip route add local PREFIX dev lo`)" };
        var drainOwner = new Option<bool>("--drain") { Description = "Drain the first node with SIGTERM (SESSION_MOVE to every client) instead of killing it" };
        var store = new Option<string>("--store-name") { Description = "Store label for the report (redis, etcd)", DefaultValueFactory = _ => "?" };
        var statusCmd = new Option<string?>("--store-status-command") { Description = "Shell command printing `jvpn cluster status --json` for the cluster's store" };
        var opsCmd = new Option<string?>("--store-ops-command") { Description = "Shell command printing the store's request counter (one integer)" };
        var heartbeat = new Option<long>("--heartbeat-ms") { Description = "KEEPALIVE interval per session (0: 100 ms, slower above 2000 sessions, at most 500 ms)", DefaultValueFactory = _ => 0 };
        var steady = new Option<double>("--steady-seconds") { Description = "Window before the kill over which the steady store load is measured", DefaultValueFactory = _ => 10 };
        var bound = new Option<double>("--bound-seconds") { Description = "Give up waiting for resumes this long after the kill", DefaultValueFactory = _ => 60 };
        var cpuPids = new Option<string[]>("--cpu-pid") { Description = "NAME=PID of a process whose CPU time during the takeover is reported (repeat)" };
        var spread = new Option<bool>("--spread") { Description = "Clients list the survivors in rotated orders, so every survivor takes some over (false: all list node 2 first)", DefaultValueFactory = _ => true };
        var json = new Option<string?>("--json") { Description = "Also write the result as JSON to this file" };
        var failover = new Command("failover", "Kill-the-owner scenario: N clients on node 1, node 1 killed, every session resumed on the survivors; gaps, resume times, store load, owners.")
        {
            sessions, workDir, prepare, nodes, ownerPid, bind, sources, sourceBase, drainOwner, store, statusCmd, opsCmd, heartbeat, steady, bound, cpuPids, spread, json,
        };
        failover.SetAction(parse =>
        {
            int n = parse.GetValue(sessions);
            string dir = parse.GetValue(workDir)!;
            if (n < 1)
            {
                Console.Error.WriteLine("jvpn-loadgen failover: --sessions must be at least 1");
                return ExitCodes.Usage;
            }
            if (parse.GetValue(prepare))
            {
                FailoverKeys.Write(dir, n);
                Console.Out.WriteLine($"jvpn-loadgen failover: keys for {n} clients and the peers file in {dir}");
                return ExitCodes.Ok;
            }
            var list = new List<FailoverNode>();
            foreach (string spec in parse.GetValue(nodes) ?? [])
            {
                if (!TryParseNode(spec, out FailoverNode? node))
                {
                    Console.Error.WriteLine($"jvpn-loadgen failover: --node `{spec}` is not ID=INTERFACE@IP:PORT");
                    return ExitCodes.Usage;
                }
                list.Add(node);
            }
            if (list.Count < 2 || parse.GetValue(ownerPid) <= 0 || !IPAddress.TryParse(parse.GetValue(bind), out IPAddress? local))
            {
                Console.Error.WriteLine("jvpn-loadgen failover: needs at least two --node, --owner-pid and a valid --bind (bench/cluster-failover.sh passes them)");
                return ExitCodes.Usage;
            }
            IReadOnlyList<IPAddress> addresses = [local];
            if (parse.GetValue(sources) != 1)
            {
                if (!IPAddress.TryParse(parse.GetValue(sourceBase), out IPAddress? first))
                {
                    Console.Error.WriteLine("jvpn-loadgen failover: --sources needs --source-base IP (the first of the addresses)");
                    return ExitCodes.Usage;
                }
                if (SourceAddresses.Range(first, parse.GetValue(sources), out string? problem) is not { } range)
                {
                    Console.Error.WriteLine($"jvpn-loadgen failover: --sources: {problem}");
                    return ExitCodes.Usage;
                }
                addresses = range;
            }
            var pids = new List<(string, int)>();
            foreach (string spec in parse.GetValue(cpuPids) ?? [])
            {
                int eq = spec.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0 || !int.TryParse(spec.AsSpan(eq + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
                {
                    Console.Error.WriteLine($"jvpn-loadgen failover: --cpu-pid `{spec}` is not NAME=PID");
                    return ExitCodes.Usage;
                }
                pids.Add((spec[..eq], pid));
            }
            var options = new FailoverBenchOptions
            {
                Sessions = n,
                Store = parse.GetValue(store)!,
                Nodes = list,
                OwnerPid = parse.GetValue(ownerPid),
                Sources = addresses,
                Drain = parse.GetValue(drainOwner),
                WorkDirectory = dir,
                HeartbeatMs = parse.GetValue(heartbeat),
                SteadySeconds = parse.GetValue(steady),
                BoundSeconds = parse.GetValue(bound),
                StoreStatusCommand = parse.GetValue(statusCmd),
                StoreOpsCommand = parse.GetValue(opsCmd),
                CpuPids = pids,
                Spread = parse.GetValue(spread),
            };
            FailoverResult result = new FailoverBench(options, Console.Out).Run();
            Console.Out.WriteLine();
            Console.Out.Write(FailoverResult.TableHeader());
            Console.Out.Write(result.TableRow());
            if (parse.GetValue(json) is { } path)
            {
                using FileStream f = File.Create(path);
                result.WriteJson(f, new Dictionary<string, string>
                {
                    ["cores"] = Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture),
                    ["runtime"] = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
                    ["utc"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
                    ["loadavg_at_end"] = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a",
                });
            }
            return ExitCodes.Ok;
        });
        return failover;
    }

    internal static bool TryParseNode(string spec, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out FailoverNode? node)
    {
        node = null;
        int eq = spec.IndexOf('=', StringComparison.Ordinal);
        int at = spec.IndexOf('@', StringComparison.Ordinal);
        if (eq <= 0 || at <= eq + 1 || !IPEndPoint.TryParse(spec[(at + 1)..], out IPEndPoint? ep) || ep.Port == 0)
        {
            return false;
        }
        node = new FailoverNode(spec[..eq], spec[(eq + 1)..at], ep);
        return true;
    }
}
