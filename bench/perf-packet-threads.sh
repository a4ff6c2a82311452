#!/usr/bin/env bash
# Where jvpn's two packet threads spend their time (docs/performance.md "Packet-thread profile"): one jvpn
# tunnel between two namespaces, an iperf3 TCP single stream through it, `perf record -g` on both
# endpoints while it runs, then the top frames of the sending endpoint's jvpn-tun-read thread (reads the
# TUN, seals, sends) and of the receiving endpoint's jvpn-udp-recv thread (receives, opens, writes the TUN).
# JIT frames resolve through DOTNET_PerfMapEnabled=1 (perf-PID.map files, removed afterwards).
# Usage: bench/perf-packet-threads.sh [c2s|s2c]   (default c2s: the client sends)
# Env: DURATION (10 s of recording), TOP (10 frames per thread), JVPN_AEAD (sodium|openssl, passed to jvpn),
#      BUILD (1; 0 uses the existing Release build of src/Cli, e.g. for back-to-back A/B runs),
#      JVPN_DLL (another build's jvpn.dll, e.g. a copy of the build before a change)
set -euo pipefail
source "$(dirname "$0")/../scripts/lib/netns-tunnel.sh"

DIRECTION=${1:-c2s}
DURATION=${DURATION:-10}
TOP=${TOP:-10}
case "$DIRECTION" in c2s|s2c) ;; -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; *) echo "unknown direction: $DIRECTION (c2s or s2c)" >&2; exit 2 ;; esac

require_root_and_tools iperf3 perf jq dotnet wg
PERF_MAPS=()
cleanup() {
    netns_tunnel_cleanup
    local map
    for map in "${PERF_MAPS[@]}"; do rm -f "$map" "${map%.map}.info"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "${BUILD:-1}" = 0 ] || build_jvpn
# Only the two VPN endpoints write perf maps (cleanup removes both): key generation runs without.
jvpn() { DOTNET_PerfMapEnabled=0 dotnet "$JVPN_DLL" "$@"; }
export DOTNET_PerfMapEnabled=1
export DOTNET_EnableWriteXorExecute=0 # JIT code in plain anonymous memory, where perf looks it up in perf-PID.map
create_topology
setup_tunnel jvpn jvbpf-s jvbpf-c
server_pid=${VPN_PID_OF[jvbpf-s]}
client_pid=${VPN_PID_OF[jvbpf-c]}
PERF_MAPS=("/tmp/perf-$server_pid.map" "/tmp/perf-$client_pid.map")
if [ "$DIRECTION" = c2s ]; then
    sender=$client_pid receiver=$server_pid
    iperf_args=("$NS_SERVER" "$SERVER_TUNNEL" "$NS_CLIENT")
else
    sender=$server_pid receiver=$client_pid
    iperf_args=("$NS_CLIENT" "$CLIENT_TUNNEL" "$NS_SERVER")
fi

echo "== iperf3 TCP $DIRECTION for $((DURATION + 4)) s, perf record -g for $DURATION s (load: $(uptime | sed 's/.*load average: //'))"
iperf3_json "${iperf_args[@]}" $((DURATION + 4)) "$WORK_DIR/iperf.json" &
iperf_pid=$!
sleep 2
perf record -q -g -F 999 -p "$sender,$receiver" -o "$WORK_DIR/perf.data" -- sleep "$DURATION" >/dev/null 2>&1
wait "$iperf_pid"
echo "   $(jq -r '.end.sum_received.bits_per_second / 1e6 * 10 | round / 10' "$WORK_DIR/iperf.json") Mbit/s," \
    "$(jq -r '.end.sum_sent.retransmits // 0' "$WORK_DIR/iperf.json") retransmits; AEAD: $(grep -o 'AEAD [^;]*' "$WORK_DIR/jvbpf-c.log" | head -n 1)"

top_frames() { # top_frames PID THREAD: the thread's TOP hottest symbols, self time, % of that thread's samples
    echo
    echo "-- $2 (pid $1): top $TOP frames, self time, % of the thread's samples"
    perf report -i "$WORK_DIR/perf.data" --stdio --no-children -g none --percentage relative \
        --pid "$1" --comms "$2" --sort dso,sym 2>/dev/null \
        | grep -E '^ +[0-9.]+%' | head -n "$TOP" | sed -E 's/ +\[[.k]\] / /; s/ +/ /g' || true
    echo "-- $2 (pid $1): share of the thread's samples by where they fall"
    perf report -i "$WORK_DIR/perf.data" --stdio --no-children -g none --percentage relative \
        --pid "$1" --comms "$2" --sort dso,sym 2>/dev/null | awk '
            /^ +[0-9.]+%/ { p = $1 + 0
                if (/libcrypto/) k = "AEAD (OpenSSL libcrypto)"; else if (/libsodium/) k = "AEAD (libsodium)"
                else if (/\[kernel/) k = "kernel (syscalls, copies, softirq)"; else if (/\[JIT\]/) k = "managed code (JIT)"
                else k = "libc, vdso, other"
                share[k] += p }
            END { for (k in share) printf "   %5.1f%% %s\n", share[k], k }' | sort -rn
}
top_frames "$sender" jvpn-tun-read
# A server receives on several threads (jvpn-udp-recv, -1, ...): report the busiest, the one the flow hashed to.
receiver_comm=$(perf report -i "$WORK_DIR/perf.data" --stdio --no-children -g none --pid "$receiver" --sort comm 2>/dev/null \
    | awk '/^ +[0-9.]+%/ && $2 ~ /^jvpn-udp-recv/ { print $2; exit }')
top_frames "$receiver" "${receiver_comm:-jvpn-udp-recv}"
echo
echo "-- threads with samples (both endpoints):"
perf report -i "$WORK_DIR/perf.data" --stdio --no-children -g none --sort pid,comm 2>/dev/null | grep -E '^ +[0-9.]+%' | head -n 12 || true
