#!/usr/bin/env bash
# Data-plane speed of jvpn vs wireguard-go vs OpenVPN 2.6, measured in the same run on the same machine
# (docs/design.md §9): two namespaces joined by veth, one VPN at a time, iperf3 through the tunnel.
# Per VPN:
#   TCP single stream client->server and server->client: median of REPEATS runs of DURATION s
#   TCP -P 4 client->server: one run
#   UDP -u -b 0 -l UDP_LEN client->server: one run; receiver Mbit/s and datagrams/s (from iperf3 JSON)
#   CPU s/GB: utime+stime of both VPN endpoint processes (/proc/PID/stat) over all TCP runs, divided
#             by the bytes the TCP receivers got in those runs
# Prints one table and the ratios jvpn/wireguard-go and jvpn/openvpn.
# Usage: bench/throughput.sh [--json FILE]
# Env: DURATION (10), REPEATS (3), IMPLS ("wireguard-go openvpn jvpn"), UDP_LEN (1300: fits every
#      tunnel's MTU: 1420 for the WireGuard ones, 1500 for OpenVPN).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib/netns-tunnel.sh"

DURATION=${DURATION:-10}
REPEATS=${REPEATS:-3}
IMPLS=${IMPLS:-"wireguard-go openvpn jvpn"}
UDP_LEN=${UDP_LEN:-1300}
JSON_OUT=

while [ $# -gt 0 ]; do
    case "$1" in
        --json) JSON_OUT=${2:?--json needs a file name}; shift 2 ;;
        --json=*) JSON_OUT=${1#--json=}; shift ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
done
[ -z "$JSON_OUT" ] || JSON_OUT=$(realpath -m "$JSON_OUT")

has_impl() { [[ " $IMPLS " == *" $1 "* ]]; }
for impl in $IMPLS; do
    case "$impl" in jvpn|wireguard-go|openvpn) ;; *) echo "unknown impl in IMPLS: $impl" >&2; exit 2 ;; esac
done

require_root_and_tools iperf3 ss jq awk
trap netns_tunnel_cleanup EXIT
trap 'exit 130' INT TERM

has_impl jvpn && { require_root_and_tools dotnet wg; build_jvpn; }
has_impl wireguard-go && require_root_and_tools wireguard-go wg
has_impl openvpn && require_root_and_tools openvpn openssl
create_topology

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

cpu_of_pids() { # cpu_of_pids PID... -> summed utime+stime seconds
    local pid total=0
    for pid in "$@"; do total=$(awk -v a="$total" -v b="$(cpu_seconds "$pid")" 'BEGIN { print a + b }'); done
    echo "$total"
}

RESULTS="$WORK_DIR/results.tsv" # impl <TAB> key <TAB> value, turned into the table and the JSON
: >"$RESULTS"
put() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RESULTS"; }
get() { awk -F '\t' -v i="$1" -v k="$2" '$1 == i && $2 == k { v = $3 } END { print v }' "$RESULTS"; }

iperf() { # iperf SERVER_NS SERVER_ADDR CLIENT_NS [ARGS...] -> path of the JSON of this run (overwritten by the next)
    local out="$WORK_DIR/iperf.json"
    iperf3_json "$1" "$2" "$3" "$DURATION" "$out" "${@:4}" || exit 1
    echo "$out"
}
json_num() { jq -r "$1" "$2"; }

for impl in $IMPLS; do
    server_if="jvb${impl:0:2}-s"
    client_if="jvb${impl:0:2}-c"
    echo "== $impl: tunnel up"
    setup_tunnel "$impl" "$server_if" "$client_if"
    [ "$impl" = openvpn ] && put openvpn cipher "$(openvpn_data_cipher "$client_if")"
    read -r -a pids <<<"${VPN_PID_OF[$server_if]} ${VPN_PID_OF[$client_if]}"
    tcp_bytes=0
    cpu_before=$(cpu_of_pids "${pids[@]}")
    for direction in c2s s2c; do
        if [ "$direction" = c2s ]; then
            args=("$NS_SERVER" "$SERVER_TUNNEL" "$NS_CLIENT")
        else
            args=("$NS_CLIENT" "$CLIENT_TUNNEL" "$NS_SERVER")
        fi
        runs=()
        for run in $(seq "$REPEATS"); do
            out=$(iperf "${args[@]}")
            mbps=$(json_num '.end.sum_received.bits_per_second / 1e6 * 10 | round / 10' "$out")
            retr=$(json_num '.end.sum_sent.retransmits // 0' "$out")
            tcp_bytes=$(awk -v a="$tcp_bytes" -v b="$(json_num '.end.sum_received.bytes' "$out")" 'BEGIN { printf "%.0f", a + b }')
            echo "   TCP $direction run $run: $mbps Mbit/s ($retr retransmits)"
            runs+=("$mbps")
        done
        put "$impl" "tcp_${direction}_mbps" "$(printf '%s\n' "${runs[@]}" | median)"
        put "$impl" "tcp_${direction}_runs" "${runs[*]}"
    done
    out=$(iperf "$NS_SERVER" "$SERVER_TUNNEL" "$NS_CLIENT" -P 4)
    mbps=$(json_num '.end.sum_received.bits_per_second / 1e6 * 10 | round / 10' "$out")
    tcp_bytes=$(awk -v a="$tcp_bytes" -v b="$(json_num '.end.sum_received.bytes' "$out")" 'BEGIN { printf "%.0f", a + b }')
    echo "   TCP -P 4 c2s: $mbps Mbit/s"
    put "$impl" tcp_p4_mbps "$mbps"
    cpu_after=$(cpu_of_pids "${pids[@]}")
    cpu=$(awk -v a="$cpu_before" -v b="$cpu_after" 'BEGIN { printf "%.2f", b - a }')
    put "$impl" tcp_cpu_s "$cpu"
    put "$impl" tcp_gb "$(awk -v b="$tcp_bytes" 'BEGIN { printf "%.3f", b / 1e9 }')"
    put "$impl" cpu_s_per_gb "$(awk -v c="$cpu" -v b="$tcp_bytes" 'BEGIN { printf "%.2f", (b > 0 ? c / (b / 1e9) : 0) }')"

    # UDP: the receiver's view (sum_received): what crossed the tunnel, not what iperf3 tried to send.
    out=$(iperf "$NS_SERVER" "$SERVER_TUNNEL" "$NS_CLIENT" -u -b 0 -l "$UDP_LEN")
    put "$impl" udp_mbps "$(json_num '.end.sum_received.bits_per_second / 1e6 * 10 | round / 10' "$out")"
    put "$impl" udp_pps "$(json_num '(.end.sum_received.packets - .end.sum_received.lost_packets) / .end.sum_received.seconds | round' "$out")"
    put "$impl" udp_loss_pct "$(json_num '.end.sum_received.lost_percent * 10 | round / 10' "$out")"
    echo "   UDP c2s: $(get "$impl" udp_mbps) Mbit/s, $(get "$impl" udp_pps) datagrams/s received, $(get "$impl" udp_loss_pct) % lost"
    stop_vpn "$client_if"
    stop_vpn "$server_if"
done

echo
echo "$(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1), kernel $(uname -r)"
has_impl wireguard-go && echo "wireguard-go $(wireguard-go --version 2>/dev/null | awk 'NR == 1 { print $2 }') (MTU 1420)"
has_impl openvpn && echo "$(openvpn --version | head -n 1 | awk '{ print $1, $2 }') userspace (no DCO), UDP, dev tun, MTU 1500, cipher $(get openvpn cipher)"
has_impl jvpn && echo "jvpn $(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo '?') (MTU 1420)"
echo "TCP: iperf3 single stream, median of $REPEATS x ${DURATION}s; -P 4 and UDP (-b 0 -l $UDP_LEN): 1 x ${DURATION}s; client->server unless noted"
echo "UDP: receiver side. CPU s/GB: utime+stime of both VPN processes over all TCP runs / GB received"
fmt='%-13s %11s %11s %11s %10s %10s %7s %9s\n'
# shellcheck disable=SC2059
printf "$fmt" "impl" "TCP c->s" "TCP s->c" "TCP -P 4" "UDP" "UDP" "UDP" "CPU s"
# shellcheck disable=SC2059
printf "$fmt" "" "Mbit/s" "Mbit/s" "Mbit/s" "Mbit/s" "pkt/s" "loss %" "per GB"
for impl in $IMPLS; do
    # shellcheck disable=SC2059
    printf "$fmt" "$impl" "$(get "$impl" tcp_c2s_mbps)" "$(get "$impl" tcp_s2c_mbps)" "$(get "$impl" tcp_p4_mbps)" \
        "$(get "$impl" udp_mbps)" "$(get "$impl" udp_pps)" "$(get "$impl" udp_loss_pct)" "$(get "$impl" cpu_s_per_gb)"
done
RATIO_KEYS="tcp_c2s_mbps tcp_s2c_mbps tcp_p4_mbps udp_mbps udp_pps cpu_s_per_gb"
ratio() { awk -v a="$(get jvpn "$2")" -v b="$(get "$1" "$2")" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
for other in wireguard-go openvpn; do
    if has_impl jvpn && has_impl "$other"; then
        line=()
        for key in $RATIO_KEYS; do line+=("$(ratio "$other" "$key")"); done
        # shellcheck disable=SC2059
        printf "$fmt" "jvpn/${other/wireguard-go/wg-go}" "${line[0]}" "${line[1]}" "${line[2]}" "${line[3]}" "${line[4]}" "" "${line[5]}"
    fi
done
has_impl jvpn && echo "(ratios: > 1 means jvpn is faster, except CPU s/GB where < 1 means jvpn uses less CPU per byte)"

if [ -n "$JSON_OUT" ]; then
    # {"config": {...}, "results": {impl: {key: value}}, "ratios": {"jvpn/other": {key: ratio}}}
    jq -R -s --argjson duration "$DURATION" --argjson repeats "$REPEATS" --argjson udp_len "$UDP_LEN" \
        --arg cpus "$(nproc)" --arg kernel "$(uname -r)" --arg ratio_keys "$RATIO_KEYS" '
        def num: (tonumber? // .);
        (split("\n") | map(select(length > 0) | split("\t"))) as $rows
        | ($rows | reduce .[] as $r ({}; .[$r[0]][$r[1]] = (if ($r[1] | endswith("_runs")) then ($r[2] | split(" ") | map(tonumber)) else ($r[2] | num) end))) as $res
        | {config: {duration_s: $duration, repeats: $repeats, udp_len: $udp_len, cpus: ($cpus | tonumber), kernel: $kernel},
           results: $res,
           ratios: ([("wireguard-go", "openvpn") as $o | select($res.jvpn and $res[$o])
                     | {key: ("jvpn/" + $o),
                        value: ([$ratio_keys | split(" ")[] as $k
                                 | select(($res[$o][$k] // 0) > 0)
                                 | {key: $k, value: ($res.jvpn[$k] / $res[$o][$k] * 100 | round / 100)}] | from_entries)}]
                    | from_entries)}' "$RESULTS" >"$JSON_OUT"
    echo "numbers written to $JSON_OUT"
fi
