#!/usr/bin/env bash
# jvpn demo: a server and a client in their own network namespaces; the client has two links, Wi-Fi
# and cellular, into a router in front of the server (docs/design.md §8), like a phone or a laptop on the move.
# It builds jvpn, generates keys with `jvpn genkey`/`jvpn pubkey`, writes wg-quick configs, runs
# `jvpn up` on both ends and shows the client's paths. Then, with a ping every 50 ms and a TCP transfer
# running through the tunnel, the Wi-Fi link goes down: the client's path manager sees the interface
# vanish, reattaches the session over cellular, and the session goes on with the same id. Wi-Fi comes
# back and, once it has been stable for 2 s, the session moves back to it. The demo prints the measured
# gap, the client's paths and switches, and the event trace, then a short throughput check.
# Everything it creates is removed on exit. Needs root and the .NET SDK; it installs the Debian packages
# it lacks (iproute2, nftables, wireguard-tools, iputils-ping, iperf3; scripts/lib/system-packages.txt).
# JVPN_IMPL=wireguard-go runs the same demo with wireguard-go (its
# socket follows the routing table and the server roams it; there is no session to show).
set -euo pipefail
source "$(dirname "$0")/lib/netns-tunnel.sh"

IMPL=${JVPN_IMPL:-jvpn}
SERVER_IF=jvdemo-s
CLIENT_IF=jvdemo-c
[ "$IMPL" = jvpn ] || { SERVER_IF=jvdemo-gs; CLIENT_IF=jvdemo-gc; }

require_root_and_tools dotnet wg ping iperf3 nft
[ "$IMPL" = wireguard-go ] && require_root_and_tools wireguard-go
trap netns_tunnel_cleanup EXIT
trap 'exit 130' INT TERM

[ "$IMPL" = jvpn ] && build_jvpn

echo "== topology: client $NS_CLIENT (wifi0 $WIFI_ADDR, cell0 $CELL_ADDR) -> router $NS_ROUTER -> server $NS_SERVER ($SERVER_UNDERLAY)"
create_two_link_topology

echo "== keys, configs and \`$IMPL up\` on both ends"
setup_two_link_tunnel "$IMPL" "$SERVER_IF" "$CLIENT_IF"
echo "-- client config ($WORK_DIR/$CLIENT_IF.conf, private key hidden):"
sed 's/^PrivateKey = .*/PrivateKey = (hidden)/' "$WORK_DIR/$CLIENT_IF.conf"

show_client_status() {
    if [ "$IMPL" = jvpn ]; then
        ip netns exec "$NS_CLIENT" dotnet "$JVPN_DLL" status "$CLIENT_IF"
    else
        ip netns exec "$NS_CLIENT" wg show "$CLIENT_IF"
    fi
}
echo "== status on the client"
sleep 2
show_client_status

echo "== traffic: ping every 50 ms for 12 s and a 12 s TCP transfer (iperf3, paced at 50 Mbit/s) through the tunnel"
ip netns exec "$NS_SERVER" iperf3 -s -1 -B "$SERVER_TUNNEL" -p 5299 >/dev/null 2>&1 &
sleep 0.5
ip netns exec "$NS_CLIENT" timeout 30 iperf3 -c "$SERVER_TUNNEL" -p 5299 -t 12 -b 50M -J > "$WORK_DIR/iperf.json" 2>&1 &
IPERF_PID=$!
ip netns exec "$NS_CLIENT" ping -D -n -i 0.05 -w 12 "$SERVER_TUNNEL" > "$WORK_DIR/ping.txt" 2>&1 &
PING_PID=$!
sleep 3
echo "== Wi-Fi is lost: wifi0 goes down and loses its address"
DOWN_AT=$(date +%s.%N)
link_down wifi0
sleep 4
echo "== Wi-Fi is back"
link_up wifi0
wait "$PING_PID" || true
wait "$IPERF_PID" || true

echo "== result"
awk -v at="$DOWN_AT" '
    BEGIN { at += 0 }
    /bytes from/ { t = substr($1, 2, length($1) - 2) + 0; n++;
                   if (prev != "" && t - prev > gap) gap = t - prev;
                   if (prev != "" && t > at && prev < at + 2 && t - prev > around) around = t - prev;
                   prev = t }
    END { printf "  ping: %d replies; gap when Wi-Fi was lost %.0f ms; longest gap %.0f ms (one ping every 50 ms)\n", n, around * 1000, gap * 1000 }
' "$WORK_DIR/ping.txt"
if grep -q '"error"' "$WORK_DIR/iperf.json"; then
    echo "  TCP transfer: FAILED: $(grep '"error"' "$WORK_DIR/iperf.json")"
else
    # iperf3 -J: the receiver's total is end.sum_received.bytes (the first "bytes" after "sum_received").
    awk -F: '/"sum_received"/ { want = 1 } want && /"bytes"/ { b = $2; want = 0 } END { gsub(/[ ,]/, "", b); printf "  TCP transfer across both switches: completed, %.0f MB received\n", b / 1e6 }' "$WORK_DIR/iperf.json"
fi
show_client_status
if [ "$IMPL" = jvpn ]; then
    echo "== the client's decisions (jvpn events $CLIENT_IF: switches and reattaches)"
    ip netns exec "$NS_CLIENT" dotnet "$JVPN_DLL" events "$CLIENT_IF" \
        | grep -E 'REATTACH|"switch|path_removed|path_added|SESSION_' \
        | sed -E 's/"node_id":"[^"]*",//; s/"session_id":"[^"]*",//' | cut -c1-200 | sed 's/^/  /'
    echo "== the session's audit trail on the server (jvpn events $SERVER_IF)"
    ip netns exec "$NS_SERVER" dotnet "$JVPN_DLL" events "$SERVER_IF" \
        | sed -E 's/"node_id":"[^"]*",//; s/"policy_version":"[^"]*",//' | cut -c1-200 | sed 's/^/  /'
fi

echo "== iperf3 TCP, 3 s each way (unpaced)"
up=$(iperf3_mbps "$NS_SERVER" "$SERVER_TUNNEL" "$NS_CLIENT" 3)
down=$(iperf3_mbps "$NS_CLIENT" "$CLIENT_TUNNEL" "$NS_SERVER" 3)
printf '  %-28s %10s Mbit/s\n' "client -> server" "$up" "server -> client" "$down"
