#!/usr/bin/env bash
# Inner UDP A/B (docs/performance.md "Inner UDP"): datagrams per second delivered through the tunnel,
# client->server, for two senders:
#   iperf3 -u -b 0 -l 1300   one datagram per send (the TUN hands jvpn one packet per read)
#   udp_segment              UDP_SEGMENT sends of 54 x 1200 B, as QUIC stacks send (the TUN hands over
#                            USO super-packets); counted by a receiver with UDP_GRO (as QUIC
#                            receivers use it), so merged trains cost it one read
# for jvpn with each TUN technique switched off in turn, and wireguard-go, back to back in one run and
# repeated, so the shared machine's load hits every variant alike. Prints the median of REPEATS runs
# of the datagrams/s received and of the CPU time both VPN processes spent per received datagram
# (utime+stime from /proc, which a loaded machine distorts less than rates), and the load average at
# the start of each round.
# Env: DURATION (5), REPEATS (3), VARIANTS ("jvpn jvpn-nodrain jvpn-nocoalesce jvpn-baseline wireguard-go"),
#      WIREGUARD_GO (path of the wireguard-go binary to compare with; default: the one on PATH).
# Needs root, iperf3, wg, jq, python3 (the UDP_SEGMENT sender and its receiver).
set -euo pipefail

source "$(dirname "$0")/../scripts/lib/netns-tunnel.sh"

DURATION=${DURATION:-5}
REPEATS=${REPEATS:-3}
VARIANTS=${VARIANTS:-"jvpn jvpn-nodrain jvpn-nocoalesce jvpn-baseline wireguard-go"}

trap netns_tunnel_cleanup EXIT
trap 'exit 130' INT TERM

require_root_and_tools iperf3 wg jq python3
build_jvpn
if [ -n "${WIREGUARD_GO:-}" ]; then
    # start_vpn runs `wireguard-go` from PATH: put the chosen binary first.
    mkdir -p "$WORK_DIR/bin"
    ln -s "$(realpath "$WIREGUARD_GO")" "$WORK_DIR/bin/wireguard-go"
    export PATH="$WORK_DIR/bin:$PATH"
fi
create_topology

cat >"$WORK_DIR/udp_segment.py" <<'PY'
import socket, sys, time
mode, addr, port, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
SOL_UDP, UDP_SEGMENT, SEGMENT, PER_SEND = 17, 103, 1200, 54
if mode == "send":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(SOL_UDP, UDP_SEGMENT, SEGMENT)
    buf = bytes(SEGMENT * PER_SEND)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            s.sendto(buf, (addr, port))
        except OSError:
            pass  # ENOBUFS: a full queue, as iperf3 -b 0 meets it
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.setsockopt(SOL_UDP, 104, 1)  # UDP_GRO: a train arrives in one read, SEGMENT-byte datagrams back to back
    s.bind((addr, port))
    s.settimeout(seconds + 10)
    buf = bytearray(65536)
    s.recv_into(buf)
    first = last = time.monotonic()
    count = 0
    s.settimeout(1.0)
    try:
        while True:
            count += s.recv_into(buf) // SEGMENT
            last = time.monotonic()
    except socket.timeout:
        pass
    print(count, round(count / (last - first)) if last > first else 0)
PY

RESULTS="$WORK_DIR/results.tsv"
: >"$RESULTS"

cpu_of_pids() { # cpu_of_pids PID... -> summed utime+stime seconds
    local pid total=0
    for pid in "$@"; do total=$(awk -v a="$total" -v b="$(cpu_seconds "$pid")" 'BEGIN { print a + b }'); done
    echo "$total"
}
us_per() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.2f", (n > 0 ? (b - a) * 1e6 / n : 0) }'; }

udp_segment_run() { # udp_segment_run -> "DATAGRAMS PER_SECOND" the server-side receiver read
    local port=$((20000 + RANDOM % 20000)) out="$WORK_DIR/gso.out" rx
    ip netns exec "$NS_SERVER" python3 "$WORK_DIR/udp_segment.py" recv "$SERVER_TUNNEL" "$port" "$DURATION" >"$out" &
    rx=$!
    sleep 0.5
    ip netns exec "$NS_CLIENT" python3 "$WORK_DIR/udp_segment.py" send "$SERVER_TUNNEL" "$port" "$DURATION"
    wait "$rx"
    cat "$out"
}

run=0
for round in $(seq "$REPEATS"); do
    echo "== round $round, load average: $(cut -d ' ' -f 1-3 /proc/loadavg)"
    for variant in $VARIANTS; do
        impl=jvpn
        unset JVPN_DISABLE_TUN_DRAIN JVPN_DISABLE_TUN_UDP_GRO
        case "$variant" in
            jvpn) ;;
            jvpn-nodrain) export JVPN_DISABLE_TUN_DRAIN=1 ;;
            jvpn-nocoalesce) export JVPN_DISABLE_TUN_UDP_GRO=1 ;;
            jvpn-baseline) export JVPN_DISABLE_TUN_DRAIN=1 JVPN_DISABLE_TUN_UDP_GRO=1 ;;
            wireguard-go) impl=wireguard-go ;;
            *) echo "unknown variant: $variant" >&2; exit 2 ;;
        esac
        run=$((run + 1))
        server_if="jvu$run-s"
        client_if="jvu$run-c"
        setup_tunnel "$impl" "$server_if" "$client_if"
        unset JVPN_DISABLE_TUN_DRAIN JVPN_DISABLE_TUN_UDP_GRO
        out="$WORK_DIR/iperf.json"
        read -r -a pids <<<"${VPN_PID_OF[$server_if]} ${VPN_PID_OF[$client_if]}"
        cpu0=$(cpu_of_pids "${pids[@]}")
        iperf3_json "$NS_SERVER" "$SERVER_TUNNEL" "$NS_CLIENT" "$DURATION" "$out" -u -b 0 -l 1300 || exit 1
        cpu1=$(cpu_of_pids "${pids[@]}")
        iperf_pps=$(jq -r '(.end.sum_received.packets - .end.sum_received.lost_packets) / .end.sum_received.seconds | round' "$out")
        iperf_us=$(us_per "$cpu0" "$cpu1" "$(jq -r '.end.sum_received.packets - .end.sum_received.lost_packets' "$out")")
        read -r gso_count gso_pps <<<"$(udp_segment_run)"
        cpu2=$(cpu_of_pids "${pids[@]}")
        gso_us=$(us_per "$cpu1" "$cpu2" "$gso_count")
        printf '%s\t%s\t%s\t%s\t%s\n' "$variant" "$iperf_pps" "$gso_pps" "$iperf_us" "$gso_us" >>"$RESULTS"
        echo "   $variant: iperf3 -u $iperf_pps pkt/s ($iperf_us us CPU each), udp_segment $gso_pps pkt/s ($gso_us us CPU each)"
        stop_vpn "$client_if"
        stop_vpn "$server_if"
    done
done

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo
echo "$(nproc) CPUs, kernel $(uname -r), ${DURATION}s per run, median of $REPEATS; load average now $(cut -d ' ' -f 1-3 /proc/loadavg)"
printf '%-16s %14s %14s %16s %16s\n' variant "iperf3 pkt/s" "udp_seg pkt/s" "iperf3 us CPU/pkt" "udp_seg us CPU/pkt"
column() { awk -F '\t' -v v="$1" -v c="$2" '$1 == v { print $c }' "$RESULTS" | median; }
for variant in $VARIANTS; do
    printf '%-16s %14s %14s %16s %16s\n' "$variant" "$(column "$variant" 2)" "$(column "$variant" 3)" "$(column "$variant" 4)" "$(column "$variant" 5)"
done
