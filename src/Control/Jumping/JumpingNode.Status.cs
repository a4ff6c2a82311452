using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tunnel.Device;
using Microsoft.Extensions.Logging;

namespace JumpingVpn.Control.Jumping;

/// <summary>Session state for the control socket (jvpn_session=1).</summary>
public sealed partial class JumpingNode
{
    /// <summary>Per-peer session state as key=value lines for the control socket (jvpn_session=1).</summary>
    public string FormatSessions()
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        long now = NowMs();
        foreach (ServerSession s in _server.Values)
        {
            SessionSnapshot snap = s.Slot.Snapshot();
            sb.Append(inv, $"public_key={Convert.ToHexStringLower(s.Peer.PublicKey)}\n");
            sb.Append("role=server\n");
            sb.Append(inv, $"session_id={s.Slot.Id}\n");
            sb.Append(inv, $"state={WireNames.Of(snap.State)}\n");
            sb.Append(inv, $"state_version={snap.StateVersion}\n");
            sb.Append(inv, $"bound_at_version={snap.BoundAtVersion}\n");
            sb.Append(inv, $"bound_endpoint={(snap.Binding is { } b ? b.ToString() : "")}\n");
            sb.Append(inv, $"last_reason={WireNames.Of(snap.LastReason)}\n");
            sb.Append(inv, $"last_transition_age_ms={Math.Max(0, now - snap.LastTransitionMs)}\n");
            sb.Append(inv, $"switches={snap.TotalSwitches}\n");
        }
        foreach (ClientSession c in _client.Values)
        {
            sb.Append(inv, $"public_key={Convert.ToHexStringLower(c.Peer.PublicKey)}\n");
            sb.Append("role=client\n");
            sb.Append(inv, $"session_layer={(c.SessionLayerOn ? "on" : "off")}\n");
            sb.Append(inv, $"session_id={(c.Id.IsNone ? "" : c.Id.ToString())}\n");
            sb.Append(inv, $"state={WireNames.Of(c.State)}\n");
            sb.Append(inv, $"state_version={c.LastAckedVersion}\n");
            sb.Append(inv, $"bound_at_version={c.BoundAtVersion}\n");
            sb.Append(inv, $"bound_endpoint={(c.Peer.Endpoint is { } ep ? EndpointCodec.ToIPEndPoint(ep).ToString() : "")}\n");
            sb.Append(inv, $"last_reason={c.LastReason ?? ""}\n");
            sb.Append(inv, $"last_transition_age_ms={(c.LastTransitionMs > 0 ? now - c.LastTransitionMs : -1)}\n");
            sb.Append(inv, $"switches={c.Switches}\n");
            sb.Append(inv, $"rtt_ms={c.RttMs}\n");
            FormatPaths(sb, c, now);
        }
        return sb.ToString();
    }

}
