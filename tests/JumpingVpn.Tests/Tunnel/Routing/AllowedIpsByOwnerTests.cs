using JumpingVpn.Platform.Net;
using JumpingVpn.Tunnel.Routing;

namespace JumpingVpn.Tests.Tunnel.Routing;

/// <summary>One trie walk gives every owner's prefixes, the same as asking owner by owner (UAPI get=1 at 100k peers).</summary>
public sealed class AllowedIpsByOwnerTests
{
    private sealed class Owner(int id)
    {
        public int Id { get; } = id;
    }

    [Fact]
    public void MatchesPrefixesOfForEveryOwner()
    {
        var trie = new AllowedIps<Owner>();
        var owners = Enumerable.Range(0, 300).Select(i => new Owner(i)).ToArray();
        foreach (Owner o in owners)
        {
            trie.Insert(IpPrefix.Parse($"10.64.{o.Id >> 8}.{o.Id & 255}/32"), o);
            if (o.Id % 7 == 0)
            {
                trie.Insert(IpPrefix.Parse($"fd00::{o.Id:x}/128"), o);
                trie.Insert(IpPrefix.Parse($"172.{16 + (o.Id >> 8)}.{o.Id & 255}.0/24"), o);
            }
        }
        Owner silent = new(-1);
        Dictionary<Owner, List<IpPrefix>> all = trie.PrefixesByOwner();
        Assert.Equal(owners.Length, all.Count);
        foreach (Owner o in owners)
        {
            Assert.Equal(trie.PrefixesOf(o), all[o]);
        }
        Assert.False(all.ContainsKey(silent));
    }
}

/// <summary>The owner index behind RemoveAll follows replacements and single removals.</summary>
public sealed class AllowedIpsOwnerIndexTests
{
    private sealed class Owner(string name)
    {
        public override string ToString() => name;
    }

    [Fact]
    public void RemoveAllRemovesOnlyWhatTheOwnerStillOwns()
    {
        var trie = new AllowedIps<Owner>();
        Owner a = new("a"), b = new("b");
        trie.Insert(IpPrefix.Parse("10.0.0.0/24"), a);
        trie.Insert(IpPrefix.Parse("10.0.1.0/24"), a);
        trie.Insert(IpPrefix.Parse("fd00::/64"), a);
        trie.Insert(IpPrefix.Parse("10.0.1.0/24"), b); // b takes one prefix over
        Assert.True(trie.Remove(IpPrefix.Parse("fd00::/64")));
        trie.RemoveAll(a);
        Assert.Empty(trie.PrefixesOf(a));
        Assert.Equal(["10.0.1.0/24"], trie.PrefixesOf(b).Select(p => p.ToString()));
        Assert.Same(b, trie.Lookup([10, 0, 1, 7]));
        Assert.Null(trie.Lookup([10, 0, 0, 7]));
        trie.RemoveAll(b);
        Assert.Equal(0, trie.Count);
        trie.RemoveAll(b); // nothing left: no-op
    }
}
