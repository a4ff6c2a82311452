using BenchmarkDotNet.Running;
using JumpingVpn.Benchmarks;

if (args.Length == 1 && args[0] == "--aead-cpu-time")
{
    AeadCpuTime.Run();
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
