using JumpingVpn.Ui.SignIn;

namespace JumpingVpn.Tests.Ui.Manager;

/// <summary>Who may get a sign-in link (docs/ui.md "Access"): root, or a process in group jvpn (primary or supplementary).</summary>
public sealed class SignInAccessTests
{
    [Theory]
    [InlineData(0u, 0u, new uint[0], null, true)]
    [InlineData(1000u, 1000u, new uint[] { 27, 998 }, 998u, true)]
    [InlineData(1000u, 998u, new uint[0], 998u, true)]
    [InlineData(1000u, 1000u, new uint[] { 27 }, 998u, false)]
    [InlineData(1000u, 1000u, new uint[] { 998 }, null, false)]
    public void Root_and_group_jvpn_only(uint uid, uint gid, uint[] groups, uint? jvpn, bool allowed) =>
        Assert.Equal(allowed, SignInAccess.IsAllowed(uid, gid, groups, jvpn));

    [Fact]
    public void Supplementary_groups_come_from_the_status_groups_line()
    {
        const string status = "Name:\tbash\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nGroups:\t4 24 27 998 \nNStgid:\t1\n";

        Assert.Equal([4u, 24u, 27u, 998u], SignInAccess.GroupsFromProcStatus(status));
        Assert.Empty(SignInAccess.GroupsFromProcStatus("Name:\tx\nGroups:\t\n"));
    }
}
