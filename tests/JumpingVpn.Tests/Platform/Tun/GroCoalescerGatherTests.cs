using JumpingVpn.Platform.Interop.Linux;
using JumpingVpn.Platform.Tun.Offload;
using static JumpingVpn.Tests.Platform.Tun.OffloadPackets;

namespace JumpingVpn.Tests.Platform.Tun;

/// <summary>
/// The gather flush (docs/performance.md "Packet-thread profile"): a merged packet handed over as its rebuilt
/// headers plus each segment's payload where it was queued must be byte for byte the packet the assembling
/// flush writes, in the same order, for TCP and UDP, IPv4 and IPv6, next to packets that go out alone.
/// </summary>
public class GroCoalescerGatherTests
{
    private static byte[][] Traffic(bool v6)
    {
        var packets = new List<byte[]>();
        uint seq = 5000;
        for (int i = 0; i < 20; i++)
        {
            packets.Add(Tcp(v6, seq, 77, 0x10, Payload(1380, i), TimestampOptions));
            seq += 1380;
            if (i == 6)
            {
                packets.Add(OffloadPackets.Udp(v6, Payload(300, 99), srcPort: 5353)); // another flow, alone
            }
        }
        packets.Add(Tcp(v6, seq, 77, 0x18, Payload(411, 21), TimestampOptions)); // short, PSH: ends the train
        for (int i = 0; i < 30; i++)
        {
            packets.Add(OffloadPackets.Udp(v6, Payload(1200, 100 + i), id: (ushort)(0x100 + i)));
        }
        packets.Add(OffloadPackets.Udp(v6, Payload(700, 200), id: 0x100 + 30));
        return [.. packets];
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public unsafe void GatheredFramesEqualAssembledFrames(bool v6)
    {
        byte[][] traffic = Traffic(v6);
        var assembled = new GroCoalescer(coalesceUdp: true);
        var gathered = new GroCoalescer(coalesceUdp: true);
        foreach (byte[] packet in traffic)
        {
            Assert.True(assembled.Add(packet));
            Assert.True(gathered.Add(packet));
        }
        var expected = new List<byte[]>();
        Assert.True(assembled.Flush(framed =>
        {
            expected.Add(framed.ToArray());
            return true;
        }));
        var actual = new List<byte[]>();
        var partCounts = new List<int>();
        Assert.True(gathered.Flush(framed =>
        {
            actual.Add(framed.ToArray());
            partCounts.Add(1);
            return true;
        }, (parts, count) =>
        {
            var frame = new List<byte>();
            for (int i = 0; i < count; i++)
            {
                frame.AddRange(new ReadOnlySpan<byte>(parts[i].Base, (int)parts[i].Length).ToArray());
            }
            actual.Add([.. frame]);
            partCounts.Add(count);
            return true;
        }));

        Assert.Equal(0, gathered.PacketCount);
        // TCP train (21 segments), the lone UDP datagram, UDP train (31 datagrams): three frames, in that order.
        Assert.Equal([22, 1, 32], partCounts);
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i], actual[i]);
        }
    }

    [Fact]
    public unsafe void AFailedGatherWriteIsReportedAndTheQueueStillEmpties()
    {
        var gro = new GroCoalescer();
        uint seq = 1;
        for (int i = 0; i < 3; i++)
        {
            Assert.True(gro.Add(Tcp(false, seq, 1, 0x10, Payload(1000, i), TimestampOptions)));
            seq += 1000;
        }
        Assert.False(gro.Flush(_ => true, (LibC.IoVec* parts, int count) => false));
        Assert.Equal(0, gro.PacketCount);
        Assert.Equal(0, gro.OutputCount);
    }
}
