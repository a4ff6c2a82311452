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
    public void VectorSumsMatchTheNaiveSumAtEveryOffsetAndPacketSize()
    {
        // Lengths around every vector width (16, 32, 64 bytes) and full-size packets, at odd and even starts.
        var random = new Random(1071);
        byte[] data = new byte[1600];
        random.NextBytes(data);
        foreach (int length in (int[])[15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 191, 1279, 1280, 1420, 1500, 1547])
        {
            for (int start = 0; start < 5; start++)
            {
                ReadOnlySpan<byte> span = data.AsSpan(start, length);
                Assert.Equal(NaiveFold(NaiveSum(span)), InternetChecksum.Fold(InternetChecksum.Add(0, span)));
            }
        }
    }

    [Fact]
    public void AllOnesDataBeyondOneVectorBlockDoesNotOverflow()
    {
        // 3 MB: more than one block of 32-bit lane sums at every vector width, every lane at its largest.
        byte[] data = new byte[(3 << 20) + 21];
        Array.Fill(data, (byte)0xFF);
        Assert.Equal(NaiveFoldedSum64(data), InternetChecksum.Fold(InternetChecksum.Add(0, data)));
        data[12345] = 0x12;
        data[(2 << 20) + 3] = 0;
        Assert.Equal(NaiveFoldedSum64(data), InternetChecksum.Fold(InternetChecksum.Add(0, data)));
    }

    /// <summary>Big-endian 16-bit words summed in 64 bits (a 32-bit naive sum wraps for megabytes), then folded.</summary>
    private static ushort NaiveFoldedSum64(ReadOnlySpan<byte> data)
    {
        ulong sum = 0;
        for (int i = 0; i < data.Length; i += 2)
        {
            sum += (ulong)((data[i] << 8) | (i + 1 < data.Length ? data[i + 1] : 0));
        }
        while ((sum >> 16) != 0)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (ushort)sum;
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
