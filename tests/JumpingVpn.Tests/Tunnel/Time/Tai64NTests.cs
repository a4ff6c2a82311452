using JumpingVpn.Tunnel.Time;

namespace JumpingVpn.Tests.Tunnel.Time;

public class Tai64NTests
{
    private const long NsPerSecond = 1_000_000_000;

    [Fact]
    public void ByteLayoutForAKnownTime()
    {
        // 2020-01-01T00:00:00Z = 1577836800 = 0x5E0BE100; + 0.123456789 s (0x075BCD15 ns, whitened to 0x07000000).
        long unixNs = (1_577_836_800L * NsPerSecond) + 123_456_789;
        Tai64N t = Tai64N.FromUnixNanoseconds(unixNs);
        Assert.Equal(0x400000005E0BE10AUL, t.Seconds);
        Assert.Equal(0x07000000u, t.Nanoseconds);

        Span<byte> bytes = stackalloc byte[Tai64N.Size];
        t.WriteTo(bytes);
        Assert.Equal(Convert.FromHexString("400000005E0BE10A07000000"), bytes.ToArray());
        Assert.Equal(t, Tai64N.Read(bytes));
    }

    [Fact]
    public void UnixEpochIsTaiBasePlusTen()
    {
        Span<byte> bytes = stackalloc byte[12];
        Tai64N.FromUnixNanoseconds(0).WriteTo(bytes);
        Assert.Equal(Convert.FromHexString("400000000000000A00000000"), bytes.ToArray());
    }

    [Fact]
    public void NanosecondsAreWhitenedTo2Pow24()
    {
        for (long ns = 0; ns < NsPerSecond; ns += 7_777_777)
        {
            Tai64N t = Tai64N.FromUnixNanoseconds((1_700_000_000L * NsPerSecond) + ns);
            Assert.Equal(0u, t.Nanoseconds & 0xFFFFFFu);
            Assert.True(t.Nanoseconds <= ns && ns - t.Nanoseconds < (1 << 24));
        }
    }

    [Fact]
    public void BeforeTheEpochUsesFloorDivision()
    {
        Tai64N t = Tai64N.FromUnixNanoseconds(-1); // 1969-12-31T23:59:59.999999999
        Assert.Equal(0x4000000000000009UL, t.Seconds);
        Assert.Equal(999_999_999u & ~0xFFFFFFu, t.Nanoseconds);
        Assert.True(Tai64N.FromUnixNanoseconds(0).After(t));
    }

    [Fact]
    public void MonotonicWithTime()
    {
        var rng = new Random(42);
        long now = 1_700_000_000L * NsPerSecond;
        Tai64N previous = Tai64N.FromUnixNanoseconds(now);
        for (int i = 0; i < 10_000; i++)
        {
            now += rng.Next(0, 40_000_000);
            Tai64N current = Tai64N.FromUnixNanoseconds(now);
            Assert.True(current.CompareTo(previous) >= 0);
            Assert.False(previous.After(current));
            previous = current;
        }

        // Two initiations 2^24 ns or more apart always get strictly increasing labels.
        Tai64N a = Tai64N.FromUnixNanoseconds(now);
        Tai64N b = Tai64N.FromUnixNanoseconds(now + (1 << 24));
        Assert.True(b.After(a));
        Assert.False(a.After(b));
        Assert.False(a.After(a));
        Tai64N same = Tai64N.FromUnixNanoseconds(now);
        Assert.True(b > a && a < b && a <= same && a >= same && a == same && a != b);
    }

    [Fact]
    public void ComparisonMatchesByteOrderOfTheWireForm()
    {
        // A responder compares raw labels from the wire (wireguard-go: bytes.Compare), whatever they hold.
        var rng = new Random(7);
        Span<byte> x = stackalloc byte[12];
        Span<byte> y = stackalloc byte[12];
        for (int i = 0; i < 2000; i++)
        {
            rng.NextBytes(x);
            x.CopyTo(y);
            y[rng.Next(12)] = (byte)rng.Next(256); // often differ in a single byte
            int expected = Math.Sign(x.SequenceCompareTo(y));
            Assert.Equal(expected, Math.Sign(Tai64N.Read(x).CompareTo(Tai64N.Read(y))));
        }
    }

    [Fact]
    public void ShortBuffersThrow()
    {
        Assert.Throws<ArgumentException>(() => Tai64N.Read(new byte[11]));
        Assert.Throws<ArgumentException>(() => Tai64N.FromUnixNanoseconds(0).WriteTo(new byte[11]));
    }
}
