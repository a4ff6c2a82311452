#!/usr/bin/env bash
# Idle client memory and start-up of `jvpn up` (docs/performance.md "Idle client memory and start-up"):
# a jvpn server and client in namespaces (scripts/lib/netns-tunnel.sh), the client started, timed from exec
# to its first ping reply through the tunnel, then left idle IDLE s and its VmRSS read. Runs each MODE in
# turn, REPEATS rounds, so the modes are measured back to back under the same load:
#   aot  the packaged jvpn, whose `jvpn up` execs the NativeAOT jvpn-tunnel beside it;
#   jit  the same jvpn with JVPN_TUNNEL_EXEC=0: `jvpn up` runs in the single-file JIT process.
# The server always runs JIT, so only the client differs. Prints one line per run and the load average,
# and with SMAPS=1 the client's largest mappings (/proc/PID/smaps) after each run.
#   REPEATS=3 IDLE=30 MODES="aot jit" JVPN_PACKAGE_DIR=DIR bench/idle-client.sh
# JVPN_PACKAGE_DIR reuses a packaging/linux/publish.sh output instead of publishing (minutes for NativeAOT).
set -euo pipefail
source "$(cd "$(dirname "$0")/.." && pwd)/scripts/lib/netns-tunnel.sh"
trap netns_tunnel_cleanup EXIT

REPEATS=${REPEATS:-3}
IDLE=${IDLE:-30}
MODES=${MODES:-"aot jit"}
for var in REPEATS IDLE; do
    [[ ${!var} =~ ^[0-9]+$ ]] && [ "${!var}" -gt 0 ] || { echo "$var must be a positive whole number" >&2; exit 2; }
done
for mode in $MODES; do
    case "$mode" in aot|jit) ;; *) echo "unknown mode '$mode' (aot, jit)" >&2; exit 2 ;; esac
done
require_root_and_tools wg ping awk
[ "$(uname -m)" = x86_64 ] || { echo "NativeAOT jvpn-tunnel is built for linux-x64 only" >&2; exit 1; }
use_jvpn_package
[ -x "$(dirname "${JVPN_CMD[0]}")/jvpn-tunnel" ] || { echo "no jvpn-tunnel beside ${JVPN_CMD[0]}" >&2; exit 1; }

smaps_top() { # smaps_top PID: RSS per mapping name, largest first
    awk '/^[0-9a-f]+-[0-9a-f]+ / { name = (NF >= 6) ? $6 : "[anon]" } /^Rss:/ { rss[name] += $2 }
         END { for (n in rss) printf "%8.1f MB  %s\n", rss[n] / 1024, n }' "/proc/$1/smaps" | sort -rn | head -12
}

echo "jvpn $(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$REPEATS"); do
    for mode in $MODES; do
        reset_topology
        create_topology
        server_if="jvi${SUFFIX:0:4}-s"
        client_if="jvi${SUFFIX:0:4}-c"
        # setup_tunnel starts the server, then the client; only the client's `up` gets the mode.
        JVPN_UP_ENV=(JVPN_TUNNEL_EXEC=0)
        read -r SERVER_PRIVATE SERVER_PUBLIC <<<"$(gen_keys jvpn)"
        read -r CLIENT_PRIVATE CLIENT_PUBLIC <<<"$(gen_keys jvpn)"
        write_config "$WORK_DIR/$server_if.conf" "$SERVER_PRIVATE" "$SERVER_TUNNEL/24" "$LISTEN_PORT" \
            "$CLIENT_PUBLIC" "$CLIENT_TUNNEL/32" ""
        write_config "$WORK_DIR/$client_if.conf" "$CLIENT_PRIVATE" "$CLIENT_TUNNEL/24" "" \
            "$SERVER_PUBLIC" "$SERVER_TUNNEL/32" "$SERVER_UNDERLAY:$LISTEN_PORT"
        start_vpn jvpn "$NS_SERVER" "$WORK_DIR/$server_if.conf"
        [ "$mode" = aot ] && JVPN_UP_ENV=(JVPN_TUNNEL_EXEC=1)
        started=$(date +%s%N)
        start_vpn jvpn "$NS_CLIENT" "$WORK_DIR/$client_if.conf"
        wait_tunnel_ping jvpn "$server_if" "$client_if"
        startup_ms=$(( ($(date +%s%N) - started) / 1000000 ))
        client_pid=${VPN_PID_OF[$client_if]}
        sleep "$IDLE"
        exe=$(basename "$(readlink "/proc/$client_pid/exe")")
        rss=$(awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$client_pid/status")
        echo "round $round $mode: client ($exe) start-up ${startup_ms} ms, RSS after ${IDLE} s idle ${rss} MB; load $(cut -d' ' -f1-3 /proc/loadavg)"
        [ "${SMAPS:-0}" = 1 ] && smaps_top "$client_pid"
    done
done
