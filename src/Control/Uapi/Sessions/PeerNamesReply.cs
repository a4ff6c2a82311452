using System.Text;

namespace JumpingVpn.Control.Uapi.Sessions;

/// <summary>
/// The <c>jvpn_peer_names=1</c> UAPI extension (docs/design.md §7): the names of the interface's peers that have
/// one (`# NAME` above their [Peer], <see cref="Config.PeerSection.Name"/>), a <c>public_key=HEX</c> line and a
/// <c>name=NAME</c> line per peer. Both ends use this type. A reader skips keys it does not know, and a device
/// that refuses the operation (another userspace WireGuard, an older jvpn) simply has no names.
/// </summary>
public static class PeerNamesReply
{
    /// <summary>The request line; the request ends with a blank line.</summary>
    public const string Operation = "jvpn_peer_names=1";

    /// <summary>
    /// Names one peer of the running interface (`jvpn server add-peer` after adding it live): body lines
    /// <c>public_key=HEX</c> and <c>name=NAME</c>; <c>errno=-22</c> for an unknown peer or an unusable name.
    /// </summary>
    public const string SetOperation = "jvpn_peer_name=1";

    private static readonly System.Buffers.SearchValues<char> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");

    /// <summary>The longest name a device keeps (a label, not a document).</summary>
    public const int MaxNameLength = 128;

    /// <summary>The <see cref="SetOperation"/> request for <paramref name="publicKey"/>.</summary>
    public static string SetRequest(ReadOnlySpan<byte> publicKey, string name) =>
        SetOperation + "\npublic_key=" + Convert.ToHexStringLower(publicKey) + "\nname=" + name + "\n\n";

    /// <summary>True for a name a device keeps: 1 to <see cref="MaxNameLength"/> characters, no control characters.</summary>
    public static bool IsUsableName(string name) =>
        name is { Length: > 0 and <= MaxNameLength }
        && !name.AsSpan().ContainsAnyInRange('\0', '\u001f') && !name.Contains('\u007f', StringComparison.Ordinal);

    /// <summary>Reads a <see cref="SetOperation"/> body; false when a line is missing or the name is unusable.</summary>
    public static bool TryParseSet(IReadOnlyList<string> body, out string publicKeyHex, out string name)
    {
        ArgumentNullException.ThrowIfNull(body);
        publicKeyHex = "";
        name = "";
        foreach (string line in body)
        {
            if (line.StartsWith("public_key=", StringComparison.Ordinal))
            {
                publicKeyHex = line["public_key=".Length..].ToLowerInvariant();
            }
            else if (line.StartsWith("name=", StringComparison.Ordinal))
            {
                name = line["name=".Length..];
            }
        }
        return publicKeyHex.Length == 64 && !publicKeyHex.AsSpan().ContainsAnyExcept(LowerHex) && IsUsableName(name);
    }

    /// <summary>The reply payload (without the errno line): names by public key (hex, lower case).</summary>
    public static string Format(IEnumerable<KeyValuePair<string, string>> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var sb = new StringBuilder();
        foreach ((string keyHex, string name) in names)
        {
            sb.Append("public_key=").Append(keyHex).Append('\n').Append("name=").Append(name).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>
    /// Decodes a complete reply (payload, <c>errno=0</c>) into names by public key (hex). False with an empty
    /// result for a reply without <c>errno=0</c> or a name before any key.
    /// </summary>
    public static bool TryParse(string reply, out Dictionary<string, string> names)
    {
        ArgumentNullException.ThrowIfNull(reply);
        names = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!reply.Contains("errno=0", StringComparison.Ordinal))
        {
            return false;
        }
        string? key = null;
        foreach (string line in reply.Split('\n'))
        {
            int eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                continue;
            }
            string field = line[..eq];
            string value = line[(eq + 1)..];
            if (field == "public_key")
            {
                key = value;
            }
            else if (field == "name")
            {
                if (key is null)
                {
                    names.Clear();
                    return false;
                }
                names[key] = value;
            }
        }
        return true;
    }
}
