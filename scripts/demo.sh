#!/usr/bin/env bash
# jvpn demo: builds jvpn, creates a server and a client network namespace joined by a veth pair,
# generates keys with `jvpn genkey`/`jvpn pubkey`, writes wg-quick configs, runs `jvpn up` on both
# ends, shows `jvpn status`, then pings and runs a short iperf3 through the tunnel. Everything it
# creates is removed on exit. Needs root, dotnet, iproute2, wg (wireguard-tools), ping, iperf3.
# JVPN_IMPL=wireguard-go runs the same demo with wireguard-go, for comparison.
set -euo pipefail
source "$(dirname "$0")/lib/netns-tunnel.sh"

IMPL=${JVPN_IMPL:-jvpn}
SERVER_IF=jvdemo-s
CLIENT_IF=jvdemo-c
[ "$IMPL" = jvpn ] || { SERVER_IF=jvdemo-gs; CLIENT_IF=jvdemo-gc; }

require_root_and_tools dotnet wg ping iperf3
[ "$IMPL" = wireguard-go ] && require_root_and_tools wireguard-go
trap netns_tunnel_cleanup EXIT
trap 'exit 130' INT TERM

[ "$IMPL" = jvpn ] && build_jvpn

echo "== topology: $NS_SERVER ($SERVER_UNDERLAY) <-veth-> $NS_CLIENT ($CLIENT_UNDERLAY)"
create_topology

echo "== keys, configs and \`$IMPL up\` on both ends"
setup_tunnel "$IMPL" "$SERVER_IF" "$CLIENT_IF"
echo "-- client config ($WORK_DIR/$CLIENT_IF.conf, private key hidden):"
sed 's/^PrivateKey = .*/PrivateKey = (hidden)/' "$WORK_DIR/$CLIENT_IF.conf"

echo "== status"
if [ "$IMPL" = jvpn ]; then
    ip netns exec "$NS_SERVER" dotnet "$JVPN_DLL" status "$SERVER_IF"
    ip netns exec "$NS_CLIENT" dotnet "$JVPN_DLL" status "$CLIENT_IF"
else
    ip netns exec "$NS_SERVER" wg show "$SERVER_IF"
    ip netns exec "$NS_CLIENT" wg show "$CLIENT_IF"
fi

echo "== ping $SERVER_TUNNEL through the tunnel (client -> server)"
ip netns exec "$NS_CLIENT" ping -c 5 -i 0.2 "$SERVER_TUNNEL"

echo "== iperf3 TCP, 3 s each way"
up=$(iperf3_mbps "$NS_SERVER" "$SERVER_TUNNEL" "$NS_CLIENT" 3)
down=$(iperf3_mbps "$NS_CLIENT" "$CLIENT_TUNNEL" "$NS_SERVER" 3)

echo
echo "== results ($IMPL)"
printf '  %-28s %10s Mbit/s\n' "client -> server" "$up" "server -> client" "$down"
echo "  wg show (stock wireguard-tools against $IMPL's UAPI socket):"
ip netns exec "$NS_CLIENT" wg show "$CLIENT_IF" | sed 's/^/    /'
