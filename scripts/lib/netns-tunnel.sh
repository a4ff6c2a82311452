# shellcheck shell=bash
# Shared by scripts/demo.sh and bench/throughput.sh: a server and a client network namespace joined by
# a veth pair, and helpers to run a VPN endpoint (jvpn, Debian's wireguard-go, the upstream wireguard-go
# anchor at $WIREGUARD_GO, or OpenVPN 2.6) inside each. Only namespaces named jv* are touched; the host
# namespace is never changed. Call netns_tunnel_cleanup from an EXIT trap.

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$REPO_ROOT/scripts/lib/system-packages.sh"
JVPN_DLL=${JVPN_DLL:-"$REPO_ROOT/src/Cli/bin/Release/net10.0/jvpn.dll"} # JVPN_DLL=path: another build, for A/B runs
SUBNET=$((RANDOM % 254 + 1))
SUFFIX=$(printf '%06x' $((RANDOM * 32768 + RANDOM)) | tail -c 6)
NS_SERVER="jvs$SUFFIX"
NS_CLIENT="jvc$SUFFIX"
NS_ROUTER="jvr$SUFFIX"
CLIENT_PRIVATE_ADDR="192.168.$SUBNET.2"
ROUTER_PRIVATE_ADDR="192.168.$SUBNET.1"
ROUTER_PUBLIC_ADDR="10.200.$SUBNET.254"
NAT_RANGE_INDEX=0
SERVER_UNDERLAY="10.200.$SUBNET.1"
CLIENT_UNDERLAY="10.200.$SUBNET.2"
SERVER_TUNNEL=10.77.0.1
CLIENT_TUNNEL=10.77.0.2
LISTEN_PORT=51820
OPENVPN_PORT=1194
WORK_DIR=$(mktemp -d /tmp/jvpn-netns.XXXXXX)
VPN_PIDS=()
declare -A VPN_PID_OF=()
STARTUP_MS=0

export WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1

require_root_and_tools() { # require_root_and_tools BIN...
    if [ "$(id -u)" -ne 0 ]; then
        echo "this script needs root (network namespaces)" >&2
        exit 1
    fi
    ensure_binaries ip "$@" || exit 1
}

build_jvpn() {
    echo "== building jvpn (Release)"
    dotnet build "$REPO_ROOT/src/Cli/JumpingVpn.Cli.csproj" -c Release --nologo -v quiet >"$WORK_DIR/build.log" 2>&1 \
        || { cat "$WORK_DIR/build.log" >&2; exit 1; }
}

# How jvpn runs: `dotnet jvpn.dll` from build_jvpn, or the package's own executables after use_jvpn_package.
JVPN_CMD=(dotnet "$JVPN_DLL")
# Extra environment for `jvpn up` only (e.g. JVPN_TUNNEL_EXEC=0), as VAR=VALUE words for env(1).
JVPN_UP_ENV=()

# use_jvpn_package: jvpn as packaging/ ships it (self-contained single file, NativeAOT jvpn-tunnel beside it
# on x64), published from a copy of the sources into WORK_DIR, or taken from JVPN_PACKAGE_DIR when set.
use_jvpn_package() {
    local dir=${JVPN_PACKAGE_DIR:-}
    if [ -z "$dir" ]; then
        echo "== publishing jvpn as packaged (packaging/linux/publish.sh; NativeAOT takes minutes)"
        local src="$WORK_DIR/package-src" item
        mkdir -p "$src"
        for item in src .editorconfig Directory.Build.props Directory.Packages.props global.json NuGet.config nuget.config; do
            [ -e "$REPO_ROOT/$item" ] && cp -a "$REPO_ROOT/$item" "$src/"
        done
        find "$src/src" -depth -type d \( -name bin -o -name obj \) -exec rm -rf {} +
        dir="$WORK_DIR/package"
        "$REPO_ROOT/packaging/linux/publish.sh" "$src" linux-x64 "$dir" >"$WORK_DIR/publish.log" 2>&1 \
            || { cat "$WORK_DIR/publish.log" >&2; exit 1; }
    fi
    [ -x "$dir/jvpn" ] || { echo "no jvpn executable in $dir" >&2; exit 1; }
    JVPN_CMD=("$dir/jvpn")
}

jvpn() { "${JVPN_CMD[@]}" "$@"; }

netns_tunnel_cleanup() {
    reset_topology
    rm -rf "$WORK_DIR"
}

# reset_topology: stops every VPN process started so far and deletes the namespaces (by name and PID),
# so a benchmark can build a fresh topology for its next run.
reset_topology() {
    local pid
    for pid in "${VPN_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${VPN_PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    local ifname
    for ifname in "${!VPN_PID_OF[@]}"; do
        # Left behind only if the daemon had to be killed; the name is ours.
        rm -f "/var/run/wireguard/$ifname.sock"
    done
    local ns
    for ns in "$NS_CLIENT" "$NS_ROUTER" "$NS_SERVER"; do
        if ip netns list | grep -qw "$ns"; then
            for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
            ip netns del "$ns" 2>/dev/null || true
        fi
    done
    VPN_PIDS=()
    VPN_PID_OF=()
}

create_topology() {
    ip netns add "$NS_SERVER"
    ip netns add "$NS_CLIENT"
    ip -n "$NS_SERVER" link set lo up
    ip -n "$NS_CLIENT" link set lo up
    # Created inside the server namespace with its peer placed straight into the client namespace.
    ip -n "$NS_SERVER" link add veth0 type veth peer name veth0 netns "$NS_CLIENT"
    ip -n "$NS_SERVER" addr add "$SERVER_UNDERLAY/24" dev veth0
    ip -n "$NS_CLIENT" addr add "$CLIENT_UNDERLAY/24" dev veth0
    ip -n "$NS_SERVER" link set veth0 up
    ip -n "$NS_CLIENT" link set veth0 up
}

# The client behind a masquerading router, as at home or on a phone:
#   client (192.168.S.2) -- router (192.168.S.1 | 10.200.S.254, nft masquerade) -- server (10.200.S.1)
# The server has no route to 192.168.S.0/24: it only ever sees the router's public address and port.
create_nat_topology() {
    local ns
    for ns in "$NS_SERVER" "$NS_ROUTER" "$NS_CLIENT"; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
    done
    ip -n "$NS_CLIENT" link add veth0 type veth peer name vpriv netns "$NS_ROUTER"
    ip -n "$NS_ROUTER" link add vpub type veth peer name veth0 netns "$NS_SERVER"
    ip -n "$NS_CLIENT" addr add "$CLIENT_PRIVATE_ADDR/24" dev veth0
    ip -n "$NS_ROUTER" addr add "$ROUTER_PRIVATE_ADDR/24" dev vpriv
    ip -n "$NS_ROUTER" addr add "$ROUTER_PUBLIC_ADDR/24" dev vpub
    ip -n "$NS_SERVER" addr add "$SERVER_UNDERLAY/24" dev veth0
    ip -n "$NS_CLIENT" link set veth0 up
    ip -n "$NS_ROUTER" link set vpriv up
    ip -n "$NS_ROUTER" link set vpub up
    ip -n "$NS_SERVER" link set veth0 up
    ip -n "$NS_CLIENT" route add default via "$ROUTER_PRIVATE_ADDR"
    ip netns exec "$NS_ROUTER" sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'
    nat_rebind >/dev/null
}

# nat_rebind: the router forgets the client's mapping and uses a new public port range, in one nft
# transaction (no window without NAT), then drops the conntrack entries so the next packet is remapped.
nat_rebind() {
    local lo=$((20000 + (NAT_RANGE_INDEX % 12) * 1000))
    NAT_RANGE_INDEX=$((NAT_RANGE_INDEX + 1))
    # Only the NAT table is replaced (a two-link topology keeps its filter table).
    printf 'table ip jvnat {}\ndelete table ip jvnat\ntable ip jvnat {\n chain post {\n  type nat hook postrouting priority 100;\n  oifname "vpub" meta l4proto { tcp, udp } masquerade to :%d-%d\n  oifname "vpub" masquerade\n }\n}\n' \
        "$lo" "$((lo + 999))" | ip netns exec "$NS_ROUTER" nft -f -
    ip netns exec "$NS_ROUTER" conntrack -D -p udp >/dev/null 2>&1 || true
    echo "$lo-$((lo + 999))"
}

# --- two links (docs/design.md §8): the client has Wi-Fi and cellular into one router ---------------------------
#   client wifi0 192.168.S.2 -- wifi 192.168.S.1 \
#          cell0 10.202.S.2  -- cell 10.202.S.1  -- router vpub 10.200.S.254 -- 10.200.S.1 server
# Both links carry a default route (Wi-Fi metric 100, cellular 200); the router masquerades both, so the
# server sees one public address with a port per path. Per-link loss and blackholes live in table jvfilter.
WIFI_ADDR="192.168.$SUBNET.2"
CELL_ADDR="10.202.$SUBNET.2"
create_two_link_topology() {
    local ns
    for ns in "$NS_SERVER" "$NS_ROUTER" "$NS_CLIENT"; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
    done
    ip -n "$NS_CLIENT" link add wifi0 type veth peer name wifi netns "$NS_ROUTER"
    ip -n "$NS_CLIENT" link add cell0 type veth peer name cell netns "$NS_ROUTER"
    ip -n "$NS_ROUTER" link add vpub type veth peer name veth0 netns "$NS_SERVER"
    ip -n "$NS_ROUTER" addr add "192.168.$SUBNET.1/24" dev wifi
    ip -n "$NS_ROUTER" addr add "10.202.$SUBNET.1/24" dev cell
    ip -n "$NS_ROUTER" addr add "$ROUTER_PUBLIC_ADDR/24" dev vpub
    ip -n "$NS_SERVER" addr add "$SERVER_UNDERLAY/24" dev veth0
    for ns in wifi cell vpub; do ip -n "$NS_ROUTER" link set "$ns" up; done
    ip -n "$NS_SERVER" link set veth0 up
    link_up wifi0
    link_up cell0
    ip netns exec "$NS_ROUTER" sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'
    nat_rebind >/dev/null
    printf 'table ip jvfilter {\n chain path {\n  type filter hook forward priority 0; policy accept;\n }\n}\n' \
        | ip netns exec "$NS_ROUTER" nft -f -
}

link_up() { # link_up wifi0|cell0: link up, address, default route (what DHCP would do)
    local addr gw metric
    if [ "$1" = wifi0 ]; then addr=$WIFI_ADDR gw="192.168.$SUBNET.1" metric=100; else addr=$CELL_ADDR gw="10.202.$SUBNET.1" metric=200; fi
    ip -n "$NS_CLIENT" link set "$1" up
    ip -n "$NS_CLIENT" addr add "$addr/24" dev "$1"
    ip -n "$NS_CLIENT" route add default via "$gw" dev "$1" metric "$metric"
}

link_down() { # link_down wifi0|cell0: a hard switch: the link goes down and loses its address
    ip -n "$NS_CLIENT" addr flush dev "$1"
    ip -n "$NS_CLIENT" link set "$1" down
}

path_blackhole() { # path_blackhole wifi|cell on|off: the link stays up, the router drops all of its traffic
    local rules="flush chain ip jvfilter path"
    [ "$2" = on ] && rules+=$'\n'"add rule ip jvfilter path iifname \"$1\" drop"$'\n'"add rule ip jvfilter path oifname \"$1\" drop"
    ip netns exec "$NS_ROUTER" nft -f - <<<"$rules"
}

write_config() { # write_config FILE PRIVATE_KEY ADDRESS LISTEN_PORT|"" PEER_PUBLIC ALLOWED_IPS ENDPOINT|""
    {
        echo "[Interface]"
        echo "PrivateKey = $2"
        echo "Address = $3"
        [ -n "$4" ] && echo "ListenPort = $4"
        echo "MTU = 1420"
        echo
        echo "[Peer]"
        echo "PublicKey = $5"
        echo "AllowedIPs = $6"
        [ -n "$7" ] && echo "Endpoint = $7"
    } >"$1"
    chmod 600 "$1"
}

start_vpn() { # start_vpn IMPL NS CONFIG_FILE (IFNAME = file name without .conf, like wg-quick)
    local impl=$1 ns=$2 conf=$3 ifname pid
    ifname=$(basename "$conf" .conf)
    case "$impl" in
        jvpn)
            ip netns exec "$ns" env "${JVPN_UP_ENV[@]}" "${JVPN_CMD[@]}" up "$conf" >"$WORK_DIR/$ifname.log" 2>&1 &
            pid=$! ;;
        wireguard-go)
            ip netns exec "$ns" wireguard-go -f "$ifname" >"$WORK_DIR/$ifname.log" 2>&1 &
            pid=$! ;;
        wireguard-go-anchor)
            # The same treatment as Debian's: foreground, wg-quick-like setup below, MTU 1420.
            ip netns exec "$ns" "${WIREGUARD_GO:?WIREGUARD_GO must name the anchor binary}" -f "$ifname" >"$WORK_DIR/$ifname.log" 2>&1 &
            pid=$! ;;
        *) echo "unknown VPN implementation: $impl" >&2; exit 1 ;;
    esac
    VPN_PIDS+=("$pid")
    VPN_PID_OF[$ifname]=$pid
    wait_ready "$ns" "$ifname" "$pid"
    if [ "$impl" = wireguard-go ] || [ "$impl" = wireguard-go-anchor ]; then
        # wg-quick's job: wg setconf (no Address/MTU lines), then address, MTU, link, AllowedIPs routes.
        grep -v -E '^(Address|MTU|DNS) *=' "$conf" >"$WORK_DIR/$ifname.wg"
        ip netns exec "$ns" wg setconf "$ifname" "$WORK_DIR/$ifname.wg"
        ip -n "$ns" addr add "$(sed -n 's/^Address = //p' "$conf")" dev "$ifname"
        ip -n "$ns" link set "$ifname" mtu 1420 up
        local allowed
        for allowed in $(sed -n 's/^AllowedIPs = //p' "$conf" | tr ',' ' '); do
            ip -n "$ns" route replace "$allowed" dev "$ifname"
        done
    fi
}

wait_ready() { # wait_ready NS IFNAME PID: ready once the UAPI socket answers `wg show IFNAME`
    local ns=$1 ifname=$2 pid=$3
    for _ in $(seq 400); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "$ifname: VPN process exited before it was ready:" >&2
            cat "$WORK_DIR/$ifname.log" >&2
            exit 1
        fi
        ip netns exec "$ns" wg show "$ifname" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "$ifname: not ready after 20 s:" >&2
    cat "$WORK_DIR/$ifname.log" >&2
    exit 1
}

stop_vpn() { # stop_vpn IFNAME: SIGTERM, like Ctrl-C on `jvpn up`
    local pid=${VPN_PID_OF[$1]}
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}

cpu_seconds() { # cpu_seconds PID: utime+stime from /proc/PID/stat (fields 14, 15; after the "(comm)")
    local stat ticks
    stat=$(cat "/proc/$1/stat")
    stat=${stat##*) }
    # shellcheck disable=SC2086
    set -- $stat
    ticks=$(( ${12} + ${13} ))
    awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}

gen_keys() { # gen_keys IMPL -> "PRIVATE PUBLIC"
    local private public
    if [ "$1" = jvpn ]; then
        private=$(jvpn genkey)
        public=$(jvpn pubkey <<<"$private")
    else
        private=$(wg genkey)
        public=$(wg pubkey <<<"$private")
    fi
    echo "$private $public"
}

# setup_tunnel IMPL SERVER_IF CLIENT_IF: keys, configs, start both ends (server first).
# Sets STARTUP_MS: the client's exec to its first ping reply through the tunnel (the handshake the ping
# triggered has completed), with the server already up.
setup_tunnel() {
    local impl=$1 server_if=$2 client_if=$3
    if [ "$impl" = openvpn ]; then
        setup_openvpn_tunnel "$server_if" "$client_if"
        return
    fi
    read -r SERVER_PRIVATE SERVER_PUBLIC <<<"$(gen_keys "$impl")"
    read -r CLIENT_PRIVATE CLIENT_PUBLIC <<<"$(gen_keys "$impl")"
    write_config "$WORK_DIR/$server_if.conf" "$SERVER_PRIVATE" "$SERVER_TUNNEL/24" "$LISTEN_PORT" \
        "$CLIENT_PUBLIC" "$CLIENT_TUNNEL/32" ""
    write_config "$WORK_DIR/$client_if.conf" "$CLIENT_PRIVATE" "$CLIENT_TUNNEL/24" "" \
        "$SERVER_PUBLIC" "$SERVER_TUNNEL/32" "$SERVER_UNDERLAY:$LISTEN_PORT"
    start_vpn "$impl" "$NS_SERVER" "$WORK_DIR/$server_if.conf"
    local started
    started=$(date +%s%N)
    start_vpn "$impl" "$NS_CLIENT" "$WORK_DIR/$client_if.conf"
    wait_tunnel_ping "$impl" "$server_if" "$client_if"
    STARTUP_MS=$(( ($(date +%s%N) - started) / 1000000 ))
}

# setup_two_link_tunnel IMPL SERVER_IF CLIENT_IF: like setup_tunnel; a jvpn client also gets its path
# preference (Wi-Fi first, then cellular).
setup_two_link_tunnel() {
    local impl=$1 server_if=$2 client_if=$3
    read -r SERVER_PRIVATE SERVER_PUBLIC <<<"$(gen_keys "$impl")"
    read -r CLIENT_PRIVATE CLIENT_PUBLIC <<<"$(gen_keys "$impl")"
    write_config "$WORK_DIR/$server_if.conf" "$SERVER_PRIVATE" "$SERVER_TUNNEL/24" "$LISTEN_PORT" \
        "$CLIENT_PUBLIC" "$CLIENT_TUNNEL/32" ""
    write_config "$WORK_DIR/$client_if.conf" "$CLIENT_PRIVATE" "$CLIENT_TUNNEL/24" "" \
        "$SERVER_PUBLIC" "$SERVER_TUNNEL/32" "$SERVER_UNDERLAY:$LISTEN_PORT"
    [ "$impl" = jvpn ] && printf '\n[Jumping]\nInterfaces = wifi0, cell0\n' >>"$WORK_DIR/$client_if.conf"
    start_vpn "$impl" "$NS_SERVER" "$WORK_DIR/$server_if.conf"
    start_vpn "$impl" "$NS_CLIENT" "$WORK_DIR/$client_if.conf"
    wait_tunnel_ping "$impl" "$server_if" "$client_if"
}

wait_tunnel_ping() { # wait_tunnel_ping IMPL SERVER_IF CLIENT_IF: the first packet triggers the handshake
    local _
    for _ in $(seq 20); do
        ip netns exec "$NS_CLIENT" ping -c 1 -W 1 "$SERVER_TUNNEL" >/dev/null 2>&1 && return 0
    done
    echo "tunnel ($1) did not come up; logs:" >&2
    cat "$WORK_DIR/$2.log" "$WORK_DIR/$3.log" >&2
    exit 1
}

# --- OpenVPN 2.6 -------------------------------------------------------------------------------------
# Point-to-point over UDP with dev tun, TLS with self-signed certificates pinned by --peer-fingerprint
# (openvpn(8) "--peer-fingerprint"): no CA, no --server pool. Static-key mode (--secret) is not used
# because it is deprecated and cannot use an AEAD cipher; TLS mode negotiates the 2.6 default
# data-ciphers (AES-256-GCM first), which is how OpenVPN is actually deployed. --disable-dco keeps the
# data plane in userspace (no ovpn-dco module here), so all three VPNs are userspace processes whose
# CPU time is visible in /proc/PID/stat. MTU is OpenVPN's default (tun-mtu 1500).

openvpn_self_signed() { # openvpn_self_signed NAME -> NAME.crt/NAME.key in WORK_DIR/pki; prints SHA-256 fingerprint
    local dir="$WORK_DIR/pki"
    mkdir -p "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=$1" -keyout "$dir/$1.key" -out "$dir/$1.crt" >/dev/null 2>&1
    chmod 600 "$dir/$1.key"
    openssl x509 -in "$dir/$1.crt" -noout -fingerprint -sha256 | sed 's/^.*=//'
}

write_openvpn_config() { # write_openvpn_config FILE IFNAME server|client LOCAL_TUNNEL REMOTE_TUNNEL PEER_FINGERPRINT
    local file=$1 ifname=$2 role=$3
    {
        echo "dev $ifname"
        echo "dev-type tun"
        echo "proto udp4"
        echo "disable-dco"
        if [ "$role" = server ]; then
            echo "local $SERVER_UNDERLAY"
            echo "lport $OPENVPN_PORT"
            echo "tls-server"
            echo "dh none"
        else
            echo "remote $SERVER_UNDERLAY $OPENVPN_PORT"
            echo "nobind"
            echo "tls-client"
        fi
        echo "ifconfig $4 $5"
        echo "cert $WORK_DIR/pki/$ifname.crt"
        echo "key $WORK_DIR/pki/$ifname.key"
        echo "peer-fingerprint $6"
        echo "verb 3"
    } >"$file"
    chmod 600 "$file"
}

start_openvpn() { # start_openvpn NS CONFIG_FILE (IFNAME = file name without .conf)
    local ns=$1 conf=$2 ifname pid
    ifname=$(basename "$conf" .conf)
    # `ip netns exec` execs openvpn in place, so $! is the OpenVPN process itself (for CPU accounting).
    ip netns exec "$ns" openvpn --config "$conf" >"$WORK_DIR/$ifname.log" 2>&1 &
    pid=$!
    VPN_PIDS+=("$pid")
    VPN_PID_OF[$ifname]=$pid
}

wait_openvpn_log() { # wait_openvpn_log IFNAME PATTERN: until the log shows PATTERN (20 s)
    local pid=${VPN_PID_OF[$1]} _
    for _ in $(seq 200); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "$1: OpenVPN exited:" >&2
            cat "$WORK_DIR/$1.log" >&2
            exit 1
        fi
        grep -q "$2" "$WORK_DIR/$1.log" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "$1: no \"$2\" after 20 s:" >&2
    cat "$WORK_DIR/$1.log" >&2
    exit 1
}

setup_openvpn_tunnel() { # setup_openvpn_tunnel SERVER_IF CLIENT_IF: certificates, configs, both ends up
    local server_if=$1 client_if=$2 server_fp client_fp
    server_fp=$(openvpn_self_signed "$server_if")
    client_fp=$(openvpn_self_signed "$client_if")
    write_openvpn_config "$WORK_DIR/$server_if.conf" "$server_if" server "$SERVER_TUNNEL" "$CLIENT_TUNNEL" "$client_fp"
    write_openvpn_config "$WORK_DIR/$client_if.conf" "$client_if" client "$CLIENT_TUNNEL" "$SERVER_TUNNEL" "$server_fp"
    start_openvpn "$NS_SERVER" "$WORK_DIR/$server_if.conf"
    wait_openvpn_log "$server_if" "UDPv4 link local (bound)"
    local started
    started=$(date +%s%N)
    start_openvpn "$NS_CLIENT" "$WORK_DIR/$client_if.conf"
    wait_openvpn_log "$client_if" "Initialization Sequence Completed"
    wait_openvpn_log "$server_if" "Initialization Sequence Completed"
    wait_tunnel_ping openvpn "$server_if" "$client_if"
    STARTUP_MS=$(( ($(date +%s%N) - started) / 1000000 ))
}

openvpn_data_cipher() { # openvpn_data_cipher IFNAME -> the negotiated data-channel cipher, from the log
    sed -n "s/.*Data Channel: cipher '\([^']*\)'.*/\1/p" "$WORK_DIR/$1.log" | tail -n 1
}

iperf3_mbps() { # iperf3_mbps SERVER_NS SERVER_ADDR CLIENT_NS SECONDS -> receiver Mbit/s
    local port=$((20000 + RANDOM % 20000)) server_pid out
    ip netns exec "$1" iperf3 -s -1 -p "$port" -B "$2" >/dev/null 2>&1 &
    server_pid=$!
    for _ in $(seq 50); do
        ip netns exec "$1" ss -ltn 2>/dev/null | grep -q ":$port " && break
        sleep 0.1
    done
    out=$(timeout $(( $4 + 20 )) ip netns exec "$3" iperf3 -c "$2" -p "$port" -t "$4" -f m) || {
        kill "$server_pid" 2>/dev/null || true
        echo "iperf3 failed: $out" >&2
        return 1
    }
    wait "$server_pid" 2>/dev/null || true
    awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") print $(i-1) }' <<<"$out" | tail -n 1
}

# iperf3_json SERVER_NS SERVER_ADDR CLIENT_NS SECONDS OUT_FILE [IPERF3_CLIENT_ARGS...]: one iperf3 run,
# the client's JSON (with the server's own report, --get-server-output) written to OUT_FILE.
iperf3_json() {
    local server_ns=$1 addr=$2 client_ns=$3 seconds=$4 out=$5 port server_pid
    shift 5
    port=$((20000 + RANDOM % 20000))
    ip netns exec "$server_ns" iperf3 -s -1 -p "$port" -B "$addr" >/dev/null 2>&1 &
    server_pid=$!
    for _ in $(seq 50); do
        ip netns exec "$server_ns" ss -ltn 2>/dev/null | grep -q ":$port " && break
        sleep 0.1
    done
    if ! timeout $((seconds + 20)) ip netns exec "$client_ns" iperf3 -c "$addr" -p "$port" -t "$seconds" -J \
        --get-server-output "$@" >"$out"; then
        kill "$server_pid" 2>/dev/null || true
        echo "iperf3 failed: $(jq -r '.error // empty' "$out" 2>/dev/null)" >&2
        return 1
    fi
    wait "$server_pid" 2>/dev/null || true
}
