namespace JumpingVpn.Control.Provisioning;

/// <summary>Where the packaged service (jvpn@NAME.service) reads configs and the group it runs as: a
/// config jvpn creates there is made readable by that group (packaging/README.md, "Files, owners and modes").</summary>
public sealed record ServiceConfigAccess(string Directory, string Group)
{
    /// <summary>/etc/jvpn and group jvpn, as packaging/linux (postinst, jvpn@.service) sets them up.</summary>
    public static ServiceConfigAccess Packaged { get; } = new("/etc/jvpn", "jvpn");
}
