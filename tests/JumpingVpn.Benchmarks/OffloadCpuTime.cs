using System.Buffers.Binary;
using System.Runtime.Intrinsics;
using JumpingVpn.Platform.Interop.Linux;
using JumpingVpn.Platform.Tun.Offload;

namespace JumpingVpn.Benchmarks;

/// <summary>
/// The TUN offload work per packet outside the AEAD, timed by the calling thread's CPU clock in interleaved
/// rounds like <see cref="AeadCpuTime"/> (docs/performance.md "Packet-thread profile"): the Internet checksum of
/// a 1420 B packet, and coalescing one 64 KB train of 44 TCP segments (checksum verification of each, merge)
/// flushed as one assembled packet or as a gather list (the write itself, a syscall, not included). Run it
/// once as is and once with DOTNET_EnableHWIntrinsic=0 for the scalar checksum:
/// dotnet tests/JumpingVpn.Benchmarks/bin/Release/net10.0/JumpingVpn.Benchmarks.dll --offload-cpu-time
/// </summary>
internal static unsafe class OffloadCpuTime
{
    private const int OpsPerSample = 2000;
    private const int Rounds = 31;
    private const int Segments = 44;
    private const int PayloadLength = 1380;

    /// <summary>An IPv4 TCP segment with valid IP and TCP checksums (the coalescer merges only those).</summary>
    private static byte[] Segment(uint seq, int seed)
    {
        byte[] p = new byte[40 + PayloadLength];
        p[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(6), 0x4000); // DF
        p[8] = 64;
        p[9] = IpHeaders.ProtocolTcp;
        p[12] = 10; p[15] = 1;
        p[16] = 10; p[19] = 2;
        IpHeaders.FixIpv4Checksum(p.AsSpan(0, 20));
        Span<byte> tcp = p.AsSpan(20);
        BinaryPrimitives.WriteUInt16BigEndian(tcp, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], 5201);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], seq);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[8..], 1);
        tcp[12] = 5 << 4;
        tcp[13] = 0x10; // ACK
        BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], 512);
        new Random(seed).NextBytes(tcp[20..]);
        ulong acc = InternetChecksum.Add(InternetChecksum.PseudoHeaderV4(p, IpHeaders.ProtocolTcp, tcp.Length), tcp);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], InternetChecksum.Complete(acc));
        return p;
    }

    public static void Run()
    {
        byte[][] train = new byte[Segments][];
        for (int i = 0; i < Segments; i++)
        {
            train[i] = Segment(1000 + (uint)(i * PayloadLength), i);
        }
        byte[] packet = train[0];
        var gro = new GroCoalescer();
        ulong sink = 0;
        int frames = 0;
        Func<ReadOnlySpan<byte>, bool> write = framed =>
        {
            frames++;
            return true;
        };
        GroCoalescer.GatherWriter gather = (LibC.IoVec* parts, int count) =>
        {
            frames++;
            return true;
        };
        (string Name, Action Op)[] ops =
        [
            ($"Internet checksum, {packet.Length} B", () => sink += InternetChecksum.Add(0, packet)),
            ($"coalesce {Segments} x {packet.Length} B TCP, flush assembled", () =>
            {
                foreach (byte[] s in train)
                {
                    gro.Add(s);
                }
                gro.Flush(write);
            }),
            ($"coalesce {Segments} x {packet.Length} B TCP, flush as gather list", () =>
            {
                foreach (byte[] s in train)
                {
                    gro.Add(s);
                }
                gro.Flush(write, gather);
            }),
        ];
        Console.WriteLine($"thread CPU ns per operation, median of {Rounds} interleaved rounds; vectors: 512-bit {Vector512.IsHardwareAccelerated}, 256-bit {Vector256.IsHardwareAccelerated}, 128-bit {Vector128.IsHardwareAccelerated}; load average {File.ReadAllText("/proc/loadavg").Trim()}");
        var samples = new List<double>[ops.Length];
        for (int o = 0; o < ops.Length; o++)
        {
            samples[o] = new List<double>(Rounds);
            for (int i = 0; i < 300; i++)
            {
                ops[o].Op(); // JIT to the final tier
            }
        }
        frames = 0;
        Thread.Sleep(200);
        for (int round = 0; round < Rounds; round++)
        {
            for (int o = 0; o < ops.Length; o++)
            {
                int count = o == 0 ? OpsPerSample * 10 : OpsPerSample / 10;
                Action op = ops[o].Op;
                long start = ThreadCpuClock.NowNs();
                for (int i = 0; i < count; i++)
                {
                    op();
                }
                samples[o].Add((ThreadCpuClock.NowNs() - start) / (double)count);
            }
        }
        for (int o = 0; o < ops.Length; o++)
        {
            samples[o].Sort();
            double median = samples[o][Rounds / 2];
            string perPacket = o == 0 ? "" : $" ({median / Segments:F0} ns per segment)";
            Console.WriteLine($"| {ops[o].Name} | {median:F0} ns{perPacket} |");
        }
        if (frames != Rounds * 2 * (OpsPerSample / 10) || sink == 0)
        {
            throw new InvalidOperationException($"the train did not coalesce into one frame per flush ({frames} frames)");
        }
    }
}
