namespace JumpingVpn.Platform.Net.KillSwitch;

/// <summary>A directly connected private subnet the kill switch's "allow LAN" lets traffic reach
/// (docs/platform.md §4.8 "Allow LAN"): the interface it is connected on and the prefix.</summary>
public readonly record struct LanSubnet(string Interface, IpPrefix Prefix)
{
    public override string ToString() => $"{Prefix} on {Interface}";
}
