using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;
using static JumpingVpn.Control.Frames.ControlFrame;

namespace JumpingVpn.Control.Frames;

/// <summary>
/// HELLO (C->S, docs/protocol.md §3.1): sent after every completed handshake; opens a session
/// (<see cref="SessionId"/> none) or resumes one (id + last acknowledged state_version).
/// The body may be longer than <see cref="BodySize"/>: a newer client appends fields, an older server
/// ignores them and answers with the version both speak.
/// </summary>
public readonly struct HelloFrame
{
    public const int BodySize = 48;
    public const int Size = HeaderSize + BodySize;

    /// <summary>Body with the idle_keepalive_ms extension (docs/protocol.md §3.1).</summary>
    public const int ExtendedBodySize = 52;
    public const int ExtendedSize = HeaderSize + ExtendedBodySize;

    public HelloFrame(ushort protocolVersion, ControlCapabilities capabilities, ulong ctrlSeq, SessionId resumeSessionId, ulong lastAckedVersion, ulong timestampMs)
    {
        ProtocolVersion = protocolVersion;
        Capabilities = capabilities;
        CtrlSeq = ctrlSeq;
        ResumeSessionId = resumeSessionId;
        LastAckedVersion = lastAckedVersion;
        TimestampMs = timestampMs;
    }

    /// <summary>Highest protocol version the client speaks (never 0).</summary>
    public ushort ProtocolVersion { get; }

    public ControlCapabilities Capabilities { get; }

    public ulong CtrlSeq { get; }

    public SessionId ResumeSessionId { get; }

    public ulong LastAckedVersion { get; }

    public ulong TimestampMs { get; }

    public bool IsResume => !ResumeSessionId.IsNone;

    /// <summary>
    /// Extension at body offset 48 (u32): the client's idle keepalive interval in ms, so the server waits
    /// that long plus transport_dead before an idle binding counts as dead. 0 = not announced (the
    /// client keeps a heartbeat_interval heartbeat); written only when non-zero.
    /// </summary>
    public uint IdleKeepaliveMs { get; init; }

    public static bool TryParse(ReadOnlySpan<byte> plaintext, out HelloFrame frame)
    {
        frame = default;
        if (!TryGetBody(plaintext, ControlFrameType.Hello, BodySize, extensible: true, out ReadOnlySpan<byte> b))
        {
            return false;
        }
        ushort version = U16(b, 0);
        SessionId id = SessionId.Read(b.Slice(16, SessionId.Size));
        ulong lastAcked = U64(b, 32);
        // Version 0 does not exist; a fresh HELLO (no id) cannot claim an acknowledged version.
        if (version == 0 || (id.IsNone && lastAcked != 0))
        {
            return false;
        }
        frame = new HelloFrame(version, (ControlCapabilities)U32(b, 4), U64(b, 8), id, lastAcked, U64(b, 40))
        {
            IdleKeepaliveMs = b.Length >= ExtendedBodySize ? U32(b, BodySize) : 0,
        };
        return true;
    }

    public int Write(Span<byte> destination)
    {
        int bodySize = IdleKeepaliveMs == 0 ? BodySize : ExtendedBodySize;
        Span<byte> b = WriteHeader(destination, ControlFrameType.Hello, bodySize);
        U16(b, 0, ProtocolVersion);
        // b[2..4] flags: reserved, zero.
        U32(b, 4, (uint)Capabilities);
        U64(b, 8, CtrlSeq);
        ResumeSessionId.Write(b.Slice(16, SessionId.Size));
        U64(b, 32, LastAckedVersion);
        U64(b, 40, TimestampMs);
        if (IdleKeepaliveMs != 0)
        {
            U32(b, BodySize, IdleKeepaliveMs);
        }
        return HeaderSize + bodySize;
    }
}

/// <summary>The policy numbers that bind the client (docs/design.md §2.2 HELLO_ACK "policy snapshot"), 32 bytes.</summary>
public readonly record struct PolicySnapshot(
    uint HeartbeatIntervalMs,
    uint HeartbeatVolatileMs,
    uint TransportDeadMs,
    uint RecoveryWindowMs,
    uint TransportLostTtlMs,
    uint MaxLifetimeMs,
    uint SwitchCooldownMs,
    ushort MaxSwitchesPerMinute,
    byte MaxCandidatePaths)
{
    public const int Size = 32;

    public static PolicySnapshot From(SessionPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return new PolicySnapshot(
            Clamp(policy.HeartbeatIntervalMs), Clamp(policy.HeartbeatVolatileMs), Clamp(policy.TransportDeadMs),
            Clamp(policy.RecoveryWindowMs), Clamp(policy.TransportLostTtlMs), Clamp(policy.MaxLifetimeMs),
            Clamp(policy.SwitchCooldownMs), (ushort)Math.Clamp(policy.MaxSwitchesPerMinute, 0, ushort.MaxValue),
            (byte)Math.Clamp(policy.MaxCandidatePaths, 0, byte.MaxValue));

        static uint Clamp(long ms) => (uint)Math.Clamp(ms, 0, uint.MaxValue);
    }

    internal static PolicySnapshot Read(ReadOnlySpan<byte> b) =>
        new(U32(b, 0), U32(b, 4), U32(b, 8), U32(b, 12), U32(b, 16), U32(b, 20), U32(b, 24), U16(b, 28), b[30]);

    internal void Write(Span<byte> b)
    {
        U32(b, 0, HeartbeatIntervalMs);
        U32(b, 4, HeartbeatVolatileMs);
        U32(b, 8, TransportDeadMs);
        U32(b, 12, RecoveryWindowMs);
        U32(b, 16, TransportLostTtlMs);
        U32(b, 20, MaxLifetimeMs);
        U32(b, 24, SwitchCooldownMs);
        U16(b, 28, MaxSwitchesPerMinute);
        b[30] = MaxCandidatePaths;
        b[31] = 0;
    }
}

/// <summary>HELLO_ACK (S->C, docs/protocol.md §3.2): session created (BIRTH->ATTACHED) or resumed.</summary>
public readonly struct HelloAckFrame
{
    public const int BodySize = 80;
    public const int Size = HeaderSize + BodySize;

    public HelloAckFrame(ushort protocolVersion, bool resumed, ControlCapabilities capabilities, ulong echoedCtrlSeq, SessionId sessionId, ulong stateVersion, ulong boundAtVersion, PolicySnapshot policy)
    {
        ProtocolVersion = protocolVersion;
        Resumed = resumed;
        Capabilities = capabilities;
        EchoedCtrlSeq = echoedCtrlSeq;
        SessionId = sessionId;
        StateVersion = stateVersion;
        BoundAtVersion = boundAtVersion;
        Policy = policy;
    }

    /// <summary>The version both sides speak from now on: min(client's, server's).</summary>
    public ushort ProtocolVersion { get; }

    public bool Resumed { get; }

    public ControlCapabilities Capabilities { get; }

    public ulong EchoedCtrlSeq { get; }

    public SessionId SessionId { get; }

    public ulong StateVersion { get; }

    public ulong BoundAtVersion { get; }

    public PolicySnapshot Policy { get; }

    public static bool TryParse(ReadOnlySpan<byte> plaintext, out HelloAckFrame frame)
    {
        frame = default;
        if (!TryGetBody(plaintext, ControlFrameType.HelloAck, BodySize, extensible: false, out ReadOnlySpan<byte> b))
        {
            return false;
        }
        ushort version = U16(b, 0);
        SessionId id = SessionId.Read(b.Slice(16, SessionId.Size));
        if (version == 0 || id.IsNone)
        {
            return false;
        }
        frame = new HelloAckFrame(version, (U16(b, 2) & 1) != 0, (ControlCapabilities)U32(b, 4), U64(b, 8), id, U64(b, 32), U64(b, 40), PolicySnapshot.Read(b.Slice(48, PolicySnapshot.Size)));
        return true;
    }

    public int Write(Span<byte> destination)
    {
        Span<byte> b = WriteHeader(destination, ControlFrameType.HelloAck, BodySize);
        U16(b, 0, ProtocolVersion);
        U16(b, 2, Resumed ? (ushort)1 : (ushort)0);
        U32(b, 4, (uint)Capabilities);
        U64(b, 8, EchoedCtrlSeq);
        SessionId.Write(b.Slice(16, SessionId.Size));
        U64(b, 32, StateVersion);
        U64(b, 40, BoundAtVersion);
        Policy.Write(b.Slice(48, PolicySnapshot.Size));
        return Size;
    }
}
