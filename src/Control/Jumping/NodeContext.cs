using JumpingVpn.Control.Audit;
using System.Text.Json;
using JumpingVpn.Control.Metrics;
using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tunnel.Device;
using Microsoft.Extensions.Logging;

namespace JumpingVpn.Control.Jumping;

/// <summary>
/// What every part of the session layer on one interface shares and none of them owns: the device, the
/// policy, the clocks and the audit/metrics output (docs/design.md §2.2-§3). It holds no session state:
/// the server role, the client role and the path switcher each keep their own.
/// </summary>
internal sealed class NodeContext(WireGuardDevice device, SessionPolicy policy, AuditTail audit, ILogger logger, TimeProvider time)
{
    public WireGuardDevice Device { get; } = device;

    public SessionPolicy Policy { get; } = policy;

    public AuditTail Audit { get; } = audit;

    public ILogger Logger { get; } = logger;

    /// <summary>Prometheus counters fed from the state machine's events (null: metrics off).</summary>
    public JvpnMetrics? Metrics { get; set; }

    /// <summary>The node's monotonic millisecond clock: every session timer runs on it.</summary>
    public long NowMs() => time.GetTimestamp() * 1000 / time.TimestampFrequency;

    /// <summary>Unix ms minus monotonic ms: turns the state machine's times into ts_ms.</summary>
    public long WallOffsetMs() => time.GetUtcNow().ToUnixTimeMilliseconds() - NowMs();

    /// <summary>Wall-clock ms as the frames carry it (send and echo timestamps).</summary>
    public ulong WallMs() => (ulong)time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>A device timestamp (ns, long.MinValue = never) on the node's millisecond clock.</summary>
    public static long? ToNodeMs(long stampNs, long nowMs, long nowNs) =>
        stampNs == long.MinValue ? null : nowMs - Math.Max(0, (nowNs - stampNs) / 1_000_000);

    /// <summary>Audit lines for the state machine's events, and the metrics they imply (one place, so both always agree).</summary>
    public void PublishEvents(List<AuditEvent> events)
    {
        Audit.Publish(events, WallOffsetMs());
        if (Metrics is not { } m)
        {
            return;
        }
        foreach (AuditEvent e in events)
        {
            switch (e.Type)
            {
                case AuditEventType.SessionCreated:
                    m.SessionCreated(WireNames.Of(SessionState.Birth));
                    break;
                case AuditEventType.StateChange:
                    m.Transition(WireNames.Of(e.PreviousState), WireNames.Of(e.NewState), WireNames.Of(e.Reason));
                    break;
                case AuditEventType.TransportSwitch:
                    m.Switch();
                    break;
                case AuditEventType.ReattachResult when e.Reason != ReasonCode.ReattachSuccess:
                    m.ReattachRejected(WireNames.Of(e.Reason));
                    break;
                default:
                    break;
            }
        }
    }

    /// <summary>One audit line the session layer writes itself (docs/session-spec.md §6.2), outside the state machine.</summary>
    public void PublishLine(string eventType, SessionId id, ulong version, Action<Utf8JsonWriter>? extra) =>
        Audit.Publish(time.GetUtcNow().ToUnixTimeMilliseconds(), eventType, id, version, extra);
}
