using JumpingVpn.Tunnel.Replay;

namespace JumpingVpn.Tests.Tunnel.Replay;

/// <summary>
/// Two receive threads may open packets of one keypair (a roaming client's two addresses hash to two
/// SO_REUSEPORT sockets, docs/threads.md "Receive threads"): each counter must still be accepted exactly once.
/// </summary>
public sealed class ReplayFilterConcurrencyTests
{
    private const ulong RejectAfter = ulong.MaxValue - 8192;

    [Fact]
    public void Every_counter_offered_by_two_threads_at_once_is_accepted_exactly_once()
    {
        const int Counters = 200_000;
        var filter = new ReplayFilter();
        var accepted = new int[Counters];
        using var start = new Barrier(2);
        // Both threads offer the same counters in the same (ascending) order, racing on every one: a lost
        // update of the window's bits or top would accept a counter twice (or reject one never accepted).
        void Offer()
        {
            start.SignalAndWait();
            for (int i = 0; i < Counters; i++)
            {
                if (filter.TryAccept((ulong)i, RejectAfter))
                {
                    Interlocked.Increment(ref accepted[i]);
                }
            }
        }
        var t1 = new Thread(Offer);
        var t2 = new Thread(Offer);
        t1.Start();
        t2.Start();
        t1.Join();
        t2.Join();
        Assert.All(accepted, n => Assert.Equal(1, n));
    }

    [Fact]
    public void Two_threads_with_interleaved_counters_lose_none_inside_the_window()
    {
        const int Counters = 200_000;
        const int Step = 256;
        var filter = new ReplayFilter();
        long accepted = 0;
        using var lockstep = new Barrier(2);
        // Thread 0 offers the even counters, thread 1 the odd ones, meeting at a barrier every Step counters so
        // they never drift a window apart: every counter is fresh, so every one must be accepted, and a lost
        // update of the window (a torn top or bit block) would refuse some.
        void Offer(int parity)
        {
            for (int from = 0; from < Counters; from += Step)
            {
                lockstep.SignalAndWait();
                for (int i = from + parity; i < Math.Min(from + Step, Counters); i += 2)
                {
                    if (filter.TryAccept((ulong)i, RejectAfter))
                    {
                        Interlocked.Increment(ref accepted);
                    }
                }
            }
        }
        var even = new Thread(() => Offer(0));
        var odd = new Thread(() => Offer(1));
        even.Start();
        odd.Start();
        even.Join();
        odd.Join();
        Assert.Equal(Counters, Interlocked.Read(ref accepted));
        for (int i = Counters - 1000; i < Counters; i++)
        {
            Assert.False(filter.TryAccept((ulong)i, RejectAfter)); // now every one is a duplicate
        }
    }
}
