namespace JumpingVpn.LoadGen.Bench.Failover;

/// <summary>
/// When a simulated client answers a cookie reply (docs/cluster.md "Benchmark"), sans I/O: a node under load
/// answers an initiation without a valid mac2 with a cookie reply instead of doing the handshake's DH work; the
/// client stores the cookie and sends the initiation again at once with mac2, as the WireGuard spec lets an
/// initiator do, instead of waiting for its retransmit timer (5 s). At most one such resend per initiation the
/// client's own timers sent, so a cookie that does not help (expired, or a node that keeps answering with cookie
/// replies) costs one extra initiation and then the timers rule again. The caller serialises per client.
/// </summary>
internal sealed class CookieResend(int clients)
{
    private readonly int[] _initiations = new int[clients];
    private readonly int[] _resentFor = CreateResent(clients);

    private long _resent;
    private long _ignored;

    /// <summary>Cookie replies that led to an immediate resend.</summary>
    public long Resent => Interlocked.Read(ref _resent);

    /// <summary>Cookie replies that did not (no handshake of that client's to that node pending, or already resent once).</summary>
    public long Ignored => Interlocked.Read(ref _ignored);

    /// <summary>Client <paramref name="client"/>'s timers sent an initiation (not a resend).</summary>
    public void OnInitiation(int client) => _initiations[client]++;

    /// <summary>
    /// A cookie reply the client accepted arrived from <paramref name="fromNode"/>: true when the initiation must be
    /// sent again now (the client still handshakes with that node and has not resent this initiation yet).
    /// </summary>
    public bool OnCookieReply(int client, FailoverClientState state, int clientNode, int fromNode)
    {
        if (state != FailoverClientState.Handshaking || clientNode != fromNode || _resentFor[client] == _initiations[client])
        {
            Interlocked.Increment(ref _ignored);
            return false;
        }
        _resentFor[client] = _initiations[client];
        Interlocked.Increment(ref _resent);
        return true;
    }

    private static int[] CreateResent(int clients)
    {
        int[] a = new int[clients];
        Array.Fill(a, -1);
        return a;
    }
}
