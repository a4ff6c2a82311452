using JumpingVpn.Control.Config;

namespace JumpingVpn.Ui.Manager;

/// <summary>
/// A tunnel's name is its interface name and its file name (<c>NAME.conf</c>), so it follows the interface-name
/// rules (1 to 15 of a-z A-Z 0-9 _ = + . -) and may not be <c>.</c> or <c>..</c>: no name can reach outside the
/// config directory (docs/ui.md "The manager").
/// </summary>
public static class TunnelNames
{
    public static bool IsValid(string? name) =>
        name is not null && name != "." && name != ".." && TunnelConfigParser.IsValidInterfaceName(name);

    /// <summary>The problem with <paramref name="name"/> in one line, or null when it is valid.</summary>
    public static string? Problem(string? name) => IsValid(name)
        ? null
        : $"`{name}` is not a valid tunnel name: use 1 to 15 of a-z A-Z 0-9 _ = + . - (it becomes the interface name and NAME.conf)";

    /// <summary>
    /// The tunnel name a file named <paramref name="fileName"/> imports as (<c>wg0.conf</c> is <c>wg0</c>). A name with
    /// a directory part stays invalid rather than being cut down, so nothing is saved under a name the user did not give.
    /// </summary>
    public static string FromFileName(string fileName)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        return fileName.EndsWith(".conf", StringComparison.OrdinalIgnoreCase) ? fileName[..^".conf".Length] : fileName;
    }
}
