using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.Benchmarks;

/// <summary>
/// The <see cref="AeadBenchmarks"/> operations timed by the calling thread's CPU clock instead of the wall clock,
/// in interleaved rounds (every candidate once per round, median of the rounds). On a shared machine whose load
/// average is many times its core count, wall-clock means mostly measure time spent preempted; thread CPU time
/// does not count it. Run: dotnet tests/JumpingVpn.Benchmarks/bin/Release/net10.0/JumpingVpn.Benchmarks.dll --aead-cpu-time
/// </summary>
internal static class AeadCpuTime
{
    private const int OpsPerSample = 2000;
    private const int Rounds = 31;

    public static void Run()
    {
        Console.WriteLine($"thread CPU ns per operation, median of {Rounds} interleaved rounds of {OpsPerSample} ops; load average {File.ReadAllText("/proc/loadavg").Trim()}");
        Console.WriteLine("| Operation | 64 B | 256 B | 512 B | 1300 B | 1420 B |");
        Console.WriteLine("|---|---|---|---|---|---|");
        int[] sizes = [64, 256, 512, 1300, 1420];
        var rows = new List<(string Name, double[] Ns)>();
        var benches = sizes.Select(size =>
        {
            var b = new AeadBenchmarks { Size = size };
            b.Setup();
            return b;
        }).ToArray();
        (string Name, Action<AeadBenchmarks> Op)[] ops =
        [
            ("seal in place, libsodium", b => b.SealSodium()),
            ("seal in place, OpenSSL EVP", b => b.SealOpenSsl()),
            ("seal in place, BCL ChaCha20Poly1305", b => b.SealBcl()),
            ("open, libsodium", b => b.OpenSodium()),
            ("open, OpenSSL EVP", b => b.OpenOpenSsl()),
            ("open, BCL ChaCha20Poly1305", b => b.OpenBcl()),
            ("open forged, libsodium", b => b.ForgedSodium()),
            ("open forged, OpenSSL EVP", b => b.ForgedOpenSsl()),
            ("open forged, BCL ChaCha20Poly1305 (throws)", b => b.ForgedBcl()),
            ("seal, OpenSSL EVP, key changes every packet (per seal)", b => b.SealOpenSslAlternatingKeys()),
        ];
        var samples = new List<double>[ops.Length, sizes.Length];
        for (int o = 0; o < ops.Length; o++)
        {
            for (int s = 0; s < sizes.Length; s++)
            {
                samples[o, s] = new List<double>(Rounds);
                for (int i = 0; i < 200; i++)
                {
                    ops[o].Op(benches[s]); // JIT to the final tier
                }
            }
        }
        Thread.Sleep(200);
        for (int round = 0; round < Rounds; round++)
        {
            for (int o = 0; o < ops.Length; o++)
            {
                for (int s = 0; s < sizes.Length; s++)
                {
                    Action<AeadBenchmarks> op = ops[o].Op;
                    AeadBenchmarks b = benches[s];
                    int count = ops[o].Name.Contains("throws", StringComparison.Ordinal) ? OpsPerSample / 20 : OpsPerSample;
                    long start = ThreadCpuClock.NowNs();
                    for (int i = 0; i < count; i++)
                    {
                        op(b);
                    }
                    double perOp = (ThreadCpuClock.NowNs() - start) / (double)count;
                    samples[o, s].Add(ops[o].Name.Contains("key changes", StringComparison.Ordinal) ? perOp / 2 : perOp);
                }
            }
        }
        for (int o = 0; o < ops.Length; o++)
        {
            Console.Write($"| {ops[o].Name} |");
            for (int s = 0; s < sizes.Length; s++)
            {
                List<double> v = samples[o, s];
                v.Sort();
                Console.Write($" {v[v.Count / 2]:F0} ns |");
            }
            Console.WriteLine();
        }
        foreach (AeadBenchmarks b in benches)
        {
            b.Cleanup();
        }
    }
}
