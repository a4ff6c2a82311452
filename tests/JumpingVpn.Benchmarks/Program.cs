using BenchmarkDotNet.Running;
using JumpingVpn.Benchmarks;

if (args.Length == 1 && args[0] == "--aead-cpu-time")
{
    AeadCpuTime.Run();
    return;
}
if (args.Length == 1 && args[0] == "--offload-cpu-time")
{
    OffloadCpuTime.Run();
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
