using JumpingVpn.Control.Sessions;
using JumpingVpn.Control.Uapi.Sessions;
using JumpingVpn.Tunnel.Device;

namespace JumpingVpn.Control.Jumping;

/// <summary>Session state for the control socket (jvpn_session=1).</summary>
public sealed partial class JumpingNode
{
    /// <summary>Per-peer session state for the control socket (jvpn_session=1), encoded by <see cref="SessionStatusReply"/>.</summary>
    public string FormatSessions()
    {
        var records = new List<SessionStatusRecord>(_server.Count + _client.Count);
        long now = NowMs();
        foreach (ServerSession s in _server.Values)
        {
            SessionSnapshot snap = s.Slot.Snapshot();
            records.Add(new SessionStatusRecord
            {
                PublicKeyHex = Convert.ToHexStringLower(s.Peer.PublicKey),
                Role = "server",
                SessionId = s.Slot.Id.ToString(),
                State = WireNames.Of(snap.State),
                StateVersion = snap.StateVersion,
                BoundAtVersion = snap.BoundAtVersion,
                BoundEndpoint = snap.Binding is { } b ? b.ToString() : "",
                LastReason = WireNames.Of(snap.LastReason),
                LastTransitionAgeMs = Math.Max(0, now - snap.LastTransitionMs),
                Switches = snap.TotalSwitches,
            });
        }
        foreach (ClientSession c in _client.Values)
        {
            var record = new SessionStatusRecord
            {
                PublicKeyHex = Convert.ToHexStringLower(c.Peer.PublicKey),
                Role = "client",
                SessionLayer = c.SessionLayerOn ? "on" : "off",
                SessionId = c.Id.IsNone ? "" : c.Id.ToString(),
                State = WireNames.Of(c.State),
                StateVersion = c.LastAckedVersion,
                BoundAtVersion = c.BoundAtVersion,
                BoundEndpoint = c.Peer.Endpoint is { } ep ? EndpointCodec.ToIPEndPoint(ep).ToString() : "",
                LastReason = c.LastReason ?? "",
                LastTransitionAgeMs = c.LastTransitionMs > 0 ? now - c.LastTransitionMs : -1,
                Switches = c.Switches,
                RttMs = c.RttMs,
            };
            records.Add(WithPaths(record, c, now));
        }
        return SessionStatusReply.Format(records);
    }
}
