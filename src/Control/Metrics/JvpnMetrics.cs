namespace JumpingVpn.Control.Metrics;

/// <summary>
/// The metrics docs/design.md §7 names, with typed methods for the session layer
/// (<c>metrics.Transition(from, to, reason)</c>). States and reasons are the UPPER_SNAKE codes of
/// docs/session-spec.md §1 and §6. Counts the data plane already keeps (packets, bytes) are bound as
/// callbacks read at scrape time instead of being counted twice.
/// </summary>
public sealed class JvpnMetrics
{
    /// <summary>The six session states (docs/design.md §3); their gauges exist from the start so they read 0, not absent.</summary>
    public static readonly IReadOnlyList<string> States = ["BIRTH", "ATTACHED", "VOLATILE", "DEGRADED", "RECOVERING", "TERMINATED"];

    private readonly GaugeFamily _sessions;
    private readonly CounterFamily _transitions;
    private readonly CounterFamily _rejections;
    private readonly Counter _switches;
    private readonly CounterFamily _packets;
    private readonly CounterFamily _bytes;
    private readonly CounterFamily _drops;
    private readonly CounterFamily _auditDropped;
    private readonly CounterFamily _auditSinkErrors;
    private readonly CounterFamily _loopFaults;

    private readonly CounterFamily _handshakeFamily;

    public JvpnMetrics(MetricsRegistry? registry = null)
    {
        Registry = registry ?? new MetricsRegistry();
        _sessions = Registry.AddGauge("jvpn_sessions", "Sessions currently in each state (TERMINATED counts tombstones).", "state");
        _transitions = Registry.AddCounter("jvpn_session_transitions_total", "Session state transitions by previous state, new state and reason code.", "from", "to", "reason");
        _rejections = Registry.AddCounter("jvpn_reattach_rejections_total", "REATTACH_REQUESTs rejected, by reason code.", "reason");
        _switches = Registry.AddCounter("jvpn_switches_total", "Successful transport switches (binding moved by a validated REATTACH).").WithLabels();
        _handshakeFamily = Registry.AddCounter("jvpn_handshakes_total", "Completed WireGuard handshakes.");
        _packets = Registry.AddCounter("jvpn_packets_total", "Transport data packets by direction (rx, tx).", "direction");
        _bytes = Registry.AddCounter("jvpn_bytes_total", "Transport data bytes by direction (rx, tx).", "direction");
        _drops = Registry.AddCounter("jvpn_drops_total", "Packets dropped, by reason.", "reason");
        _auditDropped = Registry.AddCounter("jvpn_audit_dropped_total", "Audit events dropped because the audit buffer was full (each loss is reported by AUDIT_GAP).");
        _auditSinkErrors = Registry.AddCounter("jvpn_audit_sink_errors_total", "Audit sink write failures.");
        _loopFaults = Registry.AddCounter("jvpn_loop_faults_total", "Packet-thread batches lost to an exception, by loop (tun_read, udp_receive, handshake, timers).", "loop");
        foreach (string state in States)
        {
            _sessions.WithLabels(state);
        }
    }

    public MetricsRegistry Registry { get; }

    /// <summary>A new session enters <paramref name="state"/> (BIRTH).</summary>
    public void SessionCreated(string state = "BIRTH") => _sessions.WithLabels(state).Inc();

    /// <summary>One STATE_CHANGE: counts it and moves the session from one state gauge to the other.</summary>
    public void Transition(string from, string to, string reason)
    {
        _transitions.WithLabels(from, to, reason).Inc();
        _sessions.WithLabels(from).Dec();
        _sessions.WithLabels(to).Inc();
    }

    /// <summary>A session (normally a TERMINATED tombstone) leaves the table.</summary>
    public void SessionRemoved(string state) => _sessions.WithLabels(state).Dec();

    public void ReattachRejected(string reason) => _rejections.WithLabels(reason).Inc();

    public void Switch() => _switches.Inc();

    public void Handshake() => _handshakeFamily.WithLabels().Inc();

    /// <summary>A counted drop; hot callers should keep <see cref="DropCounter"/> for their reason instead.</summary>
    public void Drop(string reason) => _drops.WithLabels(reason).Inc();

    /// <summary>The series for one drop reason, resolved once for a hot path.</summary>
    public Counter DropCounter(string reason) => _drops.WithLabels(reason);

    /// <summary>Packets counted here by direction (when nothing else counts them).</summary>
    public Counter Packets(string direction) => _packets.WithLabels(direction);

    public Counter Bytes(string direction) => _bytes.WithLabels(direction);

    /// <summary>Reads packet and byte totals from the data plane's own counters at scrape time.</summary>
    /// <summary>Handshakes counted by the data plane, read at scrape time (use instead of <see cref="Handshake"/>).</summary>
    public void BindHandshakes(Func<long> completed) => _handshakeFamily.AddCallback(completed);

    /// <summary>A drop counter the data plane keeps, read at scrape time.</summary>
    public void BindDrop(string reason, Func<long> count) => _drops.AddCallback(count, reason);

    public void BindTraffic(Func<long> rxPackets, Func<long> txPackets, Func<long> rxBytes, Func<long> txBytes)
    {
        _packets.AddCallback(rxPackets, "rx");
        _packets.AddCallback(txPackets, "tx");
        _bytes.AddCallback(rxBytes, "rx");
        _bytes.AddCallback(txBytes, "tx");
    }

    /// <summary>Faults of one packet thread (docs/scaling.md, "Loop faults"), read at scrape time.</summary>
    public void BindLoopFaults(string loop, Func<long> count) => _loopFaults.AddCallback(count, loop);

    /// <summary>Reads the audit pipeline's loss and sink-error counters at scrape time.</summary>
    public void BindAudit(Func<long> dropped, Func<long> sinkErrors)
    {
        _auditDropped.AddCallback(dropped);
        _auditSinkErrors.AddCallback(sinkErrors);
    }

    /// <summary>Convenience for <see cref="BindAudit(Func{long}, Func{long})"/>.</summary>
    public void BindAudit(Audit.AuditPipeline pipeline)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        BindAudit(() => pipeline.DroppedCount, () => pipeline.SinkErrorCount);
    }
}
