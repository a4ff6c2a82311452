#!/usr/bin/env bash
# jvpn demo: a server and a client in their own network namespaces, the client behind a NAT router as
# at home or on a phone. It builds jvpn, generates keys with `jvpn genkey`/`jvpn pubkey`, writes
# wg-quick configs, runs `jvpn up` on both ends and shows the Jumping session. Then, with a ping every
# 50 ms and a TCP transfer running through the tunnel, the router moves the client to a new public port
# (what a home router does after a reboot or a UDP timeout): the server sees authenticated traffic from
# an address it did not bind, sends REBIND_HINT, the client reattaches, and the session goes on with
# the same id. It prints the event trace and the measured gap, then a short throughput check.
# Everything it creates is removed on exit. Needs root, dotnet, iproute2, nftables, conntrack, wg
# (wireguard-tools), ping, iperf3. JVPN_IMPL=wireguard-go runs the same demo with wireguard-go (which
# recovers by implicit roaming and has no session to show).
set -euo pipefail
source "$(dirname "$0")/lib/netns-tunnel.sh"

IMPL=${JVPN_IMPL:-jvpn}
SERVER_IF=jvdemo-s
CLIENT_IF=jvdemo-c
[ "$IMPL" = jvpn ] || { SERVER_IF=jvdemo-gs; CLIENT_IF=jvdemo-gc; }

require_root_and_tools dotnet wg ping iperf3 nft conntrack
[ "$IMPL" = wireguard-go ] && require_root_and_tools wireguard-go
trap netns_tunnel_cleanup EXIT
trap 'exit 130' INT TERM

[ "$IMPL" = jvpn ] && build_jvpn

echo "== topology: client $NS_CLIENT ($CLIENT_PRIVATE_ADDR) -> NAT router $NS_ROUTER ($ROUTER_PUBLIC_ADDR) -> server $NS_SERVER ($SERVER_UNDERLAY)"
create_nat_topology

echo "== keys, configs and \`$IMPL up\` on both ends"
setup_tunnel "$IMPL" "$SERVER_IF" "$CLIENT_IF"
echo "-- client config ($WORK_DIR/$CLIENT_IF.conf, private key hidden):"
sed 's/^PrivateKey = .*/PrivateKey = (hidden)/' "$WORK_DIR/$CLIENT_IF.conf"

show_status() {
    if [ "$IMPL" = jvpn ]; then
        ip netns exec "$NS_SERVER" dotnet "$JVPN_DLL" status "$SERVER_IF"
    else
        ip netns exec "$NS_SERVER" wg show "$SERVER_IF"
    fi
}
echo "== status on the server"
sleep 1
show_status

echo "== traffic: ping every 50 ms for 8 s and an 8 s TCP transfer (iperf3, paced at 200 Mbit/s) through the tunnel"
ip netns exec "$NS_SERVER" iperf3 -s -1 -B "$SERVER_TUNNEL" -p 5299 >/dev/null 2>&1 &
sleep 0.5
ip netns exec "$NS_CLIENT" iperf3 -c "$SERVER_TUNNEL" -p 5299 -t 8 -b 200M -J > "$WORK_DIR/iperf.json" 2>&1 &
IPERF_PID=$!
ip netns exec "$NS_CLIENT" ping -D -n -i 0.05 -w 8 "$SERVER_TUNNEL" > "$WORK_DIR/ping.txt" 2>&1 &
PING_PID=$!
sleep 3
echo "== the NAT router moves the client to a new public port range: $(nat_rebind)"
REBIND_AT=$(date +%s.%N)
wait "$PING_PID" || true
wait "$IPERF_PID" || true

echo "== result"
awk -v at="$REBIND_AT" '
    /bytes from/ { t = substr($1, 2, length($1) - 2); n++;
                   if (prev != "" && t - prev > gap) gap = t - prev;
                   if (prev != "" && prev <= at && t >= at) around = t - prev;
                   prev = t }
    END { printf "  ping: %d replies; gap across the rebinding %.0f ms; longest gap %.0f ms (one ping every 50 ms)\n", n, around * 1000, gap * 1000 }
' "$WORK_DIR/ping.txt"
if grep -q '"error"' "$WORK_DIR/iperf.json"; then
    echo "  TCP transfer: FAILED: $(grep '"error"' "$WORK_DIR/iperf.json")"
else
    # iperf3 -J: the receiver's total is end.sum_received.bytes (the first "bytes" after "sum_received").
    awk -F: '/"sum_received"/ { want = 1 } want && /"bytes"/ { b = $2; want = 0 } END { gsub(/[ ,]/, "", b); printf "  TCP transfer across the rebinding: completed, %.0f MB received\n", b / 1e6 }' "$WORK_DIR/iperf.json"
fi
show_status
if [ "$IMPL" = jvpn ]; then
    echo "== the session's audit trail on the server (jvpn events $SERVER_IF)"
    ip netns exec "$NS_SERVER" dotnet "$JVPN_DLL" events "$SERVER_IF" \
        | sed -E 's/"node_id":"[^"]*",//; s/"policy_version":"[^"]*",//' | cut -c1-220 | sed 's/^/  /'
fi

echo "== iperf3 TCP, 3 s each way (unpaced)"
up=$(iperf3_mbps "$NS_SERVER" "$SERVER_TUNNEL" "$NS_CLIENT" 3)
down=$(iperf3_mbps "$NS_CLIENT" "$CLIENT_TUNNEL" "$NS_SERVER" 3)
printf '  %-28s %10s Mbit/s\n' "client -> server" "$up" "server -> client" "$down"
