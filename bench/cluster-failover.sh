#!/usr/bin/env bash
# Node failover of a jvpn cluster under load (docs/cluster.md "Benchmark"): kill -9 of the node that owns
# every session, with 3 nodes and a store, default configuration. Topology, all in namespaces of its own:
#   [clients 10.61.0.2] --- [router: store on 10.60.0.1] --- [node i 10.62.i.2:51820]  (i = 1..3)
# The store is redis-server with a password, or one etcd member with authentication on. Each node is
# `jvpn up` with the same server key, the N clients in a peers file, its own NodeId and audit log.
# The clients are `jvpn-loadgen failover` (tools/JumpingVpn.LoadGen): N simulated clients with real
# handshakes attach to node 1 and keep a KEEPALIVE heartbeat; once all are steady (and the steady store
# load is measured over STEADY s) node 1 is killed with SIGKILL; each client probes it every 100 ms once a
# KEEPALIVE has waited 300 ms, judges it silent after 600 ms (the client's node-silence verdict), handshakes
# with its next node and resumes (HELLO, then REATTACH after the refusal's retry_after_ms, within
# 20-100 ms). Per store prints one row:
#   gap p50/p90/p99/max  per session, last answer before the kill -> first answer after it (ms)
#   resume p99           kill -> first answer after it (ms)
#   ops/s tko            store requests per second from the kill until every session resumed
#   ops/s/sess st        store requests per second per session in the steady window before the kill
#   dual                 sessions two live nodes serve, or whose store owner is not the node that answered
#   vgaps                version gaps: client/store view / the merged audit logs of all nodes
#   hs/s tko             handshakes completed per second during the takeover (CPU-bound on 2 cores)
# Store requests: Redis `INFO commandstats` (each script run once, not the commands it runs inside; INFO
# excluded), etcd /metrics (gRPC request messages received).
# Sources: the clients are spread over SOURCES source addresses (default: one per 10 sessions, 1 to 1024)
#   from 10.61.128.0/17, made local to the clients' namespace by one `ip route add local` (a node limits
#   handshakes per source address under load, 20/s, which real clients each with their own address do not
#   share); --sources 1 puts every client on 10.61.0.2. Cookie replies are answered at once with mac2.
# --drain: node 1 is drained with SIGTERM (it sends SESSION_MOVE to every client, docs/cluster.md "Drain")
#   instead of killed; the same columns then measure the drain.
# Usage: bench/cluster-failover.sh [--store redis|etcd|both] [--sessions N] [--sources N] [--drain] [--json FILE]
# Env: STEADY (10 s), BOUND (seconds to wait for resumes; default 60 + N/200), HEARTBEAT_MS (0: the
#      generator's default, 100 ms up to 2000 sessions, at most 500 ms), KEEP=1 keeps the work directory,
#      BUILD=0 with LOADGEN_DLL=PATH uses an existing build (the smoke test's).
set -euo pipefail

REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
LOADGEN_DIR="$REPO_ROOT/tools/JumpingVpn.LoadGen"
LOADGEN_DLL=${LOADGEN_DLL:-"$LOADGEN_DIR/bin/Release/net10.0/jvpn-loadgen.dll"}
JVPN_DLL="$(dirname "$LOADGEN_DLL")/jvpn.dll" # built next to the generator (a project reference)
BUILD=${BUILD:-1}
STORES=both
SESSIONS=4
JSON_OUT=
SOURCES=
DRAIN=0
STEADY=${STEADY:-10}
HEARTBEAT_MS=${HEARTBEAT_MS:-0}
NODES=3
PORT=51820
STORE_IP=10.60.0.1 # outside the nodes' tunnel prefix 10.64.0.0/10

while [ $# -gt 0 ]; do
    case "$1" in
        --store) STORES=${2:?--store needs redis, etcd or both}; shift 2 ;;
        --store=*) STORES=${1#--store=}; shift ;;
        --sessions) SESSIONS=${2:?--sessions needs a number}; shift 2 ;;
        --sessions=*) SESSIONS=${1#--sessions=}; shift ;;
        --json) JSON_OUT=${2:?--json needs a file name}; shift 2 ;;
        --json=*) JSON_OUT=${1#--json=}; shift ;;
        --drain) DRAIN=1; shift ;;
        --sources) SOURCES=${2:?--sources needs a number}; shift 2 ;;
        --sources=*) SOURCES=${1#--sources=}; shift ;;
        -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
done
case "$STORES" in
    redis|etcd) ;;
    both) STORES="redis etcd" ;;
    *) echo "--store must be redis, etcd or both, not '$STORES'" >&2; exit 2 ;;
esac
if ! [[ "$SESSIONS" =~ ^[0-9]+$ ]] || [ "$SESSIONS" -lt 1 ] || [ "$SESSIONS" -gt 200000 ]; then
    echo "--sessions must be a number from 1 to 200000, not '$SESSIONS'" >&2
    exit 2
fi
BOUND=${BOUND:-$((60 + SESSIONS / 200))}
if [ -z "$SOURCES" ]; then
    SOURCES=$(( (SESSIONS + 9) / 10 ))
    [ "$SOURCES" -le 1024 ] || SOURCES=1024
fi
if ! [[ "$SOURCES" =~ ^[0-9]+$ ]] || [ "$SOURCES" -lt 1 ] || [ "$SOURCES" -gt 4096 ]; then
    echo "--sources must be a number from 1 to 4096, not '$SOURCES'" >&2
    exit 2
fi
[ -z "$JSON_OUT" ] || JSON_OUT=$(realpath -m "$JSON_OUT")

if [ "$(id -u)" -ne 0 ]; then
    echo "this script needs root (network namespaces and TUN devices)" >&2
    exit 1
fi
source "$REPO_ROOT/scripts/lib/system-packages.sh"
need=(ip dotnet wg jq awk)
[[ " $STORES " == *" redis "* ]] && need+=(redis-server redis-cli)
[[ " $STORES " == *" etcd "* ]] && need+=(etcd etcdctl curl)
ensure_binaries "${need[@]}" || exit 1

SUFFIX=$(printf '%06x' $((RANDOM * 32768 + RANDOM)) | tail -c 6)
NS_ROUTER="jvcfr$SUFFIX"
NS_CLIENT="jvcfc$SUFFIX"
NAME="jvcf${SUFFIX:0:5}" # + node index: the interface (and control socket) name, at most 15 characters
WORK_DIR=$(mktemp -d /tmp/jvpn-cluster-failover.XXXXXX)
PIDS=() # every process we started, killed by PID in cleanup

node_ns() { echo "jvcfn$1$SUFFIX"; }

stop_pids() {
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 50); do
        local alive=0
        for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" -eq 0 ] && break
        sleep 0.1
    done
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    PIDS=()
}

cleanup() {
    local ns i
    stop_pids
    for ns in "$NS_CLIENT" "$NS_ROUTER" $(for i in $(seq "$NODES"); do node_ns "$i"; done); do
        ip netns list | grep -qw "$ns" && ip netns del "$ns" 2>/dev/null || true
    done
    rm -f /var/run/wireguard/"$NAME"*.sock
    if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK_DIR"; else rm -rf "$WORK_DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND every 0.1 s, bounded.
wait_for() {
    local what=$1 seconds=$2
    shift 2
    for _ in $(seq $((seconds * 10))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "$what did not happen within ${seconds} s" >&2
    return 1
}

if [ "$BUILD" = 1 ]; then
    echo "== building the load generator and jvpn (Release)"
    dotnet build "$LOADGEN_DIR/JumpingVpn.LoadGen.csproj" -c Release --nologo -v quiet >"$WORK_DIR/build.log" 2>&1 \
        || { cat "$WORK_DIR/build.log" >&2; exit 1; }
fi

echo "== topology: router $NS_ROUTER, clients $NS_CLIENT, $NODES nodes"
sysctl_ns() { ip netns exec "$1" sh -c "echo $3 > /proc/sys/$2"; }
ip netns add "$NS_ROUTER"
ip -n "$NS_ROUTER" link set lo up
ip -n "$NS_ROUTER" addr add "$STORE_IP/32" dev lo
sysctl_ns "$NS_ROUTER" net/ipv4/ip_forward 1
ip netns add "$NS_CLIENT"
ip -n "$NS_CLIENT" link set lo up
ip link add jvcfc0 netns "$NS_ROUTER" type veth peer name veth0 netns "$NS_CLIENT"
ip -n "$NS_ROUTER" addr add 10.61.0.1/24 dev jvcfc0
ip -n "$NS_ROUTER" link set jvcfc0 up
ip -n "$NS_CLIENT" addr add 10.61.0.2/24 dev veth0
ip -n "$NS_CLIENT" link set veth0 up
ip -n "$NS_CLIENT" route add default via 10.61.0.1
# The clients' many source addresses: local to the client namespace, routed to it by the router.
ip -n "$NS_CLIENT" route add local 10.61.128.0/17 dev lo
ip -n "$NS_ROUTER" route add 10.61.128.0/17 via 10.61.0.2
for i in $(seq "$NODES"); do
    ns=$(node_ns "$i")
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip link add "jvcfn$i" netns "$NS_ROUTER" type veth peer name veth0 netns "$ns"
    ip -n "$NS_ROUTER" addr add "10.62.$i.1/24" dev "jvcfn$i"
    ip -n "$NS_ROUTER" link set "jvcfn$i" up
    ip -n "$ns" addr add "10.62.$i.2/24" dev veth0
    ip -n "$ns" link set veth0 up
    ip -n "$ns" route add default via "10.62.$i.1"
done

echo "== $SESSIONS client keys and the peers file"
dotnet "$LOADGEN_DLL" failover --prepare --sessions "$SESSIONS" --work-dir "$WORK_DIR"
STORE_PASSWORD=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$STORE_PASSWORD" >"$WORK_DIR/store.pass"
chmod 600 "$WORK_DIR/store.pass"

# ---- the store: STORE_URL, STORE_PID, STORE_OPS_COMMAND
start_redis() {
    local port=6379
    mkdir -p "$WORK_DIR/redis"
    ip netns exec "$NS_ROUTER" redis-server --bind "$STORE_IP" --port "$port" --requirepass "$STORE_PASSWORD" \
        --protected-mode yes --dir "$WORK_DIR/redis" --save "" --appendonly yes --daemonize no --logfile "" \
        >"$WORK_DIR/redis.log" 2>&1 &
    STORE_PID=$!
    disown "$STORE_PID" # killed by PID in cleanup; no job-control notice when node or store dies
    PIDS+=("$STORE_PID")
    wait_for "redis-server start" 20 grep -q "Ready to accept connections" "$WORK_DIR/redis.log"
    STORE_URL="redis://$STORE_IP:$port/0?prefix=jvbench"
    # Requests the nodes sent: every command Redis counted, except INFO (this probe's own) and the commands
    # Lua scripts run inside (Redis counts those again; their names come from the scripts' source).
    local inner
    inner=$(grep -o "redis.call('[A-Za-z]*'" "$REPO_ROOT/src/Control/Cluster/RedisScripts.cs" | cut -d"'" -f2 \
        | tr 'A-Z' 'a-z' | sort -u | sed 's/^/cmdstat_/' | tr '\n' ' ')
    STORE_OPS_COMMAND="ip netns exec $NS_ROUTER redis-cli -h $STORE_IP -p $port --no-auth-warning -a \$(cat $WORK_DIR/store.pass) INFO commandstats \
| tr -d '\\r' | awk -F'[:=,]' -v skip=' cmdstat_info $inner' '/^cmdstat_/ && index(skip, \" \" \$1 \" \") == 0 { s += \$3 } END { printf \"%d\\n\", s }'"
}

start_etcd() {
    local client="http://$STORE_IP:2379" peer="http://$STORE_IP:2380" e
    ip netns exec "$NS_ROUTER" etcd --name jv --data-dir "$WORK_DIR/etcd" \
        --listen-client-urls "$client" --advertise-client-urls "$client" \
        --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
        --initial-cluster "jv=$peer" --initial-cluster-state new --logger zap --log-outputs stderr \
        >"$WORK_DIR/etcd.log" 2>&1 &
    STORE_PID=$!
    disown "$STORE_PID" # killed by PID in cleanup; no job-control notice when node or store dies
    PIDS+=("$STORE_PID")
    wait_for "etcd start" 30 grep -q '"msg":"serving client traffic' "$WORK_DIR/etcd.log"
    e=(ip netns exec "$NS_ROUTER" etcdctl "--endpoints=$client")
    "${e[@]}" user add root "--new-user-password=$STORE_PASSWORD" --interactive=false >/dev/null
    "${e[@]}" role add root >/dev/null
    "${e[@]}" user grant-role root root >/dev/null
    "${e[@]}" auth enable >/dev/null
    STORE_URL="etcd://root@$STORE_IP:2379?prefix=jvbench"
    # gRPC requests the store received (unary calls and stream messages); /metrics is not gRPC.
    STORE_OPS_COMMAND="ip netns exec $NS_ROUTER curl -sf $client/metrics \
| awk '/^grpc_server_msg_received_total/ { s += \$NF } END { printf \"%d\\n\", s }'"
}

# ---- the nodes. The one place that says how a node is configured: default configuration except what
# the topology needs (key, address, port, peers, store, node id, an audit log to check versions with).
node_config() { # node_config INDEX -> the config file's path
    local i=$1 conf="$WORK_DIR/$NAME$1.conf"
    {
        echo "[Interface]"
        echo "PrivateKey = $(cat "$WORK_DIR/server.key")"
        echo "Address = 10.64.0.1/10"
        echo "ListenPort = $PORT"
        echo
        echo "[Jumping]"
        echo "SessionLayer = server"
        echo "Peers = $WORK_DIR/clients.peers"
        echo "NodeId = node-$i"
        echo "Store = $STORE_URL"
        echo "StorePasswordFile = $WORK_DIR/store.pass"
        echo "AuditLog = $WORK_DIR/node-$i.audit.jsonl"
        echo "AuditMaxBytes = 4000000000"
        # Loopback in the node's own namespace: the store counters (in-doubt commits) are read after the run.
        echo "Metrics = 127.0.0.1:9464"
        # Above the default per-node session limit (10 000) every session must still fit on one node.
        [ "$SESSIONS" -le 10000 ] || echo "max_sessions = $((SESSIONS + 1000))"
    } >"$conf"
    chmod 600 "$conf"
    echo "$conf"
}

start_node() { # start_node INDEX: sets NODE_PID[INDEX]
    local i=$1 conf
    conf=$(node_config "$i")
    rm -f "$WORK_DIR/node-$i.audit.jsonl"
    ip netns exec "$(node_ns "$i")" dotnet "$JVPN_DLL" up "$conf" >"$WORK_DIR/node-$i.log" 2>&1 &
    NODE_PID[$i]=$!
    disown "${NODE_PID[$i]}" # node 1 is SIGKILLed on purpose: no job-control notice for it
    PIDS+=("${NODE_PID[$i]}")
}

declare -A NODE_PID
RESULTS=()
ROWS=()
for store in $STORES; do
    echo "== store: $store"
    if [ "$store" = redis ]; then start_redis; else start_etcd; fi
    for i in $(seq "$NODES"); do start_node "$i"; done
    for i in $(seq "$NODES"); do
        wait_for "node-$i serving (see $WORK_DIR/node-$i.log)" 180 wg show "$NAME$i" \
            || { tail -20 "$WORK_DIR/node-$i.log" >&2; exit 1; }
    done
    args=(failover --sessions "$SESSIONS" --work-dir "$WORK_DIR" --bind 10.61.0.2 --store-name "$store"
          --sources "$SOURCES" --source-base 10.61.128.1
          --owner-pid "${NODE_PID[1]}" --steady-seconds "$STEADY" --bound-seconds "$BOUND" --heartbeat-ms "$HEARTBEAT_MS"
          --store-ops-command "$STORE_OPS_COMMAND"
          --store-status-command "ip netns exec $NS_ROUTER env JVPN_STORE_PASSWORD=\$(cat $WORK_DIR/store.pass) dotnet $JVPN_DLL cluster status --store '$STORE_URL&timeout=5s' --json"
          --cpu-pid "$store=$STORE_PID" --json "$WORK_DIR/$store.json")
    [ "$DRAIN" -eq 0 ] || args+=(--drain)
    for i in $(seq "$NODES"); do
        args+=(--node "node-$i=$NAME$i@10.62.$i.2:$PORT")
        [ "$i" -eq 1 ] || args+=(--cpu-pid "node-$i=${NODE_PID[$i]}")
    done
    echo "   machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), commit $(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo n/a)"
    # A store that fails its run (e.g. no session could attach) still leaves the other store's row.
    ip netns exec "$NS_CLIENT" dotnet "$LOADGEN_DLL" "${args[@]}" || echo "== the $store run failed (exit code $?)" >&2
    [ -s "$WORK_DIR/$store.json" ] && RESULTS+=("$WORK_DIR/$store.json")
    # Commits whose store answer was lost, per survivor (docs/cluster.md "In-doubt commits").
    for i in $(seq 2 "$NODES"); do
        ip netns exec "$(node_ns "$i")" curl -sf --max-time 5 http://127.0.0.1:9464/metrics >"$WORK_DIR/node-$i.$store.metrics" 2>/dev/null || true
        echo "   node-$i store operations: $(grep -E '^jvpn_store_(operations|commits_in_doubt)_total' "$WORK_DIR/node-$i.$store.metrics" 2>/dev/null | tr '\n' ' ')"
    done
    stop_pids
    rm -f /var/run/wireguard/"$NAME"*.sock
done

[ "${#RESULTS[@]}" -gt 0 ] || { echo "no run produced a result" >&2; exit 1; }
echo
jq -r '.table_header' "${RESULTS[0]}"
for f in "${RESULTS[@]}"; do jq -r '.table_row' "$f"; done
echo "(gap: last answer before the kill -> first after; resume: kill -> first answer; ops: store requests; dual: sessions served by two nodes or not by the store's owner; vgaps: client/store view / audit logs)"
if [ -n "$JSON_OUT" ]; then
    jq -s '{runs: .}' "${RESULTS[@]}" >"$JSON_OUT"
    echo "== JSON written to $JSON_OUT"
fi
