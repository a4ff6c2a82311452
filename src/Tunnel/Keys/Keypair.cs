using JumpingVpn.Tunnel.Crypto;
using JumpingVpn.Tunnel.Replay;
using JumpingVpn.Tunnel.Timers;

namespace JumpingVpn.Tunnel.Keys;

/// <summary>
/// One session's transport keys (whitepaper §5.4.6): a sending key with its nonce counter and a
/// receiving key with its replay window. Immutable apart from the counter and the window, so the
/// packet threads use it without locks. The replay window locks itself (one lock per keypair), since
/// several receive threads may open packets of one keypair (docs/threads.md "Receive threads").
/// Sealing and opening happen between <see cref="TryEnter"/> and <see cref="Exit"/>; once the keypair
/// is retired (replaced, expired, peer removed) both keys are zeroed as soon as no use is in flight.
/// </summary>
public sealed class Keypair
{
    private long _sendNonce = -1;
    private readonly KeyUseGate _gate;

    public Keypair(ReadOnlySpan<byte> sendKey, ReadOnlySpan<byte> receiveKey, bool isInitiator,
        uint localIndex, uint remoteIndex, long createdNs)
    {
        Send = new TransportKey(sendKey);
        Receive = new TransportKey(receiveKey);
        IsInitiator = isInitiator;
        LocalIndex = localIndex;
        RemoteIndex = remoteIndex;
        CreatedNs = createdNs;
        _gate = new KeyUseGate(ZeroKeys);
    }

    public TransportKey Send { get; }
    public TransportKey Receive { get; }
    public ReplayFilter Replay { get; } = new();
    public bool IsInitiator { get; }
    public uint LocalIndex { get; }
    public uint RemoteIndex { get; }
    public long CreatedNs { get; }

    /// <summary>Takes the next sending counter; atomically, since several threads may send.</summary>
    public ulong NextSendNonce() => (ulong)Interlocked.Increment(ref _sendNonce);

    public ulong SendNonceUsed => (ulong)(Volatile.Read(ref _sendNonce) + 1);

    /// <summary>Starts a seal/open; false when the keypair was retired (its keys are or will be zero).</summary>
    public bool TryEnter() => _gate.TryEnter();

    public void Exit() => _gate.Exit();

    /// <summary>No longer reachable from the peer or the index table: zero the keys once unused.</summary>
    public void Retire() => _gate.Retire();

    internal bool IsRetired => _gate.IsRetired;

    private void ZeroKeys()
    {
        Send.Dispose();
        Receive.Dispose();
    }

    /// <summary>A keypair older than RejectAfterTime must not send or receive (whitepaper §6.1).</summary>
    public bool Expired(long now) => now - CreatedNs >= ProtocolTimes.RejectAfterTime;
}
