using System.IO.Pipes;
using JumpingVpn.Ui.SignIn;

namespace JumpingVpn.Tests.Ui.Manager;

/// <summary>The Windows sign-in pipe's ACL (docs/ui.md "Signing in"): SYSTEM, Administrators and group jvpn only.</summary>
public sealed class SignInPipeAccessTests
{
    private const string Everyone = "S-1-1-0";
    private const string Users = "S-1-5-32-545";
    private const string AuthenticatedUsers = "S-1-5-11";

    [Fact]
    public void Only_system_administrators_and_the_jvpn_group_may_open_the_pipe()
    {
        const string jvpn = "S-1-5-21-1-2-3-1001";

        IReadOnlyList<(string Sid, PipeAccessRights Rights)> rules = SignInPipeAccess.Rules(jvpn);

        Assert.Equal([SignInPipeAccess.LocalSystem, SignInPipeAccess.Administrators, jvpn], rules.Select(r => r.Sid));
        Assert.DoesNotContain(rules, r => r.Sid is Everyone or Users or AuthenticatedUsers);
        Assert.Equal(PipeAccessRights.ReadWrite, rules.Single(r => r.Sid == jvpn).Rights);
    }

    [Fact]
    public void Without_the_group_only_system_and_administrators()
    {
        Assert.Equal([SignInPipeAccess.LocalSystem, SignInPipeAccess.Administrators], SignInPipeAccess.Rules(null).Select(r => r.Sid));
    }
}
