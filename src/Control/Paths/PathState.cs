namespace JumpingVpn.Control.Paths;

/// <summary>What the client knows about one path (docs/design.md §4, docs/session-spec.md §2.8).</summary>
public enum PathState
{
    /// <summary>New: probes sent, none answered yet.</summary>
    Probing,

    /// <summary>Answers probes; loss within the threshold.</summary>
    Alive,

    /// <summary>Answers, but loss above the threshold (docs/session-spec.md §2.8 filter).</summary>
    Lossy,

    /// <summary>No authenticated reply for path_dead (or max_consecutive_drops probes in a row).</summary>
    Dead,
}
