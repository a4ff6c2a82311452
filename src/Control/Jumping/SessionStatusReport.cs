using JumpingVpn.Control.Jumping.Client;
using JumpingVpn.Control.Jumping.Server;
using JumpingVpn.Control.Paths;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Control.Uapi.Sessions;
using JumpingVpn.Tunnel.Device;

namespace JumpingVpn.Control.Jumping;

/// <summary>
/// Per-peer session state for the control socket (jvpn_session=1), encoded by <see cref="SessionStatusReply"/>:
/// a read-only view over the server sessions, the client sessions and their paths.
/// </summary>
internal static class SessionStatusReport
{
    public static string Format(ServerSessionTable servers, ICollection<ClientSession> clients, long now)
    {
        var records = new List<SessionStatusRecord>(servers.Count + clients.Count);
        foreach (ServerSession s in servers.Sessions)
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
        foreach (ClientSession c in clients)
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

    /// <summary>The client's paths and recent switches for jvpn_session=1, read under the path lock.</summary>
    private static SessionStatusRecord WithPaths(SessionStatusRecord record, ClientSession c, long now)
    {
        if (c.Paths is not { } m)
        {
            return record;
        }
        lock (c.PathLock)
        {
            var paths = new List<PathStatus>();
            foreach (PathEntry p in m.Paths)
            {
                string role = p.Id == m.ActiveId ? "active" : p.Id == m.PendingId ? "pending" : "candidate";
                (double loss, _) = p.LossForStatus(now);
                long age = p.LastReplyMs < 0 ? -1 : now - p.LastReplyMs;
                paths.Add(new PathStatus(p.Info.Interface, p.Info.LocalAddress, role, PathManager.WireName(p.State), p.SrttMs, loss, age, p.Info.Priority));
            }
            var switches = new List<PathSwitchStatus>();
            foreach (PathSwitchRecord r in m.RecentSwitches())
            {
                switches.Add(new PathSwitchStatus(now - r.AtMs, r.From, r.To, WireNames.Of(r.Reason), r.GapMs));
            }
            return record with
            {
                Paths = paths,
                RecentSwitches = switches,
                SwitchesLastMinute = m.SwitchesLastMinute(now),
                SuspectEpisodes = m.SuspectEpisodes,
            };
        }
    }
}
