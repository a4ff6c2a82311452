namespace JumpingVpn.Ui.Events;

/// <summary>One audit event as the Events page shows it: when, its type and kind, the sentence, and the raw line on demand.</summary>
/// <param name="TsMs">Unix ms from the line's ts_ms; null for lines without one (a reader's AUDIT_GAP).</param>
public sealed record EventView(long? TsMs, string Type, string Kind, string? SessionId, string Text, string Raw);

/// <summary>A page of events after a cursor: the events, the cursor to ask with next, and whether the tunnel answered.</summary>
public sealed record EventsPage(long Cursor, bool Running, string? Problem, IReadOnlyList<EventView> Events);

/// <summary>A tunnel the Events page can show.</summary>
public sealed record EventTunnel(string Name, string State);

/// <summary>One daemon log line.</summary>
public sealed record LogLineView(DateTimeOffset Time, string Text);
