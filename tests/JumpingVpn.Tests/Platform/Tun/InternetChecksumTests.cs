using JumpingVpn.Platform.Tun.Offload;
using static JumpingVpn.Tests.Platform.Tun.OffloadPackets;

namespace JumpingVpn.Tests.Platform.Tun;

public class InternetChecksumTests
{
    [Fact]
    public void MatchesNaiveSumForEveryLengthAndAlignment()
    {
        byte[] data = Payload(300, 7);
        for (int start = 0; start < 2; start++)
        {
            for (int length = 0; length + start <= data.Length; length++)
            {
                ReadOnlySpan<byte> span = data.AsSpan(start, length);
                Assert.Equal(NaiveFold(NaiveSum(span)), InternetChecksum.Fold(InternetChecksum.Add(0, span)));
            }
        }
    }

    [Fact]
    public void AllOnesDataDoesNotOverflowFor64Kb()
    {
        byte[] data = new byte[65535];
        Array.Fill(data, (byte)0xFF);
        Assert.Equal(NaiveFold(NaiveSum(data)), InternetChecksum.Fold(InternetChecksum.Add(0, data)));
    }

    [Fact]
    public void PseudoHeadersMatchTheNaiveLayout()
    {
        byte[] v4 = Tcp(v6: false, 1, 2, 0x10, Payload(10, 1));
        byte[] v6 = Tcp(v6: true, 1, 2, 0x10, Payload(10, 1));
        Assert.Equal(NaiveFold(NaiveSum(PseudoHeader(v4, 6, 30))), InternetChecksum.Fold(InternetChecksum.PseudoHeaderV4(v4, 6, 30)));
        Assert.Equal(NaiveFold(NaiveSum(PseudoHeader(v6, 6, 70000))), InternetChecksum.Fold(InternetChecksum.PseudoHeaderV6(v6, 6, 70000)));
    }

    [Fact]
    public void RfC1071ExampleSum()
    {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum (folded) to ddf2.
        byte[] data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        Assert.Equal(0xddf2, InternetChecksum.Fold(InternetChecksum.Add(0, data)));
    }
}
