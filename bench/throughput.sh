#!/usr/bin/env bash
# Data-plane speed of jvpn against upstream wireguard-go 0.0.20250522 (the anchor), Debian's wireguard-go
# 0.0.20220316 and OpenVPN 2.6, measured in the same run on the same machine (docs/performance.md): two
# namespaces joined by veth, one VPN at a time, traffic through the tunnel. Per VPN:
#   start-up     the client's `up` exec to its first ping reply through the tunnel (server already up)
#   idle RSS     the client process's VmRSS after IDLE s without traffic following that handshake
#   idle RTT     ping -i 0.2 through the idle tunnel: avg and p99
#   TCP c->s/s->c  iperf3 single stream, median of REPEATS runs of DURATION s
#   TCP -P 4     client->server, one run
#   CPU s/GB     utime+stime of both VPN processes over those TCP runs / GB the receivers got
#   UDP          iperf3 -u -b 0 -l UDP_LEN client->server, one run: datagrams/s the receiver got
#   UDP GSO      jvpn-udpblast (tools/JumpingVpn.UdpBlast): GSO_SEGMENT-byte datagrams, up to 64 KB per
#                send() with UDP_SEGMENT as QUIC stacks send, one run: datagrams/s the receiver got
#   RTT loaded   ping -i 0.2 during one more TCP client->server run: avg and p99
# Prints two tables with the ratios jvpn/anchor, jvpn/Debian wireguard-go and jvpn/openvpn.
# Usage: bench/throughput.sh [--json FILE]
# Env: DURATION (10), REPEATS (3), IDLE (30), UDP_LEN (1300), GSO_SEGMENT (1200),
#      JVPN_BUILD (package: jvpn as users install it, packaging/linux/publish.sh's self-contained jvpn whose
#      `up` execs the NativeAOT jvpn-tunnel; dev: `dotnet jvpn.dll` from dotnet build, JIT), JVPN_PACKAGE_DIR
#      (reuse a publish.sh output instead of publishing), JVPN_TUNNEL_EXEC=0 (the packaged jvpn runs `up` in
#      its own JIT process: the NativeAOT A/B switch),
#      IMPLS ("wireguard-go-anchor wireguard-go openvpn jvpn"; by default openvpn is skipped with a note
#      when it is not installed, named in IMPLS it is installed), WIREGUARD_GO (the anchor binary; default
#      shared/anchors/wireguard-go-0.0.20250522 in the checkout's parent directory, or in the parent of
#      the main checkout when this is a git worktree).
set -euo pipefail

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }
fail_usage() { echo "throughput.sh: $1 (try --help)" >&2; exit 2; }

JSON_OUT=
while [ $# -gt 0 ]; do
    case "$1" in
        --json) [ $# -ge 2 ] && [ -n "$2" ] || fail_usage "--json needs a file name"; JSON_OUT=$2; shift 2 ;;
        --json=*) JSON_OUT=${1#--json=}; [ -n "$JSON_OUT" ] || fail_usage "--json needs a file name"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) fail_usage "unknown argument: $1" ;;
    esac
done
[ -z "$JSON_OUT" ] || JSON_OUT=$(realpath -m "$JSON_OUT")

DURATION=${DURATION:-10}
REPEATS=${REPEATS:-3}
IDLE=${IDLE:-30}
UDP_LEN=${UDP_LEN:-1300}
GSO_SEGMENT=${GSO_SEGMENT:-1200}
IMPLS_GIVEN=${IMPLS:+yes}
IMPLS=${IMPLS:-"wireguard-go-anchor wireguard-go openvpn jvpn"}
for var in DURATION REPEATS IDLE UDP_LEN GSO_SEGMENT; do
    [[ ${!var} =~ ^[0-9]+$ ]] && [ "${!var}" -gt 0 ] || fail_usage "$var must be a positive whole number, not '${!var}'"
done
[ "$GSO_SEGMENT" -le 1392 ] || fail_usage "GSO_SEGMENT $GSO_SEGMENT does not fit the tunnels' MTU of 1420 (at most 1392)"
[ "$UDP_LEN" -le 1392 ] || fail_usage "UDP_LEN $UDP_LEN does not fit the tunnels' MTU of 1420 (at most 1392)"
for impl in $IMPLS; do
    case "$impl" in
        jvpn|wireguard-go|wireguard-go-anchor|openvpn) ;;
        *) fail_usage "unknown impl in IMPLS: $impl (jvpn, wireguard-go-anchor, wireguard-go, openvpn)" ;;
    esac
done
has_impl() { [[ " $IMPLS " == *" $1 "* ]]; }

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ANCHOR_NAME=wireguard-go-0.0.20250522
ANCHOR_DEFAULT="$(dirname "$ROOT")/shared/anchors/$ANCHOR_NAME"
default_anchor() { # in the checkout's parent, or in the main checkout's parent when this is a git worktree
    local common main_parent
    if [ -e "$ANCHOR_DEFAULT" ]; then
        echo "$ANCHOR_DEFAULT"
    elif common=$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null); then
        main_parent=$(dirname "$(dirname "$common")")
        [ ! -e "$main_parent/shared/anchors/$ANCHOR_NAME" ] || echo "$main_parent/shared/anchors/$ANCHOR_NAME"
    fi
}
if has_impl wireguard-go-anchor; then
    WIREGUARD_GO=${WIREGUARD_GO:-$(default_anchor)}
    if [ -z "$WIREGUARD_GO" ] || [ ! -x "$WIREGUARD_GO" ]; then
        echo "throughput.sh: the wireguard-go anchor is not at ${WIREGUARD_GO:-$ANCHOR_DEFAULT}: set WIREGUARD_GO=/path/to/$ANCHOR_NAME or leave wireguard-go-anchor out of IMPLS" >&2
        exit 1
    fi
    export WIREGUARD_GO
fi

source "$ROOT/scripts/lib/netns-tunnel.sh"
UDPBLAST_DLL="$REPO_ROOT/tools/JumpingVpn.UdpBlast/bin/Release/net10.0/jvpn-udpblast.dll"

declare -A SKIPPED=()
if has_impl openvpn && [ -z "$IMPLS_GIVEN" ] && ! have_binary openvpn; then
    SKIPPED[openvpn]="not installed (apt-get install openvpn, or name it in IMPLS to have it installed)"
    IMPLS=$(tr ' ' '\n' <<<"$IMPLS" | grep -vx openvpn | tr '\n' ' ')
    echo "== openvpn: skipped, ${SKIPPED[openvpn]}"
fi

require_root_and_tools iperf3 ss jq awk ping dotnet ethtool
trap netns_tunnel_cleanup EXIT
trap 'exit 130' INT TERM

JVPN_BUILD=${JVPN_BUILD:-package}
if has_impl jvpn; then
    require_root_and_tools wg
    case "$JVPN_BUILD" in
        package) [ -n "${JVPN_PACKAGE_DIR:-}" ] || require_root_and_tools clang; use_jvpn_package ;;
        dev) build_jvpn ;;
        *) fail_usage "JVPN_BUILD must be package or dev, not '$JVPN_BUILD'" ;;
    esac
fi
has_impl wireguard-go && require_root_and_tools wireguard-go wg
has_impl wireguard-go-anchor && require_root_and_tools wg
has_impl openvpn && require_root_and_tools openvpn openssl
echo "== building jvpn-udpblast (Release)"
dotnet build "$REPO_ROOT/tools/JumpingVpn.UdpBlast/JumpingVpn.UdpBlast.csproj" -c Release --nologo -v quiet \
    >"$WORK_DIR/build-udpblast.log" 2>&1 || { cat "$WORK_DIR/build-udpblast.log" >&2; exit 1; }
create_topology
LOAD_START=$(cut -d ' ' -f 1-3 /proc/loadavg)
echo "== load average at start: $LOAD_START"

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

cpu_of_pids() { # cpu_of_pids PID... -> summed utime+stime seconds
    local pid total=0
    for pid in "$@"; do total=$(awk -v a="$total" -v b="$(cpu_seconds "$pid")" 'BEGIN { print a + b }'); done
    echo "$total"
}

rss_mb() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

RESULTS="$WORK_DIR/results.tsv" # impl <TAB> key <TAB> value, turned into the tables and the JSON
: >"$RESULTS"
put() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RESULTS"; }
get() { awk -F '\t' -v i="$1" -v k="$2" '$1 == i && $2 == k { v = $3 } END { print v }' "$RESULTS"; }

iperf() { # iperf SERVER_NS SERVER_ADDR CLIENT_NS [ARGS...] -> path of the JSON of this run (overwritten by the next)
    local out="$WORK_DIR/iperf.json"
    iperf3_json "$1" "$2" "$3" "$DURATION" "$out" "${@:4}" || exit 1
    echo "$out"
}
json_num() { jq -r "$1" "$2"; }

ping_stats() { # ping_stats FILE -> "AVG P99" in ms over ping's reply lines (p99: nearest rank)
    awk -F 'time=' '/time=/ { split($2, t, " "); print t[1] }' "$1" | sort -n \
        | awk '{ v[NR] = $1; s += $1 }
               END { if (NR == 0) { print "n/a n/a"; exit }
                     i = int(NR * 0.99); if (i < NR * 0.99) i++; if (i < 1) i = 1
                     printf "%.3f %.3f\n", s / NR, v[i] }'
}

offloads_of() { # offloads_of NS IFNAME -> the TUN offloads the kernel reports for the interface
    local features tso uso vnet
    features=$(ip netns exec "$1" ethtool -k "$2" 2>/dev/null || true)
    tso=$(awk -F ': *' '$1 ~ /^[ \t]*tx-tcp-segmentation$/ { print $2 }' <<<"$features" | awk '{ print $1 }')
    uso=$(awk -F ': *' '$1 ~ /^[ \t]*tx-udp-segmentation$/ { print $2 }' <<<"$features" | awk '{ print $1 }')
    vnet=$(ip -n "$1" -d link show "$2" | grep -o 'vnet_hdr [a-z]*' | awk '{ print $2 }' || true)
    echo "tso=${tso:-?} uso=${uso:-?} vnet_hdr=${vnet:-?}"
}

udp_gso_run() { # udp_gso_run IMPL: jvpn-udpblast client->server through the tunnel
    local impl=$1 port recv_out="$WORK_DIR/gso-recv.json" send_out="$WORK_DIR/gso-send.json" recv_pid segments
    port=$((20000 + RANDOM % 20000))
    segments=$((65507 / GSO_SEGMENT)); [ "$segments" -le 64 ] || segments=64
    ip netns exec "$NS_SERVER" dotnet "$UDPBLAST_DLL" recv --bind "$SERVER_TUNNEL:$port" --seconds "$DURATION" \
        >"$recv_out" 2>"$WORK_DIR/gso-recv.err" &
    recv_pid=$!
    for _ in $(seq 100); do
        ip netns exec "$NS_SERVER" ss -lun 2>/dev/null | grep -q "$SERVER_TUNNEL:$port " && break
        sleep 0.1
    done
    if ! timeout $((DURATION + 20)) ip netns exec "$NS_CLIENT" dotnet "$UDPBLAST_DLL" send \
        --to "$SERVER_TUNNEL:$port" --seconds "$DURATION" --segment "$GSO_SEGMENT" --segments "$segments" >"$send_out"; then
        kill "$recv_pid" 2>/dev/null || true
        echo "jvpn-udpblast send failed ($impl)" >&2
        exit 1
    fi
    if ! wait "$recv_pid"; then
        cat "$WORK_DIR/gso-recv.err" >&2
        exit 1
    fi
    put "$impl" udp_gso_pps "$(json_num '.pps' "$recv_out")"
    put "$impl" udp_gso_sent_pps "$(json_num '.pps' "$send_out")"
    put "$impl" udp_gso_loss_pct "$(jq -r -s '(1 - .[0].datagrams / (if .[1].datagrams > 0 then .[1].datagrams else 1 end)) * 1000 | round / 10' "$recv_out" "$send_out")"
    echo "   UDP GSO c2s ($GSO_SEGMENT B x $segments per send): $(get "$impl" udp_gso_pps) datagrams/s received, $(get "$impl" udp_gso_sent_pps) sent"
}

rtt_under_load() { # rtt_under_load IMPL: ping -i 0.2 through the tunnel during a TCP client->server run
    local impl=$1 iperf_pid count delay out="$WORK_DIR/iperf-loaded.json"
    count=$(( (DURATION - 2) * 5 )); [ "$count" -ge 3 ] || count=3
    delay=1; [ "$DURATION" -ge 3 ] || delay=0.3
    iperf3_json "$NS_SERVER" "$SERVER_TUNNEL" "$NS_CLIENT" "$DURATION" "$out" &
    iperf_pid=$!
    sleep "$delay"
    ip netns exec "$NS_CLIENT" ping -i 0.2 -c "$count" -W 1 "$SERVER_TUNNEL" >"$WORK_DIR/ping-loaded.txt" 2>&1 || true
    wait "$iperf_pid" || exit 1
    read -r avg p99 <<<"$(ping_stats "$WORK_DIR/ping-loaded.txt")"
    put "$impl" rtt_load_avg_ms "$avg"
    put "$impl" rtt_load_p99_ms "$p99"
    put "$impl" rtt_load_tcp_mbps "$(json_num '.end.sum_received.bits_per_second / 1e6 * 10 | round / 10' "$out")"
    echo "   RTT under TCP load: avg $avg ms, p99 $p99 ms ($count pings; TCP $(get "$impl" rtt_load_tcp_mbps) Mbit/s)"
}

declare -A IFCODE=([jvpn]=j [wireguard-go]=w [wireguard-go-anchor]=a [openvpn]=o)
for impl in $IMPLS; do
    # UAPI sockets (/var/run/wireguard) are machine-wide: names unique per run and per VPN.
    server_if="jvb${SUFFIX:0:4}${IFCODE[$impl]}-s"
    client_if="jvb${SUFFIX:0:4}${IFCODE[$impl]}-c"
    echo "== $impl: tunnel up"
    setup_tunnel "$impl" "$server_if" "$client_if"
    put "$impl" startup_ms "$STARTUP_MS"
    [ "$impl" = openvpn ] && put openvpn cipher "$(openvpn_data_cipher "$client_if")"
    [ "$impl" = openvpn ] || put "$impl" offloads "$(offloads_of "$NS_CLIENT" "$client_if")"
    read -r -a pids <<<"${VPN_PID_OF[$server_if]} ${VPN_PID_OF[$client_if]}"
    client_pid=${VPN_PID_OF[$client_if]}
    put "$impl" up_image "$(basename "$(readlink "/proc/$client_pid/exe")")"
    echo "   start-up ${STARTUP_MS} ms; waiting ${IDLE} s idle"
    sleep "$IDLE"
    put "$impl" idle_rss_mb "$(rss_mb "$client_pid")"
    idle_pings=$((DURATION * 5)); [ "$idle_pings" -le 25 ] || idle_pings=25; [ "$idle_pings" -ge 5 ] || idle_pings=5
    ip netns exec "$NS_CLIENT" ping -i 0.2 -c "$idle_pings" -W 1 "$SERVER_TUNNEL" >"$WORK_DIR/ping-idle.txt" 2>&1 || true
    read -r avg p99 <<<"$(ping_stats "$WORK_DIR/ping-idle.txt")"
    put "$impl" rtt_idle_avg_ms "$avg"
    put "$impl" rtt_idle_p99_ms "$p99"
    echo "   idle: client RSS $(get "$impl" idle_rss_mb) MB, RTT avg $avg ms, p99 $p99 ms; $(get "$impl" offloads)"

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
    udp_gso_run "$impl"
    rtt_under_load "$impl"
    put "$impl" loaded_rss_mb "$(rss_mb "$client_pid")"
    stop_vpn "$client_if"
    stop_vpn "$server_if"
done
LOAD_END=$(cut -d ' ' -f 1-3 /proc/loadavg)

label() { case "$1" in wireguard-go-anchor) echo wg-go-anchor ;; wireguard-go) echo wg-go-debian ;; *) echo "$1" ;; esac; }
ratio() { awk -v a="$(get jvpn "$2")" -v b="$(get "$1" "$2")" 'BEGIN { if (b > 0 && a != "") printf "%.2f", a / b; else printf "n/a" }'; }
table() { # table FORMAT "KEY|KEY2 ..." : one row per VPN (KEY|KEY2 prints a/b), then the jvpn ratios
    local fmt=$1 impl other key row=()
    for impl in $IMPLS; do
        row=()
        for key in $2; do
            if [[ $key == *"|"* ]]; then row+=("$(get "$impl" "${key%|*}")/$(get "$impl" "${key#*|}")"); else row+=("$(get "$impl" "$key")"); fi
        done
        # shellcheck disable=SC2059
        printf "$fmt" "$(label "$impl")" "${row[@]}"
    done
    for other in wireguard-go-anchor wireguard-go openvpn; do
        has_impl jvpn && has_impl "$other" || continue
        row=()
        for key in $2; do
            if [[ $key == *"|"* ]]; then row+=("$(ratio "$other" "${key%|*}")/$(ratio "$other" "${key#*|}")"); else row+=("$(ratio "$other" "$key")"); fi
        done
        # shellcheck disable=SC2059
        printf "$fmt" "jvpn/$(label "$other")" "${row[@]}"
    done
}

echo
echo "$(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1), kernel $(uname -r)"
echo "load average: $LOAD_START at start, $LOAD_END at the end"
has_impl wireguard-go-anchor && echo "wg-go-anchor: $WIREGUARD_GO, $("$WIREGUARD_GO" --version 2>/dev/null | awk 'NR == 1 { print $2 }') (MTU 1420; client TUN $(get wireguard-go-anchor offloads))"
has_impl wireguard-go && echo "wg-go-debian: wireguard-go $(wireguard-go --version 2>/dev/null | awk 'NR == 1 { print $2 }') (MTU 1420; client TUN $(get wireguard-go offloads))"
has_impl openvpn && echo "openvpn: $(openvpn --version | head -n 1 | awk '{ print $1, $2 }') userspace (no DCO), UDP, dev tun, MTU 1500, cipher $(get openvpn cipher)"
has_impl jvpn && echo "jvpn: $(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo '?') ($JVPN_BUILD build: ${JVPN_CMD[*]}$([ "${JVPN_TUNNEL_EXEC:-}" = 0 ] && echo ', JVPN_TUNNEL_EXEC=0'); up runs as $(get jvpn up_image); MTU 1420; client TUN $(get jvpn offloads))"
for impl in "${!SKIPPED[@]}"; do echo "$impl: skipped, ${SKIPPED[$impl]}"; done
echo "TCP: iperf3 single stream, median of $REPEATS x ${DURATION}s; -P 4, UDP (-b 0 -l $UDP_LEN) and UDP GSO ($GSO_SEGMENT B datagrams,"
echo "UDP_SEGMENT sends): 1 x ${DURATION}s; client->server unless noted. UDP columns: datagrams/s the receiver got."
echo "CPU s/GB: utime+stime of both VPN processes over all TCP runs / GB received."
fmt='%-20s %9s %9s %9s %9s %9s %8s\n'
# shellcheck disable=SC2059
printf "$fmt" "" "TCP c->s" "TCP s->c" "TCP -P 4" "UDP" "UDP GSO" "CPU s"
# shellcheck disable=SC2059
printf "$fmt" "" "Mbit/s" "Mbit/s" "Mbit/s" "pkt/s" "pkt/s" "per GB"
table "$fmt" "tcp_c2s_mbps tcp_s2c_mbps tcp_p4_mbps udp_pps udp_gso_pps cpu_s_per_gb"
echo
echo "RTT: ping -i 0.2 through the tunnel, avg/p99 ms; loaded: during a TCP c->s run. RSS: the client's VmRSS"
echo "after ${IDLE}s idle following its handshake, and after the load. Start-up: client exec to first ping reply."
fmt='%-20s %15s %15s %9s %9s %9s\n'
# shellcheck disable=SC2059
printf "$fmt" "" "RTT idle" "RTT loaded" "idle RSS" "RSS after" "start-up"
# shellcheck disable=SC2059
printf "$fmt" "" "avg/p99 ms" "avg/p99 ms" "MB" "load MB" "ms"
table "$fmt" "rtt_idle_avg_ms|rtt_idle_p99_ms rtt_load_avg_ms|rtt_load_p99_ms idle_rss_mb loaded_rss_mb startup_ms"
has_impl jvpn && echo "(ratios: > 1 means jvpn is higher: better for throughput, worse for CPU s/GB, RTT, RSS and start-up)"

if [ -n "$JSON_OUT" ]; then
    # {"config": {...}, "results": {impl: {key: value}}, "ratios": {"jvpn/other": {key: ratio}}, "skipped": {impl: why}}
    skipped_json=$(for impl in "${!SKIPPED[@]}"; do printf '%s\t%s\n' "$impl" "${SKIPPED[$impl]}"; done \
        | jq -R -s 'split("\n") | map(select(length > 0) | split("\t") | {key: .[0], value: .[1]}) | from_entries')
    jq -R -s --argjson duration "$DURATION" --argjson repeats "$REPEATS" --argjson idle "$IDLE" \
        --argjson udp_len "$UDP_LEN" --argjson gso_segment "$GSO_SEGMENT" --arg cpus "$(nproc)" \
        --arg kernel "$(uname -r)" --arg load_start "$LOAD_START" --arg load_end "$LOAD_END" \
        --arg anchor "${WIREGUARD_GO:-}" --argjson skipped "$skipped_json" --arg ratio_keys \
        "tcp_c2s_mbps tcp_s2c_mbps tcp_p4_mbps udp_pps udp_gso_pps cpu_s_per_gb rtt_idle_avg_ms rtt_idle_p99_ms rtt_load_avg_ms rtt_load_p99_ms idle_rss_mb loaded_rss_mb startup_ms" '
        def num: (tonumber? // .);
        (split("\n") | map(select(length > 0) | split("\t"))) as $rows
        | ($rows | reduce .[] as $r ({}; .[$r[0]][$r[1]] = (if ($r[1] | endswith("_runs")) then ($r[2] | split(" ") | map(tonumber)) else ($r[2] | num) end))) as $res
        | {config: {duration_s: $duration, repeats: $repeats, idle_s: $idle, udp_len: $udp_len, gso_segment: $gso_segment,
                    cpus: ($cpus | tonumber), kernel: $kernel, load_average_start: $load_start, load_average_end: $load_end,
                    anchor: $anchor},
           results: $res,
           ratios: ([("wireguard-go-anchor", "wireguard-go", "openvpn") as $o | select($res.jvpn and $res[$o])
                     | {key: ("jvpn/" + $o),
                        value: ([$ratio_keys | split(" ")[] as $k
                                 | select((($res[$o][$k] // 0) | type) == "number" and ($res[$o][$k] // 0) > 0 and (($res.jvpn[$k] // null) | type) == "number")
                                 | {key: $k, value: ($res.jvpn[$k] / $res[$o][$k] * 100 | round / 100)}] | from_entries)}]
                    | from_entries),
           skipped: $skipped}' "$RESULTS" >"$JSON_OUT"
    echo "numbers written to $JSON_OUT"
fi
