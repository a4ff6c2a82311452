#!/usr/bin/env bash
# CPU cost of jvpn builds or settings, side by side in one run (docs/performance.md "How to reproduce"): for
# each variant, one jvpn tunnel between two namespaces, then an iperf3 TCP single stream client->server and
# server->client and a UDP_SEGMENT sender (jvpn-udpblast, 1200 B x 54 per send) client->server, DURATION s
# each. It reports the utime+stime both jvpn processes used per GB received (TCP) and per datagram received
# (UDP GSO), which load distorts much less than Mbit/s, and the rates. Variants run in turn, ROUNDS times.
# Usage: bench/cpu-ab.sh LABEL=JVPN_DLL[,NAME=VALUE...] ...
#   e.g. bench/cpu-ab.sh base=/tmp/base/jvpn.dll new=src/Cli/bin/Release/net10.0/jvpn.dll \
#        nogather=src/Cli/bin/Release/net10.0/jvpn.dll,JVPN_DISABLE_TUN_GATHER=1
# Env: DURATION (5), ROUNDS (2), GSO_SEGMENT (1200), RATE (iperf3 -b for the TCP runs, e.g. 300M: the same
#      throughput for every variant, so CPU per GB compares like with like on a loaded machine; default none).
# Needs root, iperf3, jq, wg, dotnet; builds jvpn-udpblast.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib/netns-tunnel.sh"

DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-2}
GSO_SEGMENT=${GSO_SEGMENT:-1200}
case "${1:-}" in -h|--help|"") sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; [ -n "${1:-}" ]; exit $? ;; esac
for variant in "$@"; do
    spec=${variant#*=}
    dll=${spec%%,*}
    if [ "$spec" = "$variant" ] || [ ! -f "$dll" ]; then
        echo "bad variant '$variant': expected LABEL=PATH/jvpn.dll[,NAME=VALUE...] with an existing jvpn.dll" >&2
        exit 2
    fi
done
require_root_and_tools iperf3 jq wg dotnet ss
trap netns_tunnel_cleanup EXIT
trap 'exit 130' INT TERM
UDPBLAST_DLL="$REPO_ROOT/tools/JumpingVpn.UdpBlast/bin/Release/net10.0/jvpn-udpblast.dll"
dotnet build "$REPO_ROOT/tools/JumpingVpn.UdpBlast/JumpingVpn.UdpBlast.csproj" -c Release --nologo -v quiet \
    >"$WORK_DIR/build-udpblast.log" 2>&1 || { cat "$WORK_DIR/build-udpblast.log" >&2; exit 1; }

both_cpu() { awk -v a="$(cpu_seconds "$server_pid")" -v b="$(cpu_seconds "$client_pid")" 'BEGIN { printf "%.2f", a + b }'; }

tcp_run() { # tcp_run c2s|s2c -> "Mbit/s CPU-s/GB"
    local out="$WORK_DIR/iperf-$1.json" before after
    before=$(both_cpu)
    if [ "$1" = c2s ]; then
        iperf3_json "$NS_SERVER" "$SERVER_TUNNEL" "$NS_CLIENT" "$DURATION" "$out" ${RATE:+-b "$RATE"}
    else
        iperf3_json "$NS_CLIENT" "$CLIENT_TUNNEL" "$NS_SERVER" "$DURATION" "$out" ${RATE:+-b "$RATE"}
    fi
    after=$(both_cpu)
    jq -r --arg cpu "$(awk -v a="$before" -v b="$after" 'BEGIN { print b - a }')" \
        '.end.sum_received as $r | "\($r.bits_per_second / 1e6 | round) \(($cpu | tonumber) / ($r.bytes / 1e9) * 100 | round / 100)"' "$out"
}

gso_run() { # gso_run -> "datagrams/s us-CPU/datagram"
    local port recv_out="$WORK_DIR/gso-recv.json" recv_pid before after segments=$((65507 / GSO_SEGMENT))
    [ "$segments" -le 64 ] || segments=64
    port=$((20000 + RANDOM % 20000))
    ip netns exec "$NS_SERVER" dotnet "$UDPBLAST_DLL" recv --bind "$SERVER_TUNNEL:$port" --seconds "$DURATION" >"$recv_out" &
    recv_pid=$!
    for _ in $(seq 100); do
        ip netns exec "$NS_SERVER" ss -lun 2>/dev/null | grep -q "$SERVER_TUNNEL:$port " && break
        sleep 0.1
    done
    before=$(both_cpu)
    timeout $((DURATION + 20)) ip netns exec "$NS_CLIENT" dotnet "$UDPBLAST_DLL" send --to "$SERVER_TUNNEL:$port" \
        --seconds "$DURATION" --segment "$GSO_SEGMENT" --segments "$segments" >/dev/null
    wait "$recv_pid"
    after=$(both_cpu)
    jq -r --arg cpu "$(awk -v a="$before" -v b="$after" 'BEGIN { print b - a }')" \
        '"\(.pps) \(if .datagrams > 0 then ($cpu | tonumber) / .datagrams * 1e7 | round / 10 else "-" end)"' "$recv_out"
}

printf '%-6s %-12s %10s %8s %10s %8s %12s %10s %s\n' round variant 'c2s Mb/s' 's/GB' 's2c Mb/s' 's/GB' 'GSO pkt/s' 'us/pkt' load
run=0
for round in $(seq "$ROUNDS"); do
    for variant in "$@"; do
        label=${variant%%=*}
        spec=${variant#*=}
        IFS=, read -r -a parts <<<"$spec"
        JVPN_DLL=${parts[0]}
        names=()
        for assignment in "${parts[@]:1}"; do
            export "${assignment?}"
            names+=("${assignment%%=*}")
        done
        run=$((run + 1)) # interface names unique to this run (UAPI sockets are machine-wide)
        create_topology
        setup_tunnel jvpn "ja${SUFFIX}s$run" "ja${SUFFIX}c$run"
        server_pid=${VPN_PID_OF[ja${SUFFIX}s$run]}
        client_pid=${VPN_PID_OF[ja${SUFFIX}c$run]}
        # Unmeasured warm-up each way: the JIT's tier-up right after start-up would otherwise count as data-path CPU.
        iperf3_json "$NS_SERVER" "$SERVER_TUNNEL" "$NS_CLIENT" 3 "$WORK_DIR/warmup-c2s.json" >/dev/null
        iperf3_json "$NS_CLIENT" "$CLIENT_TUNNEL" "$NS_SERVER" 3 "$WORK_DIR/warmup-s2c.json" >/dev/null
        read -r c2s c2s_cpu <<<"$(tcp_run c2s)"
        read -r s2c s2c_cpu <<<"$(tcp_run s2c)"
        read -r gso gso_cpu <<<"$(gso_run)"
        printf '%-6s %-12s %10s %8s %10s %8s %12s %10s %s\n' "$round" "$label" "$c2s" "$c2s_cpu" "$s2c" "$s2c_cpu" \
            "$gso" "$gso_cpu" "$(cut -d' ' -f1 /proc/loadavg)"
        reset_topology
        for name in "${names[@]}"; do unset "$name"; done
    done
done
