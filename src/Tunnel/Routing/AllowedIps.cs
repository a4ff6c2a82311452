using System.Buffers.Binary;
using System.Net;
using JumpingVpn.Platform.Net;

namespace JumpingVpn.Tunnel.Routing;

/// <summary>
/// Cryptokey routing table (WireGuard whitepaper §2): maps IPv4/IPv6 prefixes to their owner (a peer) and
/// answers longest-prefix-match lookups. Outbound, the destination address picks the peer to encrypt
/// for; inbound, the decrypted packet's source address must map back to the peer it came from.
/// </summary>
/// <remarks>
/// One path-compressed binary trie per address family, as the kernel's allowedips.c: a node holds a
/// masked key and its prefix length, an optional owner, and two children chosen by the key bit right
/// after the node's prefix. Nodes are immutable; writers (serialised by a lock) build a new path from the
/// root and publish the new root with one volatile write, so lookups need no lock, never see a
/// half-built node and never allocate (the RCU idea of allowedips.c, done with persistent nodes).
/// Invariant kept by every write: a node without an owner has exactly two children.
/// </remarks>
public sealed class AllowedIps<T> where T : class
{
    private sealed class Node(UInt128 key, int length, T? owner, Node? zero, Node? one)
    {
        public readonly UInt128 Key = key;      // address bits left-aligned (IPv4 uses the top 32), masked to Length
        public readonly int Length = length;
        public readonly T? Owner = owner;       // null for pure branch nodes
        public readonly Node? Zero = zero;
        public readonly Node? One = one;

        public Node? Child(int bit) => bit == 0 ? Zero : One;
        public Node WithChild(int bit, Node? child) => bit == 0 ? new(Key, Length, Owner, child, One) : new(Key, Length, Owner, Zero, child);
    }

    private readonly Lock _writeLock = new();

    // Owner -> its prefixes, kept under _writeLock, so removing a peer touches only its own prefixes
    // instead of walking the whole trie (O(peers) per removal; runtime removal at 100k peers).
    private readonly Dictionary<T, List<IpPrefix>> _byOwner = new(ReferenceEqualityComparer.Instance);
    private Node? _v4; // published roots: read with Volatile.Read, replaced with Volatile.Write under _writeLock
    private Node? _v6;
    private int _count;

    /// <summary>Number of prefixes in the table (both families).</summary>
    public int Count => Volatile.Read(ref _count);

    private long _generation;

    /// <summary>Changes with every insert and removal, so a reader that derived something from the table (the
    /// session listing's inner addresses, docs/ui.md "Server mode") knows when to derive it again.</summary>
    public long Generation => Volatile.Read(ref _generation);

    /// <summary>
    /// Maps <paramref name="prefix"/> to <paramref name="value"/>. An existing entry for the same prefix
    /// changes owner: in WireGuard an allowed IP belongs to at most one peer (wg(8), "allowed-ips").
    /// </summary>
    public void Insert(IpPrefix prefix, T value)
    {
        ArgumentNullException.ThrowIfNull(value);
        (UInt128 key, bool v6) = KeyOf(prefix);
        lock (_writeLock)
        {
            ref Node? root = ref v6 ? ref _v6 : ref _v4;
            var canonical = new IpPrefix(ToAddress(key, v6), prefix.Length);
            if (FindExact(root, key, prefix.Length)?.Owner is T previous)
            {
                Unindex(previous, canonical);
            }
            Index(value, canonical);
            bool added = false;
            Node updated = Insert(root, key, prefix.Length, value, ref added);
            Volatile.Write(ref root, updated);
            Volatile.Write(ref _generation, _generation + 1);
            if (added)
            {
                Volatile.Write(ref _count, _count + 1);
            }
        }
    }

    /// <summary>Removes exactly <paramref name="prefix"/> (not the prefixes it covers); false if absent.</summary>
    public bool Remove(IpPrefix prefix)
    {
        (UInt128 key, bool v6) = KeyOf(prefix);
        lock (_writeLock)
        {
            ref Node? root = ref v6 ? ref _v6 : ref _v4;
            T? owner = FindExact(root, key, prefix.Length)?.Owner;
            Node? updated = Remove(root, key, prefix.Length, out bool removed);
            if (removed)
            {
                if (owner is not null)
                {
                    Unindex(owner, new IpPrefix(ToAddress(key, v6), prefix.Length));
                }
                Volatile.Write(ref root, updated);
                Volatile.Write(ref _count, _count - 1);
                Volatile.Write(ref _generation, _generation + 1);
            }
            return removed;
        }
    }

    /// <summary>Removes every prefix owned by <paramref name="value"/> (a peer is being removed).</summary>
    public void RemoveAll(T value)
    {
        ArgumentNullException.ThrowIfNull(value);
        lock (_writeLock)
        {
            if (!_byOwner.TryGetValue(value, out List<IpPrefix>? mine))
            {
                return;
            }
            foreach (IpPrefix prefix in mine.ToArray())
            {
                Remove(prefix); // re-entering the lock on the same thread is fine
            }
        }
    }

    /// <summary>
    /// Longest-prefix match of a raw 4- or 16-byte address (network order, as in the IP header); null when
    /// nothing covers it or the span has another length. Lock-free and allocation-free.
    /// </summary>
    public T? Lookup(ReadOnlySpan<byte> address)
    {
        Node? node;
        UInt128 key;
        int maxLength;
        if (address.Length == 4)
        {
            node = Volatile.Read(ref _v4);
            key = (UInt128)BinaryPrimitives.ReadUInt32BigEndian(address) << 96;
            maxLength = 32;
        }
        else if (address.Length == 16)
        {
            node = Volatile.Read(ref _v6);
            key = BinaryPrimitives.ReadUInt128BigEndian(address);
            maxLength = 128;
        }
        else
        {
            return null;
        }

        T? best = null;
        while (node is not null && ((node.Key ^ key) & MaskOf(node.Length)) == 0)
        {
            if (node.Owner is not null)
            {
                best = node.Owner; // deeper nodes are longer prefixes, so the last match wins
            }
            if (node.Length == maxLength)
            {
                break;
            }
            node = node.Child(BitAt(key, node.Length));
        }
        return best;
    }

    /// <summary>All prefixes owned by <paramref name="value"/>, IPv4 first, each family in trie order.</summary>
    public List<IpPrefix> PrefixesOf(T value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var result = new List<IpPrefix>();
        Collect(Volatile.Read(ref _v4), value, v6: false, result);
        Collect(Volatile.Read(ref _v6), value, v6: true, result);
        return result;
    }

    /// <summary>
    /// Every owner's prefixes from one walk of the trie (same order as <see cref="PrefixesOf"/>), so a
    /// UAPI get=1 over N peers costs O(N) instead of N walks, O(N^2) (100k peers).
    /// </summary>
    public Dictionary<T, List<IpPrefix>> PrefixesByOwner()
    {
        var result = new Dictionary<T, List<IpPrefix>>(ReferenceEqualityComparer.Instance);
        CollectAll(Volatile.Read(ref _v4), v6: false, result);
        CollectAll(Volatile.Read(ref _v6), v6: true, result);
        return result;
    }

    private void Index(T owner, IpPrefix prefix)
    {
        if (!_byOwner.TryGetValue(owner, out List<IpPrefix>? list))
        {
            _byOwner[owner] = list = new List<IpPrefix>(1);
        }
        list.Add(prefix);
    }

    private void Unindex(T owner, IpPrefix prefix)
    {
        if (_byOwner.TryGetValue(owner, out List<IpPrefix>? list))
        {
            list.Remove(prefix);
            if (list.Count == 0)
            {
                _byOwner.Remove(owner);
            }
        }
    }

    /// <summary>The node holding exactly (key, length), or null.</summary>
    private static Node? FindExact(Node? node, UInt128 key, int length)
    {
        while (node is not null && node.Length <= length)
        {
            if ((key & MaskOf(node.Length)) != node.Key)
            {
                return null;
            }
            if (node.Length == length)
            {
                return node;
            }
            node = node.Child(BitAt(key, node.Length));
        }
        return null;
    }

    private static void CollectAll(Node? node, bool v6, Dictionary<T, List<IpPrefix>> result)
    {
        if (node is null)
        {
            return;
        }
        if (node.Owner is T owner)
        {
            if (!result.TryGetValue(owner, out List<IpPrefix>? list))
            {
                result[owner] = list = new List<IpPrefix>(1);
            }
            list.Add(new IpPrefix(ToAddress(node.Key, v6), node.Length));
        }
        CollectAll(node.Zero, v6, result);
        CollectAll(node.One, v6, result);
    }

    private static Node Insert(Node? node, UInt128 key, int length, T value, ref bool added)
    {
        if (node is null)
        {
            added = true;
            return new Node(key, length, value, null, null);
        }
        int common = Math.Min(CommonPrefixLength(node.Key, key), Math.Min(node.Length, length));
        if (common == node.Length && common == length)
        {
            added = node.Owner is null; // a branch node gains an owner, or an owner is replaced
            return new Node(node.Key, node.Length, value, node.Zero, node.One);
        }
        if (common == node.Length)
        {
            // The node's prefix covers the new one: descend.
            int bit = BitAt(key, node.Length);
            return node.WithChild(bit, Insert(node.Child(bit), key, length, value, ref added));
        }
        added = true;
        if (common == length)
        {
            // The new prefix covers the node: it becomes the node's parent.
            return BitAt(node.Key, length) == 0
                ? new Node(key, length, value, node, null)
                : new Node(key, length, value, null, node);
        }
        // The two diverge after `common` bits: a branch node owns both.
        var leaf = new Node(key, length, value, null, null);
        return BitAt(key, common) == 0
            ? new Node(key & MaskOf(common), common, null, leaf, node)
            : new Node(key & MaskOf(common), common, null, node, leaf);
    }

    private static Node? Remove(Node? node, UInt128 key, int length, out bool removed)
    {
        removed = false;
        if (node is null || node.Length > length || ((node.Key ^ key) & MaskOf(node.Length)) != 0)
        {
            return node;
        }
        if (node.Length == length)
        {
            if (node.Owner is null)
            {
                return node;
            }
            removed = true;
            return Compact(node.Key, node.Length, null, node.Zero, node.One);
        }
        int bit = BitAt(key, node.Length);
        Node? child = Remove(node.Child(bit), key, length, out removed);
        if (!removed)
        {
            return node;
        }
        return bit == 0
            ? Compact(node.Key, node.Length, node.Owner, child, node.One)
            : Compact(node.Key, node.Length, node.Owner, node.Zero, child);
    }

    // Drops owner-less nodes that no longer branch, keeping the trie path-compressed.
    private static Node? Compact(UInt128 key, int length, T? owner, Node? zero, Node? one) =>
        owner is not null || (zero is not null && one is not null) ? new Node(key, length, owner, zero, one)
        : zero ?? one;

    private static void Collect(Node? node, T value, bool v6, List<IpPrefix> result)
    {
        if (node is null)
        {
            return;
        }
        if (ReferenceEquals(node.Owner, value))
        {
            result.Add(new IpPrefix(ToAddress(node.Key, v6), node.Length));
        }
        Collect(node.Zero, value, v6, result);
        Collect(node.One, value, v6, result);
    }

    private static (UInt128 Key, bool V6) KeyOf(IpPrefix prefix)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (!prefix.Address.TryWriteBytes(bytes, out int n))
        {
            throw new ArgumentException("unsupported address", nameof(prefix));
        }
        UInt128 key = n == 4
            ? (UInt128)BinaryPrimitives.ReadUInt32BigEndian(bytes) << 96
            : BinaryPrimitives.ReadUInt128BigEndian(bytes);
        return (key & MaskOf(prefix.Length), n == 16);
    }

    private static IPAddress ToAddress(UInt128 key, bool v6)
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, key);
        return new IPAddress(v6 ? bytes : bytes[..4]);
    }

    private static UInt128 MaskOf(int length) => length == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - length);

    private static int BitAt(UInt128 key, int index) => (int)(key >> (127 - index)) & 1;

    private static int CommonPrefixLength(UInt128 a, UInt128 b) => (int)UInt128.LeadingZeroCount(a ^ b);
}
