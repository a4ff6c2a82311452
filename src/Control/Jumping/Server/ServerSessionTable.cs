using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tunnel.Device;

namespace JumpingVpn.Control.Jumping.Server;

/// <summary>
/// The server sessions of one interface, found in O(1) by peer (receiver index -> peer -> session) and by
/// session id (docs/design.md §3). Both maps are concurrent: the receive thread adds and replaces sessions,
/// the sweep evicts them (docs/threads.md). The table also keeps the count of sessions that are not
/// TERMINATED, from the events every server transition publishes (SESSION_CREATED +1, STATE_CHANGE to
/// TERMINATED -1), so the session limit check on HELLO is O(1) instead of a scan of all sessions.
/// </summary>
internal sealed class ServerSessionTable(NodeContext context)
{
    private readonly ConcurrentDictionary<Peer, ServerSession> _byPeer = new();
    private readonly ConcurrentDictionary<SessionId, ServerSession> _byId = new();
    private long _live;
    private long _occupied;
    private long _version;

    /// <summary>Changes whenever a session enters or leaves the table, so a listing can keep its sorted order
    /// until then (docs/threads.md "Session listing"). One interlocked add per HELLO or removal.</summary>
    public long Version => Interlocked.Read(ref _version);

    /// <summary>Server sessions that are not TERMINATED.</summary>
    public long Live => Interlocked.Read(ref _live);

    public int Count => _byPeer.Count;

    /// <summary>
    /// Takes one of <paramref name="limit"/> places for a session about to be created (docs/threads.md "Control
    /// workers": several workers admit HELLOs at once). One compare-and-swap on the count of live sessions plus
    /// admissions in progress, so the limit is exact however many workers race; the caller gives the place back
    /// with <see cref="EndAdmission"/> after publishing the creation's events (which count the session as live).
    /// Per HELLO, not per packet: the data plane never touches this counter.
    /// </summary>
    public bool TryAdmit(long limit)
    {
        long seen = Interlocked.Read(ref _occupied);
        while (seen < limit)
        {
            long was = Interlocked.CompareExchange(ref _occupied, seen + 1, seen);
            if (was == seen)
            {
                return true;
            }
            seen = was;
        }
        return false;
    }

    /// <summary>Gives back the place <see cref="TryAdmit"/> took; a session that was created counts from its SESSION_CREATED event on.</summary>
    public void EndAdmission() => Interlocked.Decrement(ref _occupied);

    /// <summary>Every (peer, session) entry. Enumerating the map itself (not <see cref="Sessions"/>, which
    /// copies all N) keeps an idle sweep pass at a few ns per session (docs/scaling.md).</summary>
    public IEnumerable<KeyValuePair<Peer, ServerSession>> Entries => _byPeer;

    /// <summary>A copy of the sessions (status, cluster fencing).</summary>
    public ICollection<ServerSession> Sessions => _byPeer.Values;

    public bool TryGet(Peer peer, [NotNullWhen(true)] out ServerSession? session) => _byPeer.TryGetValue(peer, out session);

    public bool TryFind(SessionId id, [NotNullWhen(true)] out ServerSession? session) => _byId.TryGetValue(id, out session);

    public bool Contains(Peer peer) => _byPeer.ContainsKey(peer);

    /// <summary>Makes <paramref name="session"/> the peer's session and findable by its id.</summary>
    public void Put(Peer peer, ServerSession session)
    {
        _byPeer[peer] = session;
        _byId[session.Slot.Id] = session;
        Interlocked.Increment(ref _version);
    }

    /// <summary>A session a HELLO replaces: its id stops resolving; if it was live, it stops counting
    /// (it ends without a TERMINATE, so no event will say so).</summary>
    public void Retire(ServerSession replaced)
    {
        _byId.TryRemove(replaced.Slot.Id, out _);
        if (!replaced.Slot.IsTerminated)
        {
            Interlocked.Decrement(ref _live);
            Interlocked.Decrement(ref _occupied);
        }
    }

    /// <summary>The id no longer resolves (the peer entry is left to the caller).</summary>
    public void ForgetId(SessionId id) => _byId.TryRemove(id, out _);

    /// <summary>Removes the peer's entry only if it is still <paramref name="session"/> (a HELLO may have replaced it).</summary>
    public bool RemoveIfCurrent(ServerSession session)
    {
        bool removed = _byPeer.TryRemove(new KeyValuePair<Peer, ServerSession>(session.Peer, session));
        if (removed)
        {
            Interlocked.Increment(ref _version);
        }
        return removed;
    }

    /// <summary>Publishes a server transition's events (audit lines and metrics) and counts the live sessions from them.</summary>
    public void Publish(List<AuditEvent> events)
    {
        if (events.Count == 0)
        {
            return;
        }
        foreach (AuditEvent e in events)
        {
            if (e.Type == AuditEventType.SessionCreated)
            {
                Interlocked.Increment(ref _live);
                Interlocked.Increment(ref _occupied);
            }
            else if (e.Type == AuditEventType.StateChange && e.NewState == SessionState.Terminated)
            {
                Interlocked.Decrement(ref _live);
                Interlocked.Decrement(ref _occupied);
            }
        }
        context.PublishEvents(events);
    }
}
