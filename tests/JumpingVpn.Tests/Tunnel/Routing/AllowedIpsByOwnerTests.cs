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
