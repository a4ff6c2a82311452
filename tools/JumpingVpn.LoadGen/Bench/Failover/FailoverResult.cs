using System.Globalization;
using System.Text;
using System.Text.Json;

namespace JumpingVpn.LoadGen.Bench.Failover;

/// <summary>One run of `jvpn-loadgen failover` (docs/cluster.md "Benchmark" says what each figure means).</summary>
internal sealed class FailoverResult
{
    public string Store { get; set; } = "";
    public int Sessions { get; set; }
    public int Attached { get; set; }
    public int Resumed { get; set; }
    public int Lost { get; set; }
    public long HeartbeatMs { get; set; }
    public double EstablishSeconds { get; set; }
    public double GapP50Ms { get; set; } = double.NaN;
    public double GapP90Ms { get; set; } = double.NaN;
    public double GapP99Ms { get; set; } = double.NaN;
    public double GapMaxMs { get; set; } = double.NaN;
    public double ResumeP50Ms { get; set; } = double.NaN;
    public double ResumeP99Ms { get; set; } = double.NaN;
    public double ResumeMaxMs { get; set; } = double.NaN;
    public double SilentP50Ms { get; set; } = double.NaN;
    /// <summary>From the client's decision that its node is silent to its first answer on another node (p99).</summary>
    public double AfterSilentP99Ms { get; set; } = double.NaN;
    public int SessionsRefused { get; set; }
    public long Refusals { get; set; }
    public int IdsChanged { get; set; }
    /// <summary>Sessions whose client judged a node silent again after it had moved (a survivor too slow to answer).</summary>
    public int MovedAgain { get; set; }
    public double TakeoverSeconds { get; set; }
    public double TakeoverStoreOpsPerSecond { get; set; } = double.NaN;
    public double SteadyStoreOpsPerSecond { get; set; } = double.NaN;
    public double SteadyStoreOpsPerSecondPerSession { get; set; } = double.NaN;
    public double TakeoverHandshakesPerSecond { get; set; } = double.NaN;
    public double TakeoverHandshakesPeakPerSecond { get; set; } = double.NaN;
    public double TakeoverCpuBusy { get; set; } = double.NaN;
    /// <summary>Source addresses and sockets the clients were spread over.</summary>
    public int Sources { get; set; } = 1;
    public int Sockets { get; set; }
    /// <summary>Cookie replies received (whole run) and answered at once with mac2.</summary>
    public long CookieReplies { get; set; }
    public long CookieResends { get; set; }
    /// <summary>Clients moved by SESSION_MOVE (a drain run).</summary>
    public long Moves { get; set; }
    public int DualOwners { get; set; } = -1;
    public int VersionGaps { get; set; } = -1;
    public int AuditVersionGaps { get; set; } = -1;
    public int AuditSessions { get; set; }
    public int MissingFromStore { get; set; }
    public int DualClaimedByTwo { get; set; } = -1;
    public int Unsettled { get; set; }
    public IReadOnlyDictionary<string, int> SessionsPerNode { get; set; } = new Dictionary<string, int>();
    public IReadOnlyDictionary<string, double> TakeoverCpuSeconds { get; set; } = new Dictionary<string, double>();

    /// <summary>Resumed sessions whose failover took more than T4 + T7 as the client saw it (a retried REATTACH applied twice, a second move).</summary>
    public int MoreThanTwoTransitions { get; set; }

    /// <summary>Every refusal, by reason.</summary>
    public IReadOnlyDictionary<string, int> RefusalReasons { get; set; } = new Dictionary<string, int>();

    /// <summary>Sessions not resumed at the bound, by what their client was doing (and its last refusal).</summary>
    public IReadOnlyDictionary<string, int> Unresumed { get; set; } = new Dictionary<string, int>();

    /// <summary>Sessions lost, by the refusal that ended them (its wire name).</summary>
    public IReadOnlyDictionary<string, int> LostReasons { get; set; } = new Dictionary<string, int>();

    /// <summary>N is the sessions that attached (of the requested, when fewer did); resumed counts those that answered again by the bound.</summary>
    public static string TableHeader() =>
        string.Format(CultureInfo.InvariantCulture, "{0,-6} {1,11} {2,7} {3,8} {4,8} {5,8} {6,8} {7,11} {8,10} {9,13} {10,6} {11,7} {12,8}\n",
            "store", "N", "resumed", "gap p50", "gap p90", "gap p99", "gap max", "resume p99", "ops/s tko", "ops/s/sess st", "dual", "vgaps", "hs/s tko");

    public string TableRow() =>
        string.Format(CultureInfo.InvariantCulture, "{0,-6} {1,11} {2,7} {3,8} {4,8} {5,8} {6,8} {7,11} {8,10} {9,13} {10,6} {11,7} {12,8}\n",
            Store, Attached < Sessions ? $"{Attached}/{Sessions}" : Sessions.ToString(CultureInfo.InvariantCulture), Resumed, Ms(GapP50Ms), Ms(GapP90Ms), Ms(GapP99Ms), Ms(GapMaxMs), Ms(ResumeP99Ms), Num(TakeoverStoreOpsPerSecond, "F0"),
            Num(SteadyStoreOpsPerSecondPerSession, "F3"), DualOwners, $"{VersionGaps}/{AuditVersionGaps}", Num(TakeoverHandshakesPerSecond, "F0"));

    private static string Ms(double v) => double.IsNaN(v) ? "-" : v.ToString("F0", CultureInfo.InvariantCulture);

    private static string Num(double v, string format) => double.IsNaN(v) ? "-" : v.ToString(format, CultureInfo.InvariantCulture);

    public void WriteJson(Stream stream, IReadOnlyDictionary<string, string> meta)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        foreach ((string k, string v) in meta)
        {
            w.WriteString(k, v);
        }
        w.WriteString("table_header", TableHeader().TrimEnd('\n'));
        w.WriteString("table_row", TableRow().TrimEnd('\n'));
        w.WriteString("store", Store);
        w.WriteNumber("sessions", Sessions);
        w.WriteNumber("attached", Attached);
        w.WriteNumber("resumed", Resumed);
        w.WriteNumber("lost", Lost);
        w.WriteNumber("heartbeat_ms", HeartbeatMs);
        Number(w, "establish_s", EstablishSeconds);
        Number(w, "gap_p50_ms", GapP50Ms);
        Number(w, "gap_p90_ms", GapP90Ms);
        Number(w, "gap_p99_ms", GapP99Ms);
        Number(w, "gap_max_ms", GapMaxMs);
        Number(w, "resume_p50_ms", ResumeP50Ms);
        Number(w, "resume_p99_ms", ResumeP99Ms);
        Number(w, "resume_max_ms", ResumeMaxMs);
        Number(w, "silent_detected_p50_ms", SilentP50Ms);
        Number(w, "resume_after_silent_p99_ms", AfterSilentP99Ms);
        w.WriteNumber("sessions_refused", SessionsRefused);
        w.WriteNumber("refusals", Refusals);
        w.WriteNumber("session_ids_changed", IdsChanged);
        w.WriteNumber("sessions_moved_again", MovedAgain);
        Number(w, "takeover_s", TakeoverSeconds);
        Number(w, "takeover_store_ops_per_s", TakeoverStoreOpsPerSecond);
        Number(w, "steady_store_ops_per_s", SteadyStoreOpsPerSecond);
        Number(w, "steady_store_ops_per_s_per_session", SteadyStoreOpsPerSecondPerSession);
        Number(w, "takeover_handshakes_per_s", TakeoverHandshakesPerSecond);
        Number(w, "takeover_handshakes_peak_per_s", TakeoverHandshakesPeakPerSecond);
        w.WriteNumber("sources", Sources);
        w.WriteNumber("sockets", Sockets);
        w.WriteNumber("cookie_replies", CookieReplies);
        w.WriteNumber("cookie_resends", CookieResends);
        w.WriteNumber("session_moves", Moves);
        Number(w, "takeover_cpu_busy_fraction", TakeoverCpuBusy);
        w.WriteNumber("dual_owners", DualOwners);
        w.WriteNumber("version_gaps", VersionGaps);
        w.WriteNumber("audit_version_gaps", AuditVersionGaps);
        w.WriteNumber("audit_sessions", AuditSessions);
        w.WriteNumber("missing_from_store", MissingFromStore);
        w.WriteNumber("dual_owners_claimed_by_two_nodes", DualClaimedByTwo);
        w.WriteNumber("unsettled_sessions", Unsettled);
        w.WriteStartObject("sessions_per_node");
        foreach ((string k, int v) in SessionsPerNode)
        {
            w.WriteNumber(k, v);
        }
        w.WriteEndObject();
        w.WriteNumber("sessions_more_than_two_transitions", MoreThanTwoTransitions);
        Map(w, "refusal_reasons", RefusalReasons);
        Map(w, "unresumed", Unresumed);
        w.WriteStartObject("lost_reasons");
        foreach ((string k, int v) in LostReasons)
        {
            w.WriteNumber(k, v);
        }
        w.WriteEndObject();
        w.WriteStartObject("takeover_cpu_s");
        foreach ((string k, double v) in TakeoverCpuSeconds)
        {
            Number(w, k, v);
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void Map(Utf8JsonWriter w, string name, IReadOnlyDictionary<string, int> map)
    {
        w.WriteStartObject(name);
        foreach ((string k, int v) in map)
        {
            w.WriteNumber(k, v);
        }
        w.WriteEndObject();
    }

    private static void Number(Utf8JsonWriter w, string name, double v)
    {
        if (double.IsNaN(v) || double.IsInfinity(v))
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteNumber(name, Math.Round(v, 4));
        }
    }

    public string Summary()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"  {Resumed}/{Attached} resumed, {Lost} lost{(LostReasons.Count > 0 ? " (" + string.Join(", ", LostReasons.Select(kv => kv.Key + " " + kv.Value)) + ")" : "")}, {SessionsRefused} sessions refused at least once ({Refusals} refusals), {IdsChanged} ids changed, {MovedAgain} moved again (a survivor silent for path_dead)\n");
        if (RefusalReasons.Count > 0 || Unresumed.Count > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"  refusals: {string.Join(", ", RefusalReasons.Select(kv => kv.Key + " " + kv.Value))}; not resumed: {string.Join(", ", Unresumed.Select(kv => kv.Key + " " + kv.Value))}; {MoreThanTwoTransitions} took more than two transitions\n");
        }
        sb.Append(CultureInfo.InvariantCulture, $"  resume p50 {Ms(ResumeP50Ms)} ms, p99 {Ms(ResumeP99Ms)} ms, max {Ms(ResumeMaxMs)} ms; silence detected p50 {Ms(SilentP50Ms)} ms after the kill, resumed p99 {Ms(AfterSilentP99Ms)} ms after that\n");
        sb.Append(CultureInfo.InvariantCulture, $"  takeover {TakeoverSeconds:F2} s: {Num(TakeoverStoreOpsPerSecond, "F0")} store ops/s, {Num(TakeoverHandshakesPerSecond, "F0")} handshakes/s (peak {Num(TakeoverHandshakesPeakPerSecond, "F0")}/s), CPU busy {Num(TakeoverCpuBusy * 100, "F0")}% of the machine; {Sources} source addresses, {Sockets} sockets; {CookieReplies} cookie replies, {CookieResends} answered at once; {Moves} moved by SESSION_MOVE\n");
        sb.Append(CultureInfo.InvariantCulture, $"  steady: {Num(SteadyStoreOpsPerSecond, "F1")} store ops/s = {Num(SteadyStoreOpsPerSecondPerSession, "F4")} per session\n");
        sb.Append(CultureInfo.InvariantCulture, $"  owners: {string.Join(", ", SessionsPerNode.Select(kv => kv.Key + " " + kv.Value))}; dual owners {DualOwners} ({DualClaimedByTwo} served by two nodes; {Unsettled} still moving, not judged); version gaps {VersionGaps} (client/store), {AuditVersionGaps} (audit, {AuditSessions} sessions); missing from store {MissingFromStore}\n");
        return sb.ToString();
    }
}
