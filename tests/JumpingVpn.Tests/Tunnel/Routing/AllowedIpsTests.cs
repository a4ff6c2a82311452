using System.Net;
using JumpingVpn.Platform.Net;
using JumpingVpn.Tunnel.Routing;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Tunnel.Routing;

public class AllowedIpsTests
{
    private sealed class Peer(string name)
    {
        public string Name { get; } = name;
        public override string ToString() => Name;
    }

    private static byte[] Addr(string text) => IPAddress.Parse(text).GetAddressBytes();

    [Fact]
    public void LongestPrefixWinsForOverlappingPrefixes()
    {
        var t = new AllowedIps<Peer>();
        Peer a = new("a"), b = new("b"), c = new("c"), d = new("d");
        t.Insert(IpPrefix.Parse("10.0.0.0/8"), a);
        t.Insert(IpPrefix.Parse("10.1.0.0/16"), b);
        t.Insert(IpPrefix.Parse("10.1.2.3/32"), c);
        t.Insert(IpPrefix.Parse("fd00::/8"), d);

        Assert.Same(a, t.Lookup(Addr("10.2.3.4")));
        Assert.Same(b, t.Lookup(Addr("10.1.9.9")));
        Assert.Same(c, t.Lookup(Addr("10.1.2.3")));
        Assert.Same(b, t.Lookup(Addr("10.1.2.4")));
        Assert.Null(t.Lookup(Addr("11.0.0.1")));
        Assert.Same(d, t.Lookup(Addr("fd12::1")));
        Assert.Null(t.Lookup(Addr("fe80::1")));
        Assert.Equal(4, t.Count);
    }

    [Fact]
    public void FamiliesAreSeparate()
    {
        var t = new AllowedIps<Peer>();
        Peer a = new("a");
        t.Insert(IpPrefix.Parse("0.0.0.0/0"), a);
        Assert.Null(t.Lookup(Addr("::1")));
        Assert.Null(t.Lookup(Addr("::ffff:10.0.0.1"))); // v4-mapped is an IPv6 address here
        Assert.Same(a, t.Lookup(Addr("192.0.2.1")));
    }

    [Fact]
    public void DefaultRoutesCatchEverythingElse()
    {
        var t = new AllowedIps<Peer>();
        Peer def = new("def"), def6 = new("def6"), lan = new("lan");
        t.Insert(IpPrefix.Parse("0.0.0.0/0"), def);
        t.Insert(IpPrefix.Parse("::/0"), def6);
        t.Insert(IpPrefix.Parse("192.168.0.0/16"), lan);
        Assert.Same(def, t.Lookup(Addr("0.0.0.0")));
        Assert.Same(def, t.Lookup(Addr("255.255.255.255")));
        Assert.Same(lan, t.Lookup(Addr("192.168.77.1")));
        Assert.Same(def6, t.Lookup(Addr("2001:db8::1")));
        Assert.Same(def6, t.Lookup(Addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
        Assert.True(t.Remove(IpPrefix.Parse("0.0.0.0/0")));
        Assert.Null(t.Lookup(Addr("8.8.8.8")));
        Assert.Same(lan, t.Lookup(Addr("192.168.77.1")));
    }

    [Fact]
    public void InsertingAnExistingPrefixMovesItToTheNewOwner()
    {
        var t = new AllowedIps<Peer>();
        Peer a = new("a"), b = new("b");
        t.Insert(IpPrefix.Parse("10.0.0.0/24"), a);
        t.Insert(IpPrefix.Parse("10.0.0.9/24"), b); // same network once masked
        Assert.Equal(1, t.Count);
        Assert.Same(b, t.Lookup(Addr("10.0.0.1")));
        Assert.Empty(t.PrefixesOf(a));
        Assert.Equal([IpPrefix.Parse("10.0.0.0/24")], t.PrefixesOf(b));
    }

    [Fact]
    public void RemoveIsExactAndReportsAbsence()
    {
        var t = new AllowedIps<Peer>();
        Peer a = new("a"), b = new("b");
        t.Insert(IpPrefix.Parse("10.0.0.0/8"), a);
        t.Insert(IpPrefix.Parse("10.0.0.0/16"), b);
        Assert.False(t.Remove(IpPrefix.Parse("10.0.0.0/12"))); // never inserted
        Assert.False(t.Remove(IpPrefix.Parse("fd00::/8")));
        Assert.True(t.Remove(IpPrefix.Parse("10.0.0.0/16")));
        Assert.False(t.Remove(IpPrefix.Parse("10.0.0.0/16")));
        Assert.Same(a, t.Lookup(Addr("10.0.1.1")));
        Assert.Equal(1, t.Count);
    }

    [Fact]
    public void RemoveAllAndPrefixesOf()
    {
        var t = new AllowedIps<Peer>();
        Peer a = new("a"), b = new("b");
        string[] ofA = ["10.0.0.0/24", "10.0.1.0/24", "fd00::/64", "192.0.2.7/32", "2001:db8::1/128"];
        foreach (string p in ofA)
        {
            t.Insert(IpPrefix.Parse(p), a);
        }
        t.Insert(IpPrefix.Parse("10.0.0.0/16"), b);
        t.Insert(IpPrefix.Parse("fd00::/16"), b);

        Assert.Equal(ofA.Select(IpPrefix.Parse).ToHashSet(), t.PrefixesOf(a).ToHashSet());
        Assert.Equal(7, t.Count);
        t.RemoveAll(a);
        Assert.Empty(t.PrefixesOf(a));
        Assert.Equal(2, t.Count);
        Assert.Same(b, t.Lookup(Addr("10.0.0.1")));
        Assert.Same(b, t.Lookup(Addr("fd00::1")));
        Assert.Null(t.Lookup(Addr("192.0.2.7")));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(15)]
    [InlineData(17)]
    public void OtherAddressLengthsFindNothing(int length)
    {
        var t = new AllowedIps<Peer>();
        t.Insert(IpPrefix.Parse("0.0.0.0/0"), new Peer("a"));
        t.Insert(IpPrefix.Parse("::/0"), new Peer("b"));
        Assert.Null(t.Lookup(new byte[length]));
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 2)]
    public void RandomizedAgainstBruteForce(bool v6, int seed)
    {
        var rng = new Random(seed);
        int bytes = v6 ? 16 : 4;
        var peers = Enumerable.Range(0, 20).Select(i => new Peer("p" + i)).ToArray();
        var t = new AllowedIps<Peer>();
        var model = new Dictionary<IpPrefix, Peer>();

        // Clustered random addresses so prefixes overlap a lot; lengths spread over the whole range.
        byte[] RandomAddress()
        {
            var b = new byte[bytes];
            rng.NextBytes(b);
            b[0] = (byte)(rng.Next(4) * 64); // few distinct first bytes
            if (v6 && rng.Next(2) == 0)
            {
                b[1] = 0;
            }
            return b;
        }

        for (int round = 0; round < 4000; round++)
        {
            var prefix = new IpPrefix(new IPAddress(RandomAddress()), rng.Next(bytes * 8 + 1));
            if (rng.Next(5) == 0 && model.Count > 0)
            {
                var victim = model.Keys.ElementAt(rng.Next(model.Count));
                Assert.True(t.Remove(victim));
                model.Remove(victim);
            }
            else
            {
                Peer p = peers[rng.Next(peers.Length)];
                t.Insert(prefix, p);
                model[prefix] = p;
            }
        }
        Assert.Equal(model.Count, t.Count);

        for (int q = 0; q < 5000; q++)
        {
            byte[] address = RandomAddress();
            if (q % 3 == 0 && model.Count > 0)
            {
                // Query right at a stored prefix with a random host part, to hit the deep nodes.
                byte[] net = model.Keys.ElementAt(rng.Next(model.Count)).Address.GetAddressBytes();
                address = net;
                address[^1] ^= (byte)rng.Next(4);
            }
            var ip = new IPAddress(address);
            Peer? expected = null;
            int bestLength = -1;
            foreach (var (prefix, owner) in model)
            {
                if (prefix.Length > bestLength && prefix.Contains(ip))
                {
                    bestLength = prefix.Length;
                    expected = owner;
                }
            }
            Assert.Same(expected, t.Lookup(address));
        }

        foreach (Peer p in peers)
        {
            var expectedPrefixes = model.Where(kv => kv.Value == p).Select(kv => kv.Key).ToHashSet();
            Assert.Equal(expectedPrefixes, t.PrefixesOf(p).ToHashSet());
        }

        // Tear everything down through RemoveAll: the table must end empty.
        foreach (Peer p in peers)
        {
            t.RemoveAll(p);
        }
        Assert.Equal(0, t.Count);
        Assert.Null(t.Lookup(RandomAddress()));
    }

    [Fact]
    public void LookupDoesNotAllocate()
    {
        var t = new AllowedIps<Peer>();
        var rng = new Random(3);
        for (int i = 0; i < 500; i++)
        {
            var b = new byte[i % 2 == 0 ? 4 : 16];
            rng.NextBytes(b);
            t.Insert(new IpPrefix(new IPAddress(b), rng.Next(b.Length * 8 + 1)), new Peer("p" + i));
        }
        t.Insert(new IpPrefix(IPAddress.Parse("10.0.0.0"), 8), new Peer("v4"));
        t.Insert(new IpPrefix(IPAddress.Parse("fd00::"), 8), new Peer("v6"));
        byte[] v4 = Addr("10.1.2.3");
        byte[] v6 = Addr("fd00::1234");
        int hits = 0;
        for (int i = 0; i < 1000; i++)
        {
            hits += t.Lookup(v4) is null ? 0 : 1; // warm up
            hits += t.Lookup(v6) is null ? 0 : 1;
        }
        int n = 0;
        SteadyState.AllocatesNothing(() =>
        {
            n++;
            v4[3] = (byte)n;
            v6[15] = (byte)n;
            hits += t.Lookup(v4) is null ? 0 : 1;
            hits += t.Lookup(v6) is null ? 0 : 1;
        }, rounds: 100_000, warmup: 0);
        Assert.Equal(2 * (1000 + (3 * 100_000)), hits); // both addresses stay inside the /8s
    }

    [Fact]
    public async Task LookupsStayConsistentWhileAnotherThreadWrites()
    {
        // A stable prefix must always be found while a writer churns unrelated, overlapping prefixes.
        var t = new AllowedIps<Peer>();
        Peer stable = new("stable"), churn = new("churn");
        t.Insert(IpPrefix.Parse("10.0.0.0/8"), stable);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        var writer = Task.Run(() =>
        {
            var rng = new Random(9);
            while (!cts.IsCancellationRequested)
            {
                var b = new byte[4];
                rng.NextBytes(b);
                b[0] = 10;
                var p = new IpPrefix(new IPAddress(b), rng.Next(9, 33));
                t.Insert(p, churn);
                if (rng.Next(2) == 0)
                {
                    t.Remove(p);
                }
            }
        }, TestContext.Current.CancellationToken);
        byte[] probe = Addr("10.200.0.1");
        byte[] outside = Addr("11.0.0.1");
        while (!writer.IsCompleted)
        {
            Peer? found = t.Lookup(probe);
            Assert.True(ReferenceEquals(found, stable) || ReferenceEquals(found, churn));
            Assert.Null(t.Lookup(outside));
        }
        await writer;
    }
}
