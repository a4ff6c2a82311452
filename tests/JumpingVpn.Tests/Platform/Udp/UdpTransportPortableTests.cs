using System.Net;
using System.Net.Sockets;
using JumpingVpn.Platform.Buffers;
using JumpingVpn.Platform.Udp;

namespace JumpingVpn.Tests.Platform.Udp;

/// <summary>
/// The one-datagram-per-call path that Windows uses (no recvmmsg/sendmmsg/GSO/GRO), forced on Linux with
/// the internal <c>batched: false</c> switch and run over loopback, alone and against the batched path.
/// </summary>
public sealed class UdpTransportPortableTests
{
    public static TheoryData<bool, bool> Pairs => new()
    {
        { false, false },
        { false, true },
        { true, false },
    };

    [Fact]
    public void OnLinuxTheDefaultIsBatchedAndTheSwitchTurnsEveryOffloadOff()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the batched path exists only on Linux");
        using UdpTransport linux = UdpTransport.Bind(0);
        using UdpTransport portable = UdpTransport.Bind(0, allowGso: true, allowGro: true, batched: false);

        Assert.True(linux.Batched);
        Assert.False(portable.Batched);
        Assert.False(portable.GsoEnabled);
        Assert.False(portable.GroEnabled);
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public void DatagramsArriveInOrderOnePerReceive(bool senderBatched, bool receiverBatched)
    {
        using UdpTransport sender = UdpTransport.Bind(0, allowGso: true, allowGro: false, batched: senderBatched);
        using UdpTransport receiver = UdpTransport.Bind(0, allowGso: false, allowGro: true, batched: receiverBatched);
        using var watchdog = new Timer(_ => receiver.Close(), null, TimeSpan.FromSeconds(10), Timeout.InfiniteTimeSpan);
        int[] lengths = [.. Enumerable.Repeat(1200, 70), 1, 0, 500, 1400, 9000];
        var tx = new PacketBatch(lengths.Length, 9216, headroom: 16);
        for (int i = 0; i < lengths.Length; i++)
        {
            tx.SetPacket(i, i % 3, lengths[i]);
            Fill(tx.Packet(i), i);
        }
        SocketAddress to = Loopback(receiver, receiver.LocalPort);
        SocketAddress expectedSource = Loopback(receiver, sender.LocalPort);

        Assert.True(sender.SendSegments(tx, 0, lengths.Length, to));

        var rx = new PacketBatch(8, 65535 + 64, headroom: 16);
        var sources = new SocketAddress[8];
        for (int i = 0; i < sources.Length; i++)
        {
            sources[i] = receiver.CreateAddressBuffer();
        }
        int[] sizes = new int[8];
        var received = new List<byte[]>();
        while (received.Count < lengths.Length)
        {
            int n = receiver.ReceiveBatch(rx, sources, sizes);
            Assert.True(n > 0, $"receive ended after {received.Count} of {lengths.Length} datagrams");
            if (!receiverBatched)
            {
                Assert.Equal(1, n);
            }
            for (int m = 0; m < n; m++)
            {
                Assert.Equal(0, sizes[m]);
                Assert.Equal(expectedSource, sources[m]);
                received.Add(rx.Packet(m).ToArray());
            }
        }
        for (int i = 0; i < lengths.Length; i++)
        {
            byte[] want = new byte[lengths[i]];
            Fill(want, i);
            Assert.Equal(want, received[i]);
        }
    }

    [Fact]
    public async Task CloseEndsABlockedPortableReceive()
    {
        using UdpTransport receiver = UdpTransport.Bind(0, allowGso: false, allowGro: false, batched: false);
        var rx = new PacketBatch(4, 2048, headroom: 0);
        SocketAddress[] sources = [receiver.CreateAddressBuffer(), receiver.CreateAddressBuffer(), receiver.CreateAddressBuffer(), receiver.CreateAddressBuffer()];
        Task<int> blocked = Task.Run(() => receiver.ReceiveBatch(rx, sources, new int[4]), TestContext.Current.CancellationToken);
        await Task.Delay(100, TestContext.Current.CancellationToken);

        receiver.Close();

        Assert.Equal(-1, await blocked.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken));
    }

    private static void Fill(Span<byte> data, int datagram)
    {
        for (int j = 0; j < data.Length; j++)
        {
            data[j] = (byte)((datagram * 13) + (j * 5) + (j >> 8));
        }
    }

    private static SocketAddress Loopback(UdpTransport t, int port) => t.DualMode
        ? new IPEndPoint(IPAddress.Loopback.MapToIPv6(), port).Serialize()
        : new IPEndPoint(IPAddress.Loopback, port).Serialize();
}
