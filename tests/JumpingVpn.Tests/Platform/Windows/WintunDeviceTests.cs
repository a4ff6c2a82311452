using JumpingVpn.Platform;
using JumpingVpn.Platform.Buffers;
using JumpingVpn.Platform.Tun;
using JumpingVpn.Platform.Tun.Windows;

namespace JumpingVpn.Tests.Platform.Windows;

public class WintunDeviceTests
{
    private static byte[] Packet(int length, byte seed)
    {
        var p = new byte[length];
        for (int i = 0; i < length; i++)
        {
            p[i] = (byte)(seed + i);
        }
        p[0] = 0x45; // looks like IPv4; the device does not care
        return p;
    }

    private static (WintunDevice Device, FakeWintunApi Fake) Make(int receiveCapacity = 1 << 17, int sendCapacity = 1 << 17)
    {
        var fake = new FakeWintunApi(receiveCapacity, sendCapacity);
        return (new WintunDevice("jv-test", 0x1234, fake), fake);
    }

    [Fact]
    public void WrittenPacketsComeOutOfTheSendRingInOrder()
    {
        var (dev, fake) = Make();
        using (dev)
        {
            byte[] a = Packet(60, 1), b = Packet(1420, 2), c = Packet(1, 3);
            Assert.True(dev.Write(a));
            Assert.True(dev.Write(b));
            Assert.True(dev.Write(c));
            Assert.Equal([a, b, c], fake.Sent);
        }
        Assert.True(fake.Disposed);
    }

    [Fact]
    public void OfferedPacketsAreReadCopiedAndReleased()
    {
        var (dev, fake) = Make();
        using (dev)
        {
            byte[] a = Packet(40, 7), b = Packet(1500, 9);
            Assert.True(fake.Offer(a));
            Assert.True(fake.Offer(b));
            var buffer = new byte[2000];
            Assert.Equal(a.Length, dev.Read(buffer));
            Assert.Equal(a, buffer[..a.Length]);
            Assert.Equal(b.Length, dev.Read(buffer));
            Assert.Equal(b, buffer[..b.Length]);
            Assert.Equal(0, fake.Outstanding);
            Assert.Equal(0, fake.ReceiveUsed); // everything released, ring space reclaimed
        }
    }

    [Fact]
    public async Task ReadWaitsOnTheReadEventUntilAPacketArrives()
    {
        var (dev, fake) = Make();
        using (dev)
        {
            byte[] p = Packet(100, 5);
            var buffer = new byte[200];
            var reader = Task.Run(() => dev.Read(buffer), TestContext.Current.CancellationToken);
            await Task.Delay(100, TestContext.Current.CancellationToken);
            Assert.False(reader.IsCompleted);
            Assert.True(fake.Offer(p));
            Assert.Equal(p.Length, await reader.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken));
            Assert.Equal(p, buffer[..p.Length]);
            Assert.True(fake.Waits >= 1);
        }
    }

    [Fact]
    public async Task CloseWakesABlockedReaderWhichReturnsZero()
    {
        var (dev, fake) = Make();
        using (dev)
        {
            var reader = Task.Run(() => dev.Read(new byte[100]), TestContext.Current.CancellationToken);
            await Task.Delay(100, TestContext.Current.CancellationToken);
            Assert.False(reader.IsCompleted);
            dev.Close();
            Assert.Equal(0, await reader.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken));
            Assert.Equal(0, dev.Read(new byte[100])); // stays closed
            Assert.False(dev.Write(Packet(20, 1)));
            Assert.Empty(fake.Sent);
        }
    }

    [Fact]
    public void EndOfFileEndsReadWithZero()
    {
        var (dev, fake) = Make();
        using (dev)
        {
            fake.EndOfFile = true;
            Assert.Equal(0, dev.Read(new byte[100]));
            Assert.False(dev.Write(Packet(20, 1)));
        }
    }

    [Fact]
    public void CorruptRingThrows()
    {
        var (dev, fake) = Make();
        using (dev)
        {
            fake.Corrupt = true;
            var e = Assert.Throws<PlatformException>(() => dev.Read(new byte[100]));
            Assert.Equal(13, e.Errno);
        }
    }

    [Fact]
    public void FullSendRingDropsWithoutThrowing()
    {
        // 128 bytes of ring: two 60-byte packets (64 each with the size header) fit, the third is dropped.
        var (dev, fake) = Make(sendCapacity: 128);
        using (dev)
        {
            Assert.True(dev.Write(Packet(60, 1)));
            Assert.True(dev.Write(Packet(60, 2)));
            Assert.False(dev.Write(Packet(60, 3)));
            Assert.Equal(2, fake.Sent.Count);
            fake.DrainSendRing();
            Assert.True(dev.Write(Packet(60, 4)));
            Assert.Equal(3, fake.Sent.Count);
        }
    }

    [Fact]
    public void WritesOfEmptyOrOversizedPacketsAreRejected()
    {
        var (dev, fake) = Make(sendCapacity: 1 << 20);
        using (dev)
        {
            Assert.False(dev.Write([]));
            Assert.False(dev.Write(new byte[0x10000]));
            Assert.True(dev.Write(new byte[0xFFFF]));
            Assert.Single(fake.Sent);
        }
    }

    [Fact]
    public void PacketTooLargeForTheBufferIsDroppedAndTheNextOneRead()
    {
        var (dev, fake) = Make();
        using (dev)
        {
            byte[] big = Packet(1500, 1), small = Packet(64, 2);
            Assert.True(fake.Offer(big));
            Assert.True(fake.Offer(small));
            var buffer = new byte[100];
            Assert.Equal(small.Length, dev.Read(buffer));
            Assert.Equal(small, buffer[..small.Length]);
            Assert.Equal(0, fake.Outstanding);
        }
    }

    [Fact]
    public void OutOfOrderReleaseReclaimsRingSpaceOnlyFromTheOldestPacket()
    {
        // Ring of 3 × 68-byte slots (64-byte packets + 4-byte headers).
        var (dev, fake) = Make(receiveCapacity: 3 * 68);
        using (dev)
        {
            byte[] a = Packet(64, 1), b = Packet(64, 2), c = Packet(64, 3);
            Assert.True(fake.Offer(a));
            Assert.True(fake.Offer(b));
            Assert.True(fake.Offer(c));
            Assert.True(dev.TryReceive(out WintunPacket pa));
            Assert.True(dev.TryReceive(out WintunPacket pb));
            Assert.True(dev.TryReceive(out WintunPacket pc));
            Assert.False(dev.TryReceive(out _));
            Assert.Equal(a, pa.Span.ToArray());
            Assert.Equal(b, pb.Span.ToArray());
            Assert.Equal(c, pc.Span.ToArray());

            pb.Span[1] ^= 0xFF; // ring memory is writable (in-place crypto)

            dev.Release(pc);
            dev.Release(pb);
            Assert.Equal(3 * 68, fake.ReceiveUsed); // a still held: nothing reclaimed
            Assert.False(fake.Offer(Packet(64, 4)));
            dev.Release(pa);
            Assert.Equal(0, fake.ReceiveUsed);
            Assert.True(fake.Offer(Packet(64, 4)));
            Assert.Equal(64, dev.Read(new byte[100]));
        }
    }

    [Fact]
    public void BatchDefaultsReadAndWriteOnePacketAtATime()
    {
        var (dev, fake) = Make();
        using (dev)
        {
            ITunDevice tun = dev;
            byte[] p = Packet(300, 3);
            Assert.True(fake.Offer(p));
            var batch = new PacketBatch(4, 2048, 0);
            Assert.Equal(1, tun.ReadBatch(batch));
            Assert.Equal(p, batch.Packet(0).ToArray());
            Assert.True(tun.WriteBatch(batch));
            Assert.Equal([p], fake.Sent);
        }
    }

    [Fact]
    public void DisposeClosesAndReleasesTheSessionOnce()
    {
        var (dev, fake) = Make();
        dev.Dispose();
        dev.Dispose();
        Assert.True(fake.Disposed);
        Assert.Equal(0x1234UL, dev.Luid);
        Assert.Equal("jv-test", dev.Name);
    }
}
