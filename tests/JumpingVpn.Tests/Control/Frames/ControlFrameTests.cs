using CsCheck;
using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Tests.Control.Frames;

public sealed class ControlFrameTests
{
    private static readonly SessionId s_id = SessionId.Read([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);

    /// <summary>Every parser, as (name, does it accept the bytes).</summary>
    private static readonly (string Name, Func<byte[], bool> Parse)[] s_parsers =
    [
        ("HELLO", b => HelloFrame.TryParse(b, out _)),
        ("HELLO_ACK", b => HelloAckFrame.TryParse(b, out _)),
        ("KEEPALIVE", b => KeepaliveFrame.TryParse(b, out _)),
        ("KEEPALIVE_ACK", b => KeepaliveAckFrame.TryParse(b, out _)),
        ("PATH_PROBE", b => PathProbeFrame.TryParse(b, out _)),
        ("PATH_PROBE_ACK", b => PathProbeAckFrame.TryParse(b, out _)),
        ("REATTACH_REQUEST", b => ReattachRequestFrame.TryParse(b, out _)),
        ("REATTACH_ACK", b => ReattachAckFrame.TryParse(b, out _)),
        ("REATTACH_REJECT", b => ReattachRejectFrame.TryParse(b, out _)),
        ("REBIND_HINT", b => RebindHintFrame.TryParse(b, out _)),
        ("TERMINATE", b => TerminateFrame.TryParse(b, out _)),
        ("TERMINATE_ACK", b => TerminateAckFrame.TryParse(b, out _)),
        ("SESSION_MOVE", b => SessionMoveFrame.TryParse(b, out _)),
        ("header", b => ControlFrame.TryReadHeader(b, out _, out _)),
    ];

    /// <summary>One valid encoding of every frame type.</summary>
    private static IEnumerable<(ControlFrameType Type, byte[] Bytes)> Samples()
    {
        yield return (ControlFrameType.Hello, Encode(new HelloFrame(1, ControlCapabilities.PathProbe, 7, s_id, 3, 99).Write, HelloFrame.Size));
        yield return (ControlFrameType.HelloAck, Encode(new HelloAckFrame(1, true, ControlCapabilities.RebindHint, 7, s_id, 4, 3, PolicySnapshot.From(JumpingVpn.Control.Policy.SessionPolicy.Default)).Write, HelloAckFrame.Size));
        yield return (ControlFrameType.Keepalive, Encode(new KeepaliveFrame(1, 2, 3, 4).Write, KeepaliveFrame.Size));
        yield return (ControlFrameType.KeepaliveAck, Encode(new KeepaliveAckFrame(1, 2, 3, 4).Write, KeepaliveAckFrame.Size));
        yield return (ControlFrameType.PathProbe, Encode(new PathProbeFrame(1, 2, 3).Write, PathProbeFrame.MinSize));
        yield return (ControlFrameType.PathProbeAck, Encode(new PathProbeAckFrame(1, 2, 3).Write, PathProbeAckFrame.Size));
        yield return (ControlFrameType.ReattachRequest, Encode(new ReattachRequestFrame(s_id, 5, 4, ReasonCode.NatRebind, 2, 1000).Write, ReattachRequestFrame.Size));
        yield return (ControlFrameType.ReattachAck, Encode(new ReattachAckFrame(s_id, 5, 6, 6, ReasonCode.ReattachSuccess).Write, ReattachAckFrame.Size));
        yield return (ControlFrameType.ReattachReject, Encode(new ReattachRejectFrame(s_id, 5, 6, ReasonCode.CooldownActive, 1500).Write, ReattachRejectFrame.Size));
        yield return (ControlFrameType.RebindHint, Encode(new RebindHintFrame(s_id, 6).Write, RebindHintFrame.Size));
        yield return (ControlFrameType.Terminate, Encode(new TerminateFrame(s_id, 9, 6, ReasonCode.ClientTerminated).Write, TerminateFrame.Size));
        yield return (ControlFrameType.TerminateAck, Encode(new TerminateAckFrame(s_id, 9, 7, ReasonCode.ClientTerminated).Write, TerminateAckFrame.Size));
        yield return (ControlFrameType.SessionMove, Encode(new SessionMoveFrame(s_id, 7, ReasonCode.NodeDrain, new System.Net.IPEndPoint(System.Net.IPAddress.Parse("192.0.2.7"), 51820)).Write, SessionMoveFrame.Size));
    }

    private delegate int Writer(Span<byte> destination);

    private static byte[] Encode(Writer write, int size)
    {
        byte[] b = new byte[size];
        Assert.Equal(size, write(b));
        return b;
    }

    private static bool ParseAs(ControlFrameType type, byte[] b) => s_parsers[(int)type - 1].Parse(b);

    [Fact]
    public void RandomBytesNeverThrow()
    {
        Gen.Byte.Array[0, 200].Sample(bytes =>
        {
            foreach (var (_, parse) in s_parsers)
            {
                _ = parse(bytes);
            }
            _ = ControlFrame.Classify(bytes);
        }, iter: 20_000);
    }

    [Fact]
    public void RandomBodiesBehindAValidHeaderNeverThrow()
    {
        // Random bytes rarely pass the marker/type/length checks; force a plausible header so the body
        // decoding paths get fuzzed too.
        Gen.Select(Gen.Byte[1, 13], Gen.Byte.Array[0, 120], Gen.Int[0, 16]).Sample((type, body, pad) =>
        {
            byte[] b = new byte[4 + body.Length + pad];
            b[1] = type;
            b[2] = (byte)body.Length;
            body.CopyTo(b, 4);
            foreach (var (_, parse) in s_parsers)
            {
                _ = parse(b);
            }
        }, iter: 20_000);
    }

    [Fact]
    public void EveryTypeIsAcceptedOnlyByItsOwnParser()
    {
        foreach (var (type, bytes) in Samples())
        {
            Assert.Equal(PlaintextKind.Control, ControlFrame.Classify(bytes));
            Assert.True(ControlFrame.TryReadHeader(bytes, out ControlFrameType read, out _));
            Assert.Equal(type, read);
            for (int i = 0; i < s_parsers.Length - 1; i++)
            {
                Assert.Equal(i == (int)type - 1, s_parsers[i].Parse(bytes));
            }
        }
    }

    [Fact]
    public void TruncatedFramesAreRejected()
    {
        foreach (var (type, bytes) in Samples())
        {
            for (int n = 0; n < bytes.Length; n++)
            {
                Assert.False(ParseAs(type, bytes[..n]), $"{type} truncated to {n} bytes was accepted");
            }
        }
    }

    [Fact]
    public void BodyLengthMismatchIsRejected()
    {
        foreach (var (type, bytes) in Samples())
        {
            if (type is ControlFrameType.Hello or ControlFrameType.PathProbe)
            {
                continue; // extensible tails, tested separately
            }
            byte[] longer = new byte[bytes.Length + 4];
            bytes.CopyTo(longer, 0);
            longer[2]++;
            Assert.False(ParseAs(type, longer), $"{type} with a longer body was accepted");
        }
    }

    [Fact]
    public void ZeroPaddingIsIgnoredAndNonZeroPaddingRejected()
    {
        foreach (var (type, bytes) in Samples())
        {
            byte[] padded = new byte[(bytes.Length + 15) / 16 * 16 + 16];
            bytes.CopyTo(padded, 0);
            Assert.True(ParseAs(type, padded), $"{type} with zero padding was rejected");
            padded[^1] = 1;
            Assert.False(ParseAs(type, padded), $"{type} with non-zero padding was accepted");
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(14)]
    [InlineData(0x7f)]
    [InlineData(0xff)]
    public void UnknownTypeIsRejected(byte type)
    {
        foreach (var (_, bytes) in Samples())
        {
            byte[] b = (byte[])bytes.Clone();
            b[1] = type;
            foreach (var (_, parse) in s_parsers)
            {
                Assert.False(parse(b));
            }
        }
    }

    [Theory]
    [InlineData(new byte[0], PlaintextKind.Keepalive)]
    [InlineData(new byte[] { 0x45, 0 }, PlaintextKind.IPv4)]
    [InlineData(new byte[] { 0x60, 0 }, PlaintextKind.IPv6)]
    [InlineData(new byte[] { 0x00, 1 }, PlaintextKind.Control)]
    [InlineData(new byte[] { 0x01 }, PlaintextKind.Invalid)]
    [InlineData(new byte[] { 0x50 }, PlaintextKind.Invalid)]
    public void ClassifiesPlaintextByFirstByte(byte[] plaintext, PlaintextKind kind) =>
        Assert.Equal(kind, ControlFrame.Classify(plaintext));

    [Fact]
    public void HelloToleratesALongerBodyFromANewerVersion()
    {
        byte[] b = new byte[HelloFrame.Size + 16];
        new HelloFrame(7, ControlCapabilities.PathProbe | (ControlCapabilities)0x8000, 1, s_id, 2, 3).Write(b);
        b[2] = (byte)(HelloFrame.BodySize + 16);
        b[HelloFrame.Size] = 0xAA; // a future field, not padding
        Assert.True(HelloFrame.TryParse(b, out HelloFrame hello));
        Assert.Equal(7, hello.ProtocolVersion);
        Assert.True(hello.IsResume);
    }

    [Fact]
    public void HelloRejectsVersionZeroAndAckedVersionWithoutSession()
    {
        byte[] b = new byte[HelloFrame.Size];
        new HelloFrame(0, 0, 1, s_id, 2, 3).Write(b);
        Assert.False(HelloFrame.TryParse(b, out _));
        new HelloFrame(1, 0, 1, SessionId.None, 2, 3).Write(b);
        Assert.False(HelloFrame.TryParse(b, out _));
        new HelloFrame(1, 0, 1, SessionId.None, 0, 3).Write(b);
        Assert.True(HelloFrame.TryParse(b, out HelloFrame fresh));
        Assert.False(fresh.IsResume);
    }

    [Fact]
    public void WriterThrowsOnTooSmallBuffer() =>
        Assert.Throws<ArgumentException>(() => new KeepaliveFrame(1, 2, 3, 4).Write(new byte[KeepaliveFrame.Size - 1]));

    private static readonly Gen<SessionId> s_genId = Gen.Byte.Array[16].Where(b => b.Any(x => x != 0)).Select(b => SessionId.Read(b));

    [Fact]
    public void RoundTripsEveryFrameType()
    {
        Gen.Select(Gen.ULong, Gen.ULong, Gen.ULong, Gen.ULong, Gen.UInt, Gen.UShort, s_genId).Sample((a, b, c, d, u, s, id) =>
        {
            var reason = (ReasonCode)s;
            ushort version = (ushort)Math.Max((int)s, 1);
            var buf = new byte[256];

            var hello = new HelloFrame(version, (ControlCapabilities)u, a, id, b, c);
            hello.Write(buf);
            Assert.True(HelloFrame.TryParse(buf, out HelloFrame hello2));
            Assert.Equal((hello.ProtocolVersion, hello.Capabilities, hello.CtrlSeq, hello.ResumeSessionId, hello.LastAckedVersion, hello.TimestampMs),
                (hello2.ProtocolVersion, hello2.Capabilities, hello2.CtrlSeq, hello2.ResumeSessionId, hello2.LastAckedVersion, hello2.TimestampMs));

            var policy = new PolicySnapshot(u, (uint)a, (uint)b, (uint)c, (uint)d, u ^ 1, u ^ 2, s, (byte)u);
            var ack = new HelloAckFrame(version, (u & 1) != 0, (ControlCapabilities)u, a, id, b, c, policy);
            Array.Clear(buf);
            ack.Write(buf);
            Assert.True(HelloAckFrame.TryParse(buf, out HelloAckFrame ack2));
            Assert.Equal((ack.ProtocolVersion, ack.Resumed, ack.Capabilities, ack.EchoedCtrlSeq, ack.SessionId, ack.StateVersion, ack.BoundAtVersion, ack.Policy),
                (ack2.ProtocolVersion, ack2.Resumed, ack2.Capabilities, ack2.EchoedCtrlSeq, ack2.SessionId, ack2.StateVersion, ack2.BoundAtVersion, ack2.Policy));

            RoundTrip(new KeepaliveFrame(a, b, c, d), (f, x) => f.Write(x), (byte[] x, out KeepaliveFrame f) => KeepaliveFrame.TryParse(x, out f));
            RoundTrip(new KeepaliveAckFrame(a, b, c, d), (f, x) => f.Write(x), (byte[] x, out KeepaliveAckFrame f) => KeepaliveAckFrame.TryParse(x, out f));
            RoundTrip(new PathProbeFrame(a, u, b, s % 64), (f, x) => f.Write(x), (byte[] x, out PathProbeFrame f) => PathProbeFrame.TryParse(x, out f));
            RoundTrip(new PathProbeAckFrame(a, u, b), (f, x) => f.Write(x), (byte[] x, out PathProbeAckFrame f) => PathProbeAckFrame.TryParse(x, out f));
            RoundTrip(new ReattachRequestFrame(id, a, b, reason, u, c), (f, x) => f.Write(x), (byte[] x, out ReattachRequestFrame f) => ReattachRequestFrame.TryParse(x, out f));
            RoundTrip(new ReattachAckFrame(id, a, b, c, reason), (f, x) => f.Write(x), (byte[] x, out ReattachAckFrame f) => ReattachAckFrame.TryParse(x, out f));
            RoundTrip(new ReattachRejectFrame(id, a, b, reason, u), (f, x) => f.Write(x), (byte[] x, out ReattachRejectFrame f) => ReattachRejectFrame.TryParse(x, out f));
            RoundTrip(new RebindHintFrame(id, a), (f, x) => f.Write(x), (byte[] x, out RebindHintFrame f) => RebindHintFrame.TryParse(x, out f));
            RoundTrip(new TerminateFrame(id, a, b, reason), (f, x) => f.Write(x), (byte[] x, out TerminateFrame f) => TerminateFrame.TryParse(x, out f));
            RoundTrip(new TerminateAckFrame(id, a, b, reason), (f, x) => f.Write(x), (byte[] x, out TerminateAckFrame f) => TerminateAckFrame.TryParse(x, out f));
        }, iter: 2_000);
    }

    private delegate bool TryParseFn<T>(byte[] bytes, out T frame);

    private static void RoundTrip<T>(T frame, Func<T, byte[], int> write, TryParseFn<T> parse)
    {
        byte[] buf = new byte[256];
        int n = write(frame, buf);
        Assert.True(parse(buf[..n], out T back));
        Assert.Equal(frame, back);
        Assert.True(parse(buf, out back)); // with zero padding behind it
        Assert.Equal(frame, back);
    }

    [Fact]
    public void PathProbeAckIsNeverLargerThanItsProbe()
    {
        Gen.Select(Gen.ULong, Gen.UInt, Gen.ULong, Gen.Int[0, 1200]).Sample((seq, path, ts, pad) =>
        {
            var probe = new PathProbeFrame(seq, path, ts, pad);
            byte[] wire = new byte[probe.Size];
            int probeLength = probe.Write(wire);
            Assert.True(PathProbeFrame.TryParse(wire, out PathProbeFrame parsed));
            var ack = PathProbeAckFrame.For(parsed);
            int ackLength = ack.Write(new byte[PathProbeAckFrame.Size]);
            Assert.True(ackLength <= probeLength, $"ack {ackLength} > probe {probeLength}");
            Assert.Equal(seq, ack.EchoedCtrlSeq);
            Assert.Equal(ts, ack.EchoTimestampMs);
        }, iter: 2_000);
        Assert.True(PathProbeAckFrame.Size <= PathProbeFrame.MinSize);
    }

    [Fact]
    public void PathProbePaddingMustBeZero()
    {
        byte[] wire = new byte[PathProbeFrame.MinSize + 8];
        new PathProbeFrame(1, 2, 3, 8).Write(wire);
        Assert.True(PathProbeFrame.TryParse(wire, out PathProbeFrame p));
        Assert.Equal(8, p.PaddingLength);
        wire[^1] = 9;
        Assert.False(PathProbeFrame.TryParse(wire, out _));
    }

    [Fact]
    public void SessionIdHexRoundTrips()
    {
        Assert.Equal("0102030405060708090a0b0c0d0e0f10", s_id.ToString());
        Assert.True(SessionId.TryParse(s_id.ToString(), out SessionId back));
        Assert.Equal(s_id, back);
        Assert.False(SessionId.TryParse("zz", out _));
        Assert.False(SessionId.TryParse(new string('g', 32), out _));
    }
}
