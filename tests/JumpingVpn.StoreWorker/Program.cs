using System.Globalization;
using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Sessions;

// A separate OS process writing to the shared session store, so the store contract tests can show that
// the CAS holds between processes, not only between threads of one process (docs/session-spec.md I6).
//   cas URL SESSION_ID ITERATIONS START_FILE   read + CAS(version -> version+1) in a loop; prints each version it wrote
//   acquire URL SESSION_ID NODE START_FILE      registers NODE, reads the record and its owner's heartbeat (judged
//                                               stale, as a survivor would after NodeTtl), one Acquire; prints the outcome
// Both connect, print "ready" and wait for START_FILE to exist, so the test can start every process's work
// at the same moment however slowly the processes themselves started.
if (args.Length < 5)
{
    Console.Error.WriteLine("usage: cas URL SESSION_ID ITERATIONS START_FILE | acquire URL SESSION_ID NODE START_FILE");
    return 2;
}
if (!StoreUrl.TryParse(args[1], out StoreUrl url, out string? problem) || !SessionId.TryParse(args[2], out SessionId id))
{
    Console.Error.WriteLine(problem ?? "bad session id");
    return 2;
}
// The password comes from the environment, as for `jvpn cluster status` without a config.
url = url with { Access = StoreAccess.Resolve(url, new Dictionary<string, string>(), null, Environment.GetEnvironmentVariable) };
using ISessionStore store = url.Open();
if (!store.Ping(out _))
{
    Console.Error.WriteLine("the store does not answer");
    return 1;
}
// The acquirer's judgement is made before the start signal, so only the acquires themselves race.
ulong nodeEpoch = 0;
AcquireExpectation expected = default;
if (args[0] == "acquire")
{
    nodeEpoch = store.RegisterNode(args[3]);
    if (nodeEpoch == 0 || store.Read(id).Current is not { } rec || store.ListNodes() is not { } nodes)
    {
        Console.Error.WriteLine("could not register, read the record or list the nodes");
        return 1;
    }
    expected = AcquireExpectation.Of(rec, ObservedBeat.Of(nodes.FirstOrDefault(n => n.NodeId == rec.OwnerNode)));
}
Console.WriteLine("ready");
for (int i = 0; i < 6000 && !File.Exists(args[4]); i++)
{
    Thread.Sleep(5);
}
if (!File.Exists(args[4]))
{
    Console.Error.WriteLine("no start signal within 30 s");
    return 1;
}
if (args[0] == "cas")
{
    int iterations = int.Parse(args[3], CultureInfo.InvariantCulture);
    int lost = 0;
    var written = new List<ulong>();
    for (int i = 0; i < iterations; i++)
    {
        StoreResult read = store.Read(id);
        if (read.Current is not { } cur)
        {
            Console.Error.WriteLine("read failed: " + read.Status);
            return 1;
        }
        StoreResult cas = store.CompareAndSwap(cur.StateVersion, cur with { StateVersion = cur.StateVersion + 1 }, 1000);
        if (cas.IsOk)
        {
            written.Add(cur.StateVersion + 1);
        }
        else if (cas.Status == StoreStatus.StaleStateVersion && cas.Current is { } now && now.StateVersion > cur.StateVersion)
        {
            lost++;
        }
        else
        {
            Console.Error.WriteLine("unexpected CAS outcome: " + cas.Status);
            return 1;
        }
    }
    Console.WriteLine("lost=" + lost.ToString(CultureInfo.InvariantCulture));
    Console.WriteLine("written=" + string.Join(',', written));
    return 0;
}
if (args[0] == "acquire")
{
    StoreResult r = store.Acquire(id, args[3], nodeEpoch, expected);
    Console.WriteLine("status=" + r.Status + " epoch=" + (r.Current?.OwnerEpoch ?? 0).ToString(CultureInfo.InvariantCulture));
    return 0;
}
Console.Error.WriteLine("unknown mode " + args[0]);
return 2;
