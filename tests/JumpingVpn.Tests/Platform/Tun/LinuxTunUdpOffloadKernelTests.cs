using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using JumpingVpn.Platform.Buffers;
using JumpingVpn.Platform.Tun.Linux;
using JumpingVpn.Tests.Infrastructure;
using static JumpingVpn.Tests.Platform.Tun.OffloadPackets;

namespace JumpingVpn.Tests.Platform.Tun;

/// <summary>
/// Inner UDP through an offload TUN against the real kernel, in a jv* namespace (docs/performance.md
/// "Inner UDP"): a local sender using UDP_SEGMENT reaches ReadBatch as valid, complete datagrams; a
/// coalesced WriteBatch is accepted as one GSO_UDP_L4 packet (a UDP_GRO socket receives it whole, a
/// plain socket datagram by datagram); and ReadBatch drains single packets queued on the TUN into one
/// batch.
/// </summary>
[Collection(TunEnvironmentCollection.Name)]
public class LinuxTunUdpOffloadKernelTests
{
    private const int SolUdp = 17, UdpSegment = 103, UdpGro = 104;
    private static readonly byte[] Local = [10, 66, 0, 1];
    private static readonly byte[] Peer = [10, 66, 0, 2];

    [Fact]
    public void UdpSegmentSenderReachesReadBatchAsValidDatagrams()
    {
        string report = InTunNamespace(offload: true, tun =>
        {
            RequireUso(tun);
            byte[] data = Payload((53 * 1200) + 500, 5);
            using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            sender.Bind(new IPEndPoint(new IPAddress(Local), 0));
            sender.SetRawSocketOption(SolUdp, UdpSegment, BitConverter.GetBytes(1200));
            Assert.Equal(data.Length, sender.SendTo(data, new IPEndPoint(new IPAddress(Peer), 9000)));

            var batch = new PacketBatch(128, 2048, 16);
            var received = new MemoryStream();
            int datagrams = 0, maxPerRead = 0;
            ushort? firstId = null;
            while (datagrams < 54)
            {
                int n = tun.ReadBatch(batch);
                Assert.True(n > 0, "TUN closed");
                int ours = 0;
                for (int i = 0; i < n; i++)
                {
                    byte[] p = batch.Packet(i).ToArray();
                    if (!IsUdpToPeer(p, 9000))
                    {
                        continue;
                    }
                    ours++;
                    Assert.True(Ipv4HeaderValid(p), $"IPv4 header checksum of datagram {datagrams}");
                    Assert.True(L4ChecksumValid(p, 17), $"UDP checksum of datagram {datagrams}");
                    Assert.Equal(p.Length - 20, BinaryPrimitives.ReadUInt16BigEndian(p.AsSpan(24)));
                    Assert.Equal(datagrams < 53 ? 1228 : 528, p.Length);
                    ushort id = BinaryPrimitives.ReadUInt16BigEndian(p.AsSpan(4));
                    firstId ??= id;
                    Assert.Equal((ushort)(firstId.Value + datagrams), id);
                    received.Write(p, 28, p.Length - 28);
                    datagrams++;
                }
                maxPerRead = Math.Max(maxPerRead, ours);
            }
            Assert.Equal(data, received.ToArray());
            Assert.True(maxPerRead > 1, "the kernel handed the UDP_SEGMENT send over datagram by datagram: no USO super-packet");
            return $"UDP_SEGMENT send of {data.Length} B -> {datagrams} datagrams, up to {maxPerRead} from one ReadBatch";
        });
        TestContext.Current.TestOutputHelper?.WriteLine(report);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void CoalescedWriteBatchIsOneUdpL4PacketForTheKernel(bool coalesce)
    {
        string report = InTunNamespace(offload: true, tun =>
        {
            RequireUso(tun);
            Assert.Equal(coalesce, tun.UdpCoalescingEnabled);
            using var gro = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            gro.Bind(new IPEndPoint(new IPAddress(Local), 9001));
            gro.SetRawSocketOption(SolUdp, UdpGro, BitConverter.GetBytes(1));
            gro.ReceiveTimeout = 5000;
            using var plain = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            plain.Bind(new IPEndPoint(new IPAddress(Local), 9002));
            plain.ReceiveTimeout = 5000;

            byte[][] toGro = Datagrams(9001, 30, 1100);
            byte[][] toPlain = Datagrams(9002, 30, 1100);
            var input = new PacketBatch(64, 2048, 0);
            for (int i = 0; i < 30; i++)
            {
                Put(input, 2 * i, toGro[i]);
                Put(input, (2 * i) + 1, toPlain[i]);
            }
            input.Count = 60;
            Assert.True(tun.WriteBatch(input), "WriteBatch: the kernel refused a write");

            // The UDP_GRO socket gets a merged packet whole: one receive returns all 30 payloads.
            byte[] buffer = new byte[65536];
            int first = gro.Receive(buffer);
            Assert.Equal(coalesce ? 30 * 1100 : 1100, first);
            var got = new MemoryStream();
            got.Write(buffer, 0, first);
            while (got.Length < 30 * 1100)
            {
                got.Write(buffer, 0, gro.Receive(buffer));
            }
            Assert.Equal(toGro.SelectMany(d => d[28..]).ToArray(), got.ToArray());
            // A plain socket gets the kernel's segmentation: the datagrams as they were sent.
            for (int i = 0; i < 30; i++)
            {
                int n = plain.Receive(buffer);
                Assert.Equal(toPlain[i][28..], buffer[..n]);
            }
            return $"coalesce={coalesce}: first receive on the UDP_GRO socket {first} B; 30 datagrams intact on the plain socket";
        }, environment: coalesce ? null : "JVPN_DISABLE_TUN_UDP_GRO");
        TestContext.Current.TestOutputHelper?.WriteLine(report);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void ReadBatchDrainsSinglePacketsQueuedOnTheTun(bool offload, bool drainOff)
    {
        string report = InTunNamespace(offload, tun =>
        {
            Assert.Equal(!drainOff, tun.DrainsReads);
            using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            sender.Bind(new IPEndPoint(new IPAddress(Local), 0));
            var to = new IPEndPoint(new IPAddress(Peer), 9003);
            for (int i = 0; i < 40; i++)
            {
                byte[] payload = Payload(1300, i);
                BinaryPrimitives.WriteInt32BigEndian(payload, i);
                sender.SendTo(payload, to);
            }

            // Every send has been queued on the TUN before the first read.
            var batch = new PacketBatch(128, 2048, 16);
            int next = 0, maxPerRead = 0, reads = 0;
            while (next < 40)
            {
                int n = tun.ReadBatch(batch);
                Assert.True(n > 0, "TUN closed");
                reads++;
                int ours = 0;
                for (int i = 0; i < n; i++)
                {
                    byte[] p = batch.Packet(i).ToArray();
                    if (IsUdpToPeer(p, 9003))
                    {
                        Assert.True(L4ChecksumValid(p, 17));
                        Assert.Equal(next++, BinaryPrimitives.ReadInt32BigEndian(p.AsSpan(28)));
                        ours++;
                    }
                }
                maxPerRead = Math.Max(maxPerRead, ours);
            }
            Assert.Equal(drainOff ? 1 : 40, maxPerRead);
            return $"offload={offload} drain={!drainOff}: 40 queued datagrams in {reads} ReadBatch calls, up to {maxPerRead} in one";
        }, environment: drainOff ? "JVPN_DISABLE_TUN_DRAIN" : null);
        TestContext.Current.TestOutputHelper?.WriteLine(report);
    }

    private static byte[][] Datagrams(ushort port, int count, int payload)
    {
        var result = new byte[count][];
        for (int i = 0; i < count; i++)
        {
            byte[] p = OffloadPackets.Udp(false, Payload(payload, port + i), id: (ushort)i);
            // From the peer to the local socket: swap the helper's addresses and set the port.
            Peer.CopyTo(p, 12);
            Local.CopyTo(p, 16);
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(22), port);
            result[i] = Refill(p);
        }
        return result;
    }

    /// <summary>Recomputes both checksums after the addresses and port changed.</summary>
    private static byte[] Refill(byte[] p)
    {
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), 0);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), (ushort)~NaiveFold(NaiveSum(p.AsSpan(0, 20))));
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(26), 0);
        ushort sum = (ushort)~NaiveFold(NaiveSum(p.AsSpan(20), NaiveSum(PseudoHeader(p, 17, p.Length - 20))));
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(26), sum == 0 ? (ushort)0xFFFF : sum);
        Assert.True(L4ChecksumValid(p, 17));
        return p;
    }

    private static void Put(PacketBatch batch, int slot, byte[] packet)
    {
        packet.CopyTo(batch.Data(slot));
        batch.SetPacket(slot, 0, packet.Length);
    }

    private static void RequireUso(LinuxTunDevice tun)
    {
        Assert.True(tun.OffloadEnabled, "the kernel refused IFF_VNET_HDR/TUNSETOFFLOAD");
        if (!tun.UdpOffloadEnabled)
        {
            Assert.Skip($"the kernel ({Environment.OSVersion.Version}) has no TUN USO (Linux 6.2+)");
        }
    }

    private static bool IsUdpToPeer(byte[] p, ushort port) =>
        p.Length >= 28 && (p[0] >> 4) == 4 && p[9] == 17 && p.AsSpan(16, 4).SequenceEqual(Peer)
        && BinaryPrimitives.ReadUInt16BigEndian(p.AsSpan(22)) == port;

    /// <summary>Creates jvtun0 (10.66.0.1/24) in a fresh namespace, optionally with one env switch set
    /// while the device is created, and runs <paramref name="body"/> on a thread inside.</summary>
    private static string InTunNamespace(bool offload, Func<LinuxTunDevice, string> body, string? environment = null)
    {
        Requirements.Ensure();
        using NetNs ns = NetNs.Create("tunu");
        return NamespaceThread.Start(ns, "tun-udp-test", () =>
        {
            LinuxTunDevice tun;
            if (environment is not null)
            {
                Environment.SetEnvironmentVariable(environment, "1");
            }
            try
            {
                tun = LinuxTunDevice.Create("jvtun0", offload);
            }
            finally
            {
                if (environment is not null)
                {
                    Environment.SetEnvironmentVariable(environment, null);
                }
            }
            using (tun)
            {
                ns.Ip("addr", "add", "10.66.0.1/24", "dev", "jvtun0");
                ns.Ip("link", "set", "jvtun0", "up");
                // Should anything hang, closing the device makes every blocked ReadBatch return 0.
                using var watchdog = new Timer(_ => tun.Close(), null, TimeSpan.FromSeconds(30), Timeout.InfiniteTimeSpan);
                return body(tun);
            }
        }).Result(TimeSpan.FromSeconds(60));
    }
}
