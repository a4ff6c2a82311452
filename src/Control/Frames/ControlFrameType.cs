namespace JumpingVpn.Control.Frames;

/// <summary>Control frame types (docs/protocol.md §3). Values are wire constants: append, never renumber.</summary>
public enum ControlFrameType : byte
{
    Hello = 1,
    HelloAck = 2,
    Keepalive = 3,
    KeepaliveAck = 4,
    PathProbe = 5,
    PathProbeAck = 6,
    ReattachRequest = 7,
    ReattachAck = 8,
    ReattachReject = 9,
    RebindHint = 10,
    Terminate = 11,
    TerminateAck = 12,
    SessionMove = 13,
}

/// <summary>What the first byte of a decrypted transport payload says it is (docs/design.md §2.2).</summary>
public enum PlaintextKind : byte
{
    /// <summary>Empty plaintext: a WireGuard keepalive.</summary>
    Keepalive,
    Control,
    IPv4,
    IPv6,
    /// <summary>Anything else: neither IP nor a control frame; the data plane drops it.</summary>
    Invalid,
}

/// <summary>Capability bits in HELLO / HELLO_ACK. Unknown bits are ignored (a newer peer may set more).</summary>
[Flags]
public enum ControlCapabilities : uint
{
    None = 0,
    PathProbe = 1 << 0,
    RebindHint = 1 << 1,
}
