using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using JumpingVpn.Platform.Buffers;
using JumpingVpn.Platform.Tun.Linux;
using JumpingVpn.Tests.Infrastructure;
using static JumpingVpn.Tests.Platform.Tun.OffloadPackets;

namespace JumpingVpn.Tests.Platform.Tun;

/// <summary>
/// The real kernel on the other side of an offload TUN, inside a jv* network namespace: a fake peer
/// (10.66.0.2, played by this test through the TUN) talks TCP to real sockets bound to 10.66.0.1.
/// Checks that the kernel takes the offload flags, that what ReadBatch returns is valid IP (SYN,
/// then a 200 KB stream that TSO may hand over as super-packets), and that a coalesced WriteBatch
/// super-packet is accepted and delivered intact to a real socket.
/// </summary>
[Collection(TunEnvironmentCollection.Name)]
public partial class LinuxTunOffloadKernelTests
{
    private const byte Syn = 0x02, Psh = 0x08, AckFlag = 0x10;
    private static readonly byte[] Local = [10, 66, 0, 1];
    private static readonly byte[] Peer = [10, 66, 0, 2];

    [Fact]
    public void OffloadTunCarriesRealKernelTcpBothWays()
    {
        Requirements.Ensure();
        using NetNs ns = NetNs.Create("tun");
        Exception? failure = null;
        string report = "";
        var thread = new Thread(() =>
        {
            try
            {
                report = RunInNamespace(ns);
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        Assert.True(thread.Join(TimeSpan.FromSeconds(60)), "the namespace thread hung");
        if (failure is not null)
        {
            throw new InvalidOperationException("kernel offload test failed", failure);
        }
        TestContext.Current.TestOutputHelper?.WriteLine(report);
    }

    private static string RunInNamespace(NetNs ns)
    {
        // Only this dedicated thread moves into the namespace (setns(2) acts per thread); it exits afterwards.
        using (Microsoft.Win32.SafeHandles.SafeFileHandle handle = File.OpenHandle($"/var/run/netns/{ns.Name}"))
        {
            if (SetNs((int)handle.DangerousGetHandle(), 0x40000000 /* CLONE_NEWNET */) != 0)
            {
                throw new InvalidOperationException($"setns failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }
        using LinuxTunDevice tun = LinuxTunDevice.Create("jvtun0", offload: true);
        Assert.True(tun.OffloadEnabled, "the kernel refused IFF_VNET_HDR/TUNSETOFFLOAD");
        ns.Ip("addr", "add", "10.66.0.1/24", "dev", "jvtun0");
        ns.Ip("link", "set", "jvtun0", "up");
        // Should anything hang, closing the device makes every blocked ReadBatch return 0.
        using var watchdog = new Timer(_ => tun.Close(), null, TimeSpan.FromSeconds(45), Timeout.InfiniteTimeSpan);
        var batch = new PacketBatch(128, 2048, 16);

        string read = KernelToPeerStream(tun, batch);
        string write = PeerToKernelCoalesced(tun);

        // The kill switch: the same request yields a plain device.
        Environment.SetEnvironmentVariable("JVPN_DISABLE_TUN_OFFLOAD", "1");
        try
        {
            using LinuxTunDevice plain = LinuxTunDevice.Create("jvtun1", offload: true);
            Assert.False(plain.OffloadEnabled);
        }
        finally
        {
            Environment.SetEnvironmentVariable("JVPN_DISABLE_TUN_OFFLOAD", null);
        }
        return $"UdpOffloadEnabled={tun.UdpOffloadEnabled}; {read}; {write}";
    }

    /// <summary>A real client connects to the (fake) peer and sends 200 KB; we answer as the peer.</summary>
    private static string KernelToPeerStream(LinuxTunDevice tun, PacketBatch batch)
    {
        byte[] data = Payload(200 * 1024, 77);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
        try
        {
            client.Connect(new IPEndPoint(new IPAddress(Peer), 5555));
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
        {
            // Non-blocking connect: the SYN is on its way to the TUN.
        }

        byte[] syn = NextTcp(tun, 5555);
        int t = TransportOffset(syn);
        Assert.Equal(4, syn[0] >> 4);
        Assert.Equal(Syn, syn[t + 13]);
        Assert.True(Ipv4HeaderValid(syn), "SYN IPv4 header checksum");
        Assert.True(L4ChecksumValid(syn, 6), "SYN TCP checksum");
        ushort clientPort = BinaryPrimitives.ReadUInt16BigEndian(syn.AsSpan(t));
        uint clientSeq = BinaryPrimitives.ReadUInt32BigEndian(syn.AsSpan(t + 4)) + 1;
        uint peerSeq = 1_000_000;

        // SYN-ACK with MSS 1460 and window scale 7 so the client may keep a lot in flight.
        byte[] synAck = Tcp(false, peerSeq, clientSeq, Syn | AckFlag, [], [2, 4, 0x05, 0xB4, 1, 3, 3, 7], srcPort: 5555, dstPort: clientPort, window: 65535, src: Peer, dst: Local);
        Assert.True(tun.Write(synAck));
        peerSeq++;

        var received = new MemoryStream();
        int sent = 0, maxPerRead = 0, reads = 0, packets = 0;
        while (received.Length < data.Length)
        {
            if (sent < data.Length)
            {
                try
                {
                    sent += client.Send(data, sent, data.Length - sent, SocketFlags.None);
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.NotConnected)
                {
                    // Send buffer full (or the handshake not yet complete): ACKs below make room.
                }
            }
            int n = tun.ReadBatch(batch);
            Assert.True(n > 0, $"TUN closed after {received.Length} of {data.Length} bytes");
            reads++;
            maxPerRead = Math.Max(maxPerRead, n);
            bool any = false;
            for (int i = 0; i < n; i++)
            {
                byte[] p = batch.Packet(i).ToArray();
                if (!IsTcpTo(p, 5555))
                {
                    continue;
                }
                packets++;
                Assert.True(Ipv4HeaderValid(p), "IPv4 header checksum");
                Assert.True(L4ChecksumValid(p, 6), "TCP checksum");
                uint seq = BinaryPrimitives.ReadUInt32BigEndian(p.AsSpan(24));
                int payloadStart = 20 + ((p[32] >> 4) * 4);
                int length = p.Length - payloadStart;
                if (length > 0 && seq == clientSeq)
                {
                    received.Write(p, payloadStart, length);
                    clientSeq += (uint)length;
                    any = true;
                }
            }
            if (any)
            {
                byte[] ack = Tcp(false, peerSeq, clientSeq, AckFlag, [], srcPort: 5555, dstPort: clientPort, window: 65535, src: Peer, dst: Local);
                Assert.True(tun.Write(ack));
            }
        }
        Assert.Equal(data, received.ToArray());
        return $"kernel->TUN: {data.Length} bytes in {packets} TCP segments from {reads} reads, up to {maxPerRead} segments from one read (>1 means a TSO super-packet)";
    }

    /// <summary>The peer connects to a real listener and sends 40 MSS-sized segments through WriteBatch.</summary>
    private static string PeerToKernelCoalesced(LinuxTunDevice tun)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(new IPAddress(Local), 6000));
        listener.Listen(1);
        const ushort peerPort = 7000;
        uint peerSeq = 5_000_000;
        byte[] syn = Tcp(false, peerSeq, 0, Syn, [], [2, 4, 0x05, 0x78, 1, 3, 3, 7], srcPort: peerPort, dstPort: 6000, window: 65535, src: Peer, dst: Local);
        Assert.True(tun.Write(syn));
        peerSeq++;
        byte[] synAck = NextTcp(tun, peerPort);
        Assert.Equal(Syn | AckFlag, synAck[33]);
        uint serverSeq = BinaryPrimitives.ReadUInt32BigEndian(synAck.AsSpan(24)) + 1;
        Assert.True(tun.Write(Tcp(false, peerSeq, serverSeq, AckFlag, [], srcPort: peerPort, dstPort: 6000, window: 65535, src: Peer, dst: Local)));

        using Socket accepted = listener.Accept();
        accepted.ReceiveTimeout = 10_000;
        const int segment = 1400, segments = 40;
        byte[] data = Payload(segment * segments, 99);
        var input = new PacketBatch(segments, 2048, 16);
        for (int i = 0; i < segments; i++)
        {
            byte flags = (byte)(AckFlag | (i == segments - 1 ? Psh : 0));
            byte[] p = Tcp(false, peerSeq + (uint)(i * segment), serverSeq, flags, data.AsSpan(i * segment, segment), srcPort: peerPort, dstPort: 6000, window: 65535, id: (ushort)i, src: Peer, dst: Local);
            p.CopyTo(input.Data(i));
            input.SetPacket(i, 0, p.Length);
        }
        input.Count = segments;
        Assert.True(tun.WriteBatch(input), "WriteBatch: the kernel refused a write");

        byte[] got = new byte[data.Length];
        int have = 0;
        while (have < got.Length)
        {
            int n = accepted.Receive(got, have, got.Length - have, SocketFlags.None);
            Assert.True(n > 0, "the connection closed early");
            have += n;
        }
        Assert.Equal(data, got);
        // The server ACKs everything at once if the kernel took the coalesced packet whole.
        uint acked = 0;
        while (acked != peerSeq + (uint)data.Length)
        {
            byte[] ack = NextTcp(tun, peerPort);
            acked = BinaryPrimitives.ReadUInt32BigEndian(ack.AsSpan(28));
        }
        return $"TUN->kernel: {segments} segments of {segment} B coalesced by WriteBatch were delivered intact";
    }

    /// <summary>Uses the one-packet Read (not ReadBatch) so that path is exercised with offloads on too.</summary>
    private static byte[] NextTcp(LinuxTunDevice tun, ushort port)
    {
        byte[] buffer = new byte[65536];
        while (true)
        {
            int n = tun.Read(buffer);
            Assert.True(n > 0, "TUN closed while waiting for a TCP packet");
            byte[] p = buffer.AsSpan(0, n).ToArray();
            if (IsTcpTo(p, port))
            {
                return p;
            }
        }
    }

    private static bool IsTcpTo(byte[] p, ushort port) =>
        p.Length >= 40 && (p[0] >> 4) == 4 && p[9] == 6 && p.AsSpan(16, 4).SequenceEqual(Peer)
        && BinaryPrimitives.ReadUInt16BigEndian(p.AsSpan(((p[0] & 0xF) * 4) + 2)) == port;

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nsType);
}
