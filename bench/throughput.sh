#!/usr/bin/env bash
# Throughput of jvpn vs wireguard-go, measured in the same run on the same machine (DESIGN.md §9):
# two namespaces joined by veth, iperf3 TCP through the tunnel, DURATION s x REPEATS (median), both
# directions, plus the CPU seconds both VPN endpoints used (utime+stime from /proc/PID/stat).
# Env: DURATION (10), REPEATS (3), IMPLS ("wireguard-go jvpn").
set -euo pipefail
source "$(dirname "$0")/../scripts/lib/netns-tunnel.sh"

DURATION=${DURATION:-10}
REPEATS=${REPEATS:-3}
IMPLS=${IMPLS:-"wireguard-go jvpn"}

require_root_and_tools wg iperf3 ss
trap netns_tunnel_cleanup EXIT
trap 'exit 130' INT TERM

[[ " $IMPLS " == *" jvpn "* ]] && { require_root_and_tools dotnet; build_jvpn; }
[[ " $IMPLS " == *" wireguard-go "* ]] && require_root_and_tools wireguard-go
create_topology

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

declare -A MBPS CPU GB
for impl in $IMPLS; do
    server_if="jvb${impl:0:2}-s"
    client_if="jvb${impl:0:2}-c"
    echo "== $impl: tunnel up"
    setup_tunnel "$impl" "$server_if" "$client_if"
    pids="${VPN_PID_OF[$server_if]} ${VPN_PID_OF[$client_if]}"
    for direction in "client->server" "server->client"; do
        if [ "$direction" = "client->server" ]; then
            args=("$NS_SERVER" "$SERVER_TUNNEL" "$NS_CLIENT")
        else
            args=("$NS_CLIENT" "$CLIENT_TUNNEL" "$NS_SERVER")
        fi
        cpu_before=0
        for pid in $pids; do cpu_before=$(awk -v a="$cpu_before" -v b="$(cpu_seconds "$pid")" 'BEGIN { print a + b }'); done
        runs=()
        for run in $(seq "$REPEATS"); do
            mbps=$(iperf3_mbps "${args[@]}" "$DURATION")
            echo "   $direction run $run: $mbps Mbit/s"
            runs+=("$mbps")
        done
        cpu_after=0
        for pid in $pids; do cpu_after=$(awk -v a="$cpu_after" -v b="$(cpu_seconds "$pid")" 'BEGIN { print a + b }'); done
        MBPS[$impl,$direction]=$(printf '%s\n' "${runs[@]}" | median)
        CPU[$impl,$direction]=$(awk -v a="$cpu_before" -v b="$cpu_after" 'BEGIN { printf "%.2f", b - a }')
        # Bytes moved in all runs, from each run's rate (Mbit/s x s / 8 / 1000 = GB).
        GB[$impl,$direction]=$(printf '%s\n' "${runs[@]}" | awk -v d="$DURATION" '{ s += $1 * d / 8 / 1000 } END { printf "%.3f", s }')
    done
    stop_vpn "$client_if"
    stop_vpn "$server_if"
done

echo
echo "iperf3 TCP through the tunnel: median of $REPEATS x ${DURATION}s; CPU = utime+stime of both VPN endpoints over all runs"
printf '%-14s %-16s %10s %8s %10s\n' "impl" "direction" "Mbit/s" "CPU s" "CPU s/GB"
for impl in $IMPLS; do
    for direction in "client->server" "server->client"; do
        printf '%-14s %-16s %10s %8s %10s\n' "$impl" "$direction" "${MBPS[$impl,$direction]}" "${CPU[$impl,$direction]}" \
            "$(awk -v c="${CPU[$impl,$direction]}" -v g="${GB[$impl,$direction]}" 'BEGIN { printf "%.2f", (g > 0 ? c / g : 0) }')"
    done
done
if [[ " $IMPLS " == *" jvpn "* && " $IMPLS " == *" wireguard-go "* ]]; then
    for direction in "client->server" "server->client"; do
        awk -v j="${MBPS[jvpn,$direction]}" -v w="${MBPS[wireguard-go,$direction]}" -v d="$direction" \
            'BEGIN { printf "ratio jvpn/wireguard-go %-16s %.2f\n", d, (w > 0 ? j / w : 0) }'
    done
fi
