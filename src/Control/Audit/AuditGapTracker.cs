namespace JumpingVpn.Control.Audit;

/// <summary>
/// Accumulates what was dropped since the last <c>AUDIT_GAP</c>: a count, and per session the lowest and
/// highest state version (for at most <c>maxSessions</c> sessions; the rest, and session-less events, are
/// only counted). Not thread-safe: the owner serializes access.
/// </summary>
internal sealed class AuditGapTracker
{
    private readonly int _maxSessions;
    private readonly Dictionary<string, (ulong From, ulong To, long Count)> _sessions = new(StringComparer.Ordinal);
    private long _untracked;

    public AuditGapTracker(int maxSessions) => _maxSessions = maxSessions;

    public bool IsEmpty => _untracked == 0 && _sessions.Count == 0;

    /// <summary>How many gap records <see cref="Drain"/> would produce.</summary>
    public int EntryCount => _sessions.Count + (_untracked > 0 ? 1 : 0);

    public void Add(IAuditRecord record)
    {
        string? session = record.SessionId;
        if (session is null)
        {
            _untracked++;
            return;
        }
        ulong version = record.StateVersion;
        if (_sessions.TryGetValue(session, out var range))
        {
            _sessions[session] = (Math.Min(range.From, version), Math.Max(range.To, version), range.Count + 1);
        }
        else if (_sessions.Count < _maxSessions)
        {
            _sessions[session] = (version, version, 1);
        }
        else
        {
            _untracked++;
        }
    }

    public void AddUntracked(long count) => _untracked += count;

    /// <summary>
    /// Turns the accumulated loss into gap records (one per named session, in first-seen order, then one
    /// without a session for the rest) and resets. The dropped counts of the records sum to the loss.
    /// </summary>
    public List<AuditGapRecord> Drain(long tsMs, string? nodeId)
    {
        var gaps = new List<AuditGapRecord>(_sessions.Count + 1);
        foreach (var (session, range) in _sessions)
        {
            gaps.Add(new AuditGapRecord(tsMs, range.Count, session, range.From, range.To, nodeId));
        }
        if (_untracked > 0)
        {
            gaps.Add(new AuditGapRecord(tsMs, _untracked, null, 0, 0, nodeId));
        }
        _sessions.Clear();
        _untracked = 0;
        return gaps;
    }
}
