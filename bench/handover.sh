#!/usr/bin/env bash
# Handover gaps of jvpn vs wireguard-go, measured in the same run on the same two-link topology
# (docs/design.md §8, §9): the client has Wi-Fi (preferred, default route metric 100) and cellular (metric 200)
# into a masquerading router in front of the server. Per implementation and scenario, RUNS fresh runs of:
#   ping every 20 ms through the tunnel for WINDOW s, and a paced TCP transfer (iperf3 -b 20M);
#   after 3 s the scenario's event:
#     hard-switch  wifi0 goes down and loses its address (the OS route moves to cellular)
#     blackhole    wifi0 stays up, the router drops everything to and from it (until the end)
#     nat-rebind   the router maps the client's flow to a new public port (conntrack flushed)
#   gap  = the longest time without a ping reply that ends after the event; with no reply at all after
#          the event, the silence up to the end of the window (shown as ">=N": never recovered)
#   tcp  = the TCP connection completed its transfer (yes/no), in how many of the runs
# Prints one table (median gap of the runs, TCP survival) and, with --json FILE, the raw numbers.
# Usage: bench/handover.sh [--json FILE]
# Env: RUNS (5), WINDOW (8), IMPLS ("wireguard-go jvpn"), SCENARIOS ("hard-switch blackhole nat-rebind").
set -euo pipefail
source "$(dirname "$0")/../scripts/lib/netns-tunnel.sh"

RUNS=${RUNS:-5}
WINDOW=${WINDOW:-8}
IMPLS=${IMPLS:-"wireguard-go jvpn"}
SCENARIOS=${SCENARIOS:-"hard-switch blackhole nat-rebind"}
EVENT_AFTER=3
JSON_OUT=

while [ $# -gt 0 ]; do
    case "$1" in
        --json) JSON_OUT=${2:?--json needs a file name}; shift 2 ;;
        --json=*) JSON_OUT=${1#--json=}; shift ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
done
[ -z "$JSON_OUT" ] || JSON_OUT=$(realpath -m "$JSON_OUT")
for impl in $IMPLS; do
    case "$impl" in jvpn|wireguard-go) ;; *) echo "unknown impl in IMPLS: $impl" >&2; exit 2 ;; esac
done
for s in $SCENARIOS; do
    case "$s" in hard-switch|blackhole|nat-rebind) ;; *) echo "unknown scenario: $s" >&2; exit 2 ;; esac
done

require_root_and_tools dotnet wg ping iperf3 nft conntrack awk
[[ " $IMPLS " == *" wireguard-go "* ]] && require_root_and_tools wireguard-go
trap netns_tunnel_cleanup EXIT
trap 'exit 130' INT TERM
[[ " $IMPLS " == *" jvpn "* ]] && build_jvpn

# gap_after PING_FILE EVENT_TS END_TS -> "GAP_MS RECOVERED(1|0)": the longest silence that ends after the
# event and starts within 2 s of it, counting the silence from the last reply to the end of the window
# (a path that never comes back); RECOVERED is 0 when that trailing silence is the longest one.
gap_after() {
    awk -v at="$2" -v end="$3" '
        BEGIN { at += 0; end += 0 }
        /bytes from/ { t = substr($1, 2, length($1) - 2) + 0;
                       if (prev != "" && t > at && prev < at + 2 && t - prev > gap) gap = t - prev;
                       prev = t }
        END { recovered = 1;
              last = (prev == "" ? at : prev);
              if (last < at + 2 && end - last > gap) { gap = end - last; recovered = 0 }
              printf "%.0f %d\n", gap * 1000, recovered }' "$1"
}

# one_run IMPL SCENARIO -> "GAP_MS RECOVERED TCP_OK"
one_run() {
    local impl=$1 scenario=$2 sif cif port event_ts end_ts iperf_pid ping_pid tcp
    if [ "$impl" = jvpn ]; then sif=jvho-s cif=jvho-c; else sif=jvho-gs cif=jvho-gc; fi
    reset_topology
    create_two_link_topology
    setup_two_link_tunnel "$impl" "$sif" "$cif" >/dev/null
    sleep 2 # let the client measure its paths
    port=$((20000 + RANDOM % 20000))
    ip netns exec "$NS_SERVER" iperf3 -s -1 -B "$SERVER_TUNNEL" -p "$port" >/dev/null 2>&1 &
    for _ in $(seq 50); do ip netns exec "$NS_SERVER" ss -ltn 2>/dev/null | grep -q ":$port " && break; sleep 0.1; done
    ip netns exec "$NS_CLIENT" timeout $((WINDOW + 10)) iperf3 -c "$SERVER_TUNNEL" -p "$port" -t "$WINDOW" -b 20M -J \
        >"$WORK_DIR/iperf.json" 2>&1 &
    iperf_pid=$!
    ip netns exec "$NS_CLIENT" ping -D -n -i 0.02 -w "$WINDOW" "$SERVER_TUNNEL" >"$WORK_DIR/ping.txt" 2>&1 &
    ping_pid=$!
    sleep "$EVENT_AFTER"
    event_ts=$(date +%s.%N)
    case "$scenario" in
        hard-switch) link_down wifi0 ;;
        blackhole) path_blackhole wifi on ;;
        nat-rebind) nat_rebind >/dev/null ;;
    esac
    wait "$ping_pid" || true
    end_ts=$(date +%s.%N)
    if wait "$iperf_pid" && ! grep -q '"error"' "$WORK_DIR/iperf.json"; then tcp=1; else tcp=0; fi
    echo "$(gap_after "$WORK_DIR/ping.txt" "$event_ts" "$end_ts") $tcp"
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

declare -A GAP RECOVERED TCP RAW
for scenario in $SCENARIOS; do
    for impl in $IMPLS; do
        gaps=() rec=0 ok=0 raw=()
        for run in $(seq "$RUNS"); do
            read -r gap recovered tcp <<<"$(one_run "$impl" "$scenario")"
            echo "  $scenario $impl run $run: gap ${gap} ms, recovered $recovered, tcp $tcp" >&2
            gaps+=("$gap"); rec=$((rec + recovered)); ok=$((ok + tcp)); raw+=("{\"gap_ms\":$gap,\"recovered\":$recovered,\"tcp_survived\":$tcp}")
        done
        GAP[$scenario,$impl]=$(printf '%s\n' "${gaps[@]}" | median)
        RECOVERED[$scenario,$impl]=$rec
        TCP[$scenario,$impl]=$ok
        RAW[$scenario,$impl]=$(IFS=,; echo "${raw[*]}")
    done
done
reset_topology

echo
printf '%-14s %-14s %14s %14s\n' "scenario" "impl" "gap ms (med)" "TCP survived"
for scenario in $SCENARIOS; do
    for impl in $IMPLS; do
        g=${GAP[$scenario,$impl]}
        [ "${RECOVERED[$scenario,$impl]}" -lt "$RUNS" ] && g=">=$g"
        printf '%-14s %-14s %14s %14s\n' "$scenario" "$impl" "$g" "${TCP[$scenario,$impl]}/$RUNS"
    done
done
echo "(ping every 20 ms, $RUNS runs each, window ${WINDOW} s with the event at +${EVENT_AFTER} s; \">=\": some runs never recovered within the window)"

if [ -n "$JSON_OUT" ]; then
    {
        echo "{\"runs\":$RUNS,\"window_s\":$WINDOW,\"ping_interval_ms\":20,\"results\":["
        first=1
        for scenario in $SCENARIOS; do
            for impl in $IMPLS; do
                [ $first -eq 1 ] || echo ","
                first=0
                printf '{"scenario":"%s","impl":"%s","median_gap_ms":%s,"recovered_runs":%s,"tcp_survived_runs":%s,"runs_detail":[%s]}' \
                    "$scenario" "$impl" "${GAP[$scenario,$impl]}" "${RECOVERED[$scenario,$impl]}" "${TCP[$scenario,$impl]}" "${RAW[$scenario,$impl]}"
            done
        done
        echo "]}"
    } >"$JSON_OUT"
    echo "wrote $JSON_OUT"
fi
