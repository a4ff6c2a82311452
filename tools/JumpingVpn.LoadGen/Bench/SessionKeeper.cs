using System.Diagnostics;

namespace JumpingVpn.LoadGen.Bench;

/// <summary>
/// Keeps every established simulated session alive in the background, as a real client would: one
/// KEEPALIVE per <c>period</c> (spread evenly) and a new handshake + resuming HELLO before the server's
/// keypair reaches WireGuard's RejectAfterTime (180 s). Clients busy with a measured request are skipped.
/// </summary>
internal sealed class SessionKeeper : IDisposable
{
    private readonly LoadGenerator _gen;
    private readonly TimeSpan _period;
    private readonly long _rekeyAfterMs;
    private readonly Thread _thread;
    private volatile bool _stop;

    public SessionKeeper(LoadGenerator gen, TimeSpan period, TimeSpan rekeyAfter)
    {
        _gen = gen;
        _period = period;
        _rekeyAfterMs = (long)rekeyAfter.TotalMilliseconds;
        _thread = new Thread(Loop) { IsBackground = true, Name = "bench-keeper" };
        _thread.Start();
    }

    public long Rekeys { get; private set; }

    private void Loop()
    {
        SimClient[] clients = _gen.Clients;
        const int TickMs = 100;
        double perTick = clients.Length * (TickMs / _period.TotalMilliseconds);
        double carry = 0;
        int cursor = 0;
        while (!_stop)
        {
            Thread.Sleep(TickMs);
            carry += perTick;
            long nowMs = Stopwatch.GetTimestamp() * 1000 / Stopwatch.Frequency;
            while (carry >= 1 && !_stop)
            {
                carry -= 1;
                SimClient c = clients[cursor];
                cursor = (cursor + 1) % clients.Length;
                bool idle, rekey, stuck;
                lock (c)
                {
                    idle = c.Pending == PendingOp.None && !c.SessionId.IsNone;
                    rekey = nowMs - c.KeypairCreatedMs > _rekeyAfterMs;
                    // A lost rekey handshake or HELLO is retried like WireGuard's retransmit.
                    stuck = c.Pending is PendingOp.Handshake or PendingOp.Hello && !c.SessionId.IsNone
                        && LoadGenerator.TicksToMs(LoadGenerator.NowTicks() - c.PendingSinceTicks) > 2000;
                }
                if (stuck)
                {
                    _gen.StartHandshake(c);
                    continue;
                }
                if (!idle)
                {
                    continue;
                }
                if (rekey)
                {
                    Rekeys++;
                    _gen.StartHandshake(c); // the response triggers a resuming HELLO
                }
                else
                {
                    _gen.SendKeepalive(c, track: false);
                }
            }
        }
    }

    public void Dispose()
    {
        if (!_stop)
        {
            _stop = true;
            _thread.Join();
        }
    }
}
