using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using JumpingVpn.Tunnel.Device;
using JumpingVpn.Tunnel.Noise;

namespace JumpingVpn.LoadGen.Bench;

/// <summary>
/// The per-core cost of rejecting a transport packet with an unknown receiver index, without the kernel's
/// UDP path in front: one thread calls the same <see cref="WireGuardDevice.Decapsulate"/> the receive loop
/// calls, and the thread's allocation counter proves it allocates nothing.
/// </summary>
internal static class InProcessReject
{
    public sealed record Result(double PacketsPerSecondPerCore, long AllocatedBytes, long Packets, int TableSize);

    private sealed class NoSender : IDatagramSender
    {
        public bool Send(ReadOnlySpan<byte> datagram, SocketAddress destination) => true;
    }

    /// <summary>
    /// Populates the device's receiver-index table with <paramref name="indices"/> in-flight handshakes
    /// (one initiation per peer, sent nowhere) so the lookup runs against a realistically large table.
    /// </summary>
    public static Result Measure(TimeSpan duration, int indices)
    {
        var device = new WireGuardDevice(new DeviceOptions(), new NoSender());
        byte[] key = new byte[32];
        JumpingVpn.Tunnel.Crypto.X25519.GeneratePrivateKey(key);
        device.SetPrivateKey(key);
        byte[] peerPrivate = new byte[32], peerPublic = new byte[32];
        var endpoint = new IPEndPoint(IPAddress.Loopback, 9);
        for (int i = 0; i < indices; i++)
        {
            JumpingVpn.Tunnel.Crypto.X25519.GeneratePrivateKey(peerPrivate);
            JumpingVpn.Tunnel.Crypto.X25519.DerivePublicKey(peerPrivate, peerPublic);
            Peer peer = device.AddPeer(peerPublic, new byte[32]);
            WireGuardDevice.SetEndpoint(peer, endpoint, dualMode: false);
            device.SendHandshakeInitiation(peer, isRetry: false);
        }
        var packets = new byte[64][];
        var rng = new Random(7);
        for (int i = 0; i < packets.Length; i++)
        {
            packets[i] = new byte[MessageLayout.TransportMinSize + 64];
            packets[i][0] = MessageLayout.TypeTransport;
            BinaryPrimitives.WriteUInt32LittleEndian(packets[i].AsSpan(4), (uint)rng.Next());
        }
        SocketAddress from = new IPEndPoint(IPAddress.Loopback, 9).Serialize();
        var warm = Stopwatch.StartNew();
        while (warm.ElapsedMilliseconds < 500)
        {
            device.Decapsulate(packets[(int)(warm.ElapsedTicks & 63)], from, out _, out _, out _); // warm-up (tiering, OSR)
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        var sw = Stopwatch.StartNew();
        long n = 0;
        while (sw.Elapsed < duration)
        {
            for (int i = 0; i < 4096; i++, n++)
            {
                device.Decapsulate(packets[(int)(n & 63)], from, out _, out _, out _);
            }
        }
        double seconds = sw.Elapsed.TotalSeconds;
        return new Result(n / seconds, GC.GetAllocatedBytesForCurrentThread() - allocated, n, indices);
    }
}
