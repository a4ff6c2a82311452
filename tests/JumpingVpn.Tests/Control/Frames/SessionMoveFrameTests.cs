using System.Net;
using CsCheck;
using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Tests.Control.Frames;

/// <summary>SESSION_MOVE (docs/protocol.md §3.7): round trips, and every malformed target refused without throwing.</summary>
public sealed class SessionMoveFrameTests
{
    private static readonly SessionId s_id = SessionId.Read([9, 8, 7, 6, 5, 4, 3, 2, 1, 1, 2, 3, 4, 5, 6, 7]);

    private static byte[] Encode(SessionMoveFrame f)
    {
        byte[] b = new byte[SessionMoveFrame.Size];
        Assert.Equal(SessionMoveFrame.Size, f.Write(b));
        return b;
    }

    [Theory]
    [InlineData("192.0.2.7", 51820)]
    [InlineData("2001:db8::7", 443)]
    public void A_target_round_trips(string address, int port)
    {
        var f = new SessionMoveFrame(s_id, 42, ReasonCode.NodeDrain, new IPEndPoint(IPAddress.Parse(address), port));
        Assert.True(SessionMoveFrame.TryParse(Encode(f), out SessionMoveFrame back));
        Assert.Equal(f, back);
    }

    [Fact]
    public void No_target_round_trips_as_family_zero()
    {
        byte[] b = Encode(new SessionMoveFrame(s_id, 3, ReasonCode.NodeDrain, null));
        Assert.Equal(0, b[ControlFrame.HeaderSize + 26]);
        Assert.True(SessionMoveFrame.TryParse(b, out SessionMoveFrame back));
        Assert.Null(back.Target);
        Assert.Equal((s_id, 3ul, ReasonCode.NodeDrain), (back.SessionId, back.StateVersion, back.Reason));
    }

    [Fact]
    public void An_ipv4_mapped_target_is_written_as_ipv4()
    {
        var mapped = new IPEndPoint(IPAddress.Parse("192.0.2.7").MapToIPv6(), 1000);
        Assert.True(SessionMoveFrame.TryParse(Encode(new SessionMoveFrame(s_id, 1, ReasonCode.NodeDrain, mapped)), out SessionMoveFrame back));
        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.7"), 1000), back.Target);
    }

    [Fact]
    public void Truncated_frames_are_refused()
    {
        byte[] b = Encode(new SessionMoveFrame(s_id, 1, ReasonCode.NodeDrain, new IPEndPoint(IPAddress.Loopback, 9)));
        for (int n = 0; n < b.Length; n++)
        {
            Assert.False(SessionMoveFrame.TryParse(b.AsSpan(0, n), out _), $"accepted {n} bytes");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(10)]
    [InlineData(255)]
    public void An_unknown_address_family_is_refused(byte family)
    {
        byte[] b = Encode(new SessionMoveFrame(s_id, 1, ReasonCode.NodeDrain, new IPEndPoint(IPAddress.Loopback, 9)));
        b[ControlFrame.HeaderSize + 26] = family;
        Assert.False(SessionMoveFrame.TryParse(b, out _));
    }

    [Theory]
    [InlineData("192.0.2.7")]
    [InlineData("2001:db8::7")]
    public void Port_zero_with_an_address_is_refused(string address)
    {
        byte[] b = Encode(new SessionMoveFrame(s_id, 1, ReasonCode.NodeDrain, new IPEndPoint(IPAddress.Parse(address), 9)));
        b[ControlFrame.HeaderSize + 28] = 0;
        Assert.False(SessionMoveFrame.TryParse(b, out _));
        Assert.Throws<InvalidOperationException>(() => new SessionMoveFrame(s_id, 1, ReasonCode.NodeDrain, new IPEndPoint(IPAddress.Parse(address), 0)).Write(new byte[64]));
    }

    [Fact]
    public void Address_bytes_where_the_family_has_none_are_refused()
    {
        byte[] none = Encode(new SessionMoveFrame(s_id, 1, ReasonCode.NodeDrain, null));
        none[ControlFrame.HeaderSize + 28] = 80; // a port without a family
        Assert.False(SessionMoveFrame.TryParse(none, out _));
        none = Encode(new SessionMoveFrame(s_id, 1, ReasonCode.NodeDrain, null));
        none[ControlFrame.HeaderSize + 40] = 1; // an address without a family
        Assert.False(SessionMoveFrame.TryParse(none, out _));
        byte[] v4 = Encode(new SessionMoveFrame(s_id, 1, ReasonCode.NodeDrain, new IPEndPoint(IPAddress.Loopback, 9)));
        v4[ControlFrame.HeaderSize + 32 + 4] = 1; // a fifth IPv4 address byte
        Assert.False(SessionMoveFrame.TryParse(v4, out _));
    }

    [Fact]
    public void A_zero_session_id_is_refused()
    {
        byte[] b = Encode(new SessionMoveFrame(s_id, 1, ReasonCode.NodeDrain, null));
        b.AsSpan(ControlFrame.HeaderSize, SessionId.Size).Clear();
        Assert.False(SessionMoveFrame.TryParse(b, out _));
    }

    [Fact]
    public void Random_bodies_behind_a_session_move_header_never_throw()
    {
        Gen.Select(Gen.Byte.Array[SessionMoveFrame.BodySize], Gen.Byte[0, 7], Gen.UShort).Sample((body, family, port) =>
        {
            byte[] b = new byte[SessionMoveFrame.Size];
            b[1] = (byte)ControlFrameType.SessionMove;
            b[2] = SessionMoveFrame.BodySize;
            body.CopyTo(b, ControlFrame.HeaderSize);
            b[ControlFrame.HeaderSize + 26] = family;
            b[ControlFrame.HeaderSize + 28] = (byte)port;
            b[ControlFrame.HeaderSize + 29] = (byte)(port >> 8);
            if (SessionMoveFrame.TryParse(b, out SessionMoveFrame f) && f.Target is { } t)
            {
                Assert.NotEqual(0, t.Port);
            }
        }, iter: 20_000);
    }
}
