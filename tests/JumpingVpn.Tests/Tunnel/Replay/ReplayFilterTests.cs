using JumpingVpn.Tunnel.Replay;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Tunnel.Replay;

// The cases follow the replay test table shared by the Linux kernel selftest (counter.c) and
// wireguard-go (replay_test.go), re-derived for this filter's window size.
public class ReplayFilterTests
{
    // WireGuard's REJECT_AFTER_MESSAGES = 2^64 - 2^13 - 1 (whitepaper §6.1).
    private const ulong RejectAfter = ulong.MaxValue - 8192;
    private const ulong W = ReplayFilter.WindowSize;
    private const ulong Lim = W + 1;

    [Fact]
    public void WindowIsAtLeastWhatWireGuardRequires() => Assert.True(ReplayFilter.WindowSize >= 2048);

    [Fact]
    public void TableOfCases()
    {
        var f = new ReplayFilter();
        (ulong Counter, bool Expected)[] table =
        [
            (0, true),                    // first counter of a keypair
            (1, true),                    // in order
            (1, false),                   // duplicate
            (9, true),                    // jump ahead
            (8, true),                    // out of order, inside window
            (7, true),
            (7, false),                   // duplicate out of order
            (Lim, true),                  // slide so that 0 is exactly out of the window
            (Lim - 1, true),
            (Lim - 1, false),
            (Lim - 2, true),
            (2, true),                    // oldest counter still inside the window (Lim - 2 == W - 1 behind)
            (2, false),
            (Lim + 16, true),             // slide a bit more
            (3, false),                   // now too old
            (Lim + 16, false),
            (Lim * 4, true),              // big jump: several blocks cleared
            ((Lim * 4) - (Lim - 1), true), // exactly W behind: oldest acceptable
            (10, false),                  // far too old
            ((Lim * 4) - Lim, false),     // W + 1 behind
            ((Lim * 4) - (Lim + 1), false),
            ((Lim * 4) - (Lim - 2), true),
            ((Lim * 4) + 1 - Lim, false), // == W behind, already seen
            (0, false),
            (RejectAfter, false),         // at the limit
            (RejectAfter - 1, true),      // last usable counter; huge jump clears the whole ring
            (RejectAfter, false),
            (RejectAfter - 1, false),
            (RejectAfter - 2, true),
            (RejectAfter + 1, false),     // beyond the limit
            (RejectAfter + 2, false),
            (RejectAfter - 2, false),
            (RejectAfter - 3, true),
            (0, false),                   // wrap attempt: small counters are ancient now
            (ulong.MaxValue, false),      // wrap attempt: top of the counter space
        ];
        for (int i = 0; i < table.Length; i++)
        {
            Assert.True(table[i].Expected == f.TryAccept(table[i].Counter, RejectAfter), $"case {i + 1}: counter {table[i].Counter}");
        }
    }

    [Fact]
    public void LimitIsExclusiveEvenAtMaxValue()
    {
        var f = new ReplayFilter();
        Assert.False(f.TryAccept(ulong.MaxValue, ulong.MaxValue));
        Assert.True(f.TryAccept(ulong.MaxValue - 1, ulong.MaxValue));
        Assert.False(f.TryAccept(ulong.MaxValue - 1, ulong.MaxValue));
        Assert.False(f.TryAccept(5, 5));
    }

    [Fact]
    public void BulkAscendingThenZero()
    {
        var f = new ReplayFilter();
        for (ulong i = 1; i <= W; i++)
        {
            Assert.True(f.TryAccept(i, RejectAfter));
        }
        Assert.True(f.TryAccept(0, RejectAfter)); // exactly W behind
        Assert.False(f.TryAccept(0, RejectAfter));
    }

    [Fact]
    public void BulkAscendingFromTwo()
    {
        var f = new ReplayFilter();
        for (ulong i = 2; i <= W + 1; i++)
        {
            Assert.True(f.TryAccept(i, RejectAfter));
        }
        Assert.True(f.TryAccept(1, RejectAfter));
        Assert.False(f.TryAccept(0, RejectAfter)); // W + 1 behind
    }

    [Fact]
    public void BulkDescending()
    {
        var f = new ReplayFilter();
        for (ulong i = W + 1; i > 0; i--)
        {
            Assert.True(f.TryAccept(i, RejectAfter));
        }
        for (ulong i = W + 1; i > 0; i--)
        {
            Assert.False(f.TryAccept(i, RejectAfter));
        }
    }

    [Fact]
    public void BulkDescendingFromTwoLeavesZeroOut()
    {
        var f = new ReplayFilter();
        for (ulong i = W + 2; i > 1; i--)
        {
            Assert.True(f.TryAccept(i, RejectAfter));
        }
        Assert.False(f.TryAccept(0, RejectAfter));
    }

    [Fact]
    public void BulkDescendingThenSlideByOne()
    {
        var f = new ReplayFilter();
        for (ulong i = W; i > 0; i--)
        {
            Assert.True(f.TryAccept(i, RejectAfter));
        }
        Assert.True(f.TryAccept(W + 1, RejectAfter));
        Assert.False(f.TryAccept(0, RejectAfter));

        f.Reset();
        for (ulong i = W; i > 0; i--)
        {
            Assert.True(f.TryAccept(i, RejectAfter));
        }
        Assert.True(f.TryAccept(0, RejectAfter));
        Assert.True(f.TryAccept(W + 1, RejectAfter));
    }

    [Fact]
    public void JumpOfExactlyOneRingClearsEverything()
    {
        var f = new ReplayFilter();
        Assert.True(f.TryAccept(100, RejectAfter));
        // 64 blocks ahead lands on the same ring slot as counter 100; that slot must be recycled.
        Assert.True(f.TryAccept(100 + (64 * 64), RejectAfter));
        Assert.False(f.TryAccept(100, RejectAfter));
        Assert.True(f.TryAccept(100 + (64 * 64) - W, RejectAfter));
    }

    [Fact]
    public void ResetForgetsHistory()
    {
        var f = new ReplayFilter();
        Assert.True(f.TryAccept(0, RejectAfter));
        Assert.True(f.TryAccept(50_000, RejectAfter));
        f.Reset();
        Assert.True(f.TryAccept(0, RejectAfter));
        Assert.True(f.TryAccept(1, RejectAfter));
    }

    [Fact]
    public void RandomizedAgainstSetModel()
    {
        var rng = new Random(6479);
        var f = new ReplayFilter();
        var seen = new HashSet<ulong>();
        ulong top = 0;
        bool any = false;
        for (int i = 0; i < 200_000; i++)
        {
            ulong c = (ulong)Math.Max(0L, (long)top + rng.Next(-5000, 200));
            if (rng.Next(1000) == 0)
            {
                c = top + (ulong)rng.Next(0, 20_000); // occasional big jump
            }
            bool expected = (!any || c > top || top - c <= W) && !seen.Contains(c);
            Assert.Equal(expected, f.TryAccept(c, RejectAfter));
            if (expected)
            {
                seen.Add(c);
                if (!any || c > top)
                {
                    top = c;
                }
                any = true;
            }
        }
    }

    [Fact]
    public void DoesNotAllocate()
    {
        var f = new ReplayFilter();
        for (ulong i = 0; i < 1000; i++)
        {
            f.TryAccept(i, RejectAfter); // warm up (JIT, tiering)
        }
        ulong accepted = 0;
        ulong n = 0;
        SteadyState.AllocatesNothing(() =>
        {
            if (f.TryAccept(((n++ * 7) % 50_000) + 1000, RejectAfter))
            {
                accepted++;
            }
        }, rounds: 100_000, warmup: 0);
        Assert.True(accepted > 0);
    }
}
