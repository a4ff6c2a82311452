using System.Globalization;

namespace JumpingVpn.Ui.SignIn;

/// <summary>
/// Who may get a sign-in link (docs/ui.md "Access"): root, or a process whose primary or supplementary groups include
/// the <c>jvpn</c> group. The peer's identity comes from the kernel (SO_PEERCRED), not from anything the peer says.
/// </summary>
public static class SignInAccess
{
    public static bool IsAllowed(uint uid, uint gid, IReadOnlyCollection<uint> supplementaryGroups, uint? jvpnGroup)
    {
        ArgumentNullException.ThrowIfNull(supplementaryGroups);
        if (uid == 0)
        {
            return true;
        }
        return jvpnGroup is uint group && (gid == group || supplementaryGroups.Contains(group));
    }

    /// <summary>The supplementary groups in the <c>Groups:</c> line of /proc/PID/status text.</summary>
    public static IReadOnlyList<uint> GroupsFromProcStatus(string statusText)
    {
        ArgumentNullException.ThrowIfNull(statusText);
        foreach (string line in statusText.Split('\n'))
        {
            if (line.StartsWith("Groups:", StringComparison.Ordinal))
            {
                var groups = new List<uint>();
                foreach (string part in line["Groups:".Length..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
                {
                    if (uint.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out uint g))
                    {
                        groups.Add(g);
                    }
                }
                return groups;
            }
        }
        return [];
    }

    /// <summary>The line a refused peer gets.</summary>
    public static string DeniedMessage(uint uid) => string.Create(CultureInfo.InvariantCulture,
        $"user {uid} may not use the jvpn UI: only root and members of group {SignInProtocol.Group} may (sudo usermod -aG {SignInProtocol.Group} $USER, then log out and in)");
}
