namespace JumpingVpn.Tests.EndToEnd;

/// <summary>End-to-end tests share two CPUs with the daemons and iperf3 they start, and throughput
/// numbers mean nothing when two run at once: this collection runs alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EndToEndCollection
{
    public const string Name = "EndToEnd";
}
