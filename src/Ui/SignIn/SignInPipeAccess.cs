using System.IO.Pipes;

namespace JumpingVpn.Ui.SignIn;

/// <summary>
/// The ACL of the Windows sign-in pipe (docs/ui.md "Access"): SYSTEM, Administrators and the local group jvpn, nobody
/// else (no Everyone, no Users, no Authenticated Users): a rule list, so it is checked on any OS.
/// </summary>
public static class SignInPipeAccess
{
    public const string LocalSystem = "S-1-5-18";
    public const string Administrators = "S-1-5-32-544";

    /// <summary>(SID, rights) allowed on the pipe; <paramref name="jvpnGroupSid"/> is null when the group does not exist.</summary>
    public static IReadOnlyList<(string Sid, PipeAccessRights Rights)> Rules(string? jvpnGroupSid)
    {
        var rules = new List<(string, PipeAccessRights)>
        {
            (LocalSystem, PipeAccessRights.FullControl),
            (Administrators, PipeAccessRights.ReadWrite),
        };
        if (!string.IsNullOrEmpty(jvpnGroupSid))
        {
            rules.Add((jvpnGroupSid, PipeAccessRights.ReadWrite));
        }
        return rules;
    }
}
