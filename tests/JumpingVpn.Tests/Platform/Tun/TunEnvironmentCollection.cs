namespace JumpingVpn.Tests.Platform.Tun;

/// <summary>The kernel TUN tests set the process-wide env switches (JVPN_DISABLE_TUN_*) around a
/// device's creation: they run one at a time so one test's switch never reaches another's device.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TunEnvironmentCollection
{
    public const string Name = "TunEnvironment";
}
