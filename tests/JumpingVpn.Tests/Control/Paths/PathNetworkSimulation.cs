using JumpingVpn.Control.Paths;
using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Tests.Control.Paths;

/// <summary>
/// A deterministic stand-in for the network around a <see cref="PathManager"/>: per path an alive flag,
/// a loss percentage (seeded RNG, so every run is the same) and an RTT. The "application" sends a ping
/// every 50 ms on the active path; the server answers pings, probes and reattaches on paths that are
/// alive. Records every switch and the longest time without a ping reply (the gap).
/// </summary>
internal sealed class PathNetworkSimulation
{
    private readonly Random _rng = new(1234);
    private readonly List<(long At, Action Deliver)> _inFlight = [];
    private readonly Dictionary<string, (bool Alive, int LossPercent, int RttMs)> _links = new(StringComparer.Ordinal);
    private readonly SessionPolicy _policy;
    private long _lastPingReplyMs;
    private long _lastKeepaliveMs = -1;
    private long _lastDataMs = -1;

    public PathNetworkSimulation(SessionPolicy? policy = null)
    {
        _policy = policy ?? SessionPolicy.Default;
        Manager = new PathManager(_policy);
    }

    /// <summary>Send KEEPALIVE on the active path on the client's idle schedule (as the node's sweep does).</summary>
    public bool Keepalives { get; set; }

    /// <summary>Every probe and keepalive put on the wire: time, interface, kind.</summary>
    public List<(long AtMs, string Interface, string Kind)> Sent { get; } = [];

    /// <summary>Wi-Fi (preferred) and cellular, the session established over Wi-Fi and measured for 3 s.</summary>
    public static PathNetworkSimulation WifiAndCell(SessionPolicy? policy = null)
    {
        var sim = new PathNetworkSimulation(policy);
        sim.AddLink("wifi", 0, rttMs: 10);
        sim.AddLink("cell", 1, rttMs: 40);
        sim.Run(100);
        sim.Manager.SessionBound = true; // HELLO_ACK arrived through the path in use
        sim.Run(3_000);
        sim.ResetGap();
        return sim;
    }

    public PathManager Manager { get; }

    public long NowMs { get; private set; } = 10_000;

    public List<PathDecision> Log { get; } = [];

    public List<PathSwitchRecord> Switches { get; } = [];

    public List<PathAction> Actions { get; } = [];

    public long LongestGapMs { get; private set; }

    public List<PathInfo> Present { get; } = [];

    public void AddLink(string name, int priority, int rttMs = 10)
    {
        _links[name] = (true, 0, rttMs);
        Present.Add(new PathInfo(name, "10.0." + priority.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".2", priority));
        Manager.SetPaths(Present, NowMs, Log);
    }

    public void RemoveLink(string name)
    {
        Present.RemoveAll(p => p.Interface == name);
        Manager.SetPaths(Present, NowMs, Log);
    }

    public void SetAlive(string name, bool alive) => _links[name] = _links[name] with { Alive = alive };

    public void SetLoss(string name, int percent) => _links[name] = _links[name] with { LossPercent = percent };

    public string? ActiveName => Manager.Active?.Info.Interface;

    public void Run(long durationMs, bool traffic = true)
    {
        long end = NowMs + durationMs;
        while (NowMs < end)
        {
            NowMs += 10;
            Deliver();
            if (traffic && NowMs % 50 == 0)
            {
                SendPing();
            }
            if (Keepalives && NowMs % 50 == 0 && NowMs >= IdleSchedule.NextDueMs(_policy, _lastKeepaliveMs, _lastDataMs))
            {
                SendKeepalive();
            }
            if (NowMs % 50 == 0)
            {
                var actions = new List<PathAction>();
                Manager.Tick(NowMs, actions, Log);
                foreach (PathAction a in actions)
                {
                    Execute(a);
                }
            }
            LongestGapMs = Math.Max(LongestGapMs, NowMs - _lastPingReplyMs);
        }
    }

    public void ResetGap()
    {
        LongestGapMs = 0;
        _lastPingReplyMs = NowMs;
    }

    private bool Passes(string name) => _links.TryGetValue(name, out var l) && l.Alive && _rng.Next(100) >= l.LossPercent;

    private int Rtt(string name) => _links[name].RttMs;

    private void SendKeepalive()
    {
        _lastKeepaliveMs = NowMs;
        PathEntry? active = Manager.Active;
        if (active is null)
        {
            return;
        }
        Manager.OnKeepaliveSent(NowMs);
        string name = active.Info.Interface;
        int id = active.Id;
        Sent.Add((NowMs, name, "keepalive"));
        if (Passes(name) && Passes(name))
        {
            Later(Rtt(name), () => Manager.OnAuthenticatedRx(id, NowMs));
        }
    }

    private void SendPing()
    {
        PathEntry? active = Manager.Active;
        Manager.OnTransmit(NowMs);
        _lastDataMs = NowMs;
        if (active is null)
        {
            return;
        }
        string name = active.Info.Interface;
        int id = active.Id;
        if (Passes(name) && Passes(name))
        {
            Later(Rtt(name), () =>
            {
                Manager.OnAuthenticatedRx(id, NowMs);
                if (Manager.ActiveId == id)
                {
                    _lastPingReplyMs = NowMs;
                }
            });
        }
    }

    private void Execute(PathAction a)
    {
        Actions.Add(a);
        PathEntry? p = Manager.Find(a.PathId);
        if (p is null)
        {
            return;
        }
        string name = p.Info.Interface;
        switch (a.Kind)
        {
            case PathActionKind.Probe:
                ulong seq = (ulong)Actions.Count;
                Manager.OnProbeSent(a.PathId, seq, NowMs);
                Sent.Add((NowMs, name, "probe"));
                if (Passes(name) && Passes(name))
                {
                    Later(Rtt(name), () =>
                    {
                        Manager.OnProbeAck(a.PathId, seq, NowMs);
                        Manager.OnAuthenticatedRx(a.PathId, NowMs);
                    });
                }
                break;
            case PathActionKind.Reattach:
                if (Passes(name) && Passes(name))
                {
                    Later(Rtt(name), () =>
                    {
                        if (Manager.OnSwitchAcked(a.PathId, NowMs, Log) is { } record)
                        {
                            Switches.Add(record);
                        }
                    });
                }
                break;
            default:
                break;
        }
    }

    private void Later(int delayMs, Action action) => _inFlight.Add((NowMs + delayMs, action));

    private void Deliver()
    {
        for (int i = 0; i < _inFlight.Count; i++)
        {
            if (_inFlight[i].At <= NowMs)
            {
                Action a = _inFlight[i].Deliver;
                _inFlight.RemoveAt(i--);
                a();
            }
        }
    }

    /// <summary>The decision log, one line each, for assertion messages.</summary>
    public string Trace() => string.Join("\n", Log.Select(d => $"{d.AtMs} {d.Decision} {d.Interface} from={d.FromInterface} {d.Reason} {d.Detail}"));

    public int SwitchesBy(ReasonCode reason) => Switches.Count(s => s.Reason == reason);
}
