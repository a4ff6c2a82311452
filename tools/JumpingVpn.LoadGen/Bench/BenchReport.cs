using System.Globalization;
using System.Text;
using System.Text.Json;

namespace JumpingVpn.LoadGen.Bench;

/// <summary>What one server size measured (all from the wire, /proc, the control socket or the audit stream).</summary>
internal sealed class SizeResult
{
    public int Requested { get; set; }
    public int Sessions { get; set; }
    public double PeersLoadSeconds { get; set; }
    public double EstablishSeconds { get; set; }
    public int EstablishRetries { get; set; }
    public double HandshakesPerSecond { get; set; }
    public double ServerCpuSecondsPerThousandHandshakes { get; set; }
    public long RssReadyBytes { get; set; }
    public long RssSessionsBytes { get; set; }
    public double RssBytesPerSession { get; set; }
    public double RssBytesPerSessionAverage { get; set; }
    public int FirstStepSessions { get; set; }
    public long RssFirstStepBytes { get; set; }
    public double LookupP50Ms { get; set; }
    public double LookupP99Ms { get; set; }
    public double ReattachP50Ms { get; set; }
    public double ReattachP99Ms { get; set; }
    public int ReattachRejected { get; set; }
    public int StormSessions { get; set; }
    public int StormAcked { get; set; }
    public int StormRetries { get; set; }
    public double StormSendMs { get; set; }
    public double StormAllAckedMs { get; set; }
    public double StormP50Ms { get; set; }
    public double StormP99Ms { get; set; }
    public int DualBindings { get; set; }
    public double IdleServerCpuPct { get; set; }
    public double PeersAdd1000Ms { get; set; }
    public double PeersRemove1000Ms { get; set; }
    public double PeersRemoveLiveMs { get; set; }
    public int RemovedLiveSessions { get; set; }
    public int OperatorTerminated { get; set; }
    public int PeerChurnErrors { get; set; }
    public int PeerChurnKeepalives { get; set; }
    public int PeerChurnKeepaliveLost { get; set; }
    public double PeerChurnKeepaliveP99Ms { get; set; }
    public int AuditSessions { get; set; }
    public int VersionGaps { get; set; }
    public long AuditGaps { get; set; }
    public long StateChanges { get; set; }
    public long AllocatedBytesInPacketLoops { get; set; }
}

internal sealed class AbusePhase
{
    public required string Name { get; init; }
    public double Seconds { get; init; }
    public double SentPps { get; init; }
    public double UnknownIndexRejectedPps { get; init; }
    public double BadMacRejectedPps { get; init; }
    public double ReplayRejectedPps { get; init; }
    public double HandshakesInvalidPps { get; init; }
    public double CookieRepliesPps { get; init; }
    /// <summary>Handshake messages the admission buckets refused (per source and global), per second.</summary>
    public double AdmissionLimitedPps { get; init; }
    /// <summary>Admitted handshake messages dropped because the handshake queue was full, per second.</summary>
    public double HandshakeQueueFullPps { get; init; }
    public double ServerCpuPct { get; init; }
    public int Pings { get; init; }
    public double PingLossPct { get; init; }
    public double PingP50Ms { get; init; }
    public double PingP99Ms { get; init; }
    public long AllocatedBytesInPacketLoopsDelta { get; init; }
}

internal sealed class AbuseResult
{
    public List<AbusePhase> Phases { get; } = [];
    public double PingLossPctMax { get; set; }
    public double RttRatioMax { get; set; }
    public double RttP99RatioMax { get; set; }
    public int ReplayStateChanges { get; set; }
}

internal sealed class SoakResult
{
    public double Seconds { get; init; }
    public int Sessions { get; init; }
    public long ReattachesSent { get; set; }
    public long ReattachesAcked { get; set; }
    public long Rekeys { get; set; }
    public List<long> RssSamples { get; } = [];
    public long RssGrowthBytes { get; set; }
    public double RssGrowthBytesPerSession { get; set; }
}

/// <summary>The whole suite's result: the summary keys, then every detail, as a table and as JSON.</summary>
internal sealed class BenchReport
{
    public List<SizeResult> Sizes { get; } = [];
    public AbuseResult? Abuse { get; set; }
    /// <summary>--abuse-only: every phase of every run, per receive-thread count.</summary>
    public List<AbuseScalingRow> AbuseScaling { get; } = [];
    public SoakResult? Soak { get; set; }
    public InProcessReject.Result? InProcessReject { get; set; }
    public List<FloodHandshakeResult> FloodHandshakes { get; } = [];

    private FloodHandshakeResult? FloodJvpn => FloodHandshakes.FirstOrDefault(f => f.Server == "jvpn");

    private SizeResult? Largest => Sizes.Count == 0 ? null : Sizes.MaxBy(s => s.Sessions);
    private SizeResult? Smallest => Sizes.Count == 0 ? null : Sizes.MinBy(s => s.Sessions);

    /// <summary>The storm run: the one whose storm size is largest (the 10k goal), else the largest run.</summary>
    private SizeResult? StormRun => Sizes.Count == 0 ? null : Sizes.MaxBy(s => (s.StormSessions, -s.Sessions));

    public double LookupRatio => Largest is { } l && Smallest is { } s ? l.LookupP50Ms / s.LookupP50Ms : double.NaN;
    public double ReattachRatio => Largest is { } l && Smallest is { } s ? l.ReattachP50Ms / s.ReattachP50Ms : double.NaN;

    public IEnumerable<(string Key, double Value)> Summary()
    {
        yield return ("sessions", Largest?.Sessions ?? 0);
        yield return ("rss_bytes_per_session", Largest?.RssBytesPerSession ?? double.NaN);
        yield return ("lookup_ratio_max_vs_min_n", LookupRatio);
        yield return ("reattach_ratio_max_vs_min_n", ReattachRatio);
        yield return ("storm_sessions", StormRun?.StormSessions ?? 0);
        yield return ("storm_all_acked_ms", StormRun?.StormAllAckedMs ?? double.NaN);
        yield return ("storm_p99_ms", StormRun?.StormP99Ms ?? double.NaN);
        yield return ("dual_bindings", Sizes.Sum(s => s.DualBindings));
        yield return ("version_gaps", Sizes.Sum(s => s.VersionGaps));
        yield return ("audit_gaps", Sizes.Sum(s => s.AuditGaps));
        yield return ("unknown_reject_pps", Abuse?.Phases.FirstOrDefault(p => p.Name == "unknown_index")?.UnknownIndexRejectedPps ?? double.NaN);
        yield return ("unknown_reject_pps_per_core_in_process", InProcessReject?.PacketsPerSecondPerCore ?? double.NaN);
        yield return ("unknown_reject_allocated_bytes", InProcessReject?.AllocatedBytes ?? double.NaN);
        yield return ("abuse_ping_loss_pct", Abuse?.PingLossPctMax ?? double.NaN);
        yield return ("abuse_rtt_ratio", Abuse?.RttRatioMax ?? double.NaN);
        yield return ("abuse_rtt_p99_ratio", Abuse?.RttP99RatioMax ?? double.NaN);
        yield return ("peers_load_seconds", Largest?.PeersLoadSeconds ?? double.NaN);
        yield return ("handshakes_per_second", Largest?.HandshakesPerSecond ?? double.NaN);
        yield return ("idle_server_cpu_pct", Largest?.IdleServerCpuPct ?? double.NaN);
        yield return ("peers_add_1000_ms", Largest?.PeersAdd1000Ms ?? double.NaN);
        yield return ("peers_remove_1000_ms", Largest?.PeersRemove1000Ms ?? double.NaN);
        yield return ("replay_state_changes", Abuse?.ReplayStateChanges ?? double.NaN);
        yield return ("soak_seconds", Soak?.Seconds ?? 0);
        yield return ("soak_rss_growth_bytes_per_session", Soak?.RssGrowthBytesPerSession ?? double.NaN);
        yield return ("flood_new_clients", FloodJvpn?.Clients ?? 0);
        yield return ("flood_new_clients_completed", FloodJvpn?.Completed ?? double.NaN);
        yield return ("flood_new_clients_retried", FloodJvpn?.Retried ?? double.NaN);
        yield return ("flood_handshake_p50_ms", FloodJvpn?.P50Ms ?? double.NaN);
        yield return ("flood_handshake_p99_ms", FloodJvpn?.P99Ms ?? double.NaN);
    }

    public string Table()
    {
        var sb = new StringBuilder();
        sb.AppendLine("| sessions | peers load s | handshake+HELLO /s | RSS B/session | keepalive p50/p99 ms | reattach p50/p99 ms | storm n | storm all-acked ms | storm p99 ms | dual | gaps | AUDIT_GAP |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (SizeResult s in Sizes)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {s.Sessions} | {s.PeersLoadSeconds:F2} | {s.HandshakesPerSecond:F0} | {s.RssBytesPerSession:F0} | {s.LookupP50Ms:F3} / {s.LookupP99Ms:F3} | {s.ReattachP50Ms:F3} / {s.ReattachP99Ms:F3} | {s.StormSessions} | {s.StormAllAckedMs:F0} | {s.StormP99Ms:F1} | {s.DualBindings} | {s.VersionGaps} | {s.AuditGaps} |");
        }
        if (Abuse is { } a)
        {
            sb.AppendLine();
            sb.AppendLine("| abuse phase | sent pps | rejected pps (server counters) | server CPU % | ping loss % | ping p50 / p99 ms |");
            sb.AppendLine("|---|---|---|---|---|---|");
            foreach (AbusePhase p in a.Phases)
            {
                double rejected = p.UnknownIndexRejectedPps + p.BadMacRejectedPps + p.ReplayRejectedPps + p.HandshakesInvalidPps + p.CookieRepliesPps + p.AdmissionLimitedPps + p.HandshakeQueueFullPps;
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {p.Name} | {p.SentPps:F0} | {rejected:F0} | {p.ServerCpuPct:F0} | {p.PingLossPct:F2} | {p.PingP50Ms:F3} / {p.PingP99Ms:F3} |");
            }
        }
        if (AbuseScaling.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("| receive threads | run | abuse phase | sent pps | rejected pps (server counters) | busiest thread share | server CPU % | ping loss % | ping p50 / p99 ms |");
            sb.AppendLine("|---|---|---|---|---|---|---|---|---|");
            foreach (AbuseScalingRow r in AbuseScaling)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {r.ReceiveThreads} | {r.Run} | {r.Phase} | {r.SentPps:F0} | {r.RejectedPps:F0} | {r.BusiestThreadShare:F2} | {r.ServerCpuPct:F0} | {r.PingLossPct:F2} | {r.PingP50Ms:F3} / {r.PingP99Ms:F3} |");
            }
        }
        if (FloodHandshakes.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine(CultureInfo.InvariantCulture, $"| server, keyless flood from {Bench.FloodHandshakes.FloodSources} sources | flood pkt/s | new clients completed | needed a 5 s retry | cookie replies | first handshake p50 / p99 / max ms |");
            sb.AppendLine("|---|---|---|---|---|---|");
            foreach (FloodHandshakeResult f in FloodHandshakes)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {f.Server} | {f.FloodPps:F0} | {f.Completed}/{f.Clients} | {f.Retried} | {f.CookieRepliesReceived} | {f.P50Ms:F1} / {f.P99Ms:F1} / {f.MaxMs:F1} |");
            }
        }
        sb.AppendLine();
        foreach ((string key, double value) in Summary())
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"{key,-42} {Format(value)}");
        }
        return sb.ToString();
    }

    private static string Format(double v) => double.IsNaN(v) ? "n/a" : v.ToString(Math.Abs(v) >= 100 ? "F0" : "F3", CultureInfo.InvariantCulture);

    public void WriteJson(Stream stream, IReadOnlyDictionary<string, string> environment)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        foreach ((string key, double value) in Summary())
        {
            Number(w, key, value);
        }
        w.WriteStartObject("environment");
        foreach ((string k, string v) in environment)
        {
            w.WriteString(k, v);
        }
        w.WriteEndObject();
        w.WriteStartArray("runs");
        foreach (SizeResult s in Sizes)
        {
            w.WriteStartObject();
            foreach (System.Reflection.PropertyInfo p in typeof(SizeResult).GetProperties())
            {
                Number(w, Snake(p.Name), Convert.ToDouble(p.GetValue(s), CultureInfo.InvariantCulture));
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (Abuse is { } a)
        {
            Objects(w, "abuse_phases", a.Phases, "name", p => p.Name);
        }
        if (FloodHandshakes.Count > 0)
        {
            Objects(w, "flood_handshakes", FloodHandshakes, "server", f => f.Server);
        }
        if (AbuseScaling.Count > 0)
        {
            Objects(w, "abuse_scaling", AbuseScaling, "phase", r => r.Phase);
        }
        if (Soak is { } soak)
        {
            w.WriteStartObject("soak");
            Number(w, "seconds", soak.Seconds);
            Number(w, "sessions", soak.Sessions);
            Number(w, "reattaches_sent", soak.ReattachesSent);
            Number(w, "reattaches_acked", soak.ReattachesAcked);
            Number(w, "rekeys", soak.Rekeys);
            Number(w, "rss_growth_bytes", soak.RssGrowthBytes);
            w.WriteStartArray("rss_samples_bytes");
            foreach (long v in soak.RssSamples)
            {
                w.WriteNumberValue(v);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    /// <summary>An array of objects: the label as a string, every other property as a snake_case number.</summary>
    private static void Objects<T>(Utf8JsonWriter w, string arrayName, IEnumerable<T> items, string labelKey, Func<T, string> label)
    {
        System.Reflection.PropertyInfo[] numbers = typeof(T).GetProperties().Where(x => x.PropertyType != typeof(string)).ToArray();
        w.WriteStartArray(arrayName);
        foreach (T item in items)
        {
            w.WriteStartObject();
            w.WriteString(labelKey, label(item));
            foreach (System.Reflection.PropertyInfo prop in numbers)
            {
                Number(w, Snake(prop.Name), Convert.ToDouble(prop.GetValue(item), CultureInfo.InvariantCulture));
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void Number(Utf8JsonWriter w, string key, double value)
    {
        if (double.IsFinite(value))
        {
            w.WriteNumber(key, Math.Round(value, 4));
        }
        else
        {
            w.WriteNull(key);
        }
    }

    private static string Snake(string pascal)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < pascal.Length; i++)
        {
            if (char.IsUpper(pascal[i]) && i > 0)
            {
                sb.Append('_');
            }
            sb.Append(char.ToLowerInvariant(pascal[i]));
        }
        return sb.ToString();
    }
}
