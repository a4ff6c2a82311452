using System.Globalization;
using System.Text;

namespace JumpingVpn.Control.Uapi.Sessions;

/// <summary>
/// One session in a <c>jvpn_sessions=1</c> page: a block of key=value lines that starts with <c>public_key=HEX</c>
/// (docs/design.md §7 "Session listing").
/// </summary>
/// <param name="InnerAddresses">The peer's tunnel addresses as prefixes, comma-separated; empty when none is routed.</param>
/// <param name="Endpoint">ADDRESS:PORT the session is bound to, or empty while unbound.</param>
/// <param name="LastSeenMs">Age of the peer's last authenticated packet; -1 for never.</param>
/// <param name="OwnerNode">The cluster node that owns the session (this one) or empty on a single server or while
/// the ownership is not valid.</param>
public sealed record SessionPageRow(string PublicKeyHex, string SessionId, string State, ulong StateVersion,
    string InnerAddresses, string Endpoint, long LastSeenMs, string OwnerNode)
{
    internal void Write(StringBuilder sb)
    {
        var inv = CultureInfo.InvariantCulture;
        sb.Append(inv, $"public_key={PublicKeyHex}\nsession_id={SessionId}\nstate={State}\nstate_version={StateVersion}\n");
        sb.Append(inv, $"inner={InnerAddresses}\nendpoint={Endpoint}\nlast_seen_ms={LastSeenMs}\nowner_node={OwnerNode}\n");
    }

    /// <summary>Fills one field from a reply line; false for a known key whose value does not parse.</summary>
    internal static bool Apply(ref SessionPageRow row, string key, string value)
    {
        var inv = CultureInfo.InvariantCulture;
        switch (key)
        {
            case "session_id":
                row = row with { SessionId = value };
                return true;
            case "state":
                row = row with { State = value };
                return true;
            case "inner":
                row = row with { InnerAddresses = value };
                return true;
            case "endpoint":
                row = row with { Endpoint = value };
                return true;
            case "owner_node":
                row = row with { OwnerNode = value };
                return true;
            case "state_version":
                if (!ulong.TryParse(value, NumberStyles.Integer, inv, out ulong v))
                {
                    return false;
                }
                row = row with { StateVersion = v };
                return true;
            case "last_seen_ms":
                if (!long.TryParse(value, NumberStyles.Integer, inv, out long seen))
                {
                    return false;
                }
                row = row with { LastSeenMs = seen };
                return true;
            default:
                return true; // a key a newer peer added
        }
    }
}
