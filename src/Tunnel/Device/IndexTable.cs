using System.Collections.Concurrent;
using JumpingVpn.Tunnel.Keys;

namespace JumpingVpn.Tunnel.Device;

/// <summary>
/// Receiver index -> (peer, keypair) (wireguard-go indextable.go). Indices are random 32-bit values so
/// they reveal nothing about how many sessions exist (whitepaper §5.4.2 "I_i ... randomly generated").
/// Lookups are lock-free and allocation-free (ConcurrentDictionary reads), which the receive path needs.
/// </summary>
internal sealed class IndexTable
{
    private readonly ConcurrentDictionary<uint, IndexEntry> _entries = new();

    public int Count => _entries.Count;

    /// <summary>Reserves a fresh index for a handshake of <paramref name="peer"/>.</summary>
    public uint Allocate(Peer peer, Action<Span<byte>> random)
    {
        Span<byte> b = stackalloc byte[4];
        while (true)
        {
            random(b);
            uint index = BitConverter.ToUInt32(b);
            if (_entries.TryAdd(index, new IndexEntry(peer)))
            {
                return index;
            }
        }
    }

    /// <summary>Binds a keypair to an index previously allocated for its handshake.</summary>
    public void SetKeypair(uint index, Keypair keypair)
    {
        if (_entries.TryGetValue(index, out IndexEntry? entry))
        {
            entry.Keypair = keypair;
        }
    }

    public bool TryGet(uint index, out IndexEntry? entry) => _entries.TryGetValue(index, out entry);

    public void Remove(uint index) => _entries.TryRemove(index, out _);
}

internal sealed class IndexEntry(Peer peer)
{
    public Peer Peer { get; } = peer;

    private Keypair? _keypair;

    /// <summary>Null while the index names an in-flight handshake.</summary>
    public Keypair? Keypair
    {
        get => Volatile.Read(ref _keypair);
        set => Volatile.Write(ref _keypair, value);
    }
}
