namespace JumpingVpn.Tunnel.Keys;

/// <summary>
/// A peer's previous, current and next keypairs (whitepaper §6.1 and wireguard-go keypair.go): the
/// responder parks a new session in Next until the initiator proves it has it (first data packet), so
/// the initiator never sends on a key the responder has not confirmed. Mutated under the peer's
/// handshake lock; the packet threads read <see cref="Current"/> without locking.
/// </summary>
public sealed class KeypairSet
{
    private Keypair? _current;
    private Keypair? _next;

    public Keypair? Previous { get; private set; }

    public Keypair? Current => Volatile.Read(ref _current);

    public Keypair? Next => Volatile.Read(ref _next);

    /// <summary>
    /// Installs a new session (noise-protocol.go BeginSymmetricSession). Returns the keypairs that are
    /// no longer reachable so the caller can drop their indices.
    /// </summary>
    public void Install(Keypair keypair, List<Keypair> retired)
    {
        if (keypair.IsInitiator)
        {
            Keypair? next = Next;
            if (next is not null)
            {
                Volatile.Write(ref _next, null);
                Retire(Previous, retired);
                Previous = next;
                Retire(Current, retired);
            }
            else
            {
                Retire(Previous, retired);
                Previous = Current;
            }
            Volatile.Write(ref _current, keypair);
        }
        else
        {
            Retire(Next, retired);
            Volatile.Write(ref _next, keypair);
            Retire(Previous, retired);
            Previous = null;
        }
    }

    /// <summary>
    /// The first packet authenticated with Next confirms it (keypair.go ReceivedWithKeypair):
    /// previous = current, current = next. Returns false if Next was not this keypair any more.
    /// </summary>
    public bool ConfirmNext(Keypair received, List<Keypair> retired)
    {
        if (!ReferenceEquals(Next, received))
        {
            return false;
        }
        Retire(Previous, retired);
        Previous = Current;
        Volatile.Write(ref _current, received);
        Volatile.Write(ref _next, null);
        return true;
    }

    public void Clear(List<Keypair> retired)
    {
        Retire(Previous, retired);
        Retire(Current, retired);
        Retire(Next, retired);
        Previous = null;
        Volatile.Write(ref _current, null);
        Volatile.Write(ref _next, null);
    }

    private static void Retire(Keypair? keypair, List<Keypair> retired)
    {
        if (keypair is not null)
        {
            retired.Add(keypair);
        }
    }
}
